// SPDX-License-Identifier: GPL-2.0
/*
 * The crash-replay checker's rule (tests/crash/crash-record.h).  Plain C
 * (tests/unit/crash-test.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/crash/crash-block.h"
#include "tests/crash/crash-record.h"

static int add_write(struct crash_rec *r, const struct crash_write *w)
{
	if (r->nw == r->aw) {
		size_t n = r->aw ? 2 * r->aw : 1024;
		void *p = realloc(r->w, n * sizeof(*r->w));

		if (!p)
			return -ENOMEM;
		r->w = p;
		r->aw = n;
	}
	r->w[r->nw++] = *w;
	return 0;
}

static int add_sync(struct crash_rec *r, u64 id, u64 line)
{
	if (r->ns == r->as) {
		size_t n = r->as ? 2 * r->as : 64;
		void *p = realloc(r->s, n * sizeof(*r->s));

		if (!p)
			return -ENOMEM;
		r->s = p;
		r->as = n;
	}
	r->s[r->ns].id = id;
	r->s[r->ns].line = line;
	r->s[r->ns].mark = 0;
	r->ns++;
	return 0;
}

static int cmp_write(const void *a, const void *b)
{
	const struct crash_write *x = a, *y = b;

	if (x->block != y->block)
		return x->block < y->block ? -1 : 1;
	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return 0;
}

int crash_rec_parse(struct crash_rec *r, FILE *f, char *why, size_t len)
{
	unsigned long long a, b, c, d;
	char buf[256];
	u64 line = 0;
	size_t i;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	while (fgets(buf, sizeof(buf), f)) {
		struct crash_write w = { 0 };

		line++;
		w.line = line;
		switch (buf[0]) {
		case 'w':
			if (sscanf(buf, "w %llu %llu %llu", &a, &b, &c) != 3)
				goto bad;
			w.block = a;
			w.version = b;
			w.key = c;
			ret = add_write(r, &w);
			break;
		case 'u':
			if (sscanf(buf, "u %llu %llu %llu %llu", &a, &b, &c,
				   &d) != 4 || !a)
				goto bad;
			w.mark = a;
			w.block = b;
			w.version = c;
			w.key = d;
			ret = add_write(r, &w);
			break;
		case 's':
			if (sscanf(buf, "s %llu", &a) != 1)
				goto bad;
			ret = add_sync(r, a, line);
			break;
		case 'm':
			if (sscanf(buf, "m %llu %llu", &a, &b) != 2 || !a)
				goto bad;
			for (i = r->ns; i-- > 0;)
				if (r->s[i].id == b && r->s[i].line > r->base_line)
					break;
			if (i == (size_t)-1)
				goto bad;
			r->s[i].mark = a;
			break;
		case 'b':
			r->base_line = line;
			break;
		case 'v':	/* versions used before: for the writer only */
			break;
		default:
			goto bad;
		}
		if (ret)
			return ret;
	}
	if (r->nw)
		qsort(r->w, r->nw, sizeof(*r->w), cmp_write);
	return 0;
bad:
	snprintf(why, len, "record line %llu: cannot parse '%.40s'",
		 (unsigned long long)line, buf);
	crash_rec_free(r);
	return -EINVAL;
}

void crash_rec_free(struct crash_rec *r)
{
	free(r->w);
	free(r->s);
	memset(r, 0, sizeof(*r));
}

void crash_rec_floor(const struct crash_rec *r, u64 mark, u64 n, u64 *floor)
{
	u64 covered = r->base_line;	/* writes on lines before are durable */
	size_t i;

	for (i = 0; i < r->ns; i++) {
		const struct crash_sync *s = &r->s[i];

		if (s->line > r->base_line && s->mark && s->mark <= mark &&
		    s->line > covered)
			covered = s->line;
	}
	memset(floor, 0, n * sizeof(*floor));
	for (i = 0; i < r->nw; i++) {
		const struct crash_write *w = &r->w[i];
		bool durable = w->line < covered;

		if (w->mark && w->line > r->base_line && w->mark <= mark)
			durable = true;
		if (durable && w->block < n && w->version > floor[w->block])
			floor[w->block] = w->version;
	}
}

/* The writes of @block: [*lo, *hi) of r->w. */
static void block_range(const struct crash_rec *r, u64 block, size_t *lo,
			size_t *hi)
{
	size_t l = 0, h = r->nw;

	while (l < h) {
		size_t m = l + (h - l) / 2;

		if (r->w[m].block < block)
			l = m + 1;
		else
			h = m;
	}
	*lo = l;
	while (h < r->nw && r->w[h].block == block)
		h++;
	*hi = h > l ? h : l;
}

