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
