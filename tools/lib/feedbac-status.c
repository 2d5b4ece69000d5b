// SPDX-License-Identifier: GPL-2.0
/*
 * Parser of dm-feedbac's status lines; unit tested in tests/unit/.
 */
#include <stdio.h>
#include <stdlib.h>

#include "feedbac-status.h"
#include "toolutil.h"

#define FEEDBAC_HEAD_FIELDS	9
#define FEEDBAC_GROUP_FIELDS	8

/* The next word of *p, NUL-terminated in place; NULL at the end. */
static char *next_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (!*s)
		return NULL;
	w = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n')
		s++;
	if (*s)
		*s++ = 0;
	*p = s;
	return w;
}

static int next_u64(char **p, u64 *v)
{
	return tu_parse_u64(next_word(p), v);
}

static int next_s64(char **p, s64 *v)
{
	return tu_parse_s64(next_word(p), v);
}

int feedbac_status_parse(const char *params, struct feedbac_status *st)
{
	struct feedbac_group_status *g;
	char *buf, *p;
	u64 nr, w;
	u32 i;
	int r = -1;

	if (!params)
		return -1;
	buf = strdup(params);
	if (!buf)
		return -1;
	p = buf;
	memset(st, 0, sizeof(*st));
	if (next_u64(&p, &st->prediction) || next_u64(&p, &st->last_actual) ||
	    next_u64(&p, &st->alpha) || next_s64(&p, &st->last_error) ||
	    next_u64(&p, &st->periods) || next_u64(&p, &st->refills) ||
	    next_u64(&p, &st->level_shifts) || next_u64(&p, &st->held) ||
	    next_u64(&p, &nr))
		goto out;
	if (nr < 1 || nr > FEEDBAC_MAX_GROUPS)
		goto out;
	st->nr_groups = (u32)nr;
	for (i = 0; i < st->nr_groups; i++) {
		g = &st->groups[i];
		if (next_u64(&p, &g->id) || next_u64(&p, &w) ||
		    next_s64(&p, &g->credits) || next_u64(&p, &g->read_bytes) ||
		    next_u64(&p, &g->read_ios) || next_u64(&p, &g->write_bytes) ||
		    next_u64(&p, &g->write_ios) || next_u64(&p, &g->held))
			goto out;
		if (w < 1 || w > 10000)
			goto out;
		g->weight = (u32)w;
	}
	/* Later versions may append fields: ignore them. */
	r = 0;
out:
	free(buf);
	return r;
}

int feedbac_table_dev(const char *params, char *dev, size_t len)
{
	const char *end;
	size_t n;

	if (!params)
		return -1;
	while (*params == ' ')
		params++;
	end = strchr(params, ' ');
	n = end ? (size_t)(end - params) : strlen(params);
	if (!n || n >= len)
		return -1;
	memcpy(dev, params, n);
	dev[n] = 0;
	return 0;
}
