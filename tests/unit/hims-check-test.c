// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for tools/hims-check.c (built with -DHIMS_CHECK_NO_MAIN):
 * SSD images built in memory with the dedup core's own commit protocol,
 * then inconsistencies planted one at a time; each must be found, named
 * precisely, and only it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dm-hims/hims-format.c"
#include "dm-hims/hims-dedup.c"
#include "dm-hims/hims-dedup-pool.c"
#include "dm-hims/hims-dedup-check.c"
#include "tools/hims-check.h"
#include "unit.h"

#define BS		HIMS_BLOCK_SIZE
#define NR_LOGICAL	2100U	/* three map blocks */
#define NR_PHYS		50U
#define NR_SPILL	2050U
#define SSD_TIER	10U
#define NONE_FOUND	0xffffffffU

struct img {
	u8 *data;
	u64 blocks;
	u64 fail_block;		/* a read touching it fails; 0: none */
};

static int img_read(void *ctx, u64 block, u32 nr, void *buf)
{
	struct img *img = ctx;

	if (block + nr > img->blocks)
		return -6;	/* ENXIO */
	if (img->fail_block && block <= img->fail_block &&
	    img->fail_block < block + nr)
		return -5;	/* EIO */
	memcpy(buf, img->data + block * BS, (size_t)nr * BS);
	return 0;
}

static u8 *img_block(struct img *img, u64 block)
{
	return img->data + block * BS;
}

static const u8 uuid[HIMS_UUID_SIZE] = {
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	9, 10, 11, 12, 13, 14, 15, 16
};

/* The device under test: its image, geometry and dedup state. */
struct dut {
	struct img img;
	struct hims_geometry geo;
	struct hims_dedup_config cfg;
	struct hims_dedup s;
	void *mem;
	u32 content[NR_PHYS];	/* the content id each RAM block holds */
	u64 fmt_id;
};

static void *xcalloc(size_t bytes)
{
	void *p = calloc(1, bytes);

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

static void dut_init(struct dut *d)
{
	memset(d, 0, sizeof(*d));
	d->cfg.nr_logical = NR_LOGICAL;
	d->cfg.nr_phys = NR_PHYS;
	d->cfg.nr_spill = NR_SPILL;
	d->cfg.index_entries = 64;
	CHECK_EQ(hims_geometry_init_dedup(&d->geo, NR_PHYS, NR_LOGICAL, NR_SPILL,
					  SSD_TIER), 0);
	d->img.blocks = d->geo.ssd_min_blocks;
	d->img.data = xcalloc(d->img.blocks * BS);
	hims_sb_encode(d->img.data, &d->geo, uuid);
	d->fmt_id = hims_dedup_fmt_id(uuid);
	/* What format writes: the empty commit, epoch 0. */
	hims_dedup_record_encode(img_block(&d->img, d->geo.dedup_start + HIMS_DEDUP_FORMAT_SLOT),
				 &d->cfg, 0, d->fmt_id);
	d->mem = xcalloc(hims_dedup_mem_bytes(&d->cfg));
	CHECK_EQ(hims_dedup_init(&d->s, &d->cfg, d->mem), 0);
}

static void dut_free(struct dut *d)
{
	free(d->img.data);
	free(d->mem);
}

static u64 meta_block(struct dut *d, u32 m, u32 slot)
{
	return d->geo.dedup_start + 2 + 2ULL * m + slot;
}

/* The commit protocol, metadata first; the record only if @finish. */
static u64 dut_commit(struct dut *d, bool finish)
{
	u64 epoch;
	u32 m;

	if (!CHECK_EQ(hims_dedup_commit_begin(&d->s, &epoch), 0))
		return 0;
	for (m = hims_dedup_commit_next(&d->s, 0); m != HIMS_DEDUP_NONE;
	     m = hims_dedup_commit_next(&d->s, m + 1)) {
		u32 slot = hims_dedup_meta_write_slot(&d->s, m);

		hims_dedup_meta_encode_state(&d->s, m, epoch, d->fmt_id,
					     img_block(&d->img, meta_block(d, m, slot)));
	}
	if (finish) {
		hims_dedup_record_encode(img_block(&d->img, d->geo.dedup_start +
						   hims_dedup_record_slot(&d->s)),
					 &d->cfg, epoch, d->fmt_id);
		hims_dedup_commit_end(&d->s, epoch, true);
	}
	return epoch;
}

struct same_ctx {
	struct dut *d;
	u32 id;
};

static bool same_content(void *ctx, u32 phys)
{
	struct same_ctx *c = ctx;

	return c->d->content[phys] == c->id;
}

/* Writes content @id (0: zeroes) to @lblk, committing when needed. */
static void dut_write(struct dut *d, u32 lblk, u32 id)
{
	struct same_ctx c = { d, id };
	struct hims_dedup_result res;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		hims_dedup_write(&d->s, lblk, 0x9e3779b97f4a7c15ULL * id, !id,
				 same_content, &c, &res);
		if (res.action != HIMS_DEDUP_NEED_COMMIT)
			break;
		dut_commit(d, true);
	}
	CHECK(res.action != HIMS_DEDUP_NEED_COMMIT &&
	      res.action != HIMS_DEDUP_NOSPACE);
	if (res.action == HIMS_DEDUP_WRITE)
		d->content[res.target] = id;
	if (res.action == HIMS_DEDUP_WRITE || res.action == HIMS_DEDUP_SPILL)
		hims_dedup_write_done(&d->s, &res);
}

