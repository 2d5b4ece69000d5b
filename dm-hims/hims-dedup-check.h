/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-hims dedup consistency checks (plain C), see hims-dedup-check.c.
 */
#ifndef DM_HIMS_DEDUP_CHECK_H
#define DM_HIMS_DEDUP_CHECK_H

#include "hims-dedup.h"

/* What hims_dedup_check() and hims_dedup_verify() found first. */
enum hims_dedup_check_code {
	HIMS_DEDUP_CHK_OK = 0,
	HIMS_DEDUP_CHK_BAD_VALUE,	/* logical index maps value: out of range */
	HIMS_DEDUP_CHK_FREE_REFERENCED,	/* logical index maps phys value, refcount 0 */
	HIMS_DEDUP_CHK_OVER_REFERENCED,	/* logical index is reference found to value */
	HIMS_DEDUP_CHK_UNDER_REFERENCED, /* phys index: refcount expected, found refs */
	HIMS_DEDUP_CHK_SPILL_SHARED,	/* logical index maps slot value of other */
	HIMS_DEDUP_CHK_FREE_LIST,	/* free list value holds bad block index */
	HIMS_DEDUP_CHK_FREE_LOST,	/* free block index is on no free list */
	HIMS_DEDUP_CHK_SPILL_LIST,	/* spill list value holds bad slot index */
	HIMS_DEDUP_CHK_SPILL_LOST,	/* free slot index is on no free list */
	HIMS_DEDUP_CHK_COUNTER,		/* counter index: expected, found */
	HIMS_DEDUP_CHK_INDEX,		/* index entry index: bad, for phys value */
	HIMS_DEDUP_CHK_BUSY,		/* phys index busy without a reference */
	HIMS_DEDUP_CHK_META,		/* metadata block index: bad flags value */
};

struct hims_dedup_report {
	enum hims_dedup_check_code code;
	u32 index;
	u32 value;
	u32 expected;
	u32 found;
	u32 other;
};

const char *hims_dedup_check_str(enum hims_dedup_check_code code);

/*
 * Consistency of a map and reference counts (decoded metadata, or the live
 * state): every value in range, each refcount equal to the number of logical
 * blocks mapping that block (so no block both free and referenced), each
 * spill slot mapped at most once.  @scratch: nr_phys + nr_spill u32.
 * Returns 0, or -1 with the first inconsistency in @rep.
 */
int hims_dedup_check(const u32 *map, u32 nr_logical, const u32 *refcount,
		     u32 nr_phys, u32 nr_spill, u32 *scratch,
		     struct hims_dedup_report *rep);

/*
 * hims_dedup_check() of the live state, then its free lists, counters,
 * index and metadata flags.  @scratch: nr_phys + nr_spill u32.
 */
int hims_dedup_verify(const struct hims_dedup *s, u32 *scratch,
		      struct hims_dedup_report *rep);

/*
 * hims_dedup_check() with the caller's scratch arrays: @refs (nr_phys
 * entries) and @owner (nr_spill entries), left holding each used spill
 * slot's owner.
 */
int hims_dedup_check_arrays(const u32 *map, u32 nr_logical, const u32 *refcount,
			    u32 nr_phys, u32 nr_spill, u32 *refs, u32 *owner,
			    struct hims_dedup_report *rep);

/* Fills @rep with "no inconsistency"; returns 0. */
int hims_dedup_report_ok(struct hims_dedup_report *rep);

#endif /* DM_HIMS_DEDUP_CHECK_H */
