// SPDX-License-Identifier: GPL-2.0
/*
 * dm-log-writes log parsing and crash-state construction for
 * hims-replay.  Plain C, no I/O of its own (tests/unit/crash-test.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/crash/crash-log.h"

int crash_log_parse(struct crash_log *log, crash_read_fn rd, void *ctx,
		    char *why, size_t whylen)
{
	struct log_write_super sup;
	struct log_write_entry ent;
	u8 sect[4096];
	u64 i, pos, ss;
	int ret;

	memset(log, 0, sizeof(*log));
	ret = rd(ctx, &sup, sizeof(sup), 0);
	if (ret) {
		snprintf(why, whylen, "cannot read the super: %s",
			 strerror(-ret));
		return ret;
	}
	if (le64_to_cpu(sup.magic) != WRITE_LOG_MAGIC ||
	    le64_to_cpu(sup.version) != WRITE_LOG_VERSION) {
		snprintf(why, whylen, "no dm-log-writes super (magic %llx)",
			 (unsigned long long)le64_to_cpu(sup.magic));
		return -EINVAL;
	}
	ss = le32_to_cpu(sup.sectorsize);
	if (ss < 512 || ss > sizeof(sect) || (ss & (ss - 1))) {
		snprintf(why, whylen, "bad sector size %llu",
			 (unsigned long long)ss);
		return -EINVAL;
	}
	log->sectorsize = ss;
	log->nr = le64_to_cpu(sup.nr_entries);
	if (log->nr > (1ULL << 32)) {
		snprintf(why, whylen, "absurd entry count %llu",
			 (unsigned long long)log->nr);
		return -EINVAL;
	}
	log->e = calloc(log->nr ? log->nr : 1, sizeof(*log->e));
	if (!log->e)
		return -ENOMEM;
	pos = ss;
	for (i = 0; i < log->nr; i++) {
		struct crash_entry *e = &log->e[i];
		u64 n;

		ret = rd(ctx, sect, ss, pos);
		if (ret) {
			snprintf(why, whylen, "entry %llu: cannot read: %s",
				 (unsigned long long)i + 1, strerror(-ret));
			goto err;
		}
		memcpy(&ent, sect, sizeof(ent));
		e->flags = le64_to_cpu(ent.flags);
		n = le64_to_cpu(ent.nr_sectors);
		e->offset = le64_to_cpu(ent.sector) * ss;
		e->len = n * ss;
		pos += ss;
		e->data = pos;
		if (e->flags & LOG_MARK_FLAG) {
			u64 dl = le64_to_cpu(ent.data_len);

			if (dl >= CRASH_MARK_MAX)
				dl = CRASH_MARK_MAX - 1;
			if (dl > ss - sizeof(ent))
				dl = ss - sizeof(ent);
			memcpy(e->mark, sect + sizeof(ent), dl);
			e->mark[dl] = 0;
			e->len = 0;
		} else if (!(e->flags & LOG_DISCARD_FLAG)) {
			if (n > (1ULL << 40) / ss) {
				snprintf(why, whylen,
					 "entry %llu: absurd length",
					 (unsigned long long)i + 1);
				ret = -EINVAL;
				goto err;
			}
			pos += e->len;
		}
	}
	log->end = pos;
	return 0;
err:
	crash_log_free(log);
	return ret ? ret : -EINVAL;
}

void crash_log_free(struct crash_log *log)
{
	free(log->e);
	log->e = NULL;
	log->nr = 0;
}

/* splitmix64 */
u64 crash_rand(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool is_write(const struct crash_entry *e)
{
	return !(e->flags & LOG_MARK_FLAG) && e->len;
}

size_t crash_points(const struct crash_log *log, size_t nflush,
		    size_t nrandom, u64 seed, struct crash_point *pts,
		    size_t max)
{
	size_t nf = 0, n = 0, i, k;
	u64 rs = seed;

	for (i = 0; i < log->nr; i++)
		if (log->e[i].flags & (LOG_FLUSH_FLAG | LOG_FUA_FLAG))
			nf++;
	if (nflush > nf)
		nflush = nf;
	/* The k-th of nflush points is the (k * nf / nflush)-th flush. */
	for (k = 0, i = 0; k < nflush && n < max; k++) {
		size_t want = k * nf / nflush, seen = 0;

		for (i = 0; i < log->nr; i++) {
			if (!(log->e[i].flags & (LOG_FLUSH_FLAG | LOG_FUA_FLAG)))
				continue;
			if (seen++ == want)
				break;
		}
		pts[n].kind = CRASH_PREFIX;
		pts[n].last = i;
		pts[n].seed = 0;
		n++;
	}
	for (k = 0; k < nrandom && n < max && log->nr; k++) {
		pts[n].kind = CRASH_SUBSET;
		pts[n].last = crash_rand(&rs) % log->nr;
		pts[n].seed = crash_rand(&rs);
		n++;
	}
	return n;
}

void crash_plan(const struct crash_log *log, const struct crash_point *pt,
		u8 *keep)
{
	u64 i, flush = 0, rs = pt->seed;
	bool any = false;

	memset(keep, 0, log->nr);
	if (!log->nr)
		return;
	for (i = 0; i <= pt->last && i < log->nr; i++)
		keep[i] = 1;
	if (pt->kind == CRASH_PREFIX)
		return;
	for (i = 0; i <= pt->last && i < log->nr; i++)
		if (log->e[i].flags & LOG_FLUSH_FLAG) {
			flush = i;
			any = true;
		}
	for (i = any ? flush + 1 : 0; i <= pt->last && i < log->nr; i++) {
		const struct crash_entry *e = &log->e[i];

		if (!is_write(e) || (e->flags & LOG_FUA_FLAG))
			continue;
		keep[i] = crash_rand(&rs) & 1;
	}
}

const char *crash_last_mark(const struct crash_log *log, u64 last,
			    const char *prefix)
{
	u64 i;

	for (i = last + 1; i-- > 0;) {
		const struct crash_entry *e;

		if (i >= log->nr)
			continue;
		e = &log->e[i];
		if ((e->flags & LOG_MARK_FLAG) &&
		    !strncmp(e->mark, prefix, strlen(prefix)))
			return e->mark;
	}
	return NULL;
}

int crash_apply_range(const struct crash_log *log, const u8 *keep, u64 first,
		      u64 end, const u8 *logdata, u8 *img, u64 size)
{
	u64 i;

	for (i = first; i < end && i < log->nr; i++) {
		const struct crash_entry *e = &log->e[i];

		if (!keep[i] || !is_write(e))
			continue;
		if (e->offset > size || e->len > size - e->offset)
			return -EINVAL;
		if (e->flags & LOG_DISCARD_FLAG)
			memset(img + e->offset, 0, e->len);
		else
			memcpy(img + e->offset, logdata + e->data, e->len);
	}
	return 0;
}

int crash_apply(const struct crash_log *log, const u8 *keep, u64 last,
		const u8 *logdata, u8 *img, u64 size)
{
	return crash_apply_range(log, keep, 0, last + 1, logdata, img, size);
}

u64 crash_prefix_end(const struct crash_log *log, const struct crash_point *pt)
{
	u64 i;

	if (pt->kind == CRASH_PREFIX)
		return min(pt->last + 1, log->nr);
	for (i = min(pt->last + 1, log->nr); i-- > 0;)
		if (log->e[i].flags & LOG_FLUSH_FLAG)
			return i + 1;
	return 0;
}

u64 crash_ambiguous(const struct crash_log *log, u64 *first)
{
	u64 i, j, n = 0, start = 0;

	if (first)
		*first = log->nr;
	for (j = 0; j < log->nr; j++) {
		const struct crash_entry *p = &log->e[j];

		if (p->flags & LOG_FLUSH_FLAG) {
			start = j + 1;
			continue;
		}
		if (!is_write(p) || p->flags & (LOG_FUA_FLAG | LOG_DISCARD_FLAG))
			continue;
		for (i = start; i < j; i++) {
			const struct crash_entry *f = &log->e[i];

			if (is_write(f) && f->flags & LOG_FUA_FLAG &&
			    f->offset < p->offset + p->len &&
			    p->offset < f->offset + f->len)
				break;
		}
		if (i == j)
			continue;
		if (first && !n)
			*first = j;
		n++;
	}
	return n;
}
