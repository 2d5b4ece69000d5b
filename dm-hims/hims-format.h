/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-hims on-disk layout and logical-to-physical mapping (plain C).
 *
 * All sizes are in 4 KiB blocks.  Logical blocks [0, ram_blocks) are the RAM
 * tier, [ram_blocks, ram_blocks + ssd_blocks) the SSD expansion tier.
 *
 * SSD:  | superblock | valid bitmap | mirror of the RAM tier | expansion |
 * RAM:  | header     | RAM tier                                          |
 *
 * The mirror and the expansion start on 1 MiB boundaries so large I/O to
 * the SSD stays aligned.
 */
#ifndef DM_HIMS_FORMAT_H
#define DM_HIMS_FORMAT_H

#include "purec.h"

#define HIMS_BLOCK_SIZE		4096U
#define HIMS_BLOCK_SHIFT	12
#define HIMS_SECTORS_PER_BLOCK	(HIMS_BLOCK_SIZE >> 9)
#define HIMS_BLOCK_SECTOR_SHIFT	(HIMS_BLOCK_SHIFT - 9)
#define HIMS_BITS_PER_BLOCK	(HIMS_BLOCK_SIZE * 8)
#define HIMS_ALIGN_BLOCKS	256U	/* 1 MiB */

#define HIMS_SB_MAGIC		0x31425353534d4948ULL	/* "HIMSSSB1" */
#define HIMS_RAM_MAGIC		0x314d4152534d4948ULL	/* "HIMSRAM1" */
#define HIMS_VERSION		1
#define HIMS_UUID_SIZE		16

/* The RAM header's state: whether the RAM tier already holds the data. */
#define HIMS_RAM_RESTORING	1
#define HIMS_RAM_COMPLETE	2
#define HIMS_RAM_DIRTY		3	/* complete, but the SSD may lag: write all back */

struct hims_geometry {
	u64 ram_blocks;		/* RAM tier, logical blocks [0, ram_blocks) */
	u64 ssd_blocks;		/* expansion tier, after the RAM tier */
	u64 bitmap_start;	/* SSD block of the valid bitmap */
	u64 bitmap_blocks;
	u64 mirror_start;	/* SSD block mirroring logical block 0 */
	u64 expansion_start;	/* SSD block of logical block ram_blocks */
	u64 ssd_min_blocks;	/* the SSD must be at least this big */
	u64 ram_min_blocks;	/* and the RAM device this big */

	/*
	 * Dedup (dedup_blocks != 0): logical blocks [0, dedup_blocks) form
	 * the RAM tier and map to the ram_blocks physical RAM blocks, whose
	 * mirror is indexed by physical block; the SSD tier follows them.
	 * After the expansion: two commit records, two slots per metadata
	 * block, then the spill area.
	 */
	u64 dedup_blocks;	/* logical RAM-tier blocks, 0: no dedup */
	u64 dedup_start;	/* SSD block of the commit records */
	u64 meta_blocks;	/* metadata blocks (map, then refcounts) */
	u64 spill_start;	/* SSD block of spill slot 0 */
	u64 spill_blocks;
};

/* Logical blocks of the RAM tier: where the SSD tier begins. */
static inline u64 hims_boundary(const struct hims_geometry *geo)
{
	return geo->dedup_blocks ? geo->dedup_blocks : geo->ram_blocks;
}

/* Entries of one dedup metadata block (4 KiB less a 32-byte header). */
#define HIMS_DEDUP_ENTRIES_PER_BLOCK	1016U

/* On-disk superblock, little endian, in SSD block 0. */
struct hims_superblock {
	__le64 magic;
	__le32 version;
	__le32 checksum;	/* crc32c of this structure with this field zero */
	__u8 uuid[HIMS_UUID_SIZE];
	__le32 block_size;
	__le32 flags;
	__le64 ram_blocks;
	__le64 ssd_blocks;
	__le64 bitmap_start;
	__le64 bitmap_blocks;
	__le64 mirror_start;
	__le64 expansion_start;
	__le64 dedup_blocks;	/* 0: no dedup; the rest follows from it */
	__le64 spill_blocks;
} __packed;

/*
 * Bytes [HIMS_HINTS_OFFSET, HIMS_BLOCK_SIZE) of the superblock's block
 * belong to userspace tools (how to assemble the device at boot): the kernel
 * zeroes them when formatting and never reads or writes them otherwise.
 */
#define HIMS_HINTS_OFFSET	2048U

/* In RAM device block 0: lets a reload in the same boot skip the restore. */
struct hims_ram_header {
	__le64 magic;
	__le32 state;
	__le32 checksum;
	__u8 uuid[HIMS_UUID_SIZE];	/* the SSD superblock's */
} __packed;

enum hims_sb_check {
	HIMS_SB_OK = 0,
	HIMS_SB_BLANK,		/* all zeroes: may be formatted */
	HIMS_SB_FOREIGN,	/* something else lives there */
	HIMS_SB_BAD_CHECKSUM,
	HIMS_SB_BAD_VERSION,
	HIMS_SB_BAD_GEOMETRY,	/* ours, but not the table's geometry */
};

int hims_geometry_init(struct hims_geometry *geo, u64 ram_blocks, u64 ssd_blocks);
/* With dedup: @ram_blocks physical, @dedup_blocks logical RAM-tier blocks. */
int hims_geometry_init_dedup(struct hims_geometry *geo, u64 ram_blocks,
			     u64 dedup_blocks, u64 spill_blocks, u64 ssd_blocks);
u32 hims_crc32c(u32 crc, const void *data, size_t len);

void hims_sb_encode(void *block, const struct hims_geometry *geo,
		    const u8 uuid[HIMS_UUID_SIZE]);
enum hims_sb_check hims_sb_check(const void *block, const struct hims_geometry *geo);
const char *hims_sb_check_str(enum hims_sb_check check);

void hims_ram_header_encode(void *block, const u8 uuid[HIMS_UUID_SIZE], u32 state);
/* The header's state if it is valid and belongs to uuid, else 0. */
u32 hims_ram_header_state(const void *block, const u8 uuid[HIMS_UUID_SIZE]);

/* Where a logical extent goes: the RAM tier or the SSD expansion tier. */
enum hims_tier { HIMS_TIER_RAM, HIMS_TIER_SSD };

struct hims_extent {
	enum hims_tier tier;
	u64 block;		/* first logical block */
	u64 ram_sector;		/* RAM device sector (RAM tier) */
	u64 ssd_sector;		/* SSD sector: mirror (RAM tier) or expansion */
	u32 nr_sectors;		/* how much of the request fits this tier */
};

void hims_map_extent(const struct hims_geometry *geo, u64 sector, u32 nr_sectors,
		     struct hims_extent *ext);

#endif /* DM_HIMS_FORMAT_H */
