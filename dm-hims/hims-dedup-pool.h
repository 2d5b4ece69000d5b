/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-hims dedup free pools (plain C, no locking, no allocation): the free
 * physical blocks and spill slots of hims-dedup.c, whose frees become
 * reusable only once the commit of the epoch that freed them ends.
 */
#ifndef DM_HIMS_DEDUP_POOL_H
#define DM_HIMS_DEDUP_POOL_H

#include "purec.h"

#define HIMS_DEDUP_NONE		0xffffffffU	/* no block, end of a list */

/*
 * Free blocks (or slots): reusable ones on a stack, freed ones on two
 * lists, those freed in the open epoch and those freed in the epoch being
 * committed.  Linked through next[], which is unused by blocks in use.
 */
struct hims_dedup_pool {
	u32 *next;
	u32 nr;
	u32 ready;
	u32 open_head, open_tail;
	u32 commit_head, commit_tail;
	u32 nr_ready, nr_open, nr_commit;
};

void hims_pool_reset(struct hims_dedup_pool *pool);
void hims_pool_push_ready(struct hims_dedup_pool *pool, u32 n);
/* A ready entry, or HIMS_DEDUP_NONE. */
u32 hims_pool_get(struct hims_dedup_pool *pool);
/* Freed in the open epoch: reusable when its commit ends. */
void hims_pool_defer(struct hims_dedup_pool *pool, u32 n);
/* The open epoch's frees become the committing epoch's. */
void hims_pool_begin(struct hims_dedup_pool *pool);
/* The commit ended: its frees become ready, or (failed) open again. */
void hims_pool_end(struct hims_dedup_pool *pool, bool ok);
/* Takes @n off the open list again (an aborted write); false if absent. */
bool hims_pool_undefer(struct hims_dedup_pool *pool, u32 n);
u32 hims_pool_pending(const struct hims_dedup_pool *pool);
/* Every entry not @used ready, lowest first; @used may be next[] itself. */
void hims_pool_fill(struct hims_dedup_pool *pool, const u32 *used);

#endif /* DM_HIMS_DEDUP_POOL_H */
