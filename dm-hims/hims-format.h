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
/*
 * Block 0 while a format runs (the rest of the block zero): the old
 * superblock is gone before its bitmap and mirror are, so a format cut
 * short is refused, not loaded as the old device over zeroed metadata.
 */
#define HIMS_SB_MAGIC_FORMATTING	0x544d46534d4948ULL	/* "HIMSFMT" */
#define HIMS_RAM_MAGIC		0x314d4152534d4948ULL	/* "HIMSRAM1" */
#define HIMS_VERSION		1
#define HIMS_UUID_SIZE		16

/* The RAM header's state: whether the RAM tier already holds the data. */
#define HIMS_RAM_RESTORING	1
#define HIMS_RAM_COMPLETE	2
#define HIMS_RAM_DIRTY		3	/* complete, but the SSD may lag: write all back */
/* Newer than the SSD for some blocks, missing others: refuse to load. */
#define HIMS_RAM_DIRTY_PARTIAL	4

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

/*
 * Four kinds of block number, as types sparse tells apart (make C=1):
 *
 *  hims_lblock_t  a logical block of the virtual device (RAM tier, then SSD
 *                 tier), what a bio addresses;
 *  hims_pblock_t  a physical RAM-tier block: what the RAM tier stores, the
 *                 index of the valid bitmap, the block states and the LRW
 *                 order, and what the SSD mirror is indexed by.  Without
 *                 dedup logical RAM-tier block N is physical block N
 *                 (hims_direct_pblock()); with dedup the map says which;
 *  hims_sblock_t  a block of the SSD;
 *  hims_rblock_t  a block of the RAM device (the header, then the tier).
 *
 * Every on-disk address comes from one helper below.  The dedup core
 * (hims-dedup.c) keeps its own u32 numbers; its glue converts at the seam.
 */
#ifndef __bitwise
#define __bitwise
#endif
#ifndef __force
#define __force
#endif
typedef u64 __bitwise hims_lblock_t;
typedef u64 __bitwise hims_pblock_t;
typedef u64 __bitwise hims_sblock_t;
typedef u64 __bitwise hims_rblock_t;

static inline hims_lblock_t hims_lblock(u64 block)
{
	return (__force hims_lblock_t)block;
}

static inline u64 hims_lblock_nr(hims_lblock_t block)
{
	return (__force u64)block;
}

static inline hims_pblock_t hims_pblock(u64 block)
{
	return (__force hims_pblock_t)block;
}

static inline u64 hims_pblock_nr(hims_pblock_t block)
{
	return (__force u64)block;
}

static inline hims_sblock_t hims_sblock(u64 block)
{
	return (__force hims_sblock_t)block;
}

static inline u64 hims_sblock_nr(hims_sblock_t block)
{
	return (__force u64)block;
}

static inline hims_rblock_t hims_rblock(u64 block)
{
	return (__force hims_rblock_t)block;
}

static inline u64 hims_rblock_nr(hims_rblock_t block)
{
	return (__force u64)block;
}

/* Without dedup, the physical block holding logical RAM-tier block @lblock. */
static inline hims_pblock_t hims_direct_pblock(hims_lblock_t lblock)
{
	return hims_pblock(hims_lblock_nr(lblock));
}

/* SSD block 0: the superblock, and the tools' hints in its second half. */
static inline hims_sblock_t hims_sb_block(void)
{
	return hims_sblock(0);
}

/* Block @index of the valid bitmap. */
static inline hims_sblock_t hims_bitmap_block(const struct hims_geometry *geo, u64 index)
{
	return hims_sblock(geo->bitmap_start + index);
}

/* The mirror of physical RAM-tier block @phys. */
static inline hims_sblock_t hims_mirror_block(const struct hims_geometry *geo,
					      hims_pblock_t phys)
{
	return hims_sblock(geo->mirror_start + hims_pblock_nr(phys));
}

/* Dedup commit record @slot (0 or 1). */
static inline hims_sblock_t hims_dedup_record_block(const struct hims_geometry *geo,
						    u32 slot)
{
	return hims_sblock(geo->dedup_start + slot);
}

