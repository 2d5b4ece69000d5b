// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for dm-hims/hims-lrw.c: hand-written cases, then a randomized
 * comparison against a naive model of the dirty blocks and their writes.
 */
#include "dm-hims/hims-lrw.h"
#include "unit.h"

#define U64_NONE	(~0ULL)

/* The LRW order with arrays of exactly nr_blocks so ASan sees overruns. */
struct lrw_fixture {
	struct hims_lrw lrw;
	u8 *state;
	u32 *prev, *next;
	u64 *seq;
	u8 *writing;
	u32 nr_blocks;
};

static void fixture_init(struct lrw_fixture *f, u32 nr_blocks)
{
	f->nr_blocks = nr_blocks;
	f->state = calloc(nr_blocks, sizeof(*f->state));
	f->prev = calloc(nr_blocks, sizeof(*f->prev));
	f->next = calloc(nr_blocks, sizeof(*f->next));
	f->seq = calloc(nr_blocks, sizeof(*f->seq));
	f->writing = calloc(nr_blocks, sizeof(*f->writing));
	if (!f->state || !f->prev || !f->next || !f->seq || !f->writing) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	hims_lrw_init(&f->lrw, nr_blocks, f->state, f->prev, f->next, f->seq,
		      f->writing);
}

static void fixture_free(struct lrw_fixture *f)
{
	free(f->state);
	free(f->prev);
	free(f->next);
	free(f->seq);
	free(f->writing);
}

/* The dirty list from head to tail, into @out; returns its length. */
static u32 list_blocks(const struct hims_lrw *lrw, u32 *out, u32 max)
{
	u32 n = 0, block;

	for (block = lrw->head; block != HIMS_LRW_NONE && n < max; block = lrw->next[block])
		out[n++] = block;
	return n;
}

static bool list_is(const struct hims_lrw *lrw, const u32 *want, u32 nr)
{
	u32 got[64], n, i;

	n = list_blocks(lrw, got, ARRAY_SIZE(got));
	if (n != nr)
		return false;
	for (i = 0; i < n; i++)
		if (got[i] != want[i])
			return false;
	return true;
}

static void test_empty(void)
{
	struct lrw_fixture f;
	u32 first = 77;
	u64 min_seq = 77;

	fixture_init(&f, 16);
	CHECK_EQ(f.lrw.head, HIMS_LRW_NONE);
	CHECK_EQ(f.lrw.tail, HIMS_LRW_NONE);
	CHECK_EQ(f.lrw.nr_dirty, 0);
	CHECK_EQ(f.lrw.nr_writeback, 0);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), U64_NONE);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 8, &first, &min_seq), 0);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 0, &first, &min_seq), 0);

	/* max_run 0 takes nothing even when there is something to take. */
	hims_lrw_mark_dirty(&f.lrw, 3, 1);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 0, &first, &min_seq), 0);
	CHECK_EQ(f.state[3], HIMS_BLK_DIRTY);
	CHECK_EQ(f.lrw.nr_dirty, 1);
	CHECK_EQ(f.lrw.nr_writeback, 0);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), 1);
	fixture_free(&f);
}

