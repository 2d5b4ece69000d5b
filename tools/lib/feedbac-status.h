/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parser of dm-feedbac's INFO and TABLE status lines (see dm-feedbac.rst).
 */
#ifndef FEEDBAC_STATUS_H
#define FEEDBAC_STATUS_H

#include "purec.h"

#define FEEDBAC_MAX_GROUPS	65	/* 64 weighted cgroups and the default group */

struct feedbac_group_status {
	u64 id;			/* cgroup id, 0 for the default group */
	u32 weight;
	s64 credits;
	u64 read_bytes, read_ios, write_bytes, write_ios;
	u64 held;
};

struct feedbac_status {
	u64 prediction;
	u64 last_actual;
	u64 alpha;		/* permille */
	s64 last_error;		/* permille */
	u64 periods, refills, level_shifts;
	u64 held;
	u32 nr_groups;
	struct feedbac_group_status groups[FEEDBAC_MAX_GROUPS];
};

/* 0 on success, -1 if the line is not a feedbac status. */
int feedbac_status_parse(const char *params, struct feedbac_status *st);

/* The TABLE status's device ("<dev> <#opts> ..."), as major:minor. */
int feedbac_table_dev(const char *params, char *dev, size_t len);

#endif /* FEEDBAC_STATUS_H */
