// SPDX-License-Identifier: GPL-2.0
/*
 * hims-check <ssd_dev>: offline consistency check of a dm-hims SSD, in the
 * spirit of thin_check.  Checks the superblock; with dedup, picks the
 * durable commit record, the copy of every metadata block that commit
 * wrote (hims_dedup_meta_choose), and checks the decoded map against the
 * reference counts (hims_dedup_check).  Run it while no table uses the SSD.
 *
 * Exit status: 0 consistent, 1 inconsistent or unreadable, 2 bad usage.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm-hims/hims-format.h"
#include "dm-hims/hims-dedup.h"
#include "dm-hims/hims-dedup-check.h"
#include "tools/hims-check.h"

#define BS HIMS_BLOCK_SIZE
#define ENTRIES HIMS_DEDUP_META_ENTRIES
/* Metadata blocks read at once (two slots each). */
#define META_BATCH 128U

static int say(struct hims_check_result *res, enum hims_check_status st,
	       const char *fmt, ...) __printf(3, 4);

static int say(struct hims_check_result *res, enum hims_check_status st,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	res->status = st;
	return st == HIMS_CHECK_CONSISTENT || st == HIMS_CHECK_NO_COMMIT ? 0 : 1;
}

static bool blank(const void *block)
{
	const u8 *p = block;
	u32 i;

	for (i = 0; i < BS; i++)
		if (p[i])
			return false;
	return true;
}

static void *block_alloc(size_t blocks)
{
	void *p = NULL;

	if (posix_memalign(&p, BS, blocks * BS))
		return NULL;
	memset(p, 0, blocks * BS);
	return p;
}

/* Which superblock field disagrees with the geometry its sizes imply. */
static int sb_geometry_msg(struct hims_check_result *res,
			   const struct hims_superblock *sb,
			   const struct hims_geometry *geo)
{
	static const struct {
		const char *name;
		size_t sb_off, geo_off;
	} f[] = {
		{ "bitmap_start", offsetof(struct hims_superblock, bitmap_start),
		  offsetof(struct hims_geometry, bitmap_start) },
		{ "bitmap_blocks", offsetof(struct hims_superblock, bitmap_blocks),
		  offsetof(struct hims_geometry, bitmap_blocks) },
		{ "mirror_start", offsetof(struct hims_superblock, mirror_start),
		  offsetof(struct hims_geometry, mirror_start) },
		{ "expansion_start", offsetof(struct hims_superblock, expansion_start),
		  offsetof(struct hims_geometry, expansion_start) },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(f); i++) {
		__le64 raw;
		u64 want;

		memcpy(&raw, (const u8 *)sb + f[i].sb_off, sizeof(raw));
		memcpy(&want, (const u8 *)geo + f[i].geo_off, sizeof(want));
		if (le64_to_cpu(raw) != want)
			return say(res, HIMS_CHECK_BAD,
				   "superblock (SSD block 0): %s is %llu, expected %llu for ram_blocks %llu, ssd_blocks %llu",
				   f[i].name, (unsigned long long)le64_to_cpu(raw),
				   (unsigned long long)want,
				   (unsigned long long)geo->ram_blocks,
				   (unsigned long long)geo->ssd_blocks);
	}
	return say(res, HIMS_CHECK_BAD, "superblock (SSD block 0): %s",
		   hims_sb_check_str(HIMS_SB_BAD_GEOMETRY));
}

static const char *kind_str(enum hims_dedup_meta_kind kind)
{
	return kind == HIMS_DEDUP_META_MAP ? "map" : "refcount";
}

/* "slot 1 (SSD block 1234): bad checksum" and the like. */
static void slot_desc(char *buf, size_t len, const void *block, int slot,
		      u64 ssd_block, enum hims_dedup_meta_kind kind, u32 index,
		      u64 fmt_id, u64 durable)
{
	enum hims_dedup_meta_err err;
	u64 epoch = 0;

	if (blank(block)) {
		snprintf(buf, len, "slot %d (SSD block %llu): blank", slot,
			 (unsigned long long)ssd_block);
		return;
	}
	err = hims_dedup_meta_verify(block, kind, index, fmt_id, &epoch);
	if (!err && epoch > durable)
		snprintf(buf, len,
			 "slot %d (SSD block %llu): epoch %llu, newer than the durable commit",
			 slot, (unsigned long long)ssd_block,
			 (unsigned long long)epoch);
	else
		snprintf(buf, len, "slot %d (SSD block %llu): %s", slot,
			 (unsigned long long)ssd_block, hims_dedup_meta_err_str(err));
}

