// SPDX-License-Identifier: GPL-2.0
/*
 * dm-hims dedup free pools (plain C): a stack of reusable entries and two
 * lists of deferred ones, see hims-dedup-pool.h.
 */
#include "hims-dedup-pool.h"

void hims_pool_reset(struct hims_dedup_pool *pool)
{
	pool->ready = HIMS_DEDUP_NONE;
	pool->open_head = HIMS_DEDUP_NONE;
	pool->open_tail = HIMS_DEDUP_NONE;
	pool->commit_head = HIMS_DEDUP_NONE;
	pool->commit_tail = HIMS_DEDUP_NONE;
	pool->nr_ready = 0;
	pool->nr_open = 0;
	pool->nr_commit = 0;
}

void hims_pool_push_ready(struct hims_dedup_pool *pool, u32 n)
{
	pool->next[n] = pool->ready;
	pool->ready = n;
	pool->nr_ready++;
}

u32 hims_pool_get(struct hims_dedup_pool *pool)
{
	u32 n = pool->ready;

	if (n != HIMS_DEDUP_NONE) {
		pool->ready = pool->next[n];
		pool->next[n] = HIMS_DEDUP_NONE;
		pool->nr_ready--;
	}
	return n;
}

/* Freed in the open epoch: reusable when its commit ends. */
void hims_pool_defer(struct hims_dedup_pool *pool, u32 n)
{
	pool->next[n] = HIMS_DEDUP_NONE;
	if (pool->open_tail == HIMS_DEDUP_NONE)
		pool->open_head = n;
	else
		pool->next[pool->open_tail] = n;
	pool->open_tail = n;
	pool->nr_open++;
}

void hims_pool_begin(struct hims_dedup_pool *pool)
{
	pool->commit_head = pool->open_head;
	pool->commit_tail = pool->open_tail;
	pool->nr_commit = pool->nr_open;
	pool->open_head = HIMS_DEDUP_NONE;
	pool->open_tail = HIMS_DEDUP_NONE;
	pool->nr_open = 0;
}

void hims_pool_end(struct hims_dedup_pool *pool, bool ok)
{
	if (pool->commit_head == HIMS_DEDUP_NONE)
		return;
	if (ok) {
		pool->next[pool->commit_tail] = pool->ready;
		pool->ready = pool->commit_head;
		pool->nr_ready += pool->nr_commit;
	} else {
		/* Still referenced on disk, and no commit will change that. */
		pool->next[pool->commit_tail] = pool->open_head;
		pool->open_head = pool->commit_head;
		if (pool->open_tail == HIMS_DEDUP_NONE)
			pool->open_tail = pool->commit_tail;
		pool->nr_open += pool->nr_commit;
	}
	pool->commit_head = HIMS_DEDUP_NONE;
	pool->commit_tail = HIMS_DEDUP_NONE;
	pool->nr_commit = 0;
}

/*
 * Takes @n, freed in the open epoch, off the open list again (an aborted
 * write).  The list is walked: aborts are rare, and the entry is near the
 * tail.
 */
bool hims_pool_undefer(struct hims_dedup_pool *pool, u32 n)
{
	u32 prev = HIMS_DEDUP_NONE, cur;

	for (cur = pool->open_head; cur != HIMS_DEDUP_NONE; prev = cur, cur = pool->next[cur]) {
		if (cur != n)
			continue;
		if (prev == HIMS_DEDUP_NONE)
			pool->open_head = pool->next[n];
		else
			pool->next[prev] = pool->next[n];
		if (pool->open_tail == n)
			pool->open_tail = prev;
		pool->next[n] = HIMS_DEDUP_NONE;
		pool->nr_open--;
		return true;
	}
	return false;
}

u32 hims_pool_pending(const struct hims_dedup_pool *pool)
{
	return pool->nr_open + pool->nr_commit;
}

/*
 * Every entry not @used ready, lowest first.  @used may be next[] itself:
 * each entry is read before its link is written.
 */
void hims_pool_fill(struct hims_dedup_pool *pool, const u32 *used)
{
	u32 n;

	hims_pool_reset(pool);
	for (n = pool->nr; n-- > 0;) {
		if (used && used[n])
			pool->next[n] = HIMS_DEDUP_NONE;
		else
			hims_pool_push_ready(pool, n);
	}
}