static int run(struct dut *d, struct hims_check_result *res)
{
	int rc = hims_check(img_read, &d->img, d->img.blocks, 0, res);

	printf("  rc %d: %s\n", rc, res->msg);
	return rc;
}

static bool has(const struct hims_check_result *res, const char *s)
{
	if (strstr(res->msg, s))
		return true;
	fprintf(stderr, "message lacks \"%s\": %s\n", s, res->msg);
	return false;
}

/* A populated device: shared, unique, zero, spilled and discarded blocks. */
static void dut_populate(struct dut *d)
{
	struct hims_dedup_result res;
	u32 l;

	for (l = 0; l < 300; l++)
		dut_write(d, l, 1 + l % 7);		/* 7 contents, shared */
	for (l = 300; l < 340; l++)
		dut_write(d, l, 1000 + l);		/* unique */
	for (l = 400; l < 420; l++)
		dut_write(d, l, 0);			/* zeroes */
	for (l = 1100; l < 1200; l++)
		dut_write(d, l, 5000 + l);		/* RAM full: spilled */
	for (l = 0; l < 10; l++)
		hims_dedup_discard(&d->s, l, &res);
	dut_commit(d, true);
}

static void check_stats(struct dut *d, const struct hims_check_result *res)
{
	struct hims_dedup_stats st;

	hims_dedup_get_stats(&d->s, &st);
	CHECK_EQ(res->mapped, st.mapped);
	CHECK_EQ(res->phys_used, st.phys_used);
	CHECK_EQ(res->zero, st.zero);
	CHECK_EQ(res->spilled, st.spilled);
}

