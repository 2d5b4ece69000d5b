/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parser of dm-hims's INFO and TABLE status lines (see dm-hims.rst).
 */
#ifndef HIMS_STATUS_H
#define HIMS_STATUS_H

#include "purec.h"

/* Field 20; UNKNOWN when the kernel does not report it. */
enum hims_restore_state {
	HIMS_RESTORE_UNKNOWN,
	HIMS_RESTORE_RESTORING,
	HIMS_RESTORE_COMPLETE,
	HIMS_RESTORE_INCOMPLETE,	/* gave up on blocks it could not copy */
};

/* The fields of "dmsetup status", in order; later versions append more. */
struct hims_status {
	bool sync;		/* mode: sync, or async */
	u64 used;		/* RAM-tier blocks ever written */
	u64 total;		/* RAM-tier blocks */
	u64 dirty;
	u64 writeback;
	u64 restored;
	u64 to_restore;
	u64 ram_reads, ram_writes, ssd_reads, ssd_writes;
	bool wb_paused;
	int error;		/* 0 or a negative errno */
	/* Fields 14-19, if the kernel reports them (with or without dedup). */
	bool has_dedup;
	u64 mapped;		/* logical RAM-tier blocks mapped */
	u64 phys_used;		/* physical RAM blocks used */
	u64 zero_blocks;	/* blocks of zeroes held without a physical block */
	u64 spilled;		/* blocks spilled to the SSD */
	char ratio[16];		/* dedup ratio, e.g. "8.000" */
	u64 index_bytes;	/* memory of the fingerprint index */
	/* Fields 20-21 (target version 1.2.0 and later). */
	enum hims_restore_state restore;
	u64 restore_failures;	/* failed restore copies, retries included */
	/* Field 22 (target version 1.3.0 and later). */
	bool has_flushes;
	u64 ssd_flushes;	/* SSD cache flushes issued */
};

/* The TABLE status: "<ram> <ssd> <mode> <#opts> <opt> <value> ..." */
struct hims_table {
	char ram[32];		/* major:minor as the kernel prints it */
	char ssd[32];
	bool sync;
	u64 ram_blocks;
	char options[256];	/* every option but ram_blocks, space-separated */
};

/* 0 on success, -1 if the line is not a hims status. */
int hims_status_parse(const char *params, struct hims_status *st);
int hims_table_parse(const char *params, struct hims_table *tb);

/* Whether the restore is complete (nothing, or nothing more, to restore). */
static inline bool hims_status_restored(const struct hims_status *st)
{
	if (st->restore != HIMS_RESTORE_UNKNOWN)
		return st->restore == HIMS_RESTORE_COMPLETE;
	return st->restored >= st->to_restore;
}

/* Whether the restore has stopped: complete, or given up on some blocks. */
static inline bool hims_status_restore_over(const struct hims_status *st)
{
	return hims_status_restored(st) || st->restore == HIMS_RESTORE_INCOMPLETE;
}

/* "restoring", "complete", "incomplete" or "unknown". */
const char *hims_restore_state_name(enum hims_restore_state state);

/* Restore progress in permille. */
unsigned int hims_status_permille(const struct hims_status *st);

#endif /* HIMS_STATUS_H */