static void test_order_and_oldest(void)
{
	static const u32 order1[] = { 5, 2, 9 };
	static const u32 order3[] = { 2, 9 };
	struct lrw_fixture f;
	u32 first;
	u64 min_seq;

	fixture_init(&f, 16);
	hims_lrw_mark_dirty(&f.lrw, 5, 10);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), 10);
	hims_lrw_mark_dirty(&f.lrw, 2, 11);
	hims_lrw_mark_dirty(&f.lrw, 9, 12);
	CHECK(list_is(&f.lrw, order1, 3));
	CHECK_EQ(f.lrw.tail, 9);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), 10);

	/*
	 * A rewrite keeps a dirty block's place and number: it has been
	 * dirty since write 10, and max_age counts from there.
	 */
	hims_lrw_mark_dirty(&f.lrw, 5, 13);
	CHECK(list_is(&f.lrw, order1, 3));
	CHECK_EQ(f.lrw.nr_dirty, 3);
	CHECK_EQ(f.seq[5], 10);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), 10);
	hims_lrw_mark_dirty(&f.lrw, 9, 14);
	CHECK(list_is(&f.lrw, order1, 3));
	CHECK_EQ(f.seq[9], 12);

	/* max_run 1: just the oldest. */
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 1, &first, &min_seq), 1);
	CHECK_EQ(first, 5);
	CHECK_EQ(min_seq, 10);
	CHECK_EQ(f.state[5], HIMS_BLK_WRITEBACK);
	CHECK(list_is(&f.lrw, order3, 2));
	CHECK_EQ(f.lrw.head, 2);
	CHECK_EQ(f.prev[2], HIMS_LRW_NONE);
	CHECK_EQ(f.lrw.nr_dirty, 2);
	CHECK_EQ(f.lrw.nr_writeback, 1);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), 11);
	hims_lrw_writeback_done(&f.lrw, 5, 1, true, 99);
	CHECK_EQ(f.state[5], 0);
	CHECK_EQ(f.lrw.nr_writeback, 0);

	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 1, &first, &min_seq), 1);
	CHECK_EQ(first, 2);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 1, &first, &min_seq), 1);
	CHECK_EQ(first, 9);
	CHECK_EQ(min_seq, 12);
	CHECK_EQ(f.lrw.head, HIMS_LRW_NONE);
	CHECK_EQ(f.lrw.tail, HIMS_LRW_NONE);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), U64_NONE);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 1, &first, &min_seq), 0);
	CHECK_EQ(f.lrw.nr_writeback, 2);
	hims_lrw_writeback_done(&f.lrw, 2, 1, true, 99);
	hims_lrw_writeback_done(&f.lrw, 9, 1, true, 99);
	CHECK_EQ(f.lrw.nr_writeback, 0);
	CHECK_EQ(f.lrw.nr_dirty, 0);
	fixture_free(&f);
}

static void test_coalesce(void)
{
	static const u32 rest[] = { 8, 1 };
	struct lrw_fixture f;
	u32 first, n, b;
	u64 min_seq;

	fixture_init(&f, 16);
	/* Oldest is 5; neighbours 3, 4 (below) and 6 (above); 8 and 1 apart. */
	hims_lrw_mark_dirty(&f.lrw, 5, 1);
	hims_lrw_mark_dirty(&f.lrw, 4, 2);
	hims_lrw_mark_dirty(&f.lrw, 8, 3);
	hims_lrw_mark_dirty(&f.lrw, 6, 4);
	hims_lrw_mark_dirty(&f.lrw, 3, 5);
	hims_lrw_mark_dirty(&f.lrw, 1, 6);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 100, &first, &min_seq), 4);
	CHECK_EQ(first, 3);
	CHECK_EQ(min_seq, 1);
	for (b = 3; b <= 6; b++)
		CHECK_EQ(f.state[b], HIMS_BLK_WRITEBACK);
	CHECK(list_is(&f.lrw, rest, 2));
	CHECK_EQ(f.lrw.nr_dirty, 2);
	CHECK_EQ(f.lrw.nr_writeback, 4);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), 3);
	hims_lrw_writeback_done(&f.lrw, 3, 4, true, 99);
	CHECK_EQ(f.lrw.nr_writeback, 0);
	for (b = 3; b <= 6; b++)
		CHECK_EQ(f.state[b], 0);
	fixture_free(&f);

	/* The run is capped at max_run but always holds the oldest block. */
	for (n = 1; n <= 9; n++) {
		fixture_init(&f, 16);
		hims_lrw_mark_dirty(&f.lrw, 6, 1);
		for (b = 2; b <= 10; b++)
			if (b != 6)
				hims_lrw_mark_dirty(&f.lrw, b, 10 + b);
		CHECK_EQ(hims_lrw_pick_run(&f.lrw, n, &first, &min_seq), n);
		CHECK(first >= 2 && first + n <= 11);
		CHECK(first <= 6 && 6 < first + n);
		CHECK_EQ(min_seq, 1);
		CHECK_EQ(f.lrw.nr_dirty, 9 - n);
		CHECK_EQ(f.lrw.nr_writeback, n);
		fixture_free(&f);
	}

	/* Runs at both ends of the device stay inside it. */
	fixture_init(&f, 4);
	for (b = 0; b < 4; b++)
		hims_lrw_mark_dirty(&f.lrw, b, 4 - b);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 100, &first, &min_seq), 4);
	CHECK_EQ(first, 0);
	CHECK_EQ(min_seq, 1);
	hims_lrw_writeback_done(&f.lrw, 0, 4, true, 99);
	hims_lrw_mark_dirty(&f.lrw, 0, 5);
	hims_lrw_mark_dirty(&f.lrw, 1, 6);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 100, &first, &min_seq), 2);
	CHECK_EQ(first, 0);
	CHECK_EQ(min_seq, 5);
	hims_lrw_mark_dirty(&f.lrw, 3, 7);
	hims_lrw_mark_dirty(&f.lrw, 2, 8);
	/* Blocks 0 and 1 are under writeback: not part of the run. */
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 100, &first, &min_seq), 2);
	CHECK_EQ(first, 2);
	CHECK_EQ(min_seq, 7);
	fixture_free(&f);
}

