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

/*
 * CRC32C (Castagnoli) of every on-disk checksum, with the usual pre- and
 * post-inversion: hims_crc32c(0, "123456789", 9) == 0xe3069283.  The
 * kernel's crc32c() does neither inversion.
 */
#ifdef __KERNEL__
u32 hims_crc32c(u32 crc, const void *data, size_t len)
{
	return ~crc32c(~crc, data, len);
}
#else
static const u32 crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
	0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
	0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
	0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
	0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
	0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
	0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
	0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
	0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
	0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
	0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
	0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
	0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
	0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
	0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
	0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
	0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
	0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
	0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
	0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
	0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
	0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

u32 hims_crc32c(u32 crc, const void *data, size_t len)
{
	const u8 *p = data;

	crc = ~crc;
	while (len--)
		crc = (crc >> 8) ^ crc32c_table[(crc ^ *p++) & 0xff];
	return ~crc;
}
#endif

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
	if (le64_to_cpu(sb->magic) == HIMS_SB_MAGIC_FORMATTING)
		return HIMS_SB_FORMATTING;
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
	case HIMS_SB_FORMATTING:
		return "a hims format was interrupted (option 'format' formats again)";
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

int hims_sb_geometry(const void *block, struct hims_geometry *geo)
{
	const struct hims_superblock *sb = block;
	u64 ram = le64_to_cpu(sb->ram_blocks), ssd = le64_to_cpu(sb->ssd_blocks);
	u64 dedup = le64_to_cpu(sb->dedup_blocks);

	if (dedup)
		return hims_geometry_init_dedup(geo, ram, dedup,
						le64_to_cpu(sb->spill_blocks), ssd);
	return hims_geometry_init(geo, ram, ssd);
}

static u32 hints_crc(const u8 *area, u32 len)
{
	struct hims_hints_hdr hdr;
	u32 crc;

	memcpy(&hdr, area, sizeof(hdr));
	hdr.crc = 0;
	crc = hims_crc32c(0, &hdr, sizeof(hdr));
	return hims_crc32c(crc, area + HIMS_HINTS_HEADER, len);
}

void hims_hints_frame(void *area, u32 len)
{
	struct hims_hints_hdr *hdr = area;

	memcpy(hdr->magic, HIMS_HINTS_MAGIC, 8);
	hdr->version = cpu_to_le32(HIMS_HINTS_VERSION);
	hdr->len = cpu_to_le32(len);
	hdr->reserved = 0;
	hdr->crc = cpu_to_le32(hints_crc(area, len));
}

int hims_hints_unframe(const void *area)
{
	const struct hims_hints_hdr *hdr = area;
	u32 len;

	if (memcmp(hdr->magic, HIMS_HINTS_MAGIC, 8))
		return HIMS_HINTS_NONE;
	len = le32_to_cpu(hdr->len);
	if (le32_to_cpu(hdr->version) != HIMS_HINTS_VERSION ||
	    len > HIMS_HINTS_SIZE - HIMS_HINTS_HEADER ||
	    le32_to_cpu(hdr->crc) != hints_crc(area, len))
		return HIMS_HINTS_BAD;
	return (int)len;
}

u64 hims_dedup_fmt_id(const u8 uuid[HIMS_UUID_SIZE])
{
	__le64 id;

	memcpy(&id, uuid, sizeof(id));
	return le64_to_cpu(id);
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

	ext->block = hims_lblock(block);
	if (block < hims_boundary(geo)) {
		/* With dedup the glue finds the physical block instead. */
		hims_pblock_t phys = hims_direct_pblock(ext->block);

		ext->tier = HIMS_TIER_RAM;
		ext->ram_sector = (hims_rblock_nr(hims_ram_block(phys)) <<
				   HIMS_BLOCK_SECTOR_SHIFT) + offset;
		ext->ssd_sector = (hims_sblock_nr(hims_mirror_block(geo, phys)) <<
				  HIMS_BLOCK_SECTOR_SHIFT) + offset;
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
	crc = hims_crc32c(0, &h, sizeof(h));
	return hims_crc32c(crc, (const u8 *)block + sizeof(h),
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
	return hims_crc32c(0, &copy, sizeof(copy));
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
