/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Self-describing 4 KiB blocks of the crash-replay workload: each names
 * its run, its logical block and its version, and carries a CRC32C, so
 * that a checker knows where a block it reads came from.
 */
#ifndef CRASH_BLOCK_H
#define CRASH_BLOCK_H

#include "purec.h"

#define CRASH_BS		4096U
#define CRASH_MAGIC		0x31575243534d4948ULL	/* "HIMSCRW1" */
/* The block field of a pool block: content shared by many blocks (dedup). */
#define CRASH_POOL_BLOCK	0xffffffffffffffffULL

struct crash_block_hdr {
	__le64 magic;
	__le64 run;		/* the run (or the pre-format pattern's id) */
	__le64 block;		/* logical block, or CRASH_POOL_BLOCK */
	__le64 version;		/* the write's version, or the pool index */
	__le32 crc;		/* CRC32C of the 4 KiB, this field zero */
	__le32 reserved;
} __packed;

enum crash_kind {
	CRASH_ZERO,		/* all zeroes */
	CRASH_VALID,		/* our block, checksum good */
	CRASH_TORN,		/* our magic, bad checksum: torn or corrupt */
	CRASH_GARBAGE,		/* anything else */
};

struct crash_id {
	u64 run;
	u64 block;
	u64 version;
};

void crash_block_fill(void *buf, u64 run, u64 block, u64 version);
enum crash_kind crash_block_parse(const void *buf, struct crash_id *id);

#endif