static void test_redirty_during_writeback(void)
{
	static const u32 only4[] = { 4 };
	struct lrw_fixture f;
	u32 first;
	u64 min_seq;

	fixture_init(&f, 16);
	hims_lrw_mark_dirty(&f.lrw, 4, 1);
	hims_lrw_mark_dirty(&f.lrw, 5, 2);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 8, &first, &min_seq), 2);
	CHECK_EQ(first, 4);

	/* Written again while its copy is in flight. */
	hims_lrw_mark_dirty(&f.lrw, 4, 3);
	CHECK_EQ(f.state[4], HIMS_BLK_DIRTY | HIMS_BLK_WRITEBACK);
	CHECK(list_is(&f.lrw, only4, 1));
	CHECK_EQ(f.lrw.nr_dirty, 1);
	CHECK_EQ(f.lrw.nr_writeback, 2);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), 3);
	/* Not taken again until that copy ends. */
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 8, &first, &min_seq), 0);
	hims_lrw_mark_dirty(&f.lrw, 6, 4);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 8, &first, &min_seq), 1);
	CHECK_EQ(first, 6);
	CHECK_EQ(min_seq, 4);

	/* The copy succeeded but is stale: the block stays dirty. */
	hims_lrw_writeback_done(&f.lrw, 4, 2, true, 99);
	CHECK_EQ(f.state[4], HIMS_BLK_DIRTY);
	CHECK_EQ(f.state[5], 0);
	CHECK(list_is(&f.lrw, only4, 1));
	CHECK_EQ(f.seq[4], 3);
	CHECK_EQ(f.lrw.nr_dirty, 1);
	CHECK_EQ(f.lrw.nr_writeback, 1);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 8, &first, &min_seq), 1);
	CHECK_EQ(first, 4);
	CHECK_EQ(min_seq, 3);
	hims_lrw_writeback_done(&f.lrw, 4, 1, true, 99);
	hims_lrw_writeback_done(&f.lrw, 6, 1, true, 99);
	CHECK_EQ(f.lrw.nr_dirty, 0);
	CHECK_EQ(f.lrw.nr_writeback, 0);
	CHECK_EQ(f.state[4], 0);
	CHECK_EQ(f.state[6], 0);
	fixture_free(&f);
}

