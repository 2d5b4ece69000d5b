// SPDX-License-Identifier: GPL-2.0
/*
 * dm-hims on-disk layout and logical-to-physical mapping (plain C).
 */
#include "hims-format.h"

static u64 round_up_blocks(u64 block, u64 align)
{
	return (block + align - 1) / align * align;
}

int hims_geometry_init(struct hims_geometry *geo, u64 ram_blocks, u64 ssd_blocks)
{
	/* Block numbers are kept in u32 per-block arrays in the kernel. */
	if (!ram_blocks || ram_blocks >= (1ULL << 31) || ssd_blocks >= (1ULL << 50))
		return -1;
	memset(geo, 0, sizeof(*geo));
	geo->ram_blocks = ram_blocks;
	geo->ssd_blocks = ssd_blocks;
	geo->bitmap_start = 1;
	geo->bitmap_blocks = (ram_blocks + HIMS_BITS_PER_BLOCK - 1) / HIMS_BITS_PER_BLOCK;
	geo->mirror_start = round_up_blocks(geo->bitmap_start + geo->bitmap_blocks,
					    HIMS_ALIGN_BLOCKS);
	geo->expansion_start = round_up_blocks(geo->mirror_start + ram_blocks,
					       HIMS_ALIGN_BLOCKS);
	geo->ssd_min_blocks = geo->expansion_start + ssd_blocks;
	geo->ram_min_blocks = 1 + ram_blocks;
	return 0;
}

int hims_geometry_init_dedup(struct hims_geometry *geo, u64 ram_blocks,
			     u64 dedup_blocks, u64 spill_blocks, u64 ssd_blocks)
{
	u64 per = HIMS_DEDUP_ENTRIES_PER_BLOCK;

	if (!dedup_blocks || dedup_blocks >= (1ULL << 31) || spill_blocks >= (1ULL << 31) ||
	    hims_geometry_init(geo, ram_blocks, ssd_blocks))
		return -1;
	geo->dedup_blocks = dedup_blocks;
	geo->meta_blocks = (dedup_blocks + per - 1) / per + (ram_blocks + per - 1) / per;
	geo->dedup_start = round_up_blocks(geo->expansion_start + ssd_blocks,
					   HIMS_ALIGN_BLOCKS);
	geo->spill_start = round_up_blocks(geo->dedup_start + 2 + 2 * geo->meta_blocks,
					   HIMS_ALIGN_BLOCKS);
	geo->spill_blocks = spill_blocks;
	geo->ssd_min_blocks = geo->spill_start + spill_blocks;
	return 0;
}

/* Bitwise CRC32C (Castagnoli): only superblocks and headers use it. */
u32 hims_crc32c(u32 crc, const void *data, size_t len)
{
	const u8 *p = data;
	int bit;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0x82f63b78U & (0U - (crc & 1)));
	}
	return ~crc;
}

static u32 sb_checksum(const void *block)
{
	struct hims_superblock copy;

	memcpy(&copy, block, sizeof(copy));
	copy.checksum = 0;
	return hims_crc32c(0, &copy, sizeof(copy));
}

void hims_sb_encode(void *block, const struct hims_geometry *geo,
		    const u8 uuid[HIMS_UUID_SIZE])
{
	struct hims_superblock *sb = block;

	memset(block, 0, HIMS_BLOCK_SIZE);
	sb->magic = cpu_to_le64(HIMS_SB_MAGIC);
	sb->version = cpu_to_le32(HIMS_VERSION);
	memcpy(sb->uuid, uuid, HIMS_UUID_SIZE);
	sb->block_size = cpu_to_le32(HIMS_BLOCK_SIZE);
	sb->ram_blocks = cpu_to_le64(geo->ram_blocks);
	sb->ssd_blocks = cpu_to_le64(geo->ssd_blocks);
	sb->bitmap_start = cpu_to_le64(geo->bitmap_start);
	sb->bitmap_blocks = cpu_to_le64(geo->bitmap_blocks);
	sb->mirror_start = cpu_to_le64(geo->mirror_start);
	sb->expansion_start = cpu_to_le64(geo->expansion_start);
	sb->dedup_blocks = cpu_to_le64(geo->dedup_blocks);
	sb->spill_blocks = cpu_to_le64(geo->spill_blocks);
	sb->checksum = cpu_to_le32(sb_checksum(sb));
}

