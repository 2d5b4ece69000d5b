// SPDX-License-Identifier: GPL-2.0
/*
 * himsctl: the SSD's block 0, superblock and assembly hints.
 */
#include <errno.h>
#include <stdio.h>

#include "himsctl.h"

static void format_uuid(const u8 *u, char *buf)
{
	sprintf(buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* The geometry a table of len_blocks builds (dedup: logical RAM-tier blocks). */
int table_geometry(struct hims_geometry *geo, u64 ram_blocks, u64 dedup,
		   u64 len_blocks)
{
	u64 boundary = dedup ? dedup : ram_blocks;

	if (len_blocks < boundary)
		return -1;
	if (dedup)
		return hims_geometry_init_dedup(geo, ram_blocks, dedup,
						hims_dedup_spill_min(dedup, ram_blocks),
						len_blocks - dedup);
	return hims_geometry_init(geo, ram_blocks, len_blocks - ram_blocks);
}

int read_ssd(const char *path, struct ssd_info *si)
{
	const struct hims_superblock *sb = (const void *)si->block;

	memset(si, 0, sizeof(*si));
	if (block0_read(path, si->block))
		return -1;
	si->hints = HIMS_HINTS_NONE;
	si->check = hims_sb_check(si->block, &si->geo);
	if (si->check != HIMS_SB_FOREIGN && si->check != HIMS_SB_BLANK &&
	    le64_to_cpu(sb->magic) == HIMS_SB_MAGIC) {
		if (hims_sb_geometry(si->block, &si->geo))
			si->check = HIMS_SB_BAD_GEOMETRY;
		else
			si->check = hims_sb_check(si->block, &si->geo);
	}
	if (si->check == HIMS_SB_OK) {
		format_uuid(sb->uuid, si->uuid);
		si->hints = hims_hints_decode(si->block + HIMS_HINTS_OFFSET, &si->h);
	}
	return 0;
}

void write_hints(const struct spec *s, u64 ram_blocks, u64 len_sectors)
{
	struct hims_hints h;
	u8 block[HIMS_BLOCK_SIZE];

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "%s", s->name);
	snprintf(h.ram, sizeof(h.ram), "%s", s->ram);
	h.ram_size = s->ram_size;
	h.sync = s->sync;
	h.ram_blocks = ram_blocks;
	h.len = len_sectors;
	snprintf(h.options, sizeof(h.options), "%s", s->options);
	if (block0_read(s->ssd, block))
		tool_fail("cannot read %s: %s", s->ssd, strerror(errno));
	if (hims_hints_encode(block + HIMS_HINTS_OFFSET, &h))
		tool_fail("cannot encode the assembly hints");
	if (block0_write(s->ssd, block))
		tool_fail("cannot write the assembly hints to %s: %s", s->ssd, strerror(errno));
}

/* Update the mode in an SSD's hints (if it has any). */
void update_hints_mode(const char *ssd, bool sync)
{
	struct ssd_info si;

	if (read_ssd(ssd, &si) || si.check != HIMS_SB_OK || si.hints != HIMS_HINTS_OK)
		return;
	si.h.sync = sync;
	if (hims_hints_encode(si.block + HIMS_HINTS_OFFSET, &si.h) ||
	    block0_write(ssd, si.block))
		tool_err("cannot update the assembly hints on %s", ssd);
}