static void test_failed_writeback(void)
{
	static const u32 want[] = { 7, 3, 1, 2 };
	struct lrw_fixture f;
	u32 first;
	u64 min_seq;

	fixture_init(&f, 16);
	hims_lrw_mark_dirty(&f.lrw, 1, 1);
	hims_lrw_mark_dirty(&f.lrw, 2, 2);
	hims_lrw_mark_dirty(&f.lrw, 3, 3);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 8, &first, &min_seq), 3);
	CHECK_EQ(first, 1);
	hims_lrw_mark_dirty(&f.lrw, 7, 4);
	hims_lrw_mark_dirty(&f.lrw, 3, 5);	/* rewritten during the copy */

	/* The copy failed: 1 and 2 are dirty again, 3 keeps its newer write. */
	hims_lrw_writeback_done(&f.lrw, 1, 3, false, 6);
	CHECK_EQ(f.lrw.nr_writeback, 0);
	CHECK_EQ(f.lrw.nr_dirty, 4);
	CHECK_EQ(f.state[1], HIMS_BLK_DIRTY);
	CHECK_EQ(f.state[2], HIMS_BLK_DIRTY);
	CHECK_EQ(f.state[3], HIMS_BLK_DIRTY);
	CHECK_EQ(f.seq[1], 6);
	CHECK_EQ(f.seq[2], 6);
	CHECK_EQ(f.seq[3], 5);
	CHECK(list_is(&f.lrw, want, 4));
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), 4);

	/* They are written back again later. */
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 1, &first, &min_seq), 1);
	CHECK_EQ(first, 7);
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 8, &first, &min_seq), 3);
	CHECK_EQ(first, 1);
	CHECK_EQ(min_seq, 5);
	CHECK_EQ(f.lrw.nr_dirty, 0);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), U64_NONE);

	/* Failing again re-queues only the clean ones, in retry order. */
	hims_lrw_writeback_done(&f.lrw, 7, 1, false, 7);
	hims_lrw_mark_dirty(&f.lrw, 3, 8);
	hims_lrw_writeback_done(&f.lrw, 1, 3, false, 9);
	CHECK(list_is(&f.lrw, want, 4));
	CHECK_EQ(f.seq[7], 7);
	CHECK_EQ(f.seq[3], 8);
	CHECK_EQ(f.seq[1], 9);
	CHECK_EQ(f.seq[2], 9);
	CHECK_EQ(f.lrw.nr_writeback, 0);
	CHECK_EQ(f.lrw.nr_dirty, 4);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), 7);
	fixture_free(&f);
}

static void test_writing(void)
{
	struct lrw_fixture f;
	u32 first, i;
	u64 min_seq;

	fixture_init(&f, 16);
	/* A block with a write in flight is not taken, nor are neighbours cut. */
	hims_lrw_mark_dirty(&f.lrw, 4, 1);
	hims_lrw_mark_dirty(&f.lrw, 5, 2);
	hims_lrw_mark_dirty(&f.lrw, 6, 3);
	CHECK(hims_lrw_write_begin(&f.lrw, 4, 1));
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 8, &first, &min_seq), 2);
	CHECK_EQ(first, 5);
	CHECK_EQ(min_seq, 2);
	/* Writes to blocks under writeback wait for the copy. */
	CHECK(!hims_lrw_write_begin(&f.lrw, 3, 3));
	CHECK_EQ(f.writing[3], 0);
	CHECK_EQ(f.writing[4], 1);
	hims_lrw_writeback_done(&f.lrw, 5, 2, true, 99);
	CHECK(hims_lrw_write_begin(&f.lrw, 3, 3));
	CHECK_EQ(f.writing[4], 2);
	CHECK(!hims_lrw_write_end(&f.lrw, 3, 3));
	CHECK(!hims_lrw_write_end(&f.lrw, 4, 1));
	CHECK_EQ(hims_lrw_pick_run(&f.lrw, 8, &first, &min_seq), 1);
	CHECK_EQ(first, 4);
	hims_lrw_writeback_done(&f.lrw, 4, 1, true, 99);

	/* At most HIMS_LRW_MAX_WRITING writes per block; the next one waits. */
	for (i = 0; i < HIMS_LRW_MAX_WRITING; i++)
		CHECK(hims_lrw_write_begin(&f.lrw, 9, 1));
	CHECK(!hims_lrw_write_begin(&f.lrw, 8, 2));
	CHECK_EQ(f.writing[8], 0);
	CHECK(hims_lrw_write_end(&f.lrw, 9, 1));
	CHECK(hims_lrw_write_begin(&f.lrw, 8, 2));
	CHECK(hims_lrw_write_end(&f.lrw, 8, 2));	/* 9 was full again */
	fixture_free(&f);
}

/*
 * The randomized model test.  The model knows, per block, whether it is
 * dirty, under writeback, and the number of its last write; everything the
 * LRW order answers is recomputed from it by brute force.
 */