static bool all_zero(const void *block, size_t len)
{
	const u8 *p = block;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

enum hims_sb_check hims_sb_check(const void *block, const struct hims_geometry *geo)
{
	const struct hims_superblock *sb = block;

	if (all_zero(block, HIMS_BLOCK_SIZE))
		return HIMS_SB_BLANK;
	if (le64_to_cpu(sb->magic) != HIMS_SB_MAGIC)
		return HIMS_SB_FOREIGN;
	if (le32_to_cpu(sb->checksum) != sb_checksum(sb))
		return HIMS_SB_BAD_CHECKSUM;
	if (le32_to_cpu(sb->version) != HIMS_VERSION ||
	    le32_to_cpu(sb->block_size) != HIMS_BLOCK_SIZE)
		return HIMS_SB_BAD_VERSION;
	if (le64_to_cpu(sb->ram_blocks) != geo->ram_blocks ||
	    le64_to_cpu(sb->ssd_blocks) != geo->ssd_blocks ||
	    le64_to_cpu(sb->bitmap_start) != geo->bitmap_start ||
	    le64_to_cpu(sb->bitmap_blocks) != geo->bitmap_blocks ||
	    le64_to_cpu(sb->mirror_start) != geo->mirror_start ||
	    le64_to_cpu(sb->expansion_start) != geo->expansion_start ||
	    le64_to_cpu(sb->dedup_blocks) != geo->dedup_blocks ||
	    le64_to_cpu(sb->spill_blocks) != geo->spill_blocks)
		return HIMS_SB_BAD_GEOMETRY;
	return HIMS_SB_OK;
}

const char *hims_sb_check_str(enum hims_sb_check check)
{
	switch (check) {
	case HIMS_SB_OK:
		return "valid hims superblock";
	case HIMS_SB_BLANK:
		return "blank";
	case HIMS_SB_FOREIGN:
		return "SSD holds foreign data, not a hims superblock (option 'format' overwrites)";
	case HIMS_SB_BAD_CHECKSUM:
		return "hims superblock checksum mismatch";
	case HIMS_SB_BAD_VERSION:
		return "unsupported hims superblock version or block size";
	case HIMS_SB_BAD_GEOMETRY:
		return "hims superblock geometry disagrees with the table (RAM tier, length)";
	}
	return "unknown superblock state";
}

static u32 ram_header_checksum(const void *block)
{
	struct hims_ram_header copy;

	memcpy(&copy, block, sizeof(copy));
	copy.checksum = 0;
	return hims_crc32c(0, &copy, sizeof(copy));
}

void hims_ram_header_encode(void *block, const u8 uuid[HIMS_UUID_SIZE], u32 state)
{
	struct hims_ram_header *hdr = block;

	memset(block, 0, HIMS_BLOCK_SIZE);
	hdr->magic = cpu_to_le64(HIMS_RAM_MAGIC);
	hdr->state = cpu_to_le32(state);
	memcpy(hdr->uuid, uuid, HIMS_UUID_SIZE);
	hdr->checksum = cpu_to_le32(ram_header_checksum(hdr));
}

u32 hims_ram_header_state(const void *block, const u8 uuid[HIMS_UUID_SIZE])
{
	const struct hims_ram_header *hdr = block;

	if (le64_to_cpu(hdr->magic) != HIMS_RAM_MAGIC ||
	    le32_to_cpu(hdr->checksum) != ram_header_checksum(hdr) ||
	    memcmp(hdr->uuid, uuid, HIMS_UUID_SIZE))
		return 0;
	return le32_to_cpu(hdr->state);
}

void hims_map_extent(const struct hims_geometry *geo, u64 sector, u32 nr_sectors,
		     struct hims_extent *ext)
{
	u64 block = sector >> HIMS_BLOCK_SECTOR_SHIFT;
	u64 offset = sector & (HIMS_SECTORS_PER_BLOCK - 1);
	u64 boundary = hims_boundary(geo) << HIMS_BLOCK_SECTOR_SHIFT;

	ext->block = block;
	if (block < hims_boundary(geo)) {
		ext->tier = HIMS_TIER_RAM;
		ext->ram_sector = ((1 + block) << HIMS_BLOCK_SECTOR_SHIFT) + offset;
		ext->ssd_sector = ((geo->mirror_start + block) << HIMS_BLOCK_SECTOR_SHIFT) + offset;
		ext->nr_sectors = (u32)min_t(u64, nr_sectors, boundary - sector);
	} else {
		ext->tier = HIMS_TIER_SSD;
		ext->ram_sector = 0;
		ext->ssd_sector = ((geo->expansion_start + block - hims_boundary(geo))
				   << HIMS_BLOCK_SECTOR_SHIFT) + offset;
		ext->nr_sectors = nr_sectors;
	}
}

/* On-disk metadata. */

/* Bitwise CRC32C (Castagnoli), the same as hims_crc32c(). */
u32 hims_dedup_crc32c(u32 crc, const void *data, size_t len)
{
	const u8 *p = data;
	int bit;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0x82f63b78U & (0U - (crc & 1)));
	}
	return ~crc;
}