static void test_fresh_and_plain(void)
{
	struct hims_check_result res;
	struct hims_geometry geo;
	struct dut d;

	printf("fresh and plain\n");
	dut_init(&d);
	CHECK_EQ(run(&d, &res), 0);
	CHECK_EQ(res.status, HIMS_CHECK_NO_COMMIT);
	CHECK(has(&res, "no commit yet"));

	/* A first commit cut before its record: still no commit. */
	dut_write(&d, 5, 42);
	dut_commit(&d, false);
	CHECK_EQ(run(&d, &res), 0);
	CHECK_EQ(res.status, HIMS_CHECK_NO_COMMIT);
	CHECK_EQ(res.newest_seen, 1);

	CHECK(has(&res, "4 metadata slots hold copies"));
	CHECK_EQ(hims_check(img_read, &d.img, d.img.blocks, HIMS_CHECK_STRICT_FRESH, &res), 1);
	CHECK(has(&res, "metadata block 0 (map block 0) slot 1"));
	CHECK(has(&res, "epoch 1, newer than the durable commit, expected blank"));

	/* Format leaves what the SSD held: garbage in the region is no commit. */
	memset(img_block(&d.img, meta_block(&d, 2, 0)), 0x5a, 100);
	memset(img_block(&d.img, d.geo.dedup_start), 0x5a, 100);
	CHECK_EQ(run(&d, &res), 0);
	CHECK(has(&res, "2 slots hold other data"));
	CHECK_EQ(hims_check(img_read, &d.img, d.img.blocks, HIMS_CHECK_STRICT_FRESH, &res), 1);
	CHECK(has(&res, "record slot 0 (SSD block 768): bad magic, expected blank"));

	/* Without format's record, the metadata is damaged: the kernel refuses it. */
	memset(img_block(&d.img, d.geo.dedup_start + 1), 0x5a, 100);
	CHECK_EQ(run(&d, &res), 1);
	CHECK_EQ(res.status, HIMS_CHECK_BAD);
	CHECK(has(&res, "no valid commit record: slot 0 (SSD block 768): bad magic;"));
	CHECK(has(&res, "; slot 1 (SSD block 769): bad magic"));
	memset(img_block(&d.img, d.geo.dedup_start), 0, 2 * BS);
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "slot 0 (SSD block 768): blank; slot 1 (SSD block 769): blank"));

	/* But a record of ours for another geometry is an inconsistency. */
	hims_dedup_record_encode(img_block(&d.img, d.geo.dedup_start + HIMS_DEDUP_FORMAT_SLOT),
				 &d.cfg, 0, d.fmt_id);
	d.cfg.nr_phys++;
	hims_dedup_record_encode(img_block(&d.img, d.geo.dedup_start), &d.cfg, 1, d.fmt_id);
	d.cfg.nr_phys--;
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "record slot 0 (SSD block 768): another geometry"));
	dut_free(&d);

	/* Every commit record damaged after commits: refused too. */
	dut_init(&d);
	dut_populate(&d);
	CHECK_EQ(run(&d, &res), 0);
	CHECK_EQ(res.status, HIMS_CHECK_CONSISTENT);
	img_block(&d.img, d.geo.dedup_start)[20] ^= 1;
	img_block(&d.img, d.geo.dedup_start + 1)[20] ^= 1;
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "slot 0 (SSD block 768): bad checksum;"));
	CHECK(has(&res, "; slot 1 (SSD block 769): bad checksum"));
	dut_free(&d);

	/* Without dedup only the superblock counts. */
	dut_init(&d);
	CHECK_EQ(hims_geometry_init(&geo, NR_PHYS, 100), 0);
	hims_sb_encode(d.img.data, &geo, uuid);
	CHECK_EQ(run(&d, &res), 0);
	CHECK_EQ(res.status, HIMS_CHECK_CONSISTENT);
	CHECK(!res.dedup);
	CHECK(has(&res, "no dedup"));
	dut_free(&d);
}

static void test_superblock(void)
{
	struct hims_check_result res;
	struct hims_superblock *sb;
	struct dut d;

	printf("superblock\n");
	dut_init(&d);
	sb = (struct hims_superblock *)d.img.data;

	d.img.data[40] ^= 1;	/* inside the uuid */
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "checksum"));
	d.img.data[40] ^= 1;
	CHECK_EQ(run(&d, &res), 0);

	/* A field that disagrees with the sizes, checksum made right. */
	sb->mirror_start = cpu_to_le64(le64_to_cpu(sb->mirror_start) + 256);
	sb->checksum = 0;
	sb->checksum = cpu_to_le32(hims_crc32c(0, sb, sizeof(*sb)));
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "mirror_start is 512, expected 256"));

	/* A spill area too small for RAM-full writes. */
	CHECK_EQ(hims_geometry_init_dedup(&d.geo, NR_PHYS, NR_LOGICAL,
					  NR_LOGICAL - NR_PHYS - 1, SSD_TIER), 0);
	hims_sb_encode(d.img.data, &d.geo, uuid);
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "spill_blocks 2049, expected at least"));

	memset(d.img.data, 0, BS);
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "no hims superblock"));
	memcpy(d.img.data, "EXT4 or something", 17);
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "foreign"));
	dut_free(&d);

	/* A device smaller than the geometry; a read error. */
	dut_init(&d);
	CHECK_EQ(hims_check(img_read, &d.img, d.img.blocks - 1, 0, &res), 1);
	CHECK(has(&res, "needs"));
	d.img.fail_block = d.geo.dedup_start + 1;
	CHECK_EQ(run(&d, &res), 1);
	CHECK_EQ(res.status, HIMS_CHECK_IO);
	CHECK(has(&res, "cannot read the commit records"));
	d.img.fail_block = 0;
	dut_free(&d);
}