#define M_BLOCKS	1000
#define M_OPS		60000
#define M_MAX_INFLIGHT	64
#define M_MAX_SEQ	(20 * M_OPS + 2 * M_BLOCKS)	/* up to 17 per op */
#define M_OTHER_BITS	(HIMS_BLK_RESTORED | HIMS_BLK_RESTORING)

struct model {
	bool dirty[M_BLOCKS];
	bool writeback[M_BLOCKS];
	u64 seq[M_BLOCKS];
	u8 other[M_BLOCKS];	/* state bits the LRW order must not touch */
	u32 visited[M_BLOCKS];	/* walk stamp per block */
	u32 walk;
	/* Sequence numbers given to several blocks by one failed writeback. */
	bool shared_seq[M_MAX_SEQ];
	struct {
		u32 first, len;
	} inflight[M_MAX_INFLIGHT];
	u32 nr_inflight;
	u32 writing[M_BLOCKS];	/* writes in flight per block */
	struct {
		u32 first, len;
	} writes[M_MAX_INFLIGHT];	/* writes begun, not ended */
	u32 nr_writes;
	u64 next_seq;
};

static struct model m;

static bool check_invariants(const struct lrw_fixture *f, u64 op)
{
	const struct hims_lrw *lrw = &f->lrw;
	u32 block, prev = HIMS_LRW_NONE, count = 0, nr_dirty = 0, nr_wb = 0;
	u64 last_seq = 0, oldest = U64_NONE;
	bool ok = true;

	m.walk++;
	for (block = lrw->head; block != HIMS_LRW_NONE; block = lrw->next[block]) {
		ok &= CHECK(block < M_BLOCKS);
		if (!ok)
			break;
		ok &= CHECK(m.visited[block] != m.walk);	/* no cycle */
		if (!ok)
			break;
		m.visited[block] = m.walk;
		ok &= CHECK(m.dirty[block]);
		ok &= CHECK(lrw->state[block] & HIMS_BLK_DIRTY);
		ok &= CHECK_EQ(lrw->prev[block], prev);
		ok &= CHECK_EQ(lrw->seq[block], m.seq[block]);
		if (count) {
			/* Strictly increasing, but for one failed run's blocks. */
			ok &= CHECK(lrw->seq[block] > last_seq ||
				    (lrw->seq[block] == last_seq &&
				     m.shared_seq[last_seq]));
		}
		if (!ok)
			break;
		last_seq = lrw->seq[block];
		prev = block;
		count++;
	}
	ok &= CHECK_EQ(lrw->tail, prev);

	for (block = 0; block < M_BLOCKS && ok; block++) {
		u8 state = lrw->state[block];

		ok &= CHECK_EQ(!!(state & HIMS_BLK_DIRTY), m.dirty[block]);
		ok &= CHECK_EQ(!!(state & HIMS_BLK_WRITEBACK), m.writeback[block]);
		ok &= CHECK_EQ(state & M_OTHER_BITS, m.other[block]);
		ok &= CHECK_EQ(m.visited[block] == m.walk, m.dirty[block]);
		if (m.dirty[block]) {
			nr_dirty++;
			oldest = min(oldest, m.seq[block]);
		}
		nr_wb += m.writeback[block];
	}
	if (ok) {
		ok &= CHECK_EQ(count, nr_dirty);
		ok &= CHECK_EQ(lrw->nr_dirty, nr_dirty);
		ok &= CHECK_EQ(lrw->nr_writeback, nr_wb);
		ok &= CHECK_EQ(hims_lrw_oldest_seq(lrw), oldest);
	}
	if (!ok)
		fprintf(stderr, "  after operation %llu\n", (unsigned long long)op);
	return ok;
}

static void model_mark_dirty(struct lrw_fixture *f, u32 block)
{
	u64 seq = m.next_seq++;

	hims_lrw_mark_dirty(&f->lrw, block, seq);
	/* A dirty block keeps the number of the write that dirtied it. */
	if (!m.dirty[block])
		m.seq[block] = seq;
	m.dirty[block] = true;
}

static bool takeable(u32 block)
{
	return m.dirty[block] && !m.writeback[block] && !m.writing[block];
}

