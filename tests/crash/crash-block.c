// SPDX-License-Identifier: GPL-2.0
/*
 * Self-describing blocks: a header, a filler derived from the header (so
 * two versions differ in every word) and a CRC32C over the whole block.
 */
#include <string.h>

#include "dm-hims/hims-format.h"
#include "tests/crash/crash-block.h"

static u32 block_crc(const void *buf)
{
	struct crash_block_hdr h;
	u32 crc;

	memcpy(&h, buf, sizeof(h));
	h.crc = 0;
	crc = hims_crc32c(0, &h, sizeof(h));
	return hims_crc32c(crc, (const u8 *)buf + sizeof(h),
			   CRASH_BS - sizeof(h));
}

void crash_block_fill(void *buf, u64 run, u64 block, u64 version)
{
	struct crash_block_hdr h = {
		.magic = cpu_to_le64(CRASH_MAGIC),
		.run = cpu_to_le64(run),
		.block = cpu_to_le64(block),
		.version = cpu_to_le64(version),
	};
	u64 x = run * 0x9e3779b97f4a7c15ULL ^ block * 0xbf58476d1ce4e5b9ULL ^
		(version + 1) * 0x94d049bb133111ebULL;
	u8 *p = buf;
	size_t i;

	for (i = sizeof(h); i + 8 <= CRASH_BS; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
	memcpy(p, &h, sizeof(h));
	h.crc = cpu_to_le32(block_crc(buf));
	memcpy(p, &h, sizeof(h));
}

enum crash_kind crash_block_parse(const void *buf, struct crash_id *id)
{
	const u8 *p = buf;
	struct crash_block_hdr h;
	size_t i;

	memcpy(&h, buf, sizeof(h));
	id->run = le64_to_cpu(h.run);
	id->block = le64_to_cpu(h.block);
	id->version = le64_to_cpu(h.version);
	if (le64_to_cpu(h.magic) == CRASH_MAGIC)
		return le32_to_cpu(h.crc) == block_crc(buf) ? CRASH_VALID :
							      CRASH_TORN;
	for (i = 0; i < CRASH_BS; i++)
		if (p[i])
			return CRASH_GARBAGE;
	return CRASH_ZERO;
}