const char *hims_dedup_meta_err_str(enum hims_dedup_meta_err err)
{
	switch (err) {
	case HIMS_DEDUP_META_OK:
		return "ok";
	case HIMS_DEDUP_META_BAD_MAGIC:
		return "bad magic";
	case HIMS_DEDUP_META_BAD_CHECKSUM:
		return "bad checksum";
	case HIMS_DEDUP_META_BAD_FMT:
		return "another instance's";
	case HIMS_DEDUP_META_BAD_PLACE:
		return "misplaced block";
	case HIMS_DEDUP_META_BAD_GEOMETRY:
		return "another geometry";
	case HIMS_DEDUP_META_TOO_NEW:
		return "newer than the durable commit";
	}
	return "?";
}

/* The checksum covers the whole block, with the checksum field zero. */
static u32 meta_checksum(const void *block)
{
	struct hims_dedup_meta_header h;
	u32 crc;

	memcpy(&h, block, sizeof(h));
	h.checksum = 0;
	crc = hims_dedup_crc32c(0, &h, sizeof(h));
	return hims_dedup_crc32c(crc, (const u8 *)block + sizeof(h),
				 HIMS_BLOCK_SIZE - sizeof(h));
}

void hims_dedup_meta_encode(void *block, enum hims_dedup_meta_kind kind,
			    u32 index, const u32 *array, u32 nr, u64 epoch,
			    u64 fmt_id)
{
	struct hims_dedup_meta_header *h = block;
	__le32 *e = (__le32 *)(h + 1);
	u32 first = index * HIMS_DEDUP_META_ENTRIES, i;

	memset(block, 0, HIMS_BLOCK_SIZE);
	h->magic = cpu_to_le32(HIMS_DEDUP_META_MAGIC);
	h->epoch = cpu_to_le64(epoch);
	h->fmt_id = cpu_to_le64(fmt_id);
	h->kind = cpu_to_le32(kind);
	h->index = cpu_to_le32(index);
	for (i = 0; i < HIMS_DEDUP_META_ENTRIES && first + i < nr; i++)
		e[i] = cpu_to_le32(array[first + i]);
	h->checksum = cpu_to_le32(meta_checksum(block));
}

enum hims_dedup_meta_err hims_dedup_meta_verify(const void *block,
						enum hims_dedup_meta_kind kind,
						u32 index, u64 fmt_id, u64 *epoch)
{
	const struct hims_dedup_meta_header *h = block;

	if (le32_to_cpu(h->magic) != HIMS_DEDUP_META_MAGIC)
		return HIMS_DEDUP_META_BAD_MAGIC;
	if (le32_to_cpu(h->checksum) != meta_checksum(block))
		return HIMS_DEDUP_META_BAD_CHECKSUM;
	if (le64_to_cpu(h->fmt_id) != fmt_id)
		return HIMS_DEDUP_META_BAD_FMT;
	if (le32_to_cpu(h->kind) != kind || le32_to_cpu(h->index) != index)
		return HIMS_DEDUP_META_BAD_PLACE;
	*epoch = le64_to_cpu(h->epoch);
	return HIMS_DEDUP_META_OK;
}

void hims_dedup_meta_decode(const void *block, u32 index, u32 *array, u32 nr)
{
	const __le32 *e = (const __le32 *)((const u8 *)block +
					   sizeof(struct hims_dedup_meta_header));
	u32 first = index * HIMS_DEDUP_META_ENTRIES, i;

	for (i = 0; i < HIMS_DEDUP_META_ENTRIES && first + i < nr; i++)
		array[first + i] = le32_to_cpu(e[i]);
}