struct meta_ctx {
	hims_check_read_fn read;
	void *rctx;
	const struct hims_geometry *geo;
	struct hims_dedup ids;	/* only nr_map_meta / nr_ref_meta */
	u64 fmt_id;
	u8 *buf;		/* META_BATCH * 2 blocks */
	u64 buf_first;		/* first metadata block in buf */
	u32 buf_nr;
};

/* The two slots of metadata block @m. */
static int meta_slots(struct meta_ctx *mc, u32 m, const u8 **s0,
		      const u8 **s1)
{
	u32 meta_blocks = hims_dedup_meta_count(&mc->ids);
	int ret;

	if (m < mc->buf_first || m >= mc->buf_first + mc->buf_nr) {
		mc->buf_first = m;
		mc->buf_nr = min(META_BATCH, meta_blocks - m);
		ret = mc->read(mc->rctx, mc->geo->dedup_start + 2 + 2ULL * m,
			       2 * mc->buf_nr, mc->buf);
		if (ret) {
			mc->buf_nr = 0;
			return ret;
		}
	}
	*s0 = mc->buf + (size_t)(m - mc->buf_first) * 2 * BS;
	*s1 = *s0 + BS;
	return 0;
}

static u64 meta_ssd_block(const struct hims_geometry *geo, u32 m, int slot)
{
	return geo->dedup_start + 2 + 2ULL * m + slot;
}

static int meta_read_err(struct hims_check_result *res, u32 m, int ret)
{
	return say(res, HIMS_CHECK_IO,
		   "cannot read metadata block %u (SSD blocks %llu-%llu): %s",
		   m, (unsigned long long)meta_ssd_block(&res->geo, m, 0),
		   (unsigned long long)meta_ssd_block(&res->geo, m, 1), strerror(-ret));
}

/* "slot 0 (SSD block 1234): blank" and the like, for a commit record. */
static void record_desc(char *buf, size_t len, const struct hims_check_result *res,
			const struct hims_dedup_config *cfg, const u8 *rec, int slot)
{
	u64 epoch;

	snprintf(buf, len, "slot %d (SSD block %llu): %s", slot,
		 (unsigned long long)(res->geo.dedup_start + slot),
		 blank(rec) ? "blank" :
		 hims_dedup_meta_err_str(hims_dedup_record_verify(rec, cfg, res->fmt_id,
								  &epoch)));
}

/*
 * Neither record valid: format writes one, so the metadata is damaged (or
 * was formatted before format wrote a record); the kernel refuses it.
 */
static int check_no_record(struct hims_check_result *res,
			   const struct hims_dedup_config *cfg, const u8 *rec[2])
{
	char d0[160], d1[160];

	record_desc(d0, sizeof(d0), res, cfg, rec[0], 0);
	record_desc(d1, sizeof(d1), res, cfg, rec[1], 1);
	return say(res, HIMS_CHECK_BAD,
		   "no valid commit record: %s; %s (format writes one: damaged metadata, or formatted by a version that did not)",
		   d0, d1);
}

/*
 * The durable record is format's, epoch 0: nothing committed, every block
 * reads as unmapped (hims_dedup_load reads no metadata slot then).  Format
 * does not clear the metadata slots, so they may hold anything: copies of
 * a first commit cut before its record, or whatever the SSD held before.
 * With HIMS_CHECK_STRICT_FRESH the other record and every metadata slot
 * must be blank.
 */
