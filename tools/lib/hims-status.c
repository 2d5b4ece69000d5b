// SPDX-License-Identifier: GPL-2.0
/*
 * Parser of dm-hims's status lines; unit tested in tests/unit/.
 */
#include <stdio.h>

#include "hims-status.h"
#include "dm-hims/hims-options.h"
#include "toolutil.h"

#define HIMS_STATUS_FIELDS	13
#define HIMS_STATUS_DEDUP_FIELDS	19
#define HIMS_STATUS_RESTORE_FIELDS	21
#define HIMS_STATUS_FLUSH_FIELDS	22

static const char *const restore_state_names[] = {
	[HIMS_RESTORE_UNKNOWN] = "unknown",
	[HIMS_RESTORE_RESTORING] = "restoring",
	[HIMS_RESTORE_COMPLETE] = "complete",
	[HIMS_RESTORE_INCOMPLETE] = "incomplete",
};

const char *hims_restore_state_name(enum hims_restore_state state)
{
	if ((unsigned int)state >= ARRAY_SIZE(restore_state_names))
		return "unknown";
	return restore_state_names[state];
}

static int parse_restore_state(const char *s, enum hims_restore_state *state)
{
	unsigned int i;

	for (i = HIMS_RESTORE_RESTORING; i < ARRAY_SIZE(restore_state_names); i++) {
		if (!strcmp(s, restore_state_names[i])) {
			*state = i;
			return 0;
		}
	}
	return -1;
}

/* Split a copy of params into at most max words; returns the count. */
static int split(char *buf, char **words, int max)
{
	int n = 0;
	char *p = buf;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			*p++ = 0;
		if (!*p)
			break;
		if (n == max)
			return max + 1;
		words[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
	}
	return n;
}

static int parse_mode(const char *s, bool *sync)
{
	if (!strcmp(s, "sync"))
		*sync = true;
	else if (!strcmp(s, "async"))
		*sync = false;
	else
		return -1;
	return 0;
}

int hims_status_parse(const char *params, struct hims_status *st)
{
	char buf[512], *w[64];
	u64 *nums[] = { &st->used, &st->total, &st->dirty, &st->writeback,
			&st->restored, &st->to_restore, &st->ram_reads,
			&st->ram_writes, &st->ssd_reads, &st->ssd_writes };
	s64 err;
	int n, i;

	if (!params || strlen(params) >= sizeof(buf))
		return -1;
	strcpy(buf, params);
	n = split(buf, w, 64);
	if (n < HIMS_STATUS_FIELDS || n > 64)
		return -1;
	memset(st, 0, sizeof(*st));
	if (parse_mode(w[0], &st->sync))
		return -1;
	for (i = 0; i < 10; i++)
		if (tu_parse_u64(w[1 + i], nums[i]))
			return -1;
	if (!strcmp(w[11], "paused"))
		st->wb_paused = true;
	else if (strcmp(w[11], "running"))
		return -1;
	if (tu_parse_s64(w[12], &err) || err > 0 || err < -4095)
		return -1;
	st->error = (int)err;
	if (st->used > st->total || st->restored > st->to_restore)
		return -1;
	if (n >= HIMS_STATUS_DEDUP_FIELDS) {
		if (tu_parse_u64(w[13], &st->mapped) || tu_parse_u64(w[14], &st->phys_used) ||
		    tu_parse_u64(w[15], &st->zero_blocks) || tu_parse_u64(w[16], &st->spilled) ||
		    strlen(w[17]) >= sizeof(st->ratio) || tu_parse_u64(w[18], &st->index_bytes))
			return -1;
		strcpy(st->ratio, w[17]);
		st->has_dedup = true;
	}
	if (n >= HIMS_STATUS_RESTORE_FIELDS &&
	    (parse_restore_state(w[19], &st->restore) ||
	     tu_parse_u64(w[20], &st->restore_failures)))
		return -1;
	if (n >= HIMS_STATUS_FLUSH_FIELDS) {
		if (tu_parse_u64(w[21], &st->ssd_flushes))
			return -1;
		st->has_flushes = true;
	}
	return 0;
}

int hims_table_parse(const char *params, struct hims_table *tb)
{
	char buf[512], *w[64];
	size_t len = 0;
	u64 nr;
	const struct hims_option *opt;
	int n, i;

	if (!params || strlen(params) >= sizeof(buf))
		return -1;
	strcpy(buf, params);
	n = split(buf, w, 64);
	if (n < 3 || n > 64)
		return -1;
	memset(tb, 0, sizeof(*tb));
	if (strlen(w[0]) >= sizeof(tb->ram) || strlen(w[1]) >= sizeof(tb->ssd))
		return -1;
	strcpy(tb->ram, w[0]);
	strcpy(tb->ssd, w[1]);
	if (parse_mode(w[2], &tb->sync))
		return -1;
	if (n == 3)
		return 0;
	if (tu_parse_u64(w[3], &nr) || nr != (u64)(n - 4))
		return -1;
	for (i = 4; i < n; i++) {
		opt = hims_option_find(w[i]);
		if (!opt)
			return -1;
		if (opt->flags & HIMS_OPT_FLAG)
			continue;
		if (i + 1 >= n)
			return -1;
		if (!strcmp(w[i], "ram_blocks")) {
			if (tu_parse_u64(w[i + 1], &tb->ram_blocks))
				return -1;
		} else {
			int r = snprintf(tb->options + len, sizeof(tb->options) - len,
					 "%s%s %s", len ? " " : "", w[i], w[i + 1]);

			if (r < 0 || (size_t)r >= sizeof(tb->options) - len)
				return -1;
			len += r;
		}
		i++;
	}
	return 0;
}

unsigned int hims_status_permille(const struct hims_status *st)
{
	if (!st->to_restore || st->restored >= st->to_restore)
		return 1000;
	return (unsigned int)(st->restored * 1000 / st->to_restore);
}
