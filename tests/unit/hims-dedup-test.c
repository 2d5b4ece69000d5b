// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for dm-hims/hims-dedup.c: hand-written cases of sharing,
 * copy-on-write, deferred reuse, spilling, the index and the metadata
 * format and checker; then a randomized comparison against a model with
 * simulated RAM, SSD mirror, spill area and metadata slots, power cuts and
 * restores, once with xxh64 fingerprints and once with a fingerprint that
 * makes every block collide.
 */
#include "dm-hims/hims-dedup.h"
#include "dm-hims/hims-dedup-check.h"
#include "unit.h"

#define NONE	HIMS_DEDUP_NONE

/* A reference XXH64 (the kernel's xxh64() gives the same values). */
#define XP1	0x9e3779b185ebca87ULL
#define XP2	0xc2b2ae3d27d4eb4fULL
#define XP3	0x165667b19e3779f9ULL
#define XP4	0x85ebca77c2b2ae63ULL
#define XP5	0x27d4eb2f165667c5ULL

static u64 rotl64(u64 x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static u64 rd64(const u8 *p)
{
	u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static u64 rd32(const u8 *p)
{
	return (u64)p[0] | (u64)p[1] << 8 | (u64)p[2] << 16 | (u64)p[3] << 24;
}

static u64 xxh_round(u64 acc, u64 in)
{
	acc += in * XP2;
	acc = rotl64(acc, 31);
	return acc * XP1;
}

static u64 xxh_merge(u64 acc, u64 v)
{
	acc ^= xxh_round(0, v);
	return acc * XP1 + XP4;
}

static u64 xxh64(const void *input, size_t len, u64 seed)
{
	const u8 *p = input, *end = p + len;
	u64 h;

	if (len >= 32) {
		u64 v1 = seed + XP1 + XP2, v2 = seed + XP2, v3 = seed, v4 = seed - XP1;

		do {
			v1 = xxh_round(v1, rd64(p));
			v2 = xxh_round(v2, rd64(p + 8));
			v3 = xxh_round(v3, rd64(p + 16));
			v4 = xxh_round(v4, rd64(p + 24));
			p += 32;
		} while (p + 32 <= end);
		h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
		h = xxh_merge(h, v1);
		h = xxh_merge(h, v2);
		h = xxh_merge(h, v3);
		h = xxh_merge(h, v4);
	} else {
		h = seed + XP5;
	}
	h += len;
	for (; p + 8 <= end; p += 8) {
		h ^= xxh_round(0, rd64(p));
		h = rotl64(h, 27) * XP1 + XP4;
	}
	if (p + 4 <= end) {
		h ^= rd32(p) * XP1;
		h = rotl64(h, 23) * XP2 + XP3;
		p += 4;
	}
	for (; p < end; p++) {
		h ^= *p * XP5;
		h = rotl64(h, 11) * XP1;
	}
	h ^= h >> 33;
	h *= XP2;
	h ^= h >> 29;
	h *= XP3;
	h ^= h >> 32;
	return h;
}

static void test_xxh64(void)
{
	u8 buf[100];
	u32 i;

	CHECK_EQ(xxh64("", 0, 0), 0xef46db3751d8e999ULL);
	CHECK_EQ(xxh64("abc", 3, 0), 0x44bc2cf5ad770999ULL);
	/* Low halves from zstd frame checksums of the same bytes. */
	for (i = 0; i < 100; i++)
		buf[i] = (u8)(i * 7 + 3);
	CHECK_EQ((u32)xxh64(buf, 100, 0), 0x170fe531);
	for (i = 0; i < 37; i++)
		buf[i] = (u8)(i * 13 + 1);
	CHECK_EQ((u32)xxh64(buf, 37, 0), 0x254c1721);
}

static void *xalloc(size_t bytes)
{
	void *p = calloc(1, bytes ? bytes : 1);

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

static bool print_report(const struct hims_dedup_report *rep)
{
	fprintf(stderr, "  %s: index %u value %u expected %u found %u other %u\n",
		hims_dedup_check_str(rep->code), rep->index, rep->value,
		rep->expected, rep->found, rep->other);
	return false;
}

/*
 * Hand-written cases: RAM blocks hold a content number; content 0 is
 * zeroes; fingerprints are the content number (or a constant).
 */
struct simple {
	struct hims_dedup_config cfg;
	struct hims_dedup s;
	void *mem;
	u32 *ram;		/* content per RAM block */
	u32 *scratch;
	u32 want;		/* the content being written */
	u32 compares;
};

static bool simple_same(void *ctx, u32 phys)
{
	struct simple *t = ctx;

	t->compares++;
	return t->ram[phys] == t->want;
}

static void simple_init(struct simple *t, u32 nr_logical, u32 nr_phys,
			u32 nr_spill, u32 index_entries)
{
	u64 bytes;

	t->cfg.nr_logical = nr_logical;
	t->cfg.nr_phys = nr_phys;
	t->cfg.nr_spill = nr_spill;
	t->cfg.index_entries = index_entries;
	bytes = hims_dedup_mem_bytes(&t->cfg);
	CHECK(bytes > 0);
	t->mem = xalloc(bytes);
	t->ram = xalloc(nr_phys * sizeof(u32));
	t->scratch = xalloc((nr_phys + nr_spill) * sizeof(u32));
	CHECK_EQ(hims_dedup_init(&t->s, &t->cfg, t->mem), 0);
}

static void simple_free(struct simple *t)
{
	free(t->mem);
	free(t->ram);
	free(t->scratch);
}

static bool simple_verify(struct simple *t)
{
	struct hims_dedup_report rep;

	if (CHECK_EQ(hims_dedup_verify(&t->s, t->scratch, &rep), 0))
		return true;
	return print_report(&rep);
}

/* Writes content @c (fingerprint @fp) to @lblk and completes the write. */
static struct hims_dedup_result simple_write_fp(struct simple *t, u32 lblk,
						u32 c, u64 fp)
{
	struct hims_dedup_result res;

	t->want = c;
	hims_dedup_write(&t->s, lblk, fp, c == 0, simple_same, t, &res);
	if (res.action == HIMS_DEDUP_WRITE)
		t->ram[res.target] = c;
	hims_dedup_write_done(&t->s, &res);
	simple_verify(t);
	return res;
}

static struct hims_dedup_result simple_write(struct simple *t, u32 lblk, u32 c)
{
	return simple_write_fp(t, lblk, c, c * 0x9e3779b97f4a7c15ULL);
}

static void simple_commit(struct simple *t)
{
	u64 epoch;

	if (CHECK_EQ(hims_dedup_commit_begin(&t->s, &epoch), 0))
		hims_dedup_commit_end(&t->s, epoch, true);
	simple_verify(t);
}

static u32 map_of(struct simple *t, u32 lblk)
{
	u32 where;

	switch (hims_dedup_lookup(&t->s, lblk, &where)) {
	case HIMS_DEDUP_AT_NONE:
		return 1000;
	case HIMS_DEDUP_AT_ZERO:
		return 0;
	case HIMS_DEDUP_AT_RAM:
		return t->ram[where];
	case HIMS_DEDUP_AT_SPILL:
		return 2000 + where;
	}
	return 9999;
}

static void test_config(void)
{
	struct hims_dedup_config cfg = { 100, 10, 90, 64 };
	struct hims_dedup s;

	CHECK(hims_dedup_mem_bytes(&cfg) > 0);
	CHECK_EQ(hims_dedup_index_bytes(&cfg), 64 * 8 + 10 * 4);
	CHECK_EQ(hims_dedup_spill_min(100, 10), 90);
	CHECK_EQ(hims_dedup_spill_min(10, 100), 0);
	CHECK_EQ(sizeof(struct hims_dedup_meta_header), 32);
	CHECK_EQ(HIMS_DEDUP_META_ENTRIES, 1016);
	CHECK(sizeof(struct hims_dedup_record) <= HIMS_BLOCK_SIZE);
	cfg.index_entries = 48;		/* not a power of two */
	CHECK_EQ(hims_dedup_mem_bytes(&cfg), 0);
	CHECK_EQ(hims_dedup_init(&s, &cfg, NULL), -1);
	cfg.index_entries = 4;		/* less than a bucket */
	CHECK_EQ(hims_dedup_mem_bytes(&cfg), 0);
	cfg.index_entries = 64;
	cfg.nr_phys = 0;
	CHECK_EQ(hims_dedup_mem_bytes(&cfg), 0);
	cfg.nr_phys = HIMS_DEDUP_MAX_BLOCKS + 1;
	CHECK_EQ(hims_dedup_mem_bytes(&cfg), 0);
}

static void test_share_and_cow(void)
{
	struct hims_dedup_result r;
	struct hims_dedup_stats st;
	struct simple t;
	u32 p, where;

	simple_init(&t, 16, 8, 8, 16);
	CHECK_EQ(hims_dedup_lookup(&t.s, 3, &where), HIMS_DEDUP_AT_NONE);
	CHECK_EQ(where, NONE);

	r = simple_write(&t, 0, 7);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK(!r.in_place);
	CHECK_EQ(r.old, HIMS_DEDUP_UNMAPPED);
	p = r.target;
	/* Same data elsewhere: shared after one comparison. */
	t.compares = 0;
	r = simple_write(&t, 1, 7);
	CHECK_EQ(r.action, HIMS_DEDUP_SHARE);
	CHECK_EQ(r.target, p);
	CHECK_EQ(t.compares, 1);
	CHECK_EQ(t.s.refcount[p], 2);
	CHECK_EQ(hims_dedup_lookup(&t.s, 1, &where), HIMS_DEDUP_AT_RAM);
	CHECK_EQ(where, p);

	/* Overwriting a shared block copies; the other sharer keeps its data. */
	r = simple_write(&t, 1, 8);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK(r.target != p);
	CHECK(!r.in_place);
	CHECK(!r.old_freed);
	CHECK_EQ(t.s.refcount[p], 1);
	CHECK_EQ(map_of(&t, 0), 7);
	CHECK_EQ(map_of(&t, 1), 8);

	/* Block 0 is unshared again, but the unshare is not durable. */
	r = simple_write(&t, 0, 9);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK(!r.in_place);
	CHECK(r.old_freed);
	CHECK_EQ(t.s.refcount[p], 0);
	CHECK_EQ(map_of(&t, 0), 9);

	/* After a commit, an unshared block is written in place. */
	simple_commit(&t);
	r = simple_write(&t, 1, 10);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK(r.in_place);
	CHECK_EQ(r.target, r.old);
	CHECK_EQ(map_of(&t, 1), 10);

	/* Rewriting the data a block already holds writes nothing. */
	r = simple_write(&t, 1, 10);
	CHECK_EQ(r.action, HIMS_DEDUP_SHARE);
	CHECK(r.in_place);
	/* Also when shared, and when the index forgot the block. */
	simple_write(&t, 2, 10);
	CHECK_EQ(t.s.refcount[r.target], 2);
	t.compares = 0;
	r = simple_write_fp(&t, 2, 10, 12345);
	CHECK_EQ(r.action, HIMS_DEDUP_SHARE);
	CHECK(r.in_place);
	CHECK_EQ(t.compares, 1);

	/* Zeroes take no block; discards unmap. */
	r = simple_write(&t, 2, 0);
	CHECK_EQ(r.action, HIMS_DEDUP_ZERO_FILL);
	CHECK_EQ(map_of(&t, 2), 0);
	r = simple_write(&t, 2, 0);
	CHECK_EQ(r.action, HIMS_DEDUP_ZERO_FILL);
	CHECK_EQ(r.old, HIMS_DEDUP_ZERO);
	simple_write(&t, 3, 10);
	simple_write(&t, 4, 10);
	hims_dedup_get_stats(&t.s, &st);
	CHECK_EQ(st.mapped, 5);
	CHECK_EQ(st.zero, 1);
	CHECK_EQ(st.spilled, 0);
	CHECK_EQ(st.phys_used, 2);	/* 9 and 10 */
	CHECK_EQ(st.dedup_x1000, 2000);	/* 4 blocks on 2 */
	CHECK_EQ(st.index_bytes, 16 * 8 + 8 * 4);
	hims_dedup_discard(&t.s, 2, &r);
	CHECK_EQ(r.old, HIMS_DEDUP_ZERO);
	CHECK(!r.old_freed);
	hims_dedup_discard(&t.s, 0, &r);
	CHECK(r.old_freed);
	hims_dedup_discard(&t.s, 0, &r);
	CHECK_EQ(r.old, HIMS_DEDUP_UNMAPPED);
	CHECK(simple_verify(&t));
	hims_dedup_get_stats(&t.s, &st);
	CHECK_EQ(st.mapped, 3);
	CHECK_EQ(st.zero, 0);
	CHECK_EQ(st.phys_used, 1);
	CHECK_EQ(st.dedup_x1000, 3000);
	CHECK_EQ(map_of(&t, 0), 1000);
	simple_free(&t);
}

/* A freed block is reused only after the commit of the epoch freeing it. */
static void test_deferred_reuse(void)
{
	struct hims_dedup_result r;
	struct simple t;
	u32 p, q, i;
	u64 e1, e2;

	simple_init(&t, 8, 2, 6, 8);
	simple_commit(&t);		/* the format commit */
	p = simple_write(&t, 0, 1).target;
	q = simple_write(&t, 1, 2).target;
	simple_commit(&t);
	/* Both blocks are used; a free one appears only after a commit. */
	r = simple_write(&t, 0, 0);
	CHECK(r.old_freed);
	CHECK_EQ(r.old, p);
	r = simple_write(&t, 2, 3);
	CHECK_EQ(r.action, HIMS_DEDUP_SPILL);
	CHECK_EQ(map_of(&t, 2), 2000 + r.target);

	/* Freed while a commit is in flight: waits for the next one. */
	CHECK_EQ(hims_dedup_commit_begin(&t.s, &e1), 0);
	CHECK_EQ(hims_dedup_commit_begin(&t.s, &e2), -1);
	r = simple_write(&t, 1, 0);
	CHECK_EQ(r.old, q);
	CHECK(r.old_freed);
	hims_dedup_commit_end(&t.s, e1, true);
	CHECK_EQ(t.s.durable, e1);
	r = simple_write(&t, 3, 4);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK_EQ(r.target, p);		/* free since e1 */
	r = simple_write(&t, 4, 5);
	CHECK_EQ(r.action, HIMS_DEDUP_SPILL);	/* q is not yet */
	simple_commit(&t);
	r = simple_write(&t, 5, 6);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK_EQ(r.target, q);

	/* A spilled block is overwritten in place and moves back to RAM. */
	r = simple_write(&t, 4, 7);
	CHECK_EQ(r.action, HIMS_DEDUP_SPILL);
	CHECK(r.in_place);
	hims_dedup_discard(&t.s, 3, &r);
	CHECK(r.old_freed);
	r = simple_write(&t, 4, 8);
	CHECK_EQ(r.action, HIMS_DEDUP_SPILL);
	CHECK(r.in_place);
	simple_commit(&t);
	r = simple_write(&t, 4, 9);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK_EQ(r.target, p);
	CHECK(r.old_freed);
	CHECK_EQ(map_of(&t, 4), 9);

	/* A commit cannot begin while a write is in flight. */
	t.want = 11;
	hims_dedup_write(&t.s, 6, 11, false, simple_same, &t, &r);
	CHECK_EQ(r.action, HIMS_DEDUP_SPILL);
	CHECK_EQ(hims_dedup_commit_begin(&t.s, &e1), -1);
	hims_dedup_write_done(&t.s, &r);
	CHECK_EQ(hims_dedup_commit_begin(&t.s, &e1), 0);

	/* A failed commit: its frees are never reused, no commit follows. */
	r = simple_write(&t, 5, 0);
	CHECK(r.old_freed);
	hims_dedup_commit_end(&t.s, e1, false);
	CHECK(simple_verify(&t));
	CHECK_EQ(hims_dedup_commit_begin(&t.s, &e2), -1);
	for (i = 0; i < 3; i++) {
		r = simple_write(&t, 7, 20 + i);
		CHECK(r.action == HIMS_DEDUP_SPILL);
	}
	CHECK_EQ(simple_write(&t, 5, 30).action, HIMS_DEDUP_SPILL);
	CHECK_EQ(simple_write(&t, 3, 31).action, HIMS_DEDUP_SPILL);
	CHECK_EQ(simple_write(&t, 0, 32).action, HIMS_DEDUP_NEED_COMMIT);
	CHECK_EQ(map_of(&t, 0), 0);
	simple_free(&t);
}

/* Writes content @c to @lblk, but the data write fails: aborted. */
static struct hims_dedup_result simple_fail(struct simple *t, u32 lblk, u32 c)
{
	struct hims_dedup_result res;

	t->want = c;
	hims_dedup_write(&t->s, lblk, c * 0x9e3779b97f4a7c15ULL, c == 0, simple_same, t,
			 &res);
	hims_dedup_write_abort(&t->s, lblk, &res);
	simple_verify(t);
	return res;
}

/* A failed data write leaves the block mapped as before. */
static void test_write_abort(void)
{
	struct hims_dedup_result r;
	struct simple t;
	u32 p, q, z, slot;

	simple_init(&t, 8, 3, 5, 16);
	simple_commit(&t);
	p = simple_write(&t, 0, 1).target;
	simple_write(&t, 1, 1);
	CHECK_EQ(t.s.refcount[p], 2);
	simple_commit(&t);

	/* A new block for an unmapped one: free, and reusable, again. */
	r = simple_fail(&t, 2, 2);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK(!r.in_place);
	q = r.target;
	CHECK_EQ(map_of(&t, 2), 1000);
	CHECK_EQ(t.s.refcount[q], 0);
	CHECK_EQ(simple_write(&t, 2, 3).target, q);

	/* Copy on write of a shared block: the reference comes back. */
	r = simple_fail(&t, 0, 4);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK_EQ(r.old, p);
	CHECK_EQ(t.s.refcount[p], 2);
	CHECK_EQ(map_of(&t, 0), 1);
	CHECK_EQ(map_of(&t, 1), 1);

	/* ... also when the other sharer let go of it meanwhile. */
	t.want = 5;
	hims_dedup_write(&t.s, 0, 5, false, simple_same, &t, &r);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	z = r.target;
	simple_write(&t, 1, 0);
	CHECK_EQ(t.s.refcount[p], 0);
	hims_dedup_write_abort(&t.s, 0, &r);
	CHECK(simple_verify(&t));
	CHECK_EQ(t.s.refcount[p], 1);
	CHECK_EQ(t.s.refcount[z], 0);
	CHECK_EQ(map_of(&t, 0), 1);
	simple_commit(&t);

	/* In place: the mapping stays, RAM kept the old data. */
	r = simple_fail(&t, 0, 6);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK(r.in_place);
	CHECK_EQ(map_of(&t, 0), 1);
	CHECK_EQ(t.s.refcount[p], 1);

	/* RAM full: a new spill slot is free again, in place stays. */
	CHECK_EQ(simple_write(&t, 3, 7).target, z);
	r = simple_fail(&t, 4, 8);
	CHECK_EQ(r.action, HIMS_DEDUP_SPILL);
	CHECK(!r.in_place);
	slot = r.target;
	CHECK_EQ(map_of(&t, 4), 1000);
	CHECK_EQ(simple_write(&t, 4, 8).target, slot);
	r = simple_fail(&t, 4, 9);
	CHECK_EQ(r.action, HIMS_DEDUP_SPILL);
	CHECK(r.in_place);
	CHECK_EQ(map_of(&t, 4), 2000 + slot);

	/* Back from the spill area: the slot stays the block's. */
	hims_dedup_discard(&t.s, 3, &r);
	simple_commit(&t);
	r = simple_fail(&t, 4, 10);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK_EQ(r.target, z);
	CHECK(r.old_freed);
	CHECK_EQ(map_of(&t, 4), 2000 + slot);
	CHECK_EQ(hims_dedup_commit_needed(&t.s), true);
	simple_commit(&t);
	CHECK_EQ(simple_write(&t, 5, 11).target, z);
	CHECK(simple_verify(&t));
	simple_free(&t);
}

/* RAM full and spill area full: NEED_COMMIT, never a lost write. */
static void test_spill_full(void)
{
	struct hims_dedup_result r;
	struct hims_dedup_stats st;
	struct simple t;
	u32 l;

	simple_init(&t, 6, 2, hims_dedup_spill_min(6, 2), 8);
	simple_commit(&t);
	for (l = 0; l < 6; l++) {
		r = simple_write(&t, l, 100 + l);
		CHECK_EQ(r.action, l < 2 ? HIMS_DEDUP_WRITE : HIMS_DEDUP_SPILL);
	}
	hims_dedup_get_stats(&t.s, &st);
	CHECK_EQ(st.spilled, 4);
	CHECK_EQ(st.phys_used, 2);
	CHECK_EQ(st.mapped, 6);
	/* Share a RAM block: block 2's slot goes, block 0 is shared ... */
	r = simple_write(&t, 2, 100);
	CHECK_EQ(r.action, HIMS_DEDUP_SHARE);
	CHECK(r.old_freed);
	/* ... so block 0 copies on write, but neither RAM nor a slot is free. */
	r = simple_write(&t, 0, 200);
	CHECK_EQ(r.action, HIMS_DEDUP_NEED_COMMIT);
	CHECK_EQ(map_of(&t, 0), 100);
	simple_commit(&t);
	r = simple_write(&t, 0, 200);
	CHECK_EQ(r.action, HIMS_DEDUP_SPILL);
	/* Block 1 unshared but dropped nothing: written in place. */
	r = simple_write(&t, 1, 201);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK(r.in_place);
	/* Block 2 is unshared now, but block 0 let go of it just now. */
	r = simple_write(&t, 2, 202);
	CHECK_EQ(r.action, HIMS_DEDUP_NEED_COMMIT);
	CHECK_EQ(hims_dedup_commit_needed(&t.s), true);
	simple_commit(&t);
	CHECK_EQ(hims_dedup_commit_needed(&t.s), false);
	r = simple_write(&t, 2, 202);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	CHECK(r.in_place);
	CHECK(map_of(&t, 0) >= 2000);
	CHECK_EQ(map_of(&t, 1), 201);
	CHECK_EQ(map_of(&t, 2), 202);
	for (l = 3; l < 6; l++)
		CHECK(map_of(&t, l) >= 2000);
	simple_free(&t);

	/* Too small a spill area: NOSPACE, with nothing changed. */
	simple_init(&t, 4, 1, 1, 8);
	simple_write(&t, 0, 1);
	simple_write(&t, 1, 2);
	r = simple_write(&t, 2, 3);
	CHECK_EQ(r.action, HIMS_DEDUP_NOSPACE);
	CHECK_EQ(map_of(&t, 2), 1000);
	simple_free(&t);
}

/* The index: bounded, most recently used kept, exact back pointers. */
static void test_index(void)
{
	struct hims_dedup_result r;
	struct hims_dedup_stats st;
	struct simple t;
	u32 l, p;

	/* One bucket: every fingerprint lands in it. */
	simple_init(&t, 64, 64, 0, HIMS_DEDUP_WAYS);
	for (l = 0; l < 12; l++)
		simple_write(&t, l, 1 + l);
	hims_dedup_get_stats(&t.s, &st);
	CHECK_EQ(st.index_used, HIMS_DEDUP_WAYS);
	CHECK_EQ(st.index_capacity, HIMS_DEDUP_WAYS);
	CHECK_EQ(st.evictions, 12 - HIMS_DEDUP_WAYS);
	CHECK_EQ(st.index_bytes, HIMS_DEDUP_WAYS * 8 + 64 * 4);
	/* Content 1-4 were pushed out: no dedup, but no wrong data. */
	r = simple_write(&t, 20, 1);
	CHECK_EQ(r.action, HIMS_DEDUP_WRITE);
	/* That pushed out content 5; 6 is the oldest left, a hit renews it. */
	r = simple_write(&t, 21, 6);
	CHECK_EQ(r.action, HIMS_DEDUP_SHARE);
	p = r.target;
	CHECK_EQ(t.s.phys_islot[p], 0);
	for (l = 0; l < HIMS_DEDUP_WAYS - 1; l++)
		simple_write(&t, 30 + l, 100 + l);
	r = simple_write(&t, 40, 6);
	CHECK_EQ(r.action, HIMS_DEDUP_SHARE);
	CHECK_EQ(r.target, p);

	/* A freed block leaves the index. */
	hims_dedup_discard(&t.s, 5, &r);
	hims_dedup_discard(&t.s, 21, &r);
	hims_dedup_discard(&t.s, 40, &r);
	CHECK(r.old_freed);
	CHECK_EQ(t.s.phys_islot[p], NONE);
	CHECK(simple_verify(&t));
	simple_free(&t);

	/* All fingerprints equal: bytes decide, every candidate compared. */
	simple_init(&t, 32, 32, 0, 16);
	for (l = 0; l < 4; l++)
		CHECK_EQ(simple_write_fp(&t, l, 1 + l, 42).action, HIMS_DEDUP_WRITE);
	t.compares = 0;
	r = simple_write_fp(&t, 10, 1, 42);
	CHECK_EQ(r.action, HIMS_DEDUP_SHARE);
	CHECK_EQ(map_of(&t, 10), 1);
	CHECK_EQ(t.compares, 4);
	hims_dedup_get_stats(&t.s, &st);
	CHECK_EQ(st.collisions, 0 + 1 + 2 + 3 + 3);
	/* In-place overwrite replaces the block's entry, not adds one. */
	simple_commit(&t);
	r = simple_write_fp(&t, 2, 77, 42);
	CHECK(r.in_place);
	hims_dedup_get_stats(&t.s, &st);
	CHECK_EQ(st.index_used, 4);
	CHECK_EQ(simple_write_fp(&t, 11, 3, 42).action, HIMS_DEDUP_WRITE);
	CHECK_EQ(simple_write_fp(&t, 12, 77, 42).action, HIMS_DEDUP_SHARE);
	CHECK(simple_verify(&t));
	simple_free(&t);
}

/* Metadata blocks: layout, round trip, checksums, slot choice. */
static u8 blk[2][HIMS_BLOCK_SIZE];

static void test_meta_format(void)
{
	enum hims_dedup_meta_err err;
	struct hims_dedup_config cfg = { 3000, 1100, 1900, 64 };
	u32 in[3000], out[3000], i, idx;
	u64 epoch = 0;

	for (i = 0; i < 3000; i++)
		in[i] = (u32)(i * 2654435761U);
	in[0] = 0x11223344;
	hims_dedup_meta_encode(blk[0], HIMS_DEDUP_META_MAP, 0, in, 3000, 7, 0xabc);
	/* Little endian: "HMDM", the epoch, the first entry. */
	CHECK(!memcmp(blk[0], "HMDM", 4));
	CHECK_EQ(blk[0][8], 7);
	CHECK_EQ(blk[0][32], 0x44);
	CHECK_EQ(blk[0][35], 0x11);
	CHECK_EQ(hims_crc32c(0, "123456789", 9), 0xe3069283);

	memset(out, 0xee, sizeof(out));
	for (idx = 0; idx < 3; idx++) {
		hims_dedup_meta_encode(blk[0], HIMS_DEDUP_META_MAP, idx, in, 3000,
				       5 + idx, 0xabc);
		err = hims_dedup_meta_verify(blk[0], HIMS_DEDUP_META_MAP, idx,
					     0xabc, &epoch);
		CHECK_EQ(err, HIMS_DEDUP_META_OK);
		CHECK_EQ(epoch, 5 + idx);
		hims_dedup_meta_decode(blk[0], idx, out, 3000);
	}
	CHECK(!memcmp(in, out, sizeof(in)));
	/* The last block's tail is zero. */
	CHECK_EQ(blk[0][HIMS_BLOCK_SIZE - 1], 0);

	/* Planted damage. */
	CHECK_EQ(hims_dedup_meta_verify(blk[0], HIMS_DEDUP_META_MAP, 1, 0xabc, &epoch),
		 HIMS_DEDUP_META_BAD_PLACE);
	CHECK_EQ(hims_dedup_meta_verify(blk[0], HIMS_DEDUP_META_REF, 2, 0xabc, &epoch),
		 HIMS_DEDUP_META_BAD_PLACE);
	CHECK_EQ(hims_dedup_meta_verify(blk[0], HIMS_DEDUP_META_MAP, 2, 0xabd, &epoch),
		 HIMS_DEDUP_META_BAD_FMT);
	blk[0][1000] ^= 0x10;
	CHECK_EQ(hims_dedup_meta_verify(blk[0], HIMS_DEDUP_META_MAP, 2, 0xabc, &epoch),
		 HIMS_DEDUP_META_BAD_CHECKSUM);
	blk[0][1000] ^= 0x10;
	blk[0][HIMS_BLOCK_SIZE - 1] = 1;	/* the unused tail is covered too */
	CHECK_EQ(hims_dedup_meta_verify(blk[0], HIMS_DEDUP_META_MAP, 2, 0xabc, &epoch),
		 HIMS_DEDUP_META_BAD_CHECKSUM);
	memset(blk[0], 0, HIMS_BLOCK_SIZE);
	CHECK_EQ(hims_dedup_meta_verify(blk[0], HIMS_DEDUP_META_MAP, 2, 0xabc, &epoch),
		 HIMS_DEDUP_META_BAD_MAGIC);
	CHECK(strcmp(hims_dedup_meta_err_str(HIMS_DEDUP_META_BAD_CHECKSUM), "?"));

	/* Slot choice: the newest copy not newer than the durable commit. */
	hims_dedup_meta_encode(blk[0], HIMS_DEDUP_META_REF, 1, in, 1100, 3, 9);
	hims_dedup_meta_encode(blk[1], HIMS_DEDUP_META_REF, 1, in, 1100, 5, 9);
	CHECK_EQ(hims_dedup_meta_choose(blk[0], blk[1], HIMS_DEDUP_META_REF, 1, 9,
					5, &err), 1);
	CHECK_EQ(hims_dedup_meta_choose(blk[1], blk[0], HIMS_DEDUP_META_REF, 1, 9,
					5, &err), 0);
	CHECK_EQ(hims_dedup_meta_choose(blk[0], blk[1], HIMS_DEDUP_META_REF, 1, 9,
					4, &err), 0);
	err = HIMS_DEDUP_META_OK;
	CHECK_EQ(hims_dedup_meta_choose(blk[0], blk[1], HIMS_DEDUP_META_REF, 1, 9,
					2, &err), -1);
	CHECK_EQ(err, HIMS_DEDUP_META_TOO_NEW);
	blk[1][100] ^= 1;		/* torn */
	CHECK_EQ(hims_dedup_meta_choose(blk[0], blk[1], HIMS_DEDUP_META_REF, 1, 9,
					9, &err), 0);
	blk[0][200] ^= 1;
	CHECK_EQ(hims_dedup_meta_choose(blk[0], blk[1], HIMS_DEDUP_META_REF, 1, 9,
					9, &err), -1);
	CHECK_EQ(err, HIMS_DEDUP_META_BAD_CHECKSUM);

	/* Commit records. */
	hims_dedup_record_encode(blk[0], &cfg, 11, 9);
	hims_dedup_record_encode(blk[1], &cfg, 12, 9);
	CHECK(!memcmp(blk[0], "HIMSDDC1", 8));
	CHECK_EQ(hims_dedup_record_choose(blk[0], blk[1], &cfg, 9, &epoch), 1);
	CHECK_EQ(epoch, 12);
	blk[1][20] ^= 1;
	CHECK_EQ(hims_dedup_record_choose(blk[0], blk[1], &cfg, 9, &epoch), 0);
	CHECK_EQ(epoch, 11);
	CHECK_EQ(hims_dedup_record_verify(blk[1], &cfg, 9, &epoch),
		 HIMS_DEDUP_META_BAD_CHECKSUM);
	CHECK_EQ(hims_dedup_record_verify(blk[0], &cfg, 8, &epoch),
		 HIMS_DEDUP_META_BAD_FMT);
	cfg.nr_spill++;
	CHECK_EQ(hims_dedup_record_verify(blk[0], &cfg, 9, &epoch),
		 HIMS_DEDUP_META_BAD_GEOMETRY);
	CHECK_EQ(hims_dedup_record_choose(blk[0], blk[1], &cfg, 9, &epoch), -1);
}

/* The checker finds planted inconsistencies, and says where. */
/* Format's record: epoch 0, the empty state, loaded without metadata. */
static void test_format_record(void)
{
	struct hims_dedup_report rep;
	u64 durable = 99, e;
	struct simple t;
	int slot;

	simple_init(&t, 40, 8, 32, 16);
	memset(blk, 0, sizeof(blk));
	hims_dedup_record_encode(blk[HIMS_DEDUP_FORMAT_SLOT], &t.cfg, 0, 7);
	slot = hims_dedup_record_choose(blk[0], blk[1], &t.cfg, 7, &durable);
	CHECK_EQ(slot, HIMS_DEDUP_FORMAT_SLOT);
	CHECK_EQ(durable, 0);
	CHECK_EQ(hims_dedup_rebuild(&t.s, durable, slot, &rep), 0);
	CHECK(simple_verify(&t));
	/* The first commit writes every block, and the other record slot. */
	CHECK_EQ(t.s.nr_dirty_meta, hims_dedup_meta_count(&t.s));
	CHECK_EQ(hims_dedup_record_slot(&t.s), !HIMS_DEDUP_FORMAT_SLOT);
	simple_write(&t, 3, 5);
	CHECK_EQ(hims_dedup_commit_begin(&t.s, &e), 0);
	CHECK_EQ(e, 1);
	hims_dedup_commit_end(&t.s, e, true);
	CHECK(simple_verify(&t));
	/* Neither record valid: damaged, nothing to load. */
	blk[HIMS_DEDUP_FORMAT_SLOT][20] ^= 1;
	CHECK_EQ(hims_dedup_record_choose(blk[0], blk[1], &t.cfg, 7, &durable), -1);
	simple_free(&t);
}

static bool check_finds(u32 *map, u32 nr_logical, u32 *ref, u32 nr_phys,
			u32 nr_spill, enum hims_dedup_check_code code, u32 index,
			u32 value)
{
	struct hims_dedup_report rep;
	u32 scratch[64];
	bool ok = true;

	ok &= CHECK_EQ(hims_dedup_check(map, nr_logical, ref, nr_phys, nr_spill,
					scratch, &rep), code ? -1 : 0);
	ok &= CHECK_EQ(rep.code, code);
	if (code) {
		ok &= CHECK_EQ(rep.index, index);
		ok &= CHECK_EQ(rep.value, value);
	}
	if (!ok)
		print_report(&rep);
	return ok;
}

static void test_checker(void)
{
	const u32 good_map[8] = { 0, 1, 0, HIMS_DEDUP_ZERO, HIMS_DEDUP_UNMAPPED,
				  HIMS_DEDUP_SPILLED | 2, 2, HIMS_DEDUP_SPILLED | 0 };
	const u32 good_ref[4] = { 2, 1, 1, 0 };
	struct hims_dedup_report rep;
	u32 map[8], ref[4], scratch[64];

	memcpy(map, good_map, sizeof(map));
	memcpy(ref, good_ref, sizeof(ref));
	check_finds(map, 8, ref, 4, 3, HIMS_DEDUP_CHK_OK, 0, 0);

	/* Wrong refcount, too high: the block has fewer references. */
	ref[0] = 3;
	check_finds(map, 8, ref, 4, 3, HIMS_DEDUP_CHK_UNDER_REFERENCED, 0, 0);
	hims_dedup_check(map, 8, ref, 4, 3, scratch, &rep);
	CHECK_EQ(rep.expected, 3);
	CHECK_EQ(rep.found, 2);
	/* Too low: the logical block that exceeds it is named. */
	ref[0] = 1;
	check_finds(map, 8, ref, 4, 3, HIMS_DEDUP_CHK_OVER_REFERENCED, 2, 0);
	memcpy(ref, good_ref, sizeof(ref));

	/* Double mapping of an unshared block. */
	map[4] = 1;
	check_finds(map, 8, ref, 4, 3, HIMS_DEDUP_CHK_OVER_REFERENCED, 4, 1);
	hims_dedup_check(map, 8, ref, 4, 3, scratch, &rep);
	CHECK_EQ(rep.expected, 1);
	CHECK_EQ(rep.found, 2);
	/* A referenced free block. */
	map[4] = 3;
	check_finds(map, 8, ref, 4, 3, HIMS_DEDUP_CHK_FREE_REFERENCED, 4, 3);
	/* Out of range. */
	map[4] = 4;
	check_finds(map, 8, ref, 4, 3, HIMS_DEDUP_CHK_BAD_VALUE, 4, 4);
	map[4] = HIMS_DEDUP_SPILLED | 3;
	check_finds(map, 8, ref, 4, 3, HIMS_DEDUP_CHK_BAD_VALUE, 4,
		    HIMS_DEDUP_SPILLED | 3);
	/* A spill slot mapped twice: both logical blocks named. */
	map[4] = HIMS_DEDUP_SPILLED | 2;
	check_finds(map, 8, ref, 4, 3, HIMS_DEDUP_CHK_SPILL_SHARED, 5, 2);
	hims_dedup_check(map, 8, ref, 4, 3, scratch, &rep);
	CHECK_EQ(rep.other, 4);
	CHECK(strcmp(hims_dedup_check_str(rep.code), "?"));
}

/* verify() of the live state finds broken lists, counters and index. */
static void test_verify_planted(void)
{
	struct hims_dedup_report rep;
	struct simple t;
	u32 saved;

	simple_init(&t, 16, 8, 8, 16);
	simple_write(&t, 0, 1);
	simple_write(&t, 1, 1);
	simple_write(&t, 2, 2);
	simple_write(&t, 3, 0);
	hims_dedup_discard(&t.s, 2, &(struct hims_dedup_result){ 0 });
	CHECK(simple_verify(&t));

	/* A block in use on the ready list. */
	saved = t.s.phys.ready;
	t.s.phys.ready = t.s.map[0];
	CHECK_EQ(hims_dedup_verify(&t.s, t.scratch, &rep), -1);
	CHECK_EQ(rep.code, HIMS_DEDUP_CHK_FREE_LIST);
	CHECK_EQ(rep.index, t.s.map[0]);
	t.s.phys.ready = saved;
	/* A free block lost from the lists. */
	t.s.phys.ready = t.s.phys.next[saved];
	t.s.phys.nr_ready--;
	CHECK_EQ(hims_dedup_verify(&t.s, t.scratch, &rep), -1);
	CHECK_EQ(rep.code, HIMS_DEDUP_CHK_FREE_LOST);
	CHECK_EQ(rep.index, saved);
	t.s.phys.ready = saved;
	t.s.phys.nr_ready++;
	/* A counter. */
	t.s.nr_zero++;
	CHECK_EQ(hims_dedup_verify(&t.s, t.scratch, &rep), -1);
	CHECK_EQ(rep.code, HIMS_DEDUP_CHK_COUNTER);
	t.s.nr_zero--;
	/* A stale index entry. */
	t.s.index[5].phys = t.s.map[0];
	CHECK_EQ(hims_dedup_verify(&t.s, t.scratch, &rep), -1);
	CHECK_EQ(rep.code, HIMS_DEDUP_CHK_INDEX);
	t.s.index[5].phys = NONE;
	CHECK(simple_verify(&t));
	simple_free(&t);
}

/*
 * The model test.  Blocks of NB bytes; content 0 is zeroes, contents 1-31
 * are the same bytes wherever written (duplicates), 32-63 differ per
 * logical block.  The simulated disk has the mirror (one block per RAM
 * block), the spill area, two slots per metadata block and two commit
 * record slots.  A power cut drops RAM, the writes in flight and the
 * unwritten part of a commit; the restore must then find every logical
 * block holding its data of the last completed commit or data written to
 * it since.
 */
#define NB		32
#define NR_IDS		64
#define DUP_IDS		32
#define DEGENERATE_FP	0x5eed5eed5eed5eedULL

enum { K_NONE, K_ZERO, K_DATA };

struct world {
	struct hims_dedup_config cfg;
	struct hims_dedup s;
	void *mem;
	u64 mem_bytes;
	u32 *scratch;
	bool degenerate, async, tight;
	u64 fmt_id;
	u64 rng;

	u8 (*ram)[NB];
	u8 (*mirror)[NB];
	u8 (*spill)[NB];
	u8 *dirty;		/* per RAM block: newer than its mirror */
	u8 *wb_snap;		/* dirty when the commit in flight began */
	u8 (*meta)[2][HIMS_BLOCK_SIZE];
	u8 rec[2][HIMS_BLOCK_SIZE];

	/* The commit in flight: its encoded blocks. */
	bool committing;
	u64 epoch;
	u32 nr_enc;
	u32 *enc_meta, *enc_slot;
	u8 (*enc)[HIMS_BLOCK_SIZE];

	/* The model. */
	u8 *kind;
	u8 *id;
	u64 *allowed;		/* contents a power cut may leave */
	u64 *pend;		/* ... once the commit in flight ends */
	u64 *phys_freed;	/* open epoch when freed, 0: reusable */
	u64 *spill_freed;
	u32 *refs;

	/* One write may be in flight; and what its block held before. */
	bool inflight;
	u32 if_lblk;
	u8 if_data[NB];
	struct hims_dedup_result if_res;
	u8 if_kind, if_id;
	u64 if_allowed, if_pend;

	/* Data writes that fail: one in fail_odds, from their own sequence. */
	u32 fail_odds;
	u64 fail_rng;

	/* What happened. */
	u32 nr_share, nr_write, nr_in_place, nr_spill, nr_spill_in_place;
	u32 nr_zero, nr_discard, nr_commit, nr_crash, nr_need_commit;
	u32 nr_delayed, nr_torn, nr_collisions, nr_failed;
};

static u32 total_torn;

static void content(u8 *out, u32 id, u32 lblk)
{
	u64 st;
	u32 i;

	if (!id) {
		memset(out, 0, NB);
		return;
	}
	st = id * 0x100000001ULL + (id >= DUP_IDS ? (u64)(lblk + 1) << 20 : 0);
	for (i = 0; i < NB; i += 8) {
		u64 r = unit_rand(&st);

		memcpy(out + i, &r, 8);
	}
	out[0] |= 1;
}

struct same_ctx {
	struct world *w;
	const u8 *data;
};

static bool world_same(void *ctx, u32 phys)
{
	struct same_ctx *c = ctx;

	CHECK(phys < c->w->cfg.nr_phys);
	CHECK(!(c->w->s.phys_flags[phys] & HIMS_DEDUP_PHYS_BUSY));
	if (!memcmp(c->w->ram[phys], c->data, NB))
		return true;
	c->w->nr_collisions++;
	return false;
}

static void world_init(struct world *w, u32 nr_logical, u32 nr_phys,
		       u32 nr_spill, u32 index_entries, bool degenerate,
		       bool async, u64 seed)
{
	u32 n, i;

	memset(w, 0, sizeof(*w));
	w->cfg.nr_logical = nr_logical;
	w->cfg.nr_phys = nr_phys;
	w->cfg.nr_spill = nr_spill;
	w->cfg.index_entries = index_entries;
	w->degenerate = degenerate;
	w->async = async;
	w->rng = seed;
	w->fmt_id = 0x1234567890abcdefULL ^ seed;
	w->mem_bytes = hims_dedup_mem_bytes(&w->cfg);
	w->mem = xalloc(w->mem_bytes);
	w->scratch = xalloc((nr_phys + nr_spill) * sizeof(u32));
	w->ram = xalloc(nr_phys * sizeof(*w->ram));
	w->mirror = xalloc(nr_phys * sizeof(*w->mirror));
	w->spill = xalloc((nr_spill + 1) * sizeof(*w->spill));
	w->dirty = xalloc(nr_phys);
	w->wb_snap = xalloc(nr_phys);
	w->kind = xalloc(nr_logical);
	w->id = xalloc(nr_logical);
	w->allowed = xalloc(nr_logical * sizeof(u64));
	w->pend = xalloc(nr_logical * sizeof(u64));
	w->phys_freed = xalloc(nr_phys * sizeof(u64));
	w->spill_freed = xalloc((nr_spill + 1) * sizeof(u64));
	w->refs = xalloc(nr_phys * sizeof(u32));
	CHECK_EQ(hims_dedup_init(&w->s, &w->cfg, w->mem), 0);
	n = hims_dedup_meta_count(&w->s);
	w->meta = xalloc(n * sizeof(*w->meta));
	w->enc = xalloc(n * sizeof(*w->enc));
	w->enc_meta = xalloc(n * sizeof(u32));
	w->enc_slot = xalloc(n * sizeof(u32));
	/* The disk holds garbage and another instance's valid metadata. */
	for (i = 0; i < n; i++) {
		enum hims_dedup_meta_kind kind;
		u32 idx;

		hims_dedup_meta_id(&w->s, i, &kind, &idx);
		hims_dedup_meta_encode(w->meta[i][0], kind, idx,
				       kind == HIMS_DEDUP_META_MAP ? w->s.map : w->s.refcount,
				       kind == HIMS_DEDUP_META_MAP ? nr_logical : nr_phys,
				       0, w->fmt_id + 1);
		memset(w->meta[i][1], 0x5a, HIMS_BLOCK_SIZE);
	}
	for (i = 0; i < nr_logical; i++)
		w->allowed[i] = 1;
}

static void world_free(struct world *w)
{
	free(w->mem);
	free(w->scratch);
	free(w->ram);
	free(w->mirror);
	free(w->spill);
	free(w->dirty);
	free(w->wb_snap);
	free(w->kind);
	free(w->id);
	free(w->allowed);
	free(w->pend);
	free(w->phys_freed);
	free(w->spill_freed);
	free(w->refs);
	free(w->meta);
	free(w->enc);
	free(w->enc_meta);
	free(w->enc_slot);
}

static bool world_commit_begin(struct world *w)
{
	u32 m, l;

	if (!CHECK_EQ(hims_dedup_commit_begin(&w->s, &w->epoch), 0))
		return false;
	/* The snapshot: encoded under the same lock as the begin. */
	w->nr_enc = 0;
	for (m = hims_dedup_commit_next(&w->s, 0); m != NONE;
	     m = hims_dedup_commit_next(&w->s, m + 1)) {
		hims_dedup_meta_encode_state(&w->s, m, w->epoch, w->fmt_id,
					     w->enc[w->nr_enc]);
		w->enc_meta[w->nr_enc] = m;
		w->enc_slot[w->nr_enc] = hims_dedup_meta_write_slot(&w->s, m);
		w->nr_enc++;
	}
	CHECK_EQ(w->nr_enc, w->s.nr_commit_meta);
	memcpy(w->wb_snap, w->dirty, w->cfg.nr_phys);
	for (l = 0; l < w->cfg.nr_logical; l++)
		w->pend[l] = 1ULL << w->id[l];
	w->committing = true;
	return true;
}

static void writeback(struct world *w, u32 p)
{
	memcpy(w->mirror[p], w->ram[p], NB);
	w->dirty[p] = 0;
}

static void world_commit_end(struct world *w)
{
	u32 p, i, l;

	/* The data the snapshot maps, then the metadata, then the record. */
	for (p = 0; p < w->cfg.nr_phys; p++)
		if (w->wb_snap[p] && w->dirty[p])
			writeback(w, p);
	for (i = 0; i < w->nr_enc; i++)
		memcpy(w->meta[w->enc_meta[i]][w->enc_slot[i]], w->enc[i],
		       HIMS_BLOCK_SIZE);
	hims_dedup_record_encode(w->rec[hims_dedup_record_slot(&w->s)], &w->cfg,
				 w->epoch, w->fmt_id);
	hims_dedup_commit_end(&w->s, w->epoch, true);
	CHECK_EQ(w->s.durable, w->epoch);
	for (l = 0; l < w->cfg.nr_logical; l++)
		w->allowed[l] = w->pend[l];
	w->committing = false;
	w->nr_commit++;
}

/*
 * The data write of the write in flight fails: RAM's or the spill slot's
 * (nothing written), or in sync mode the mirror's (RAM has the data).  The
 * glue aborts it; a block written in place is marked dirty if RAM has it.
 */
static void world_fail(struct world *w)
{
	struct hims_dedup_result *res = &w->if_res;
	u32 l = w->if_lblk;
	bool ram_has = res->action == HIMS_DEDUP_WRITE && !w->async &&
		unit_rand_below(&w->fail_rng, 2);

	if (ram_has) {
		memcpy(w->ram[res->target], w->if_data, NB);
		if (res->in_place)
			w->dirty[res->target] = 1;
	}
	hims_dedup_write_abort(&w->s, l, res);
	if (!res->in_place || !ram_has) {
		w->kind[l] = w->if_kind;
		w->id[l] = w->if_id;
		w->allowed[l] = w->if_allowed;
		w->pend[l] = w->if_pend;
	}
	w->inflight = false;
	w->nr_failed++;
}

static void world_complete(struct world *w)
{
	struct hims_dedup_result *res = &w->if_res;

	if ((res->action == HIMS_DEDUP_WRITE || res->action == HIMS_DEDUP_SPILL) &&
	    w->fail_odds && !unit_rand_below(&w->fail_rng, w->fail_odds)) {
		world_fail(w);
		return;
	}
	if (res->action == HIMS_DEDUP_WRITE) {
		memcpy(w->ram[res->target], w->if_data, NB);
		if (w->async)
			w->dirty[res->target] = 1;
		else
			memcpy(w->mirror[res->target], w->if_data, NB);
	} else if (res->action == HIMS_DEDUP_SPILL) {
		memcpy(w->spill[res->target], w->if_data, NB);
	}
	hims_dedup_write_done(&w->s, res);
	w->inflight = false;
}

/* A whole commit, as a flush does it. */
static void world_flush(struct world *w)
{
	if (w->inflight)
		world_complete(w);
	if (!w->committing) {
		if (!hims_dedup_commit_needed(&w->s))
			return;
		if (!world_commit_begin(w))
			return;
	}
	world_commit_end(w);
}

static u32 count_mapping(struct world *w, u32 v)
{
	u32 l, n = 0;

	for (l = 0; l < w->cfg.nr_logical; l++)
		n += w->s.map[l] == v;
	return n;
}

static bool world_write(struct world *w, u32 l, u32 id, bool delay)
{
	struct hims_dedup_result res;
	struct same_ctx ctx = { .w = w, .data = w->if_data };
	bool flushed = false;
	u64 fp;

	content(w->if_data, id, l);
	fp = w->degenerate ? DEGENERATE_FP : xxh64(w->if_data, NB, 0);
	for (;;) {
		hims_dedup_write(&w->s, l, fp, id == 0, world_same, &ctx, &res);
		if (res.action != HIMS_DEDUP_NEED_COMMIT)
			break;
		w->nr_need_commit++;
		/* After one whole commit with none in flight, it must fit. */
		if (!CHECK(!flushed))
			return false;
		flushed = !w->committing;
		world_flush(w);
	}
	if (!CHECK(res.action != HIMS_DEDUP_NOSPACE))
		return false;

	switch (res.action) {
	case HIMS_DEDUP_SHARE:
		w->nr_share++;
		CHECK(!memcmp(w->ram[res.target], w->if_data, NB));
		CHECK(!(w->s.phys_flags[res.target] & HIMS_DEDUP_PHYS_BUSY));
		break;
	case HIMS_DEDUP_WRITE:
		w->nr_write++;
		if (res.in_place) {
			/* Never a shared block, and only its own. */
			w->nr_in_place++;
			CHECK_EQ(res.target, res.old);
			CHECK_EQ(w->s.refcount[res.target], 1);
			CHECK_EQ(count_mapping(w, res.target), 1);
		} else {
			/* Never a block whose free is not durable. */
			CHECK(!w->phys_freed[res.target] ||
			      w->phys_freed[res.target] <= w->s.durable);
			w->phys_freed[res.target] = 0;
		}
		break;
	case HIMS_DEDUP_SPILL:
		w->nr_spill++;
		if (res.in_place) {
			w->nr_spill_in_place++;
			CHECK_EQ(res.target | HIMS_DEDUP_SPILLED, res.old);
		} else {
			CHECK(!w->spill_freed[res.target] ||
			      w->spill_freed[res.target] <= w->s.durable);
			w->spill_freed[res.target] = 0;
		}
		break;
	case HIMS_DEDUP_ZERO_FILL:
		w->nr_zero++;
		break;
	default:
		CHECK(0);
	}
	if (res.old_freed) {
		if (res.old & HIMS_DEDUP_SPILLED)
			w->spill_freed[res.old & ~HIMS_DEDUP_SPILLED] = w->s.epoch;
		else
			w->phys_freed[res.old] = w->s.epoch;
	}
	w->if_kind = w->kind[l];
	w->if_id = w->id[l];
	w->if_allowed = w->allowed[l];
	w->if_pend = w->pend[l];
	w->kind[l] = id ? K_DATA : K_ZERO;
	w->id[l] = id;
	w->allowed[l] |= 1ULL << id;
	w->pend[l] |= 1ULL << id;
	w->if_lblk = l;
	w->if_res = res;
	w->inflight = true;
	if (!delay || (res.action != HIMS_DEDUP_WRITE && res.action != HIMS_DEDUP_SPILL))
		world_complete(w);
	else
		w->nr_delayed++;
	return true;
}

static void world_discard(struct world *w, u32 l)
{
	struct hims_dedup_result res;

	hims_dedup_discard(&w->s, l, &res);
	if (res.old_freed) {
		if (res.old & HIMS_DEDUP_SPILLED)
			w->spill_freed[res.old & ~HIMS_DEDUP_SPILLED] = w->s.epoch;
		else
			w->phys_freed[res.old] = w->s.epoch;
	}
	w->kind[l] = K_NONE;
	w->id[l] = 0;
	w->allowed[l] |= 1;
	w->pend[l] |= 1;
	w->nr_discard++;
}

/* What a read of @l returns, into @out; the lookup's answer. */
static enum hims_dedup_where world_read(struct world *w, u32 l, u8 *out)
{
	enum hims_dedup_where at;
	u32 where;

	at = hims_dedup_lookup(&w->s, l, &where);
	if (at == HIMS_DEDUP_AT_RAM)
		memcpy(out, w->ram[where], NB);
	else if (at == HIMS_DEDUP_AT_SPILL)
		memcpy(out, w->spill[where], NB);
	else
		memset(out, 0, NB);
	return at;
}

static bool world_check(struct world *w, u32 op)
{
	struct hims_dedup_report rep;
	struct hims_dedup_stats st;
	u32 l, p, where, mapped = 0, zero = 0, spilled = 0, ram = 0, used = 0;
	u8 got[NB], want[NB];
	bool ok = true;

	if (!CHECK_EQ(hims_dedup_verify(&w->s, w->scratch, &rep), 0)) {
		print_report(&rep);
		ok = false;
	}
	memset(w->refs, 0, w->cfg.nr_phys * sizeof(u32));
	for (l = 0; l < w->cfg.nr_logical && ok; l++) {
		enum hims_dedup_where at;

		if (w->inflight && l == w->if_lblk)
			continue;
		at = world_read(w, l, got);
		content(want, w->id[l], l);
		ok &= CHECK(!memcmp(got, want, NB));
		switch (w->kind[l]) {
		case K_NONE:
			ok &= CHECK_EQ(at, HIMS_DEDUP_AT_NONE);
			break;
		case K_ZERO:
			ok &= CHECK_EQ(at, HIMS_DEDUP_AT_ZERO);
			break;
		default:
			ok &= CHECK(at == HIMS_DEDUP_AT_RAM || at == HIMS_DEDUP_AT_SPILL);
		}
		if (!ok)
			fprintf(stderr, "  logical block %u, content %u\n", l, w->id[l]);
	}
	for (l = 0; l < w->cfg.nr_logical; l++) {
		enum hims_dedup_where at = hims_dedup_lookup(&w->s, l, &where);

		mapped += at != HIMS_DEDUP_AT_NONE;
		zero += at == HIMS_DEDUP_AT_ZERO;
		spilled += at == HIMS_DEDUP_AT_SPILL;
		if (at == HIMS_DEDUP_AT_RAM) {
			ram++;
			used += !w->refs[where]++;
		}
	}
	for (p = 0; p < w->cfg.nr_phys; p++)
		ok &= CHECK_EQ(w->refs[p], w->s.refcount[p]);
	hims_dedup_get_stats(&w->s, &st);
	ok &= CHECK_EQ(st.mapped, mapped);
	ok &= CHECK_EQ(st.zero, zero);
	ok &= CHECK_EQ(st.spilled, spilled);
	ok &= CHECK_EQ(st.phys_used, used);
	ok &= CHECK_EQ(st.dedup_x1000, used ? (u64)ram * 1000 / used : 1000);
	ok &= CHECK_EQ(st.index_bytes, (u64)w->cfg.index_entries * 8 + w->cfg.nr_phys * 4);
	ok &= CHECK(st.index_used <= st.index_capacity);
	ok &= CHECK(st.index_bytes + (u64)w->cfg.nr_logical * 4 <= w->mem_bytes);
	if (!ok)
		fprintf(stderr, "  after operation %u\n", op);
	return ok;
}

/* A power cut at this moment, then a restore as the target would do it. */
static bool world_crash(struct world *w)
{
	struct hims_dedup_report rep;
	enum hims_dedup_meta_err err;
	u64 durable = 0;
	u32 i, n, p, l;
	int slot;
	u8 got[NB], want[NB];
	bool ok = true;

	w->nr_crash++;
	/* A write in flight: its data never got anywhere. */
	w->inflight = false;
	/* Some writeback happened; part of the commit in flight, maybe torn. */
	for (p = 0; p < w->cfg.nr_phys; p++)
		if (w->dirty[p] && unit_rand_below(&w->rng, 3) == 0)
			writeback(w, p);
	if (w->committing) {
		u32 stage = unit_rand_below(&w->rng, 3);

		for (p = 0; p < w->cfg.nr_phys && stage; p++)
			if (w->wb_snap[p] && w->dirty[p])
				writeback(w, p);
		for (i = 0; i < w->nr_enc; i++) {
			u8 *dst = w->meta[w->enc_meta[i]][w->enc_slot[i]];

			if (stage == 2 || unit_rand_below(&w->rng, 2)) {
				memcpy(dst, w->enc[i], HIMS_BLOCK_SIZE);
			} else if (stage == 1 && unit_rand_below(&w->rng, 2)) {
				/* Torn: half new, half old. */
				memcpy(dst, w->enc[i], HIMS_BLOCK_SIZE / 2);
				w->nr_torn++;
			}
		}
		if (stage == 2)
			hims_dedup_record_encode(w->rec[hims_dedup_record_slot(&w->s)],
						 &w->cfg, w->epoch, w->fmt_id);
		w->committing = false;
	}

	/* Reboot: RAM lost, the state rebuilt from the disk. */
	memset(w->mem, 0xa5, w->mem_bytes);
	for (p = 0; p < w->cfg.nr_phys; p++)
		memset(w->ram[p], (int)unit_rand_below(&w->rng, 256), NB);
	memset(w->dirty, 0, w->cfg.nr_phys);
	ok &= CHECK_EQ(hims_dedup_init(&w->s, &w->cfg, w->mem), 0);
	slot = hims_dedup_record_choose(w->rec[0], w->rec[1], &w->cfg, w->fmt_id,
					&durable);
	if (!CHECK(slot >= 0))
		return false;
	n = hims_dedup_meta_count(&w->s);
	for (i = 0; i < n; i++) {
		if (!CHECK(hims_dedup_meta_load(&w->s, i, w->meta[i][0], w->meta[i][1],
						durable, w->fmt_id, &err) >= 0)) {
			fprintf(stderr, "  metadata block %u: %s\n", i,
				hims_dedup_meta_err_str(err));
			return false;
		}
	}
	if (!CHECK_EQ(hims_dedup_rebuild(&w->s, durable, slot, &rep), 0))
		return print_report(&rep);
	/* The restore copies each used RAM block once. */
	for (p = 0; p < w->cfg.nr_phys; p++)
		if (w->s.refcount[p])
			memcpy(w->ram[p], w->mirror[p], NB);

	/* Each block holds data of its own, of the last flush or since. */
	for (l = 0; l < w->cfg.nr_logical && ok; l++) {
		enum hims_dedup_where at = world_read(w, l, got);
		u32 id;

		for (id = 0; id < NR_IDS; id++) {
			if (!(w->allowed[l] & (1ULL << id)))
				continue;
			content(want, id, l);
			if (!memcmp(got, want, NB))
				break;
		}
		if (!CHECK(id < NR_IDS)) {
			fprintf(stderr, "  logical block %u after a power cut: allowed %llx\n",
				l, (unsigned long long)w->allowed[l]);
			ok = false;
			break;
		}
		ok &= CHECK(id || at == HIMS_DEDUP_AT_NONE || at == HIMS_DEDUP_AT_ZERO);
		w->id[l] = id;
		w->kind[l] = at == HIMS_DEDUP_AT_NONE ? K_NONE :
			at == HIMS_DEDUP_AT_ZERO ? K_ZERO : K_DATA;
		w->allowed[l] = 1ULL << id;
		w->pend[l] = 1ULL << id;
	}
	memset(w->phys_freed, 0, w->cfg.nr_phys * sizeof(u64));
	memset(w->spill_freed, 0, (w->cfg.nr_spill + 1) * sizeof(u64));
	return ok;
}

static u32 pick_id(struct world *w)
{
	u64 r = unit_rand_below(&w->rng, 100);

	/* Tight: mostly data of its own, to fill RAM and the spill area. */
	if (w->tight && r < 60)
		return DUP_IDS + unit_rand_below(&w->rng, NR_IDS - DUP_IDS);
	if (w->tight)
		r = unit_rand_below(&w->rng, 100);
	if (r < 10)
		return 0;
	if (r < 45)
		return 1 + unit_rand_below(&w->rng, 6);	/* hot duplicates */
	if (r < 70)
		return 1 + unit_rand_below(&w->rng, DUP_IDS - 1);
	return DUP_IDS + unit_rand_below(&w->rng, NR_IDS - DUP_IDS);
}

struct model_opts {
	const char *name;
	u32 nr_logical, nr_phys, nr_spill, index_entries;
	bool degenerate;	/* every fingerprint the same */
	bool async;		/* the mirror lags RAM until writeback or commit */
	bool tight;		/* rare commits, mostly unique data */
	u32 nr_ops;
	u64 seed;
	u32 fail_odds;		/* one data write in this many fails; 0: none */
};

static void run_model(const struct model_opts *o)
{
	struct hims_dedup_stats st;
	struct world w;
	u32 op, l, commit_odds = o->tight ? 10 : 1;

	world_init(&w, o->nr_logical, o->nr_phys, o->nr_spill, o->index_entries,
		   o->degenerate, o->async, o->seed);
	w.tight = o->tight;
	w.fail_odds = o->fail_odds;
	w.fail_rng = o->seed * 7919 + 1;
	world_flush(&w);		/* formats the metadata */
	if (!world_check(&w, 0))
		goto out;
	for (op = 1; op <= o->nr_ops; op++) {
		u64 r = unit_rand_below(&w.rng, 1000);

		if (w.inflight && (r >= 900 || unit_rand_below(&w.rng, 3) == 0)) {
			world_complete(&w);
		} else if (r < 700) {
			/* A write, sometimes to a hot range of blocks. */
			l = unit_rand_below(&w.rng, 4) ?
				unit_rand_below(&w.rng, o->nr_logical) :
				unit_rand_below(&w.rng, 8);
			if (w.inflight && l == w.if_lblk)
				continue;
			if (w.inflight)
				world_complete(&w);
			if (!world_write(&w, l, pick_id(&w), unit_rand_below(&w.rng, 4) == 0))
				break;
		} else if (r < 790) {
			l = unit_rand_below(&w.rng, o->nr_logical);
			if (w.inflight && l == w.if_lblk)
				continue;
			world_discard(&w, l);
		} else if (r < 850) {
			/* Background writeback of a dirty block. */
			u32 p = unit_rand_below(&w.rng, o->nr_phys);

			if (w.dirty[p])
				writeback(&w, p);
		} else if (r < 900) {
			u64 e;

			if (unit_rand_below(&w.rng, commit_odds))
				continue;
			if (w.committing)
				world_commit_end(&w);
			else if (w.inflight)
				CHECK_EQ(hims_dedup_commit_begin(&w.s, &e), -1);
			else if (hims_dedup_commit_needed(&w.s))
				world_commit_begin(&w);
		} else if (r < 996) {
			if (unit_rand_below(&w.rng, commit_odds))
				continue;
			if (!w.committing && !w.inflight && hims_dedup_commit_needed(&w.s))
				world_commit_begin(&w);
		} else {
			if (!world_crash(&w))
				break;
		}
		if (!world_check(&w, op))
			break;
	}
	if (w.inflight)
		world_complete(&w);
	world_flush(&w);
	world_check(&w, op);

	hims_dedup_get_stats(&w.s, &st);
	printf("%s: %u shares, %u writes (%u in place), %u spills (%u in place),",
	       o->name, w.nr_share, w.nr_write, w.nr_in_place, w.nr_spill,
	       w.nr_spill_in_place);
	printf(" %u zero, %u discards\n", w.nr_zero, w.nr_discard);
	printf("%s: %u commits, %u power cuts (%u torn blocks), %u waits for a commit,",
	       o->name, w.nr_commit, w.nr_crash, w.nr_torn, w.nr_need_commit);
	printf(" %u delayed writes, %u failed comparisons, %u failed writes\n",
	       w.nr_delayed, w.nr_collisions, w.nr_failed);
	printf("%s: now %u mapped, %u RAM blocks, %u zero, %u spilled, dedup %u.%03u,",
	       o->name, st.mapped, st.phys_used, st.zero, st.spilled,
	       st.dedup_x1000 / 1000, st.dedup_x1000 % 1000);
	printf(" index %u/%u entries, %llu bytes\n", st.index_used,
	       st.index_capacity, (unsigned long long)st.index_bytes);
	world_crash(&w);
	world_check(&w, op);

	/* The mix must have exercised the interesting paths. */
	CHECK(w.nr_share > o->nr_ops / 50);
	CHECK(w.nr_in_place > o->nr_ops / 50);
	CHECK(w.nr_spill > o->nr_ops / 100);
	CHECK(w.nr_spill_in_place > 0);
	CHECK(w.nr_crash > o->nr_ops / 1000);
	total_torn += w.nr_torn;
	CHECK(w.nr_delayed > o->nr_ops / 50);
	CHECK(!o->tight || w.nr_need_commit > 0);
	CHECK(!o->degenerate || w.nr_collisions > o->nr_ops / 10);
	CHECK(!o->fail_odds || w.nr_failed > o->nr_ops / o->fail_odds / 20);
out:
	world_free(&w);
}

static const struct model_opts models[] = {
	{ "xxh64 async", 200, 48, 152, 32, false, true, false, 30000, 1, 0 },
	{ "xxh64 sync", 200, 48, 152, 32, false, false, false, 30000, 2, 0 },
	{ "colliding async", 200, 48, 152, 32, true, true, false, 30000, 3, 0 },
	{ "colliding sync", 200, 48, 152, 32, true, false, false, 30000, 4, 0 },
	/* RAM and spill area full: writes wait for commits. */
	{ "xxh64 tight", 48, 8, 40, 16, false, true, true, 30000, 5, 0 },
	{ "colliding tight", 48, 8, 40, 16, true, false, true, 30000, 6, 0 },
	/* Several metadata blocks of each kind; a bigger index. */
	{ "xxh64 large", 2100, 700, 1400, 256, false, true, false, 8000, 7, 0 },
	{ "colliding large", 2100, 1100, 1000, 256, true, false, false, 8000, 8, 0 },
	/* Data writes that fail and are aborted. */
	{ "xxh64 async failing", 200, 48, 152, 32, false, true, false, 30000, 9, 8 },
	{ "xxh64 sync failing", 200, 48, 152, 32, false, false, false, 30000, 10, 8 },
	{ "colliding tight failing", 48, 8, 40, 16, true, false, true, 30000, 11, 8 },
};

int main(void)
{
	u32 i;

	test_xxh64();
	test_config();
	test_share_and_cow();
	test_deferred_reuse();
	test_spill_full();
	test_write_abort();
	test_index();
	test_meta_format();
	test_format_record();
	test_checker();
	test_verify_planted();
	for (i = 0; i < ARRAY_SIZE(models); i++)
		run_model(&models[i]);
	CHECK(total_torn > 10);
	return unit_result("hims-dedup");
}
