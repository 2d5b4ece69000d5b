/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-hims per-block state and least-recently-written (LRW) order of the
 * dirty blocks of the RAM tier (plain C, no locking: the caller serialises).
 *
 * Dirty blocks form a list ordered by the sequence number of the write that
 * first dirtied them, oldest first (a rewrite does not move a dirty block,
 * so max_age holds for hot blocks as it does in the page cache), kept in
 * caller-provided arrays indexed by block number so that no allocation
 * happens on the I/O path.
 *
 * A block with a write in flight is never taken for writeback, and the
 * caller holds writes to a block under writeback until the copy ends, so
 * a copy never reads a block while a write is landing in it.
 */
#ifndef DM_HIMS_LRW_H
#define DM_HIMS_LRW_H

#include "purec.h"

/* Per-block state bits. */
#define HIMS_BLK_RESTORED	0x01	/* RAM holds the block's data */
#define HIMS_BLK_DIRTY		0x02	/* RAM is newer than the SSD mirror */
#define HIMS_BLK_WRITEBACK	0x04	/* a copy to the SSD is in flight */
#define HIMS_BLK_RESTORING	0x08	/* a copy from the SSD is in flight */

/* Writes in flight to one block at most; more wait for one to end. */
#define HIMS_LRW_MAX_WRITING	255U

#define HIMS_LRW_NONE		0xffffffffU

struct hims_lrw {
	u8 *state;
	u32 *prev;
	u32 *next;
	u64 *seq;		/* sequence number of the write that dirtied it */
	u8 *writing;		/* writes in flight, per block */
	u32 head;		/* least recently written dirty block */
	u32 tail;
	u32 nr_blocks;
	u32 nr_dirty;		/* blocks with HIMS_BLK_DIRTY */
	u32 nr_writeback;	/* blocks with HIMS_BLK_WRITEBACK */
};

void hims_lrw_init(struct hims_lrw *lrw, u32 nr_blocks, u8 *state, u32 *prev,
		   u32 *next, u64 *seq, u8 *writing);

/*
 * A write of [first, first + len) is about to be issued.  False (and
 * nothing changed) when one of the blocks is under writeback or has
 * HIMS_LRW_MAX_WRITING writes in flight: the write must wait.
 */
bool hims_lrw_write_begin(struct hims_lrw *lrw, u32 first, u32 len);

/* That write ended.  True if a block was full, so a waiter may go on. */
bool hims_lrw_write_end(struct hims_lrw *lrw, u32 first, u32 len);

/*
 * A write of @block completed as write number @seq: the block becomes
 * dirty, keeping its place and number if it already was.
 */
void hims_lrw_mark_dirty(struct hims_lrw *lrw, u32 block, u64 seq);

/*
 * Take the least recently dirtied block not already under writeback and
 * with no write in flight, with such dirty neighbours (at most @max_run blocks in all), for one
 * writeback copy: they leave the list and become HIMS_BLK_WRITEBACK.
 * Returns the number of blocks (0: none); *first is the lowest block and
 * *min_seq the oldest write among them.
 */
u32 hims_lrw_pick_run(struct hims_lrw *lrw, u32 max_run, u32 *first, u64 *min_seq);

/*
 * A writeback of [first, first + len) ended.  On failure the blocks become
 * dirty again as write number @retry_seq, so nothing is forgotten.
 */
void hims_lrw_writeback_done(struct hims_lrw *lrw, u32 first, u32 len, bool ok,
			     u64 retry_seq);

/* Sequence number of the oldest dirty write, or U64 max when clean. */
u64 hims_lrw_oldest_seq(const struct hims_lrw *lrw);

#endif /* DM_HIMS_LRW_H */