/* Which slot, and the newest epoch either valid slot holds (*newest). */
int hims_dedup_meta_choose_newest(const void *slot0, const void *slot1,
				  enum hims_dedup_meta_kind kind, u32 index, u64 fmt_id,
				  u64 durable, enum hims_dedup_meta_err *err, u64 *newest)
{
	enum hims_dedup_meta_err e[2];
	u64 epoch[2] = { 0, 0 };
	int i;

	e[0] = hims_dedup_meta_verify(slot0, kind, index, fmt_id, &epoch[0]);
	e[1] = hims_dedup_meta_verify(slot1, kind, index, fmt_id, &epoch[1]);
	*newest = 0;
	for (i = 0; i < 2; i++) {
		if (e[i])
			continue;
		*newest = max(*newest, epoch[i]);
		if (epoch[i] > durable)
			e[i] = HIMS_DEDUP_META_TOO_NEW;
	}
	if (!e[0] && !e[1])
		return epoch[1] > epoch[0] ? 1 : 0;
	if (!e[0] || !e[1])
		return e[0] ? 1 : 0;
	*err = e[0] == HIMS_DEDUP_META_TOO_NEW ? e[1] : e[0];
	return -1;
}

int hims_dedup_meta_choose(const void *slot0, const void *slot1,
			   enum hims_dedup_meta_kind kind, u32 index, u64 fmt_id,
			   u64 durable, enum hims_dedup_meta_err *err)
{
	u64 newest;

	return hims_dedup_meta_choose_newest(slot0, slot1, kind, index, fmt_id,
					     durable, err, &newest);
}

static u32 record_checksum(const struct hims_dedup_record *rec)
{
	struct hims_dedup_record copy = *rec;

	copy.checksum = 0;
	return hims_dedup_crc32c(0, &copy, sizeof(copy));
}

void hims_dedup_record_encode(void *block, const struct hims_dedup_config *cfg,
			      u64 epoch, u64 fmt_id)
{
	struct hims_dedup_record *rec = block;

	memset(block, 0, HIMS_BLOCK_SIZE);
	rec->magic = cpu_to_le64(HIMS_DEDUP_REC_MAGIC);
	rec->version = cpu_to_le32(HIMS_DEDUP_VERSION);
	rec->epoch = cpu_to_le64(epoch);
	rec->fmt_id = cpu_to_le64(fmt_id);
	rec->nr_logical = cpu_to_le32(cfg->nr_logical);
	rec->nr_phys = cpu_to_le32(cfg->nr_phys);
	rec->nr_spill = cpu_to_le32(cfg->nr_spill);
	rec->meta_entries = cpu_to_le32(HIMS_DEDUP_META_ENTRIES);
	rec->checksum = cpu_to_le32(record_checksum(rec));
}

enum hims_dedup_meta_err hims_dedup_record_verify(const void *block,
						  const struct hims_dedup_config *cfg,
						  u64 fmt_id, u64 *epoch)
{
	const struct hims_dedup_record *rec = block;

	if (le64_to_cpu(rec->magic) != HIMS_DEDUP_REC_MAGIC)
		return HIMS_DEDUP_META_BAD_MAGIC;
	if (le32_to_cpu(rec->checksum) != record_checksum(rec))
		return HIMS_DEDUP_META_BAD_CHECKSUM;
	if (le64_to_cpu(rec->fmt_id) != fmt_id)
		return HIMS_DEDUP_META_BAD_FMT;
	if (le32_to_cpu(rec->version) != HIMS_DEDUP_VERSION ||
	    le32_to_cpu(rec->nr_logical) != cfg->nr_logical ||
	    le32_to_cpu(rec->nr_phys) != cfg->nr_phys ||
	    le32_to_cpu(rec->nr_spill) != cfg->nr_spill ||
	    le32_to_cpu(rec->meta_entries) != HIMS_DEDUP_META_ENTRIES)
		return HIMS_DEDUP_META_BAD_GEOMETRY;
	*epoch = le64_to_cpu(rec->epoch);
	return HIMS_DEDUP_META_OK;
}

int hims_dedup_record_choose(const void *slot0, const void *slot1,
			     const struct hims_dedup_config *cfg, u64 fmt_id,
			     u64 *epoch)
{
	u64 e0 = 0, e1 = 0;
	bool ok0, ok1;

	ok0 = !hims_dedup_record_verify(slot0, cfg, fmt_id, &e0);
	ok1 = !hims_dedup_record_verify(slot1, cfg, fmt_id, &e1);
	if (!ok0 && !ok1)
		return -1;
	if (ok1 && (!ok0 || e1 > e0)) {
		*epoch = e1;
		return 1;
	}
	*epoch = e0;
	return 0;
}