static void test_consistent(void)
{
	struct hims_check_result res, before;
	struct dut d;
	u64 e1, e2;
	u32 l;

	printf("consistent states\n");
	dut_init(&d);
	dut_populate(&d);
	CHECK_EQ(run(&d, &res), 0);
	CHECK_EQ(res.status, HIMS_CHECK_CONSISTENT);
	check_stats(&d, &res);
	CHECK(res.spilled > 0 && res.zero == 20 && res.phys_used <= NR_PHYS);
	CHECK(has(&res, "consistent: epoch"));
	e1 = res.epoch;

	/* Rewrites, then a commit cut before its record: the last whole one holds. */
	for (l = 0; l < 200; l++)
		dut_write(&d, l, 9000 + l);
	CHECK_EQ(run(&d, &before), 0);
	CHECK(before.epoch >= e1);
	e2 = dut_commit(&d, false);
	CHECK(e2 > before.epoch);
	CHECK_EQ(run(&d, &res), 0);
	CHECK_EQ(res.epoch, before.epoch);
	CHECK(res.too_new > 0);
	CHECK_EQ(res.newest_seen, e2);
	CHECK_EQ(res.mapped, before.mapped);
	CHECK_EQ(res.phys_used, before.phys_used);
	CHECK_EQ(res.spilled, before.spilled);

	/* The record written too: the new state. */
	hims_dedup_record_encode(img_block(&d.img, d.geo.dedup_start +
					   hims_dedup_record_slot(&d.s)),
				 &d.cfg, e2, d.fmt_id);
	hims_dedup_commit_end(&d.s, e2, true);
	CHECK_EQ(run(&d, &res), 0);
	CHECK_EQ(res.epoch, e2);
	check_stats(&d, &res);

	/* Another instance's stale record in the other slot is ignored. */
	hims_dedup_record_encode(img_block(&d.img, d.geo.dedup_start +
					   hims_dedup_record_slot(&d.s)),
				 &d.cfg, e2 + 5, d.fmt_id + 1);
	CHECK_EQ(run(&d, &res), 0);
	CHECK_EQ(res.epoch, e2);
	/* Ours with another geometry is not. */
	d.cfg.nr_spill++;
	hims_dedup_record_encode(img_block(&d.img, d.geo.dedup_start +
					   hims_dedup_record_slot(&d.s)),
				 &d.cfg, e2 - 1, d.fmt_id);
	d.cfg.nr_spill--;
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "another geometry"));
	dut_free(&d);
}

/* The durable copy of metadata block @m: its slot. */
static u32 durable_slot(struct dut *d, u32 m, u64 durable)
{
	enum hims_dedup_meta_kind kind;
	enum hims_dedup_meta_err err;
	u32 index;
	int slot;

	hims_dedup_meta_id(&d->s, m, &kind, &index);
	slot = hims_dedup_meta_choose(img_block(&d->img, meta_block(d, m, 0)),
				      img_block(&d->img, meta_block(d, m, 1)),
				      kind, index, d->fmt_id, durable, &err);
	CHECK(slot >= 0);
	return slot < 0 ? 0 : slot;
}

/* Sets entry @i of the durable copy of metadata block @m, checksum right. */
static void plant(struct dut *d, u64 durable, u32 m, u32 i, u32 value)
{
	enum hims_dedup_meta_kind kind;
	u32 index, nr, *array;
	u8 *blk;
	u64 epoch;

	hims_dedup_meta_id(&d->s, m, &kind, &index);
	nr = kind == HIMS_DEDUP_META_MAP ? NR_LOGICAL : NR_PHYS;
	array = xcalloc((size_t)nr * 4);
	blk = img_block(&d->img, meta_block(d, m, durable_slot(d, m, durable)));
	CHECK_EQ(hims_dedup_meta_verify(blk, kind, index, d->fmt_id, &epoch), 0);
	hims_dedup_meta_decode(blk, index, array, nr);
	array[i] = value;
	hims_dedup_meta_encode(blk, kind, index, array, nr, epoch, d->fmt_id);
	free(array);
}

static u32 get_entry(struct dut *d, u64 durable, u32 m, u32 i)
{
	const u8 *blk = img_block(&d->img, meta_block(d, m, durable_slot(d, m, durable)));
	const __le32 *e = (const __le32 *)(blk + sizeof(struct hims_dedup_meta_header));

	return le32_to_cpu(e[i % HIMS_DEDUP_META_ENTRIES]);
}

