// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for tools/lib/hims-hints.c: the assembly hints in the SSD's block 0,
 * next to a superblock encoded by dm-hims/hims-format.c.
 */
#include "tools/lib/hims-hints.h"
#include "unit.h"

/* What the hints code links with: one translation unit keeps the link simple. */
#include "tools/lib/toolutil.c"
#include "dm-hims/hims-format.c"

static u8 block[HIMS_BLOCK_SIZE];

static void sample(struct hims_hints *h)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->name, "vg0-fast");
	strcpy(h->ram, "zram");
	h->ram_size = 4ULL << 30;
	h->sync = false;
	h->ram_blocks = (4ULL << 18) - 1;
	h->len = 20ULL << 21;
	strcpy(h->options, "high_watermark 60 max_age 500");
}

static void test_roundtrip(void)
{
	static const u8 uuid[HIMS_UUID_SIZE] = {
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	};
	struct hims_geometry geo;
	struct hims_hints h, d;

	sample(&h);
	CHECK_EQ(hims_geometry_init(&geo, h.ram_blocks, (h.len >> 3) - h.ram_blocks), 0);
	hims_sb_encode(block, &geo, uuid);
	CHECK_EQ(hims_hints_encode(block + HIMS_HINTS_OFFSET, &h), 0);
	/* The hints leave the superblock valid... */
	CHECK_EQ(hims_sb_check(block, &geo), HIMS_SB_OK);
	/* ...and come back as written. */
	CHECK_EQ(hims_hints_decode(block + HIMS_HINTS_OFFSET, &d), HIMS_HINTS_OK);
	CHECK(!strcmp(d.name, h.name));
	CHECK(!strcmp(d.ram, h.ram));
	CHECK_EQ(d.ram_size, h.ram_size);
	CHECK_EQ(d.sync, h.sync);
	CHECK_EQ(d.ram_blocks, h.ram_blocks);
	CHECK_EQ(d.len, h.len);
	CHECK(!strcmp(d.options, h.options));
	CHECK(!memcmp(block + HIMS_HINTS_OFFSET, HIMS_HINTS_MAGIC, 8));

	/* A device path as the RAM device, sync, no options. */
	strcpy(h.ram, "/dev/pmem0");
	h.ram_size = 0;
	h.sync = true;
	h.options[0] = 0;
	CHECK_EQ(hims_hints_encode(block + HIMS_HINTS_OFFSET, &h), 0);
	CHECK_EQ(hims_hints_decode(block + HIMS_HINTS_OFFSET, &d), HIMS_HINTS_OK);
	CHECK(d.sync);
	CHECK(!strcmp(d.ram, "/dev/pmem0"));
	CHECK(!d.options[0]);
}

static void test_invalid(void)
{
	struct hims_hints h, d;
	u8 *area = block + HIMS_HINTS_OFFSET;
	unsigned int i;

	/* Never written: all zeroes, as the kernel leaves them. */
	memset(block, 0, sizeof(block));
	CHECK_EQ(hims_hints_decode(area, &d), HIMS_HINTS_NONE);

	/* Any flipped byte of the header or text is caught. */
	sample(&h);
	CHECK_EQ(hims_hints_encode(area, &h), 0);
	for (i = 8; i < HIMS_HINTS_HEADER + 40; i++) {
		area[i] ^= 0x20;
		if (!CHECK_EQ(hims_hints_decode(area, &d), HIMS_HINTS_BAD))
			fprintf(stderr, "  byte %u\n", i);
		area[i] ^= 0x20;
	}
	CHECK_EQ(hims_hints_decode(area, &d), HIMS_HINTS_OK);

	/* Values that cannot be stored. */
	sample(&h);
	strcpy(h.name, "a b");
	CHECK_EQ(hims_hints_encode(area, &h), -1);
	sample(&h);
	strcpy(h.ram, "pmem");
	CHECK_EQ(hims_hints_encode(area, &h), -1);
	sample(&h);
	strcpy(h.options, "max_age 5\nname=evil");
	CHECK_EQ(hims_hints_encode(area, &h), -1);
	sample(&h);
	strcpy(h.options, "it's");
	CHECK_EQ(hims_hints_encode(area, &h), -1);
	sample(&h);
	h.len = 0;
	CHECK_EQ(hims_hints_encode(area, &h), -1);
	CHECK(hims_hints_valid_value("high_watermark 60"));
	CHECK(!hims_hints_valid_value("a\"b"));
}

int main(void)
{
	test_roundtrip();
	test_invalid();
	return unit_result("hims-hints");
}
