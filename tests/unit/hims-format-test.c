// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for dm-hims/hims-format.c: geometry, CRC32C, superblock and RAM
 * header encoding and checking, logical-to-physical mapping.
 */
#include <stddef.h>

#include "dm-hims/hims-format.h"
#include "unit.h"

#define SPB	HIMS_SECTORS_PER_BLOCK

static const u8 uuid_a[HIMS_UUID_SIZE] = {
	0x6c, 0x0e, 0x8e, 0x52, 0x1b, 0x33, 0x4c, 0x9a,
	0x8f, 0x10, 0x2d, 0x77, 0x90, 0xab, 0xcd, 0xef,
};

static const u8 uuid_b[HIMS_UUID_SIZE] = {
	0x6c, 0x0e, 0x8e, 0x52, 0x1b, 0x33, 0x4c, 0x9a,
	0x8f, 0x10, 0x2d, 0x77, 0x90, 0xab, 0xcd, 0xee,
};

static u8 block[HIMS_BLOCK_SIZE];

static u64 round_up(u64 x, u64 align)
{
	return (x + align - 1) / align * align;
}

/* Every property of a geometry, from first principles. */
static void check_geometry(u64 ram_blocks, u64 ssd_blocks)
{
	struct hims_geometry geo;
	u64 bitmap_blocks;

	if (!CHECK_EQ(hims_geometry_init(&geo, ram_blocks, ssd_blocks), 0))
		return;
	/* Enough bits for every RAM-tier block, and not one block more. */
	bitmap_blocks = geo.bitmap_blocks;
	CHECK(bitmap_blocks * HIMS_BITS_PER_BLOCK >= ram_blocks);
	CHECK((bitmap_blocks - 1) * HIMS_BITS_PER_BLOCK < ram_blocks);

	CHECK_EQ(geo.ram_blocks, ram_blocks);
	CHECK_EQ(geo.ssd_blocks, ssd_blocks);
	CHECK_EQ(geo.bitmap_start, 1);
	/* The mirror: 1 MiB aligned, after the bitmap, as early as possible. */
	CHECK_EQ(geo.mirror_start % HIMS_ALIGN_BLOCKS, 0);
	CHECK_EQ(geo.mirror_start, round_up(1 + bitmap_blocks, HIMS_ALIGN_BLOCKS));
	CHECK(geo.mirror_start >= geo.bitmap_start + geo.bitmap_blocks);
	/* The expansion: 1 MiB aligned, after the mirror, as early as possible. */
	CHECK_EQ(geo.expansion_start % HIMS_ALIGN_BLOCKS, 0);
	CHECK(geo.expansion_start >= geo.mirror_start + ram_blocks);
	CHECK(geo.expansion_start - (geo.mirror_start + ram_blocks) < HIMS_ALIGN_BLOCKS);
	CHECK_EQ(geo.ssd_min_blocks, geo.expansion_start + ssd_blocks);
	CHECK_EQ(geo.ram_min_blocks, 1 + ram_blocks);
}

static void test_geometry(void)
{
	static const struct {
		u64 ram_blocks, bitmap_blocks, mirror_start, expansion_start;
	} known[] = {
		{ 1, 1, 256, 512 },
		{ 255, 1, 256, 512 },
		{ 256, 1, 256, 512 },
		{ 257, 1, 256, 768 },
		{ 32768, 1, 256, 33024 },
		{ 32769, 2, 256, 33280 },
		{ 262144, 8, 256, 262400 },	/* 1 GiB */
		/* 1 + bitmap exactly fills the first MiB ... */
		{ 255ULL * 32768, 255, 256, 256 + 255ULL * 32768 },
		/* ... and one more bitmap block pushes the mirror a MiB on. */
		{ 255ULL * 32768 + 1, 256, 512, 512 + 255ULL * 32768 + 256 },
		{ (1ULL << 31) - 1, 65536, 65792, 65792 + (1ULL << 31) },
	};
	static const u64 ssd[] = { 0, 1, 255, 256, 1000, 1ULL << 30, (1ULL << 50) - 1 };
	struct hims_geometry geo;
	u64 seed = 1;
	size_t i, j;
	int n;

	for (i = 0; i < ARRAY_SIZE(known); i++) {
		if (!CHECK_EQ(hims_geometry_init(&geo, known[i].ram_blocks, 4096), 0))
			continue;
		CHECK_EQ(geo.bitmap_blocks, known[i].bitmap_blocks);
		CHECK_EQ(geo.mirror_start, known[i].mirror_start);
		CHECK_EQ(geo.expansion_start, known[i].expansion_start);
		CHECK_EQ(geo.ssd_min_blocks, known[i].expansion_start + 4096);
		for (j = 0; j < ARRAY_SIZE(ssd); j++)
			check_geometry(known[i].ram_blocks, ssd[j]);
	}
	for (n = 0; n < 10000; n++)
		check_geometry(1 + unit_rand_below(&seed, (1ULL << 31) - 1),
			       unit_rand_below(&seed, 1ULL << 50));

	/* Zero and too many RAM blocks (per-block arrays are u32-indexed). */
	CHECK(hims_geometry_init(&geo, 0, 1000) != 0);
	CHECK(hims_geometry_init(&geo, 1ULL << 31, 1000) != 0);
	CHECK(hims_geometry_init(&geo, 1ULL << 32, 1000) != 0);
	CHECK(hims_geometry_init(&geo, ~0ULL, 1000) != 0);
	CHECK(hims_geometry_init(&geo, 1000, 1ULL << 50) != 0);
	CHECK(hims_geometry_init(&geo, 1000, ~0ULL) != 0);
	CHECK_EQ(hims_geometry_init(&geo, (1ULL << 31) - 1, (1ULL << 50) - 1), 0);
}

