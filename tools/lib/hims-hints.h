/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assembly hints: what boot-time assembly needs that the superblock does not
 * hold, kept by the tools in bytes [HIMS_HINTS_OFFSET, HIMS_BLOCK_SIZE) of
 * the SSD's block 0 (which the kernel never touches after formatting).
 *
 *   offset 0   "HIMSHINT"
 *          8   __le32 version (1)
 *         12   __le32 length of the text
 *         16   __le32 crc32c of bytes [0, 24 + length) with this field zero
 *         20   __le32 reserved, zero
 *         24   text: "key=value\n" lines (name, ram, ram_size, mode,
 *              ram_blocks, len, options); unknown keys are ignored
 */
#ifndef HIMS_HINTS_H
#define HIMS_HINTS_H

#include "purec.h"
#include "dm-hims/hims-format.h"

struct hims_hints {
	char name[128];		/* the dm device's name */
	char ram[128];		/* "brd", "zram" or the RAM device's path */
	u64 ram_size;		/* bytes of brd or zram to set up */
	bool sync;		/* the mode */
	u64 ram_blocks;
	u64 len;		/* sectors */
	char options[256];	/* extra table options, "key value ..." */
};

/* Encode into a HIMS_HINTS_SIZE area; -1 if a value is invalid or too long. */
int hims_hints_encode(void *area, const struct hims_hints *h);
/* Decode a HIMS_HINTS_SIZE area. */
int hims_hints_decode(const void *area, struct hims_hints *h);
/* Whether a value may be stored (printable, no quotes, no newline). */
bool hims_hints_valid_value(const char *s);

#endif /* HIMS_HINTS_H */