static void test_planted(void)
{
	struct hims_check_result res;
	u32 map_meta = (NR_LOGICAL + HIMS_DEDUP_META_ENTRIES - 1) /
		HIMS_DEDUP_META_ENTRIES;
	u32 free_phys = NONE_FOUND, p, old, other;
	struct hims_dedup_meta_header *hdr;
	struct dut d;
	char want[128];
	u64 e;
	u8 *blk;

	printf("planted inconsistencies\n");
	dut_init(&d);
	dut_populate(&d);
	CHECK_EQ(run(&d, &res), 0);
	/* Free one RAM block. */
	dut_write(&d, 300, 0);
	dut_commit(&d, true);
	CHECK_EQ(run(&d, &res), 0);
	e = res.epoch;
	for (p = 0; p < NR_PHYS; p++)
		if (!d.s.refcount[p])
			free_phys = p;

	/* Logical block 1500 (map block 1) out of range. */
	plant(&d, e, 1, 1500, 0x7fff0000);
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "logical block 1500 maps 0x7fff0000"));
	snprintf(want, sizeof(want), "map block 1, SSD block %llu",
		 (unsigned long long)meta_block(&d, 1, durable_slot(&d, 1, e)));
	CHECK(has(&res, want));
	plant(&d, e, 1, 1500, HIMS_DEDUP_UNMAPPED);
	CHECK_EQ(run(&d, &res), 0);

	/* A spill slot out of range. */
	plant(&d, e, 1, 1500, HIMS_DEDUP_SPILLED | NR_SPILL);
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "out-of-range"));
	plant(&d, e, 1, 1500, HIMS_DEDUP_UNMAPPED);

	/* Two logical blocks on one spill slot. */
	old = get_entry(&d, e, 1, 1150);
	CHECK((old & HIMS_DEDUP_SPILLED) && old != HIMS_DEDUP_UNMAPPED);
	other = get_entry(&d, e, 1, 1151);
	plant(&d, e, 1, 1151, old);
	CHECK_EQ(run(&d, &res), 1);
	snprintf(want, sizeof(want), "spill slot %u is mapped by logical blocks 1150 and 1151",
		 old & ~HIMS_DEDUP_SPILLED);
	CHECK(has(&res, want));
	plant(&d, e, 1, 1151, other);
	CHECK_EQ(run(&d, &res), 0);

	/* A map entry on a free RAM block. */
	if (CHECK(free_phys != NONE_FOUND)) {
		old = get_entry(&d, e, 0, 350);
		plant(&d, e, 0, 350, free_phys);
		CHECK_EQ(run(&d, &res), 1);
		snprintf(want, sizeof(want),
			 "logical block 350 maps RAM block %u, whose refcount is 0", free_phys);
		CHECK(has(&res, want));
		plant(&d, e, 0, 350, old);
	}

	/* Refcounts off by one, each way. */
	p = get_entry(&d, e, 0, 20);	/* content 7, shared */
	CHECK(p < NR_PHYS);
	old = get_entry(&d, e, map_meta, p);
	plant(&d, e, map_meta, p, old + 1);
	CHECK_EQ(run(&d, &res), 1);
	snprintf(want, sizeof(want),
		 "RAM block %u has refcount %u on disk, but %u logical blocks map it",
		 p, old + 1, old);
	CHECK(has(&res, want));
	plant(&d, e, map_meta, p, old - 1);
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "mapped more often than its refcount"));
	plant(&d, e, map_meta, p, old);
	CHECK_EQ(run(&d, &res), 0);

	/* The only copy of map block 2 torn. */
	blk = img_block(&d.img, meta_block(&d, 2, durable_slot(&d, 2, e)));
	blk[2000] ^= 0x40;
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "metadata block 2 (map block 2): no copy of durable epoch"));
	CHECK(has(&res, "bad checksum"));
	blk[2000] ^= 0x40;
	CHECK_EQ(run(&d, &res), 0);

	/* Another instance's block where ours should be. */
	hdr = (struct hims_dedup_meta_header *)blk;
	hdr->fmt_id = cpu_to_le64(d.fmt_id ^ 1);
	hdr->checksum = 0;
	hdr->checksum = cpu_to_le32(meta_checksum(blk));
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "map block 2): no copy"));
	CHECK(has(&res, "another instance's"));

	/* A copy newer than the durable commit, and nothing older. */
	hdr->fmt_id = cpu_to_le64(d.fmt_id);
	hdr->epoch = cpu_to_le64(e + 1);
	hdr->checksum = 0;
	hdr->checksum = cpu_to_le32(meta_checksum(blk));
	CHECK_EQ(run(&d, &res), 1);
	CHECK(has(&res, "newer than the durable commit"));
	dut_free(&d);
}

int main(void)
{
	test_fresh_and_plain();
	test_superblock();
	test_consistent();
	test_planted();
	return unit_result("hims-check");
}