static int check_no_commit(struct meta_ctx *mc, struct hims_check_result *res,
			   const struct hims_dedup_config *cfg, const u8 *rec[2],
			   int durable_slot, unsigned int flags)
{
	u32 m, copies = 0, other = 0, meta_blocks = hims_dedup_meta_count(&mc->ids);
	bool strict = flags & HIMS_CHECK_STRICT_FRESH;
	char d[160];
	int slot, ret;

	for (slot = 0; slot < 2; slot++) {
		enum hims_dedup_meta_err err;
		u64 epoch;

		if (slot == durable_slot || blank(rec[slot]))
			continue;
		err = hims_dedup_record_verify(rec[slot], cfg, mc->fmt_id, &epoch);
		if (strict)
			return say(res, HIMS_CHECK_BAD,
				   "no commit yet: record slot %d (SSD block %llu): %s, expected blank (--strict)",
				   slot, (unsigned long long)(res->geo.dedup_start + slot),
				   hims_dedup_meta_err_str(err));
		other++;
	}
	for (m = 0; m < meta_blocks; m++) {
		enum hims_dedup_meta_kind kind;
		const u8 *s[2];
		u32 index;

		ret = meta_slots(mc, m, &s[0], &s[1]);
		if (ret)
			return meta_read_err(res, m, ret);
		hims_dedup_meta_id(&mc->ids, m, &kind, &index);
		for (slot = 0; slot < 2; slot++) {
			u64 epoch;

			if (blank(s[slot]))
				continue;
			if (strict) {
				slot_desc(d, sizeof(d), s[slot], slot,
					  meta_ssd_block(mc->geo, m, slot), kind, index,
					  mc->fmt_id, 0);
				return say(res, HIMS_CHECK_BAD,
					   "no commit record, but metadata block %u (%s block %u) %s, expected blank (--strict)",
					   m, kind_str(kind), index, d);
			}
			if (!hims_dedup_meta_verify(s[slot], kind, index, mc->fmt_id,
						    &epoch)) {
				copies++;
				res->newest_seen = max(res->newest_seen, epoch);
			} else {
				other++;
			}
		}
	}
	res->too_new = copies;
	if (copies || other)
		return say(res, HIMS_CHECK_NO_COMMIT,
			   "dedup: no commit yet, every block reads unmapped (%u metadata slots hold copies of a first commit that never ended, newest epoch %llu; %u slots hold other data)",
			   copies, (unsigned long long)res->newest_seen, other);
	return say(res, HIMS_CHECK_NO_COMMIT,
		   "dedup: no commit yet, metadata blank; every block reads unmapped");
}

/* "refcount block 3, SSD block 1234": where RAM block @phys's count lives. */
static void ref_where(char *buf, size_t len, const struct hims_geometry *geo,
		      u32 nr_map_meta, u32 phys, const u8 *chosen)
{
	u32 m = nr_map_meta + phys / ENTRIES;

	snprintf(buf, len, "refcount block %u, SSD block %llu", m - nr_map_meta,
		 (unsigned long long)meta_ssd_block(geo, m, chosen[m]));
}

/* The first inconsistency hims_dedup_check() found, with where it lives. */
static int check_report_msg(struct hims_check_result *res,
			    const struct hims_dedup_report *rep,
			    const struct hims_dedup_config *cfg,
			    const struct meta_ctx *mc, const u8 *chosen)
{
	const struct hims_geometry *geo = &res->geo;
	u32 nr_map_meta = mc->ids.nr_map_meta, m;
	const char *what = hims_dedup_check_str(rep->code);
	char where[160];

	switch (rep->code) {
	case HIMS_DEDUP_CHK_BAD_VALUE:
		m = rep->index / ENTRIES;
		snprintf(where, sizeof(where), "map block %u, SSD block %llu", m,
			 (unsigned long long)meta_ssd_block(geo, m, chosen[m]));
		return say(res, HIMS_CHECK_BAD,
			   "%s: logical block %u maps 0x%08x, expected a RAM block < %u, ZERO, UNMAPPED or a spill slot < %u (%s)",
			   what, rep->index, rep->value, cfg->nr_phys, cfg->nr_spill,
			   where);
	case HIMS_DEDUP_CHK_FREE_REFERENCED:
		ref_where(where, sizeof(where), geo, nr_map_meta, rep->value, chosen);
		return say(res, HIMS_CHECK_BAD,
			   "%s: logical block %u maps RAM block %u, whose refcount is 0, expected >= 1 (%s)",
			   what, rep->index, rep->value, where);
	case HIMS_DEDUP_CHK_OVER_REFERENCED:
		ref_where(where, sizeof(where), geo, nr_map_meta, rep->value, chosen);
		return say(res, HIMS_CHECK_BAD,
			   "%s: RAM block %u has refcount %u, but logical block %u is reference %u to it (%s)",
			   what, rep->value, rep->expected, rep->index, rep->found,
			   where);
	case HIMS_DEDUP_CHK_UNDER_REFERENCED:
		ref_where(where, sizeof(where), geo, nr_map_meta, rep->index, chosen);
		return say(res, HIMS_CHECK_BAD,
			   "%s: RAM block %u has refcount %u on disk, but %u logical blocks map it (%s)",
			   what, rep->index, rep->expected, rep->found, where);
	case HIMS_DEDUP_CHK_SPILL_SHARED:
		return say(res, HIMS_CHECK_BAD,
			   "%s: spill slot %u is mapped by logical blocks %u and %u, expected one",
			   what, rep->value, rep->other, rep->index);
	default:
		return say(res, HIMS_CHECK_BAD,
			   "%s: index %u value 0x%x expected %u found %u", what,
			   rep->index, rep->value, rep->expected, rep->found);
	}
}

