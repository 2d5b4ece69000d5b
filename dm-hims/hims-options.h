/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-hims's table options in one place: each option's name, range, default
 * and the message for a value out of range.  The kernel's table parser and
 * TABLE status walk this table, and so do himsctl (--option KEY=VALUE) and
 * the tools' parser of TABLE lines.  Plain C (purec.h): it builds into the
 * module and into userspace.
 *
 * To add an option: an entry in enum hims_opt and in hims_options[], what
 * it sets in hims_apply_options() (dm-hims-target.c), and its line in
 * dm-hims.rst.
 */
#ifndef DM_HIMS_OPTIONS_H
#define DM_HIMS_OPTIONS_H

#include "purec.h"
#include "hims-dedup.h"
#ifndef __KERNEL__
#include <strings.h>	/* strcasecmp(), which the kernel has in string.h */
#endif

/* In the order the TABLE status lists them. */
enum hims_opt {
	HIMS_OPT_RAM_BLOCKS,
	HIMS_OPT_DEDUP,
	HIMS_OPT_INDEX_ENTRIES,
	HIMS_OPT_HIGH_WATERMARK,
	HIMS_OPT_LOW_WATERMARK,
	HIMS_OPT_WRITEBACK_JOBS,
	HIMS_OPT_MAX_AGE,
	HIMS_OPT_FORMAT,
	HIMS_NR_OPTS
};

/* Most optional words of a table: every option once. */
#define HIMS_OPT_WORDS		16

#define HIMS_OPT_FLAG		0x1	/* a word without a value */
#define HIMS_OPT_POW2		0x2	/* the value is a power of two */
#define HIMS_OPT_DEDUP_ONLY	0x4	/* listed only with dedup on */

struct hims_option {
	const char *name;
	u64 min;
	u64 max;
	u64 def;		/* 0: chosen from the devices' sizes */
	u32 flags;
	const char *error;	/* for a value that is not accepted */
};

static const struct hims_option hims_options[HIMS_NR_OPTS] = {
	[HIMS_OPT_RAM_BLOCKS] = {
		"ram_blocks", 1, ~0ULL, 0, 0,
		"Invalid ram_blocks" },
	[HIMS_OPT_DEDUP] = {
		"dedup", 1, HIMS_DEDUP_MAX_BLOCKS, 0, HIMS_OPT_DEDUP_ONLY,
		"Invalid dedup: want the RAM tier's logical blocks" },
	[HIMS_OPT_INDEX_ENTRIES] = {
		"index_entries", HIMS_DEDUP_WAYS, 1U << 30, 0,
		HIMS_OPT_POW2 | HIMS_OPT_DEDUP_ONLY,
		"index_entries out of range: want a power of two, 8..1073741824" },
	[HIMS_OPT_HIGH_WATERMARK] = {
		"high_watermark", 0, 100, 50, 0,
		"high_watermark out of range: want 0..100 (percent)" },
	[HIMS_OPT_LOW_WATERMARK] = {
		"low_watermark", 0, 100, 45, 0,
		"low_watermark out of range: want 0..100 (percent)" },
	[HIMS_OPT_WRITEBACK_JOBS] = {
		"writeback_jobs", 1, 1024, 32, 0,
		"writeback_jobs out of range: want 1..1024" },
	/* Like the page cache's dirty_expire_centisecs: old dirty data goes out. */
	[HIMS_OPT_MAX_AGE] = {
		"max_age", 1, 86400000, 30000, 0,
		"max_age out of range: want 1..86400000 (ms)" },
	[HIMS_OPT_FORMAT] = {
		"format", 0, 1, 0, HIMS_OPT_FLAG,
		"format takes no value" },
};

/* The option called @name (in any case), or NULL. */
static inline const struct hims_option *hims_option_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < HIMS_NR_OPTS; i++)
		if (!strcasecmp(name, hims_options[i].name))
			return &hims_options[i];
	return NULL;
}

/* Whether @value is in @opt's range. */
static inline bool hims_option_ok(const struct hims_option *opt, u64 value)
{
	if (value < opt->min || value > opt->max)
		return false;
	return !(opt->flags & HIMS_OPT_POW2) || !(value & (value - 1));
}

#endif /* DM_HIMS_OPTIONS_H */