static void test_crc32c(void)
{
	static const char check[] = "123456789";
	u8 buf[32];
	u32 crc;
	int i;

	/* The standard check value of CRC-32C (Castagnoli). */
	CHECK_EQ(hims_crc32c(0, check, 9), 0xE3069283);
	CHECK_EQ(hims_crc32c(0, check, 0), 0);
	/* Chaining: the crc of a prefix seeds the rest. */
	crc = hims_crc32c(0, check, 4);
	CHECK_EQ(hims_crc32c(crc, check + 4, 5), 0xE3069283);

	/* The iSCSI test vectors of RFC 3720, B.4. */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(hims_crc32c(0, buf, sizeof(buf)), 0x8A9136AA);
	memset(buf, 0xff, sizeof(buf));
	CHECK_EQ(hims_crc32c(0, buf, sizeof(buf)), 0x62A8AB43);
	for (i = 0; i < 32; i++)
		buf[i] = i;
	CHECK_EQ(hims_crc32c(0, buf, sizeof(buf)), 0x46DD794E);
	for (i = 0; i < 32; i++)
		buf[i] = 31 - i;
	CHECK_EQ(hims_crc32c(0, buf, sizeof(buf)), 0x113FDB5C);
}

/* The checksum as the header documents it, computed here independently. */
static u32 expected_sb_checksum(const u8 *blk)
{
	struct hims_superblock copy;

	memcpy(&copy, blk, sizeof(copy));
	copy.checksum = 0;
	return hims_crc32c(0, &copy, sizeof(copy));
}

static void sb_reseal(u8 *blk)
{
	struct hims_superblock *sb = (struct hims_superblock *)blk;

	sb->checksum = cpu_to_le32(expected_sb_checksum(blk));
}

static void test_sb_encode(void)
{
	struct hims_geometry geo;
	const struct hims_superblock *sb = (const struct hims_superblock *)block;
	size_t i;

	CHECK_EQ(sizeof(struct hims_superblock), 104);
	CHECK_EQ(offsetof(struct hims_superblock, checksum), 12);
	CHECK_EQ(offsetof(struct hims_superblock, ram_blocks), 40);

	if (!CHECK_EQ(hims_geometry_init(&geo, 1000, 5000), 0))
		return;
	memset(block, 0xa5, sizeof(block));	/* encode must clear it all */
	hims_sb_encode(block, &geo, uuid_a);
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_OK);

	CHECK_EQ(le64_to_cpu(sb->magic), HIMS_SB_MAGIC);
	CHECK(!memcmp(block, "HIMSSSB1", 8));
	CHECK_EQ(le32_to_cpu(sb->version), HIMS_VERSION);
	CHECK_EQ(le32_to_cpu(sb->checksum), expected_sb_checksum(block));
	CHECK(!memcmp(sb->uuid, uuid_a, HIMS_UUID_SIZE));
	CHECK_EQ(le32_to_cpu(sb->block_size), HIMS_BLOCK_SIZE);
	CHECK_EQ(le32_to_cpu(sb->flags), 0);
	CHECK_EQ(le64_to_cpu(sb->ram_blocks), 1000);
	CHECK_EQ(le64_to_cpu(sb->ssd_blocks), 5000);
	CHECK_EQ(le64_to_cpu(sb->bitmap_start), geo.bitmap_start);
	CHECK_EQ(le64_to_cpu(sb->bitmap_blocks), geo.bitmap_blocks);
	CHECK_EQ(le64_to_cpu(sb->mirror_start), geo.mirror_start);
	CHECK_EQ(le64_to_cpu(sb->expansion_start), geo.expansion_start);
	for (i = sizeof(*sb); i < sizeof(block); i++)
		if (!CHECK_EQ(block[i], 0))
			break;

	/* The uuid is not part of the geometry. */
	hims_sb_encode(block, &geo, uuid_b);
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_OK);
}

