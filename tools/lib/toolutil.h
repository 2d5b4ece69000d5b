/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by himsctl and feedbacctl (plain C, unit tested):
 * number and size parsing, name checks, shell-safe values, cgroup weights.
 */
#ifndef HIMS_TOOLUTIL_H
#define HIMS_TOOLUTIL_H

#include "purec.h"

/* A decimal number with nothing around it; 0 on success, -1 otherwise. */
int tu_parse_u64(const char *s, u64 *out);
int tu_parse_s64(const char *s, s64 *out);
/* A number as strtoull reads it with base 0 (decimal, 0x hex, 0 octal). */
int tu_parse_num(const char *s, u64 *out);

/*
 * A size: a number with an optional unit, k/K, m/M, g/G, t/T, p/P (powers
 * of 1024, optionally followed by "iB" or "B"), s/S (512-byte sectors) or
 * b/B (bytes).  A number without a unit counts in default_unit bytes.
 */
int tu_parse_size(const char *s, u64 default_unit, u64 *bytes);

/* A device-mapper device name we accept: 1..127 of [A-Za-z0-9_.+-]. */
bool tu_valid_dm_name(const char *s);
/* An LVM VG or LV name: 1..63 of [A-Za-z0-9_.+-], not starting with '-'. */
bool tu_valid_lvm_name(const char *s);
/* The dm name LVM gives VG/LV: dashes doubled, joined by one dash. */
int tu_lvm_dm_name(char *buf, size_t len, const char *vg, const char *lv);

/*
 * A value as a shell (and udev IMPORT) accepts it: as is when made of
 * [A-Za-z0-9_./:,+@%=-] only, else in single quotes.  Values holding a
 * quote, backslash or control character are refused (-1).
 */
int tu_shell_value(char *buf, size_t len, const char *val);

/*
 * The weight an io.weight or io.bfq.weight file gives device maj:min: its
 * "MAJ:MIN N" line if there is one, else its "default N" line (or a bare
 * "N").  Returns 1 for a device line, 0 for the default, -1 if none.
 */
int tu_cgroup_weight(const char *content, unsigned int maj, unsigned int min,
		     u64 *weight);
/* A cgroup weight as a feedbac weight: both are 1..10000, default 100. */
u32 tu_feedbac_weight(u64 cgroup_weight);

#endif /* HIMS_TOOLUTIL_H */