/* Everything check_dedup reads and decodes. */
struct dedup_state {
	struct hims_dedup_config cfg;
	struct meta_ctx mc;
	u32 meta_blocks;
	u32 *map, *ref, *scratch;
	u8 *recs, *chosen;	/* chosen: the slot used of each metadata block */
	const u8 *rec[2];
	u64 durable;		/* the durable commit's epoch */
	int slot;		/* its record slot */
};

/* Go on checking: no verdict yet. */
#define GO_ON	(-1)

/* The superblock's dedup sizes, against the limits and the layout. */
static int check_sizes(struct hims_check_result *res, struct dedup_state *ds)
{
	const struct hims_geometry *geo = &res->geo;
	struct hims_dedup_config *cfg = &ds->cfg;

	if (geo->dedup_blocks > HIMS_DEDUP_MAX_BLOCKS ||
	    geo->ram_blocks > HIMS_DEDUP_MAX_BLOCKS ||
	    geo->spill_blocks > HIMS_DEDUP_MAX_BLOCKS)
		return say(res, HIMS_CHECK_BAD,
			   "superblock: dedup_blocks %llu, ram_blocks %llu or spill_blocks %llu above %u",
			   (unsigned long long)geo->dedup_blocks,
			   (unsigned long long)geo->ram_blocks,
			   (unsigned long long)geo->spill_blocks,
			   HIMS_DEDUP_MAX_BLOCKS);
	if (geo->spill_blocks < hims_dedup_spill_min(cfg->nr_logical, cfg->nr_phys))
		return say(res, HIMS_CHECK_BAD,
			   "superblock: spill_blocks %llu, expected at least dedup_blocks - ram_blocks = %u",
			   (unsigned long long)geo->spill_blocks,
			   hims_dedup_spill_min(cfg->nr_logical, cfg->nr_phys));
	ds->mc.ids.nr_map_meta = (cfg->nr_logical + ENTRIES - 1) / ENTRIES;
	ds->mc.ids.nr_ref_meta = (cfg->nr_phys + ENTRIES - 1) / ENTRIES;
	ds->meta_blocks = hims_dedup_meta_count(&ds->mc.ids);
	if (ds->meta_blocks != geo->meta_blocks)
		return say(res, HIMS_CHECK_BAD,
			   "internal: %u metadata blocks in the dedup core, %llu in the layout",
			   ds->meta_blocks, (unsigned long long)geo->meta_blocks);
	return GO_ON;
}

static int alloc_state(struct hims_check_result *res, struct dedup_state *ds)
{
	const struct hims_dedup_config *cfg = &ds->cfg;

	ds->recs = block_alloc(2);
	ds->mc.buf = block_alloc(2 * META_BATCH);
	ds->map = malloc((size_t)cfg->nr_logical * 4);
	ds->ref = malloc((size_t)cfg->nr_phys * 4);
	ds->scratch = malloc(((size_t)cfg->nr_phys + cfg->nr_spill) * 4 + 4);
	ds->chosen = calloc(ds->meta_blocks, 1);
	if (!ds->recs || !ds->mc.buf || !ds->map || !ds->ref || !ds->scratch || !ds->chosen)
		return say(res, HIMS_CHECK_IO, "out of memory");
	return GO_ON;
}

static void free_state(struct dedup_state *ds)
{
	free(ds->recs);
	free(ds->mc.buf);
	free(ds->map);
	free(ds->ref);
	free(ds->scratch);
	free(ds->chosen);
}