static void test_sb_check(void)
{
	struct hims_geometry geo, other;
	struct hims_superblock *sb = (struct hims_superblock *)block;
	u64 seed = 42;
	size_t i;
	int bit, n;

	if (!CHECK_EQ(hims_geometry_init(&geo, 1000, 5000), 0))
		return;

	memset(block, 0, sizeof(block));
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_BLANK);

	/* Garbage, a lone non-zero byte, another magic: foreign. */
	for (n = 0; n < 100; n++) {
		for (i = 0; i < sizeof(block); i++)
			block[i] = unit_rand(&seed);
		CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_FOREIGN);
	}
	memset(block, 0, sizeof(block));
	block[sizeof(block) - 1] = 1;
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_FOREIGN);
	hims_ram_header_encode(block, uuid_a, HIMS_RAM_COMPLETE);
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_FOREIGN);
	hims_sb_encode(block, &geo, uuid_a);
	sb->magic = cpu_to_le64(HIMS_SB_MAGIC + 1);
	sb_reseal(block);
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_FOREIGN);

	/* Any single bit flipped: a broken magic is foreign, the rest corrupt. */
	for (i = 0; i < sizeof(*sb); i++) {
		for (bit = 0; bit < 8; bit++) {
			hims_sb_encode(block, &geo, uuid_a);
			block[i] ^= 1 << bit;
			if (!CHECK_EQ(hims_sb_check(block, &geo),
				      i < 8 ? HIMS_SB_FOREIGN : HIMS_SB_BAD_CHECKSUM))
				fprintf(stderr, "  byte %zu bit %d flipped\n", i, bit);
		}
	}
	hims_sb_encode(block, &geo, uuid_a);
	sb->checksum = 0;
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_BAD_CHECKSUM);

	/* A version or block size we do not know, correctly checksummed. */
	hims_sb_encode(block, &geo, uuid_a);
	sb->version = cpu_to_le32(HIMS_VERSION + 1);
	sb_reseal(block);
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_BAD_VERSION);
	hims_sb_encode(block, &geo, uuid_a);
	sb->block_size = cpu_to_le32(512);
	sb_reseal(block);
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_BAD_VERSION);

	/* Valid, but made for another table. */
	hims_sb_encode(block, &geo, uuid_a);
	CHECK_EQ(hims_geometry_init(&other, 1001, 5000), 0);
	CHECK_EQ(other.mirror_start, geo.mirror_start);	/* only ram_blocks differs */
	CHECK_EQ(other.expansion_start, geo.expansion_start);
	CHECK_EQ(hims_sb_check(block, &other), HIMS_SB_BAD_GEOMETRY);
	CHECK_EQ(hims_geometry_init(&other, 999, 5000), 0);
	CHECK_EQ(hims_sb_check(block, &other), HIMS_SB_BAD_GEOMETRY);
	CHECK_EQ(hims_geometry_init(&other, 1000, 5001), 0);
	CHECK_EQ(hims_sb_check(block, &other), HIMS_SB_BAD_GEOMETRY);
	CHECK_EQ(hims_geometry_init(&other, 1000, 0), 0);
	CHECK_EQ(hims_sb_check(block, &other), HIMS_SB_BAD_GEOMETRY);
	CHECK_EQ(hims_geometry_init(&other, 100000, 5000), 0);
	CHECK_EQ(hims_sb_check(block, &other), HIMS_SB_BAD_GEOMETRY);
	/* Each derived field is compared too. */
	for (n = 0; n < 4; n++) {
		other = geo;
		if (n == 0)
			other.bitmap_start++;
		else if (n == 1)
			other.bitmap_blocks++;
		else if (n == 2)
			other.mirror_start += HIMS_ALIGN_BLOCKS;
		else
			other.expansion_start += HIMS_ALIGN_BLOCKS;
		CHECK_EQ(hims_sb_check(block, &other), HIMS_SB_BAD_GEOMETRY);
	}
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_OK);

	/* Every state has its own message. */
	for (n = HIMS_SB_OK; n <= HIMS_SB_BAD_GEOMETRY; n++) {
		const char *s = hims_sb_check_str(n);

		CHECK(s && *s);
		CHECK(strcmp(s, hims_sb_check_str(HIMS_SB_BAD_GEOMETRY + 1)));
		if (n > HIMS_SB_OK)
			CHECK(strcmp(s, hims_sb_check_str(n - 1)));
	}
}