/* Begin a write of [first, first + len); it may have to wait. */
static bool model_write_begin(struct lrw_fixture *f, u32 first, u32 len)
{
	bool want = true, got;
	u32 block;

	for (block = first; block < first + len; block++)
		if (m.writeback[block] || m.writing[block] == HIMS_LRW_MAX_WRITING)
			want = false;
	got = hims_lrw_write_begin(&f->lrw, first, len);
	if (!CHECK_EQ(got, want) || !got)
		return got == want;
	for (block = first; block < first + len; block++)
		m.writing[block]++;
	m.writes[m.nr_writes].first = first;
	m.writes[m.nr_writes].len = len;
	m.nr_writes++;
	return true;
}

/* End write @i, which completed: its blocks become dirty. */
static bool model_write_end(struct lrw_fixture *f, u32 i)
{
	u32 first = m.writes[i].first, len = m.writes[i].len, block;
	bool was_full = false;

	m.writes[i] = m.writes[--m.nr_writes];
	for (block = first; block < first + len; block++)
		was_full |= m.writing[block]-- == HIMS_LRW_MAX_WRITING;
	if (!CHECK_EQ(hims_lrw_write_end(&f->lrw, first, len), was_full))
		return false;
	for (block = first; block < first + len; block++)
		model_mark_dirty(f, block);
	return true;
}

static bool model_pick_run(struct lrw_fixture *f, u32 max_run)
{
	u32 block, oldest = HIMS_LRW_NONE, first = 0x5a5a5a5a, n;
	u64 min_seq = 0x5a5a5a5a, want_min = U64_NONE;
	bool ok = true;

	for (block = 0; block < M_BLOCKS; block++)
		if (takeable(block) && (oldest == HIMS_LRW_NONE || m.seq[block] < m.seq[oldest]))
			oldest = block;

	n = hims_lrw_pick_run(&f->lrw, max_run, &first, &min_seq);
	if (oldest == HIMS_LRW_NONE || !max_run)
		return CHECK_EQ(n, 0);
	if (!CHECK(n >= 1 && n <= max_run && first < M_BLOCKS && n <= M_BLOCKS - first))
		return false;
	/* The least recently written takeable block is in the run ... */
	ok &= CHECK(first <= oldest && oldest < first + n);
	/* ... every block of it was dirty, not under writeback, not written ... */
	for (block = first; block < first + n; block++) {
		ok &= CHECK(takeable(block));
		want_min = min(want_min, m.seq[block]);
	}
	ok &= CHECK_EQ(min_seq, want_min);
	/* ... and it was only cut short by max_run or a non-takeable block. */
	if (n < max_run) {
		ok &= CHECK(first == 0 || !takeable(first - 1));
		ok &= CHECK(first + n == M_BLOCKS || !takeable(first + n));
	}
	if (!ok)
		return false;

	for (block = first; block < first + n; block++) {
		m.dirty[block] = false;
		m.writeback[block] = true;
	}
	if (!CHECK(m.nr_inflight < M_MAX_INFLIGHT))
		return false;
	m.inflight[m.nr_inflight].first = first;
	m.inflight[m.nr_inflight].len = n;
	m.nr_inflight++;
	return true;
}

static void model_writeback_done(struct lrw_fixture *f, u32 i, bool ok)
{
	u32 first = m.inflight[i].first, len = m.inflight[i].len, block;
	u64 retry_seq = m.next_seq++;

	if (!CHECK(retry_seq < M_MAX_SEQ))
		exit(1);
	m.inflight[i] = m.inflight[--m.nr_inflight];
	hims_lrw_writeback_done(&f->lrw, first, len, ok, retry_seq);
	if (len > 1)
		m.shared_seq[retry_seq] = true;
	for (block = first; block < first + len; block++) {
		m.writeback[block] = false;
		if (!ok && !m.dirty[block]) {
			m.dirty[block] = true;
			m.seq[block] = retry_seq;
		}
	}
}

