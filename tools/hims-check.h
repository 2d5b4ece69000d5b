/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hims-check: offline consistency check of a dm-hims SSD (superblock and,
 * with dedup, the commit records and the map and reference counts of the
 * durable commit).  The logic reads through a callback so that the unit
 * test can run it on images built in memory.
 */
#ifndef HIMS_CHECK_H
#define HIMS_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "dm-hims/hims-format.h"

/* Reads @nr 4 KiB blocks from SSD block @block into @buf: 0 or -errno. */
typedef int (*hims_check_read_fn)(void *ctx, u64 block, u32 nr, void *buf);

enum hims_check_status {
	HIMS_CHECK_CONSISTENT = 0,	/* superblock (and dedup metadata) fine */
	HIMS_CHECK_NO_COMMIT = 1,	/* dedup, fresh: no commit ended yet */
	HIMS_CHECK_BAD = 2,		/* an inconsistency: see msg */
	HIMS_CHECK_IO = 3,		/* a read failed: see msg */
};

struct hims_check_result {
	enum hims_check_status status;
	struct hims_geometry geo;
	bool dedup;
	u64 fmt_id;
	u64 epoch;		/* the durable commit */
	int record_slot;
	u64 newest_seen;	/* newest epoch in any valid metadata slot */
	u32 too_new;		/* metadata slots of a commit that never ended */
	u32 mapped, phys_used, zero, spilled, ram_refs;
	char msg[512];		/* one line: the summary or the first problem */
};

/* Dedup, no commit yet: require the other record and every metadata slot blank. */
#define HIMS_CHECK_STRICT_FRESH	0x1

/*
 * Checks the SSD read through @read; @ssd_blocks: its size in blocks, or 0
 * if unknown; @flags: HIMS_CHECK_*.  Returns 0 when consistent (status CONSISTENT or NO_COMMIT),
 * 1 otherwise; @res->msg says what was found, in one line.
 */
int hims_check(hims_check_read_fn read, void *ctx, u64 ssd_blocks,
	       unsigned int flags, struct hims_check_result *res);

#endif /* HIMS_CHECK_H */