static void test_ram_header(void)
{
	struct hims_ram_header *hdr = (struct hims_ram_header *)block;
	struct hims_geometry geo;
	size_t i;
	int bit;

	CHECK_EQ(sizeof(struct hims_ram_header), 32);

	memset(block, 0x5a, sizeof(block));
	hims_ram_header_encode(block, uuid_a, HIMS_RAM_RESTORING);
	CHECK_EQ(hims_ram_header_state(block, uuid_a), HIMS_RAM_RESTORING);
	CHECK(!memcmp(block, "HIMSRAM1", 8));
	CHECK(!memcmp(hdr->uuid, uuid_a, HIMS_UUID_SIZE));
	for (i = sizeof(*hdr); i < sizeof(block); i++)
		if (!CHECK_EQ(block[i], 0))
			break;
	hims_ram_header_encode(block, uuid_a, HIMS_RAM_COMPLETE);
	CHECK_EQ(hims_ram_header_state(block, uuid_a), HIMS_RAM_COMPLETE);

	/* Someone else's header. */
	CHECK_EQ(hims_ram_header_state(block, uuid_b), 0);

	/* Any bit flipped. */
	for (i = 0; i < sizeof(*hdr); i++) {
		for (bit = 0; bit < 8; bit++) {
			hims_ram_header_encode(block, uuid_a, HIMS_RAM_COMPLETE);
			block[i] ^= 1 << bit;
			if (!CHECK_EQ(hims_ram_header_state(block, uuid_a), 0))
				fprintf(stderr, "  byte %zu bit %d flipped\n", i, bit);
		}
	}

	/* A blank RAM device, or an SSD superblock, is no header. */
	memset(block, 0, sizeof(block));
	CHECK_EQ(hims_ram_header_state(block, uuid_a), 0);
	if (CHECK_EQ(hims_geometry_init(&geo, 1000, 5000), 0)) {
		hims_sb_encode(block, &geo, uuid_a);
		CHECK_EQ(hims_ram_header_state(block, uuid_a), 0);
	}
}

static void check_ram_extent(const struct hims_geometry *geo, u64 sector, u32 nr)
{
	struct hims_extent ext;
	u64 block = sector / SPB, offset = sector % SPB;
	u64 boundary = geo->ram_blocks * SPB;

	memset(&ext, 0xcc, sizeof(ext));
	hims_map_extent(geo, sector, nr, &ext);
	CHECK_EQ(ext.tier, HIMS_TIER_RAM);
	CHECK_EQ(hims_lblock_nr(ext.block), block);
	CHECK_EQ(ext.ram_sector, (1 + block) * SPB + offset);
	CHECK_EQ(ext.ssd_sector, (geo->mirror_start + block) * SPB + offset);
	CHECK_EQ(ext.nr_sectors, min_t(u64, nr, boundary - sector));
}

static void check_ssd_extent(const struct hims_geometry *geo, u64 sector, u32 nr)
{
	struct hims_extent ext;
	u64 block = sector / SPB, offset = sector % SPB;

	memset(&ext, 0xcc, sizeof(ext));
	hims_map_extent(geo, sector, nr, &ext);
	CHECK_EQ(ext.tier, HIMS_TIER_SSD);
	CHECK_EQ(hims_lblock_nr(ext.block), block);
	CHECK_EQ(ext.ssd_sector,
		 (geo->expansion_start + block - geo->ram_blocks) * SPB + offset);
	CHECK_EQ(ext.nr_sectors, nr);
}

/* Split a request as the target does and check that the pieces tile it. */
static void check_split(const struct hims_geometry *geo, u64 sector, u32 nr)
{
	u64 boundary = geo->ram_blocks * SPB;
	struct hims_extent ext;
	u32 left = nr;
	int pieces = 0;

	while (left) {
		hims_map_extent(geo, sector, left, &ext);
		if (!CHECK(ext.nr_sectors > 0 && ext.nr_sectors <= left))
			return;
		if (ext.tier == HIMS_TIER_RAM)
			CHECK(sector + ext.nr_sectors <= boundary);
		else
			CHECK(sector >= boundary);
		sector += ext.nr_sectors;
		left -= ext.nr_sectors;
		pieces++;
	}
	CHECK(pieces <= 2);
}

