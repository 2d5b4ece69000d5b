/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The workload's record and the rule a crash state must obey.
 *
 * The writer appends one line per event, in the order it saw them:
 *
 *   w <block> <version> <key>         a write completed (acknowledged)
 *   u <mark> <block> <version> <key>  a FUA write completed, then mark
 *                                     <mark> went into the log
 *   s <id>                            sync <id> (fsync, flush message)
 *                                     was issued: it covers every w above
 *   m <mark> <id>                     sync <id> completed, then mark <mark>
 *   b                                 baseline: everything above is
 *                                     durable; marks count from 1 again
 *   v <version>                       versions up to this one are taken
 *
 * Versions are global and grow; <key> names the content: the version, or
 * CRASH_KEY_POOL | index for a pool block shared by many blocks.  A crash
 * state whose last mark is K must show, for every block, a content
 * written to it with a version at least its floor: the newest version
 * covered by a sync whose mark is at most K, a FUA write whose mark is at
 * most K, or the baseline.  A block without a floor may also read as it
 * was before the run (zeroes in the RAM tier, the SSD's own pattern in
 * the SSD tier).
 */
#ifndef CRASH_RECORD_H
#define CRASH_RECORD_H

#include <stddef.h>
#include <stdio.h>

#include "purec.h"
#include "tests/crash/crash-block.h"

#define CRASH_KEY_POOL	0x8000000000000000ULL

struct crash_write {
	u64 block;
	u64 version;
	u64 key;
	u64 line;
	u64 mark;		/* FUA writes: its mark, else 0 */
};

struct crash_sync {
	u64 id;
	u64 line;		/* where "s" was */
	u64 mark;		/* 0 until "m" */
};

struct crash_rec {
	struct crash_write *w;	/* sorted by block, then version */
	size_t nw, aw;
	struct crash_sync *s;
	size_t ns, as;
	u64 base_line;		/* the last "b" line, 0: none */
};

int crash_rec_parse(struct crash_rec *r, FILE *f, char *why, size_t len);
void crash_rec_free(struct crash_rec *r);
/* floor[b] for blocks [0, n) at a crash whose last mark is @mark (0: none). */
void crash_rec_floor(const struct crash_rec *r, u64 mark, u64 n, u64 *floor);

struct crash_judge {
	u64 run;		/* the workload's run id */
	u64 ssd_old;		/* run id of the SSD's pre-format pattern */
	u64 ram_old;		/* run id of the RAM device's pattern */
	u64 boundary;		/* first SSD-tier logical block */
	u64 expansion;		/* its SSD block */
};

/* What a block read as: fine, or which way it broke the rule. */
enum crash_verdict {
	CRASH_OK = 0,
	CRASH_BAD_ZERO,		/* zeroes where a version was durable */
	CRASH_BAD_GARBAGE,	/* no block header */
	CRASH_BAD_TORN,		/* our header, bad checksum */
	CRASH_BAD_SSD_OLD,	/* the SSD's pre-format pattern, not its own */
	CRASH_BAD_RAM_OLD,	/* the RAM device's pre-format pattern */
	CRASH_BAD_RUN,		/* another run's data */
	CRASH_BAD_BLOCK,	/* another block's data */
	CRASH_BAD_NEVER,	/* a version never written to the block */
	CRASH_BAD_STALE,	/* older than a durable version */
	CRASH_NR_VERDICTS,
};

/* "stale version", ...: one short name per verdict. */
extern const char * const crash_verdict_name[CRASH_NR_VERDICTS];

/* CRASH_OK if @buf may be block @block's content, else why not (@why). */
enum crash_verdict crash_judge_block(const struct crash_rec *r,
				     const struct crash_judge *j, u64 block,
				     u64 floor, const void *buf, char *why,
				     size_t len);
/* The same for a block crash_block_parse() already parsed (@k, @id). */
enum crash_verdict crash_judge_parsed(const struct crash_rec *r,
				      const struct crash_judge *j, u64 block,
				      u64 floor, enum crash_kind k,
				      const struct crash_id *id, char *why,
				      size_t len);
/* The newest written version of @block with content @key, or 0. */
u64 crash_rec_version(const struct crash_rec *r, u64 block, u64 key);

#endif