/* The durable commit record; check_no_commit if there is none. */
static int check_records(hims_check_read_fn read, void *ctx, unsigned int flags,
			 struct hims_check_result *res, struct dedup_state *ds)
{
	const struct hims_geometry *geo = &res->geo;
	const struct hims_dedup_config *cfg = &ds->cfg;
	enum hims_dedup_meta_err err;
	u64 e = 0;
	int ret, slot;

	ret = read(ctx, geo->dedup_start, 2, ds->recs);
	if (ret)
		return say(res, HIMS_CHECK_IO,
			   "cannot read the commit records (SSD blocks %llu-%llu): %s",
			   (unsigned long long)geo->dedup_start,
			   (unsigned long long)geo->dedup_start + 1, strerror(-ret));
	ds->rec[0] = ds->recs;
	ds->rec[1] = ds->recs + BS;
	slot = hims_dedup_record_choose(ds->rec[0], ds->rec[1], cfg, res->fmt_id, &ds->durable);
	if (slot < 0)
		return check_no_record(res, cfg, ds->rec);
	ds->slot = slot;
	res->record_slot = slot;
	res->epoch = ds->durable;
	/* The other record: blank, torn, older, or another instance's. */
	err = hims_dedup_record_verify(ds->rec[!slot], cfg, res->fmt_id, &e);
	if (err == HIMS_DEDUP_META_BAD_GEOMETRY)
		return say(res, HIMS_CHECK_BAD,
			   "commit record slot %d (SSD block %llu): %s (expected logical %u, RAM %u, spill %u, %u entries per block)",
			   !slot, (unsigned long long)geo->dedup_start + !slot,
			   hims_dedup_meta_err_str(err), cfg->nr_logical,
			   cfg->nr_phys, cfg->nr_spill, ENTRIES);
	if (!ds->durable)
		return check_no_commit(&ds->mc, res, cfg, ds->rec, slot, flags);
	return GO_ON;
}

/* Metadata block @m: the copy the durable commit wrote, decoded. */
static int load_meta_block(struct hims_check_result *res, struct dedup_state *ds, u32 m)
{
	const struct hims_geometry *geo = &res->geo;
	enum hims_dedup_meta_err err = HIMS_DEDUP_META_OK;
	enum hims_dedup_meta_kind kind;
	char d0[160], d1[160];
	const u8 *s[2];
	u32 index, i;
	int c, ret;
	u64 e;

	ret = meta_slots(&ds->mc, m, &s[0], &s[1]);
	if (ret)
		return meta_read_err(res, m, ret);
	hims_dedup_meta_id(&ds->mc.ids, m, &kind, &index);
	for (i = 0; i < 2; i++) {
		if (!hims_dedup_meta_verify(s[i], kind, index, res->fmt_id, &e)) {
			res->newest_seen = max(res->newest_seen, e);
			res->too_new += e > ds->durable;
		}
	}
	c = hims_dedup_meta_choose(s[0], s[1], kind, index, res->fmt_id, ds->durable, &err);
	if (c < 0) {
		slot_desc(d0, sizeof(d0), s[0], 0, meta_ssd_block(geo, m, 0),
			  kind, index, res->fmt_id, ds->durable);
		slot_desc(d1, sizeof(d1), s[1], 1, meta_ssd_block(geo, m, 1),
			  kind, index, res->fmt_id, ds->durable);
		return say(res, HIMS_CHECK_BAD,
			   "metadata block %u (%s block %u): no copy of durable epoch %llu or older: %s; %s",
			   m, kind_str(kind), index, (unsigned long long)ds->durable, d0, d1);
	}
	ds->chosen[m] = (u8)c;
	if (kind == HIMS_DEDUP_META_MAP)
		hims_dedup_meta_decode(s[c], index, ds->map, ds->cfg.nr_logical);
	else
		hims_dedup_meta_decode(s[c], index, ds->ref, ds->cfg.nr_phys);
	return GO_ON;
}