static void test_map_extent(void)
{
	struct hims_geometry geo;
	struct hims_extent ext;
	u64 boundary, sector, seed = 7;
	int n;

	if (!CHECK_EQ(hims_geometry_init(&geo, 1000, 5000), 0))
		return;
	boundary = 1000 * SPB;

	/* Hand-computed: mirror at SSD block 256, expansion at 1280. */
	hims_map_extent(&geo, 13, 3, &ext);
	CHECK_EQ(ext.tier, HIMS_TIER_RAM);
	CHECK_EQ(hims_lblock_nr(ext.block), 1);
	CHECK_EQ(ext.ram_sector, 2 * 8 + 5);
	CHECK_EQ(ext.ssd_sector, 257 * 8 + 5);
	CHECK_EQ(ext.nr_sectors, 3);
	hims_map_extent(&geo, boundary + 9, 8, &ext);
	CHECK_EQ(ext.tier, HIMS_TIER_SSD);
	CHECK_EQ(hims_lblock_nr(ext.block), 1001);
	CHECK_EQ(ext.ssd_sector, 1281 * 8 + 1);
	CHECK_EQ(ext.nr_sectors, 8);

	/* Every RAM-tier sector, one sector and a whole block long. */
	for (sector = 0; sector < boundary; sector++) {
		check_ram_extent(&geo, sector, 1);
		check_ram_extent(&geo, sector, SPB);
	}
	/* Every SSD-tier sector. */
	for (sector = boundary; sector < boundary + 5000 * SPB; sector++)
		check_ssd_extent(&geo, sector, 1);

	/* A request across the boundary is cut exactly there. */
	for (n = 1; n <= 64; n++) {
		hims_map_extent(&geo, boundary - n, 2 * n + 5, &ext);
		CHECK_EQ(ext.tier, HIMS_TIER_RAM);
		CHECK_EQ(ext.nr_sectors, n);
		CHECK_EQ(ext.ram_sector, 1 * SPB + boundary - n);
		CHECK_EQ(ext.ssd_sector, geo.mirror_start * SPB + boundary - n);
		hims_map_extent(&geo, boundary, n + 5, &ext);
		CHECK_EQ(ext.tier, HIMS_TIER_SSD);
		CHECK_EQ(hims_lblock_nr(ext.block), 1000);
		CHECK_EQ(ext.ssd_sector, geo.expansion_start * SPB);
		CHECK_EQ(ext.nr_sectors, n + 5);
	}
	/* Ending exactly at the boundary is not cut. */
	check_ram_extent(&geo, boundary - 16, 16);
	hims_map_extent(&geo, boundary - 16, 16, &ext);
	CHECK_EQ(ext.nr_sectors, 16);
	/* A huge request from sector 0. */
	hims_map_extent(&geo, 0, ~0U, &ext);
	CHECK_EQ(ext.nr_sectors, boundary);

	for (n = 0; n < 100000; n++) {
		sector = unit_rand_below(&seed, 6000 * SPB);
		check_split(&geo, sector, 1 + unit_rand_below(&seed, 4096));
		if (sector < boundary)
			check_ram_extent(&geo, sector, 1 + unit_rand_below(&seed, 4096));
		else
			check_ssd_extent(&geo, sector, 1 + unit_rand_below(&seed, 4096));
	}

	/* The largest geometry: no overflow at the ends. */
	if (!CHECK_EQ(hims_geometry_init(&geo, (1ULL << 31) - 1, (1ULL << 50) - 1), 0))
		return;
	boundary = geo.ram_blocks * SPB;
	check_ram_extent(&geo, 0, 8);
	check_ram_extent(&geo, boundary - 1, 8);
	check_split(&geo, boundary - 3, 8);
	check_ssd_extent(&geo, boundary, 8);
	check_ssd_extent(&geo, (geo.ram_blocks + geo.ssd_blocks) * SPB - 8, 8);
	hims_map_extent(&geo, (geo.ram_blocks + geo.ssd_blocks) * SPB - 1, 1, &ext);
	CHECK_EQ(ext.ssd_sector, geo.ssd_min_blocks * SPB - 1);
}

int main(void)
{
	test_geometry();
	test_crc32c();
	test_sb_encode();
	test_sb_check();
	test_ram_header();
	test_map_extent();
	return unit_result("hims-format");
}