/* Slot @slot of dedup metadata block @meta, counted from the records. */
static inline u64 hims_dedup_meta_offset(u32 meta, u32 slot)
{
	return 2 + 2 * (u64)meta + slot;
}

static inline hims_sblock_t hims_dedup_meta_block(const struct hims_geometry *geo,
						  u32 meta, u32 slot)
{
	return hims_sblock(geo->dedup_start + hims_dedup_meta_offset(meta, slot));
}

/* Spill slot @slot of the dedup RAM tier. */
static inline hims_sblock_t hims_spill_block(const struct hims_geometry *geo, u32 slot)
{
	return hims_sblock(geo->spill_start + slot);
}

/* RAM device block 0: the header. */
static inline hims_rblock_t hims_ram_header_block(void)
{
	return hims_rblock(0);
}

/* Where physical RAM-tier block @phys lives on the RAM device. */
static inline hims_rblock_t hims_ram_block(hims_pblock_t phys)
{
	return hims_rblock(1 + hims_pblock_nr(phys));
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

/*
 * The hints area: a header, then HIMS_HINTS_SIZE - HIMS_HINTS_HEADER bytes
 * whose first @len are the tools' text (tools/lib/hims-hints.c).
 */
#define HIMS_HINTS_MAGIC	"HIMSHINT"
#define HIMS_HINTS_VERSION	1
#define HIMS_HINTS_SIZE		(HIMS_BLOCK_SIZE - HIMS_HINTS_OFFSET)
#define HIMS_HINTS_HEADER	24

struct hims_hints_hdr {
	char magic[8];
	__le32 version;
	__le32 len;
	__le32 crc;		/* crc32c of header (this field zero) and text */
	__le32 reserved;
} __packed;

enum hims_hints_result {
	HIMS_HINTS_OK = 0,
	HIMS_HINTS_NONE = -1,	/* no magic: never written */
	HIMS_HINTS_BAD = -2,	/* corrupt or invalid */
};

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
	HIMS_SB_FORMATTING,	/* a format was cut short */
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
/* The geometry a superblock's sizes describe; -1 if they are out of range. */
int hims_sb_geometry(const void *block, struct hims_geometry *geo);
/* Frames @len bytes of text already at @area + HIMS_HINTS_HEADER. */
void hims_hints_frame(void *area, u32 len);
/* The text's length (>= 0), or HIMS_HINTS_NONE or HIMS_HINTS_BAD. */
int hims_hints_unframe(const void *area);
/* The dedup metadata's instance id: the superblock UUID's first 8 bytes. */
u64 hims_dedup_fmt_id(const u8 uuid[HIMS_UUID_SIZE]);

void hims_ram_header_encode(void *block, const u8 uuid[HIMS_UUID_SIZE], u32 state);
/* The header's state if it is valid and belongs to uuid, else 0. */
u32 hims_ram_header_state(const void *block, const u8 uuid[HIMS_UUID_SIZE]);

/* Where a logical extent goes: the RAM tier or the SSD expansion tier. */
enum hims_tier { HIMS_TIER_RAM, HIMS_TIER_SSD };

struct hims_extent {
	enum hims_tier tier;
	hims_lblock_t block;	/* first logical block */
	u64 ram_sector;		/* RAM device sector (RAM tier, no dedup) */
	u64 ssd_sector;		/* SSD sector: mirror (no dedup) or expansion */
	u32 nr_sectors;		/* how much of the request fits this tier */
};

void hims_map_extent(const struct hims_geometry *geo, u64 sector, u32 nr_sectors,
		     struct hims_extent *ext);

/* Dedup metadata (see hims-dedup.h for the state it holds). */

struct hims_dedup_config {
	u32 nr_logical;		/* logical blocks of the RAM tier */
	u32 nr_phys;		/* physical blocks of the RAM device */
	u32 nr_spill;		/* spill slots on the SSD */
	u32 index_entries;	/* power of two, >= HIMS_DEDUP_WAYS */
};

/*
 * On-disk metadata: blocks of the map, then of the reference counts,
 * numbered 0 .. hims_dedup_meta_count() - 1; each has two slots, and a
 * commit writes the slot not holding the durable copy.  Little endian.
 */
#define HIMS_DEDUP_META_MAGIC	0x4d444d48U	/* "HMDM" */
#define HIMS_DEDUP_REC_MAGIC	0x31434444534d4948ULL	/* "HIMSDDC1" */
#define HIMS_DEDUP_VERSION	1

enum hims_dedup_meta_kind {
	HIMS_DEDUP_META_MAP = 1,
	HIMS_DEDUP_META_REF = 2,
};

struct hims_dedup_meta_header {
	__le32 magic;
	__le32 checksum;	/* crc32c of the block with this field zero */
	__le64 epoch;		/* the commit that wrote it */
	__le64 fmt_id;		/* the instance: from the superblock's UUID */
	__le32 kind;
	__le32 index;		/* block number within its kind */
} __packed;

#define HIMS_DEDUP_META_ENTRIES \
	((u32)((HIMS_BLOCK_SIZE - sizeof(struct hims_dedup_meta_header)) / 4))

struct hims_dedup_record {
	__le64 magic;
	__le32 checksum;	/* crc32c of the structure with this field zero */
	__le32 version;
	__le64 epoch;		/* the durable commit */
	__le64 fmt_id;
	__le32 nr_logical;
	__le32 nr_phys;
	__le32 nr_spill;
	__le32 meta_entries;
} __packed;

enum hims_dedup_meta_err {
	HIMS_DEDUP_META_OK = 0,
	HIMS_DEDUP_META_BAD_MAGIC,
	HIMS_DEDUP_META_BAD_CHECKSUM,
	HIMS_DEDUP_META_BAD_FMT,	/* another instance's */
	HIMS_DEDUP_META_BAD_PLACE,	/* kind or index not of this block */
	HIMS_DEDUP_META_BAD_GEOMETRY,	/* record: not this configuration */
	HIMS_DEDUP_META_TOO_NEW,	/* written by a commit that never ended */
};

const char *hims_dedup_meta_err_str(enum hims_dedup_meta_err err);

/* Encodes entries [index * ENTRIES, ...) of @array (@nr entries in all). */
void hims_dedup_meta_encode(void *block, enum hims_dedup_meta_kind kind,
			    u32 index, const u32 *array, u32 nr, u64 epoch,
			    u64 fmt_id);
/* Checks a block for its place; *epoch: the commit that wrote it. */
enum hims_dedup_meta_err hims_dedup_meta_verify(const void *block,
						enum hims_dedup_meta_kind kind,
						u32 index, u64 fmt_id, u64 *epoch);
/* Decodes a verified block into its entries of @array. */
void hims_dedup_meta_decode(const void *block, u32 index, u32 *array, u32 nr);
/*
 * Of the two slots of a block, the one holding the copy of the durable
 * commit @durable: valid, and the newest not newer.  -1 if neither; then
 * *err says what is wrong with slot 0's copy, or slot 1's if slot 0 was
 * merely too new.
 */
int hims_dedup_meta_choose(const void *slot0, const void *slot1,
			   enum hims_dedup_meta_kind kind, u32 index, u64 fmt_id,
			   u64 durable, enum hims_dedup_meta_err *err);
/* The same, and *newest: the newest epoch either valid slot holds. */
int hims_dedup_meta_choose_newest(const void *slot0, const void *slot1,
				  enum hims_dedup_meta_kind kind, u32 index, u64 fmt_id,
				  u64 durable, enum hims_dedup_meta_err *err, u64 *newest);

void hims_dedup_record_encode(void *block, const struct hims_dedup_config *cfg,
			      u64 epoch, u64 fmt_id);
enum hims_dedup_meta_err hims_dedup_record_verify(const void *block,
						  const struct hims_dedup_config *cfg,
						  u64 fmt_id, u64 *epoch);
/*
 * Format writes this record slot with epoch 0, the empty state (no
 * metadata block is read for it), and zeroes the other slot, so that a load
 * finding neither record valid knows the metadata is damaged, not new.
 */
#define HIMS_DEDUP_FORMAT_SLOT	1

/* The slot of the newest valid record, or -1; *epoch: its epoch. */
int hims_dedup_record_choose(const void *slot0, const void *slot1,
			     const struct hims_dedup_config *cfg, u64 fmt_id,
			     u64 *epoch);

#endif /* DM_HIMS_FORMAT_H */