/* The map and refcounts agree: count what they hold. */
static int count_consistent(struct hims_check_result *res, const struct dedup_state *ds)
{
	const struct hims_dedup_config *cfg = &ds->cfg;
	u32 i;

	for (i = 0; i < cfg->nr_logical; i++) {
		u32 v = ds->map[i];

		if (v == HIMS_DEDUP_UNMAPPED)
			continue;
		res->mapped++;
		if (v == HIMS_DEDUP_ZERO)
			res->zero++;
		else if (v & HIMS_DEDUP_SPILLED)
			res->spilled++;
		else
			res->ram_refs++;
	}
	for (i = 0; i < cfg->nr_phys; i++)
		res->phys_used += !!ds->ref[i];
	return say(res, HIMS_CHECK_CONSISTENT,
		   "dedup metadata consistent: epoch %llu (record slot %d), %u mapped, %u RAM blocks used, %u zero, %u spilled (of %u logical, %u RAM, %u spill slots)",
		   (unsigned long long)ds->durable, ds->slot, res->mapped, res->phys_used,
		   res->zero, res->spilled, cfg->nr_logical, cfg->nr_phys, cfg->nr_spill);
}

static int check_dedup(hims_check_read_fn read, void *ctx, unsigned int flags,
		       struct hims_check_result *res)
{
	const struct hims_geometry *geo = &res->geo;
	struct hims_dedup_report rep;
	struct dedup_state ds = {
		.cfg = {
			.nr_logical = (u32)geo->dedup_blocks,
			.nr_phys = (u32)geo->ram_blocks,
			.nr_spill = (u32)geo->spill_blocks,
			.index_entries = HIMS_DEDUP_WAYS,	/* not in the record */
		},
		.mc = { .read = read, .rctx = ctx, .geo = geo, .fmt_id = res->fmt_id },
	};
	int rc;
	u32 m;

	rc = check_sizes(res, &ds);
	if (rc != GO_ON)
		return rc;
	rc = alloc_state(res, &ds);
	if (rc == GO_ON)
		rc = check_records(read, ctx, flags, res, &ds);
	for (m = 0; rc == GO_ON && m < ds.meta_blocks; m++)
		rc = load_meta_block(res, &ds, m);
	if (rc == GO_ON) {
		if (hims_dedup_check(ds.map, ds.cfg.nr_logical, ds.ref, ds.cfg.nr_phys,
				     ds.cfg.nr_spill, ds.scratch, &rep))
			rc = check_report_msg(res, &rep, &ds.cfg, &ds.mc, ds.chosen);
		else
			rc = count_consistent(res, &ds);
	}
	free_state(&ds);
	return rc;
}

int hims_check(hims_check_read_fn read, void *ctx, u64 ssd_blocks,
	       unsigned int flags, struct hims_check_result *res)
{
	struct hims_geometry zero_geo, *geo = &res->geo;
	const struct hims_superblock *sb;
	enum hims_sb_check sbc;
	u64 ram, ssd, dd, spill;
	u8 *block;
	int ret, rc;

	memset(res, 0, sizeof(*res));
	res->record_slot = -1;
	block = block_alloc(1);
	if (!block)
		return say(res, HIMS_CHECK_IO, "out of memory");
	ret = read(ctx, 0, 1, block);
	if (ret) {
		rc = say(res, HIMS_CHECK_IO, "cannot read the superblock (SSD block 0): %s",
			 strerror(-ret));
		goto out;
	}
	sb = (const struct hims_superblock *)block;
	ram = le64_to_cpu(sb->ram_blocks);
	ssd = le64_to_cpu(sb->ssd_blocks);
	dd = le64_to_cpu(sb->dedup_blocks);
	spill = le64_to_cpu(sb->spill_blocks);
	memset(&zero_geo, 0, sizeof(zero_geo));
	sbc = hims_sb_check(block, &zero_geo);
	if (sbc != HIMS_SB_OK && sbc != HIMS_SB_BAD_GEOMETRY) {
		rc = say(res, HIMS_CHECK_BAD, "superblock (SSD block 0): %s",
			 sbc == HIMS_SB_FOREIGN ? "foreign data, not a hims superblock" :
			 sbc == HIMS_SB_BLANK ? "all zeroes, no hims superblock" :
			 hims_sb_check_str(sbc));
		goto out;
	}
	if (hims_sb_geometry(block, geo)) {
		rc = say(res, HIMS_CHECK_BAD,
			 "superblock (SSD block 0): sizes out of range: ram_blocks %llu, ssd_blocks %llu, dedup_blocks %llu, spill_blocks %llu",
			 (unsigned long long)ram, (unsigned long long)ssd,
			 (unsigned long long)dd, (unsigned long long)spill);
		goto out;
	}
	if (!dd && spill) {
		rc = say(res, HIMS_CHECK_BAD,
			 "superblock (SSD block 0): spill_blocks %llu without dedup, expected 0",
			 (unsigned long long)spill);
		goto out;
	}
	sbc = hims_sb_check(block, geo);
	if (sbc != HIMS_SB_OK) {
		rc = sbc == HIMS_SB_BAD_GEOMETRY ? sb_geometry_msg(res, sb, geo) :
			say(res, HIMS_CHECK_BAD, "superblock (SSD block 0): %s",
			    hims_sb_check_str(sbc));
		goto out;
	}
	if (ssd_blocks && ssd_blocks < geo->ssd_min_blocks) {
		rc = say(res, HIMS_CHECK_BAD,
			 "SSD is %llu blocks, the superblock's geometry needs %llu",
			 (unsigned long long)ssd_blocks,
			 (unsigned long long)geo->ssd_min_blocks);
		goto out;
	}
	res->dedup = !!dd;
	res->fmt_id = hims_dedup_fmt_id(sb->uuid);
	if (!dd) {
		rc = say(res, HIMS_CHECK_CONSISTENT,
			 "superblock consistent (no dedup): RAM tier %llu blocks, SSD tier %llu blocks",
			 (unsigned long long)ram, (unsigned long long)ssd);
		goto out;
	}
	rc = check_dedup(read, ctx, flags, res);
out:
	free(block);
	return rc;
}

