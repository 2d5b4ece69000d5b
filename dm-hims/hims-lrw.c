// SPDX-License-Identifier: GPL-2.0
/*
 * dm-hims least-recently-written order of dirty blocks (plain C).
 */
#include "hims-lrw.h"

void hims_lrw_init(struct hims_lrw *lrw, u32 nr_blocks, u8 *state, u32 *prev,
		   u32 *next, u64 *seq, u8 *writing)
{
	lrw->state = state;
	lrw->prev = prev;
	lrw->next = next;
	lrw->seq = seq;
	lrw->writing = writing;
	lrw->head = HIMS_LRW_NONE;
	lrw->tail = HIMS_LRW_NONE;
	lrw->nr_blocks = nr_blocks;
	lrw->nr_dirty = 0;
	lrw->nr_writeback = 0;
}

static void lrw_unlink(struct hims_lrw *lrw, u32 block)
{
	u32 prev = lrw->prev[block], next = lrw->next[block];

	if (prev == HIMS_LRW_NONE)
		lrw->head = next;
	else
		lrw->next[prev] = next;
	if (next == HIMS_LRW_NONE)
		lrw->tail = prev;
	else
		lrw->prev[next] = prev;
	lrw->state[block] &= ~HIMS_BLK_DIRTY;
	lrw->nr_dirty--;
}

static void lrw_append(struct hims_lrw *lrw, u32 block, u64 seq)
{
	lrw->prev[block] = lrw->tail;
	lrw->next[block] = HIMS_LRW_NONE;
	if (lrw->tail == HIMS_LRW_NONE)
		lrw->head = block;
	else
		lrw->next[lrw->tail] = block;
	lrw->tail = block;
	lrw->seq[block] = seq;
	lrw->state[block] |= HIMS_BLK_DIRTY;
	lrw->nr_dirty++;
}

bool hims_lrw_write_begin(struct hims_lrw *lrw, u32 first, u32 len)
{
	u32 block;

	for (block = first; block < first + len; block++)
		if (lrw->state[block] & HIMS_BLK_WRITEBACK ||
		    lrw->writing[block] == HIMS_LRW_MAX_WRITING)
			return false;
	for (block = first; block < first + len; block++)
		lrw->writing[block]++;
	return true;
}

bool hims_lrw_write_end(struct hims_lrw *lrw, u32 first, u32 len)
{
	bool was_full = false;
	u32 block;

	for (block = first; block < first + len; block++)
		was_full |= lrw->writing[block]-- == HIMS_LRW_MAX_WRITING;
	return was_full;
}

void hims_lrw_mark_dirty(struct hims_lrw *lrw, u32 block, u64 seq)
{
	if (!(lrw->state[block] & HIMS_BLK_DIRTY))
		lrw_append(lrw, block, seq);
}

static bool can_take(const struct hims_lrw *lrw, u32 block)
{
	return (lrw->state[block] & (HIMS_BLK_DIRTY | HIMS_BLK_WRITEBACK)) ==
		HIMS_BLK_DIRTY && !lrw->writing[block];
}

static void take(struct hims_lrw *lrw, u32 block, u64 *min_seq)
{
	*min_seq = min(*min_seq, lrw->seq[block]);
	lrw_unlink(lrw, block);
	lrw->state[block] |= HIMS_BLK_WRITEBACK;
	lrw->nr_writeback++;
}

u32 hims_lrw_pick_run(struct hims_lrw *lrw, u32 max_run, u32 *first, u64 *min_seq)
{
	u32 start, end, block;

	/*
	 * Blocks re-dirtied while under writeback wait for that copy to end,
	 * blocks with a write in flight for the write.
	 */
	for (block = lrw->head; block != HIMS_LRW_NONE; block = lrw->next[block])
		if (can_take(lrw, block))
			break;
	if (block == HIMS_LRW_NONE || !max_run)
		return 0;

	/* Coalesce dirty neighbours into one sequential copy. */
	start = block;
	end = block + 1;
	while (end - start < max_run && end < lrw->nr_blocks && can_take(lrw, end))
		end++;
	while (end - start < max_run && start > 0 && can_take(lrw, start - 1))
		start--;

	*min_seq = ~0ULL;
	for (block = start; block < end; block++)
		take(lrw, block, min_seq);
	*first = start;
	return end - start;
}

void hims_lrw_writeback_done(struct hims_lrw *lrw, u32 first, u32 len, bool ok,
			     u64 retry_seq)
{
	u32 block;

	for (block = first; block < first + len; block++) {
		lrw->state[block] &= ~HIMS_BLK_WRITEBACK;
		lrw->nr_writeback--;
		if (!ok && !(lrw->state[block] & HIMS_BLK_DIRTY))
			lrw_append(lrw, block, retry_seq);
	}
}

u64 hims_lrw_oldest_seq(const struct hims_lrw *lrw)
{
	return lrw->head == HIMS_LRW_NONE ? ~0ULL : lrw->seq[lrw->head];
}