static void test_model(void)
{
	static const u32 max_runs[] = { 0, 1, 2, 3, 4, 8, 16, 32, 256, M_BLOCKS, ~0U };
	struct lrw_fixture f;
	u64 rng = 0x68696d73, op;
	u32 block, i, n;
	u32 picked = 0, coalesced = 0, redirtied = 0, failed = 0, began = 0;

	memset(&m, 0, sizeof(m));
	m.next_seq = 1;
	fixture_init(&f, M_BLOCKS);
	/* Bits owned by other parts of the target. */
	for (block = 0; block < M_BLOCKS; block++) {
		m.other[block] = unit_rand(&rng) & M_OTHER_BITS;
		f.state[block] = m.other[block];
	}
	if (!check_invariants(&f, 0))
		goto out;

	for (op = 1; op <= M_OPS; op++) {
		u64 r = unit_rand_below(&rng, 100);

		if (r < 15) {
			/* Begin a write; end one. */
			if (m.nr_writes < M_MAX_INFLIGHT) {
				block = unit_rand_below(&rng, M_BLOCKS - 4);
				n = 1 + unit_rand_below(&rng, 4);
				if (!model_write_begin(&f, block, n))
					break;
				began++;
			}
			if (m.nr_writes && unit_rand_below(&rng, 2) &&
			    !model_write_end(&f, unit_rand_below(&rng, m.nr_writes)))
				break;
		} else if (r < 45) {
			/* A write: a single block, or a short sequential burst. */
			block = unit_rand_below(&rng, M_BLOCKS);
			n = unit_rand_below(&rng, 4) ? 1 : 1 + unit_rand_below(&rng, 16);
			for (i = 0; i < n && block + i < M_BLOCKS; i++) {
				redirtied += m.writeback[block + i];
				model_mark_dirty(&f, block + i);
			}
		} else if (r < 48) {
			/* Rewrite a block under writeback, if any. */
			if (m.nr_inflight) {
				i = unit_rand_below(&rng, m.nr_inflight);
				block = m.inflight[i].first +
					unit_rand_below(&rng, m.inflight[i].len);
				redirtied++;
				model_mark_dirty(&f, block);
			}
		} else if (r < 75) {
			if (m.nr_inflight == M_MAX_INFLIGHT)
				continue;
			i = m.nr_inflight;
			n = max_runs[unit_rand_below(&rng, ARRAY_SIZE(max_runs))];
			if (!model_pick_run(&f, n))
				break;
			if (m.nr_inflight > i) {
				picked++;
				coalesced += m.inflight[i].len > 1;
			}
		} else if (m.nr_inflight) {
			bool ok = unit_rand_below(&rng, 5) != 0;

			failed += !ok;
			model_writeback_done(&f, unit_rand_below(&rng, m.nr_inflight), ok);
		}
		if (!check_invariants(&f, op))
			break;
	}

	/* Drain: end every write, finish every copy, write everything back. */
	while (m.nr_writes)
		if (!model_write_end(&f, 0))
			break;
	while (m.nr_inflight)
		model_writeback_done(&f, 0, true);
	CHECK(check_invariants(&f, op));
	while (model_pick_run(&f, 1 + unit_rand_below(&rng, 64)) && m.nr_inflight) {
		model_writeback_done(&f, 0, true);
		if (!check_invariants(&f, op))
			break;
	}
	CHECK_EQ(f.lrw.nr_dirty, 0);
	CHECK_EQ(f.lrw.nr_writeback, 0);
	CHECK_EQ(f.lrw.head, HIMS_LRW_NONE);
	CHECK_EQ(hims_lrw_oldest_seq(&f.lrw), U64_NONE);

	/* The random mix must have exercised the interesting paths. */
	CHECK(picked > 5000);
	CHECK(coalesced > 1000);
	CHECK(redirtied > 1000);
	CHECK(failed > 1000);
	CHECK(began > 1000);
	printf("model: %u runs (%u coalesced), %u rewrites under writeback, ", picked, coalesced,
	       redirtied);
	printf("%u failed copies, %u writes begun\n", failed, began);
out:
	fixture_free(&f);
}

int main(void)
{
	test_empty();
	test_order_and_oldest();
	test_coalesce();
	test_redirty_during_writeback();
	test_failed_writeback();
	test_writing();
	test_model();
	return unit_result("hims-lrw");
}