#ifndef HIMS_CHECK_NO_MAIN
struct dev {
	int fd;
	bool direct;
};

static int dev_read(void *ctx, u64 block, u32 nr, void *buf)
{
	struct dev *dev = ctx;
	size_t len = (size_t)nr * BS, done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(dev->fd, (u8 *)buf + done, len - done,
			  (off_t)(block * BS + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENXIO;	/* past the end */
		done += n;
	}
	return 0;
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: hims-check [-q] [--strict] <ssd_dev>\n"
		"Checks a dm-hims SSD offline: the superblock and, with dedup, the commit\n"
		"records and the map and reference counts of the durable commit.\n"
		"  -q        print nothing when consistent\n"
		"  --strict  with dedup and no commit yet, require a blank metadata region\n"
		"Exit status: 0 consistent, 1 inconsistent or unreadable, 2 bad usage.\n");
}

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, const char **path, bool *quiet,
		      unsigned int *flags)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			*quiet = true;
			continue;
		}
		if (!strcmp(a, "--strict")) {
			*flags |= HIMS_CHECK_STRICT_FRESH;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_usage(stdout);
			return 0;
		}
		if (a[0] == '-' && a[1]) {
			fprintf(stderr, "hims-check: unknown option %s\n", a);
			print_usage(stderr);
			return 2;
		}
		if (*path) {
			fprintf(stderr, "hims-check: one device only\n");
			print_usage(stderr);
			return 2;
		}
		*path = a;
	}
	if (!*path) {
		print_usage(stderr);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct hims_check_result res;
	const char *path = NULL;
	bool quiet = false;
	unsigned int flags = 0;
	struct dev dev;
	off_t end;
	u64 size = 0;
	int rc;

	rc = parse_args(argc, argv, &path, &quiet, &flags);
	if (rc >= 0)
		return rc;
	/* O_DIRECT: see what is on the disk, not a stale page cache. */
	dev.direct = true;
	dev.fd = open(path, O_RDONLY | O_DIRECT);
	if (dev.fd < 0 && errno == EINVAL) {
		dev.direct = false;
		dev.fd = open(path, O_RDONLY);
	}
	if (dev.fd < 0) {
		fprintf(stderr, "hims-check: %s: %s\n", path, strerror(errno));
		return 2;
	}
	/* The size of a block device or an image file. */
	end = lseek(dev.fd, 0, SEEK_END);
	size = end > 0 ? (u64)end : 0;
	rc = hims_check(dev_read, &dev, size / BS, flags, &res);
	close(dev.fd);
	if (rc) {
		fprintf(stderr, "hims-check: %s: %s\n", path, res.msg);
		return 1;
	}
	if (!quiet)
		printf("hims-check: %s: %s\n", path, res.msg);
	return 0;
}
#endif /* HIMS_CHECK_NO_MAIN */