u64 crash_rec_version(const struct crash_rec *r, u64 block, u64 key)
{
	size_t lo, hi, i;
	u64 v = 0;

	block_range(r, block, &lo, &hi);
	for (i = lo; i < hi; i++)
		if (r->w[i].key == key)
			v = r->w[i].version;
	return v;
}

const char * const crash_verdict_name[CRASH_NR_VERDICTS] = {
	[CRASH_OK] = "fine",
	[CRASH_BAD_ZERO] = "zeroes",
	[CRASH_BAD_GARBAGE] = "garbage",
	[CRASH_BAD_TORN] = "torn",
	[CRASH_BAD_SSD_OLD] = "pre-format pattern (SSD)",
	[CRASH_BAD_RAM_OLD] = "pre-format pattern (RAM)",
	[CRASH_BAD_RUN] = "another run's data",
	[CRASH_BAD_BLOCK] = "another block's data",
	[CRASH_BAD_NEVER] = "never-written version",
	[CRASH_BAD_STALE] = "stale version",
};

enum crash_verdict crash_judge_block(const struct crash_rec *r,
				     const struct crash_judge *j, u64 block,
				     u64 floor, const void *buf, char *why,
				     size_t len)
{
	struct crash_id id;
	enum crash_kind k = crash_block_parse(buf, &id);

	return crash_judge_parsed(r, j, block, floor, k, &id, why, len);
}

enum crash_verdict crash_judge_parsed(const struct crash_rec *r,
				      const struct crash_judge *j, u64 block,
				      u64 floor, enum crash_kind k,
				      const struct crash_id *idp, char *why,
				      size_t len)
{
	struct crash_id id = *idp;
	u64 key, v;

	switch (k) {
	case CRASH_ZERO:
		if (!floor && block < j->boundary)
			return CRASH_OK;
		snprintf(why, len, "zeroes, expected version >= %llu",
			 (unsigned long long)floor);
		return CRASH_BAD_ZERO;
	case CRASH_GARBAGE:
		snprintf(why, len, "garbage (no block header), floor %llu",
			 (unsigned long long)floor);
		return CRASH_BAD_GARBAGE;
	case CRASH_TORN:
		snprintf(why, len,
			 "torn/corrupt block: header says run %llx block %llu version %llu, bad checksum; floor %llu",
			 (unsigned long long)id.run,
			 (unsigned long long)id.block,
			 (unsigned long long)id.version,
			 (unsigned long long)floor);
		return CRASH_BAD_TORN;
	case CRASH_VALID:
		break;
	}
	if (id.run == j->ssd_old) {
		if (!floor && block >= j->boundary &&
		    id.block == j->expansion + block - j->boundary)
			return CRASH_OK;
		snprintf(why, len,
			 "the SSD's pre-format pattern of SSD block %llu, expected %s%llu",
			 (unsigned long long)id.block,
			 floor ? "version >= " : "zeroes or a version, floor ",
			 (unsigned long long)floor);
		return CRASH_BAD_SSD_OLD;
	}
	if (id.run == j->ram_old) {
		snprintf(why, len,
			 "the old RAM device pattern of RAM block %llu, floor %llu",
			 (unsigned long long)id.block,
			 (unsigned long long)floor);
		return CRASH_BAD_RAM_OLD;
	}
	if (id.run != j->run) {
		snprintf(why, len, "data of run %llx (block %llu version %llu)",
			 (unsigned long long)id.run,
			 (unsigned long long)id.block,
			 (unsigned long long)id.version);
		return CRASH_BAD_RUN;
	}
	if (id.block != block && id.block != CRASH_POOL_BLOCK) {
		snprintf(why, len,
			 "another block's data: block %llu version %llu",
			 (unsigned long long)id.block,
			 (unsigned long long)id.version);
		return CRASH_BAD_BLOCK;
	}
	key = id.block == CRASH_POOL_BLOCK ? CRASH_KEY_POOL | id.version :
					     id.version;
	v = crash_rec_version(r, block, key);
	if (!v) {
		snprintf(why, len, "%s %llu, never written to this block",
			 id.block == CRASH_POOL_BLOCK ? "pool content" :
			 "version", (unsigned long long)id.version);
		return CRASH_BAD_NEVER;
	}
	if (v < floor) {
		snprintf(why, len,
			 "stale: version %llu, but %llu was durable",
			 (unsigned long long)v, (unsigned long long)floor);
		return CRASH_BAD_STALE;
	}
	return CRASH_OK;
}
