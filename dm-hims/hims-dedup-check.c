// SPDX-License-Identifier: GPL-2.0
/*
 * dm-hims dedup consistency checks (plain C): of the map and reference
 * counts as loaded from the SSD (the kernel's load, hims-check), and of the
 * whole in-memory state (the unit tests' model).
 */
#include "hims-dedup.h"
#include "hims-dedup-check.h"

const char *hims_dedup_check_str(enum hims_dedup_check_code code)
{
	switch (code) {
	case HIMS_DEDUP_CHK_OK:
		return "consistent";
	case HIMS_DEDUP_CHK_BAD_VALUE:
		return "logical block maps an out-of-range block";
	case HIMS_DEDUP_CHK_FREE_REFERENCED:
		return "logical block maps a free physical block";
	case HIMS_DEDUP_CHK_OVER_REFERENCED:
		return "physical block mapped more often than its refcount";
	case HIMS_DEDUP_CHK_UNDER_REFERENCED:
		return "physical block mapped less often than its refcount";
	case HIMS_DEDUP_CHK_SPILL_SHARED:
		return "spill slot mapped by two logical blocks";
	case HIMS_DEDUP_CHK_FREE_LIST:
		return "bad physical block on a free list";
	case HIMS_DEDUP_CHK_FREE_LOST:
		return "free physical block on no free list";
	case HIMS_DEDUP_CHK_SPILL_LIST:
		return "bad spill slot on a free list";
	case HIMS_DEDUP_CHK_SPILL_LOST:
		return "free spill slot on no free list";
	case HIMS_DEDUP_CHK_COUNTER:
		return "wrong counter";
	case HIMS_DEDUP_CHK_INDEX:
		return "bad fingerprint index entry";
	case HIMS_DEDUP_CHK_BUSY:
		return "busy physical block without a reference";
	case HIMS_DEDUP_CHK_META:
		return "bad metadata block flags";
	}
	return "?";
}

static int report(struct hims_dedup_report *rep, enum hims_dedup_check_code code,
		  u32 index, u32 value, u32 expected, u32 found)
{
	rep->code = code;
	rep->index = index;
	rep->value = value;
	rep->expected = expected;
	rep->found = found;
	rep->other = HIMS_DEDUP_NONE;
	return code ? -1 : 0;
}

int hims_dedup_report_ok(struct hims_dedup_report *rep)
{
	return report(rep, HIMS_DEDUP_CHK_OK, 0, 0, 0, 0);
}

/*
 * The check, with the count of references per RAM block in @refs and the
 * owner (logical block + 1) of each spill slot in @owner.
 */
int hims_dedup_check_arrays(const u32 *map, u32 nr_logical, const u32 *refcount,
			    u32 nr_phys, u32 nr_spill, u32 *refs, u32 *owner,
			    struct hims_dedup_report *rep)
{
	u32 l, p, v;

	memset(refs, 0, (size_t)nr_phys * 4);
	memset(owner, 0, (size_t)nr_spill * 4);
	for (l = 0; l < nr_logical; l++) {
		v = map[l];
		if (v == HIMS_DEDUP_UNMAPPED || v == HIMS_DEDUP_ZERO)
			continue;
		if (hims_dedup_is_spill(v)) {
			p = hims_dedup_spill_slot(v);
			if (p >= nr_spill)
				return report(rep, HIMS_DEDUP_CHK_BAD_VALUE, l, v, 0, 0);
			if (owner[p]) {
				report(rep, HIMS_DEDUP_CHK_SPILL_SHARED, l, p, 0, 0);
				rep->other = owner[p] - 1;
				return -1;
			}
			owner[p] = l + 1;
			continue;
		}
		if (v >= nr_phys)
			return report(rep, HIMS_DEDUP_CHK_BAD_VALUE, l, v, 0, 0);
		if (!refcount[v])
			return report(rep, HIMS_DEDUP_CHK_FREE_REFERENCED, l, v, 0, 1);
		if (++refs[v] > refcount[v])
			return report(rep, HIMS_DEDUP_CHK_OVER_REFERENCED, l, v,
				      refcount[v], refs[v]);
	}
	for (p = 0; p < nr_phys; p++)
		if (refs[p] != refcount[p])
			return report(rep, HIMS_DEDUP_CHK_UNDER_REFERENCED, p, p,
				      refcount[p], refs[p]);
	return report(rep, HIMS_DEDUP_CHK_OK, 0, 0, 0, 0);
}

int hims_dedup_check(const u32 *map, u32 nr_logical, const u32 *refcount,
		     u32 nr_phys, u32 nr_spill, u32 *scratch,
		     struct hims_dedup_report *rep)
{
	return hims_dedup_check_arrays(map, nr_logical, refcount, nr_phys, nr_spill,
				       scratch, scratch + nr_phys, rep);
}

#define MARK_USED	1U	/* referenced by the map */
#define MARK_LISTED	2U	/* seen on a free list */

/*
 * Checks a pool against @mark (MARK_USED per referenced entry): each list
 * entry in range, unused, listed once, as many as counted; every unused
 * entry listed.
 */
static int verify_pool(const struct hims_dedup_pool *pool, u32 *mark,
		       enum hims_dedup_check_code list_code,
		       enum hims_dedup_check_code lost_code,
		       struct hims_dedup_report *rep)
{
	const u32 heads[3] = { pool->ready, pool->open_head, pool->commit_head };
	const u32 nrs[3] = { pool->nr_ready, pool->nr_open, pool->nr_commit };
	u32 i, n, count;

	for (i = 0; i < 3; i++) {
		count = 0;
		for (n = heads[i]; n != HIMS_DEDUP_NONE; n = pool->next[n]) {
			if (n >= pool->nr || mark[n] || count >= nrs[i])
				return report(rep, list_code, n, i, 0, 0);
			mark[n] = MARK_LISTED;
			count++;
		}
		if (count != nrs[i])
			return report(rep, list_code, HIMS_DEDUP_NONE, i, nrs[i], count);
	}
	for (n = 0; n < pool->nr; n++)
		if (!mark[n])
			return report(rep, lost_code, n, 0, 0, 0);
	return 0;
}

static int verify_counters(const struct hims_dedup *s, struct hims_dedup_report *rep)
{
	u32 want[5] = { 0, 0, 0, 0, 0 }, l, p, v;
	const u32 have[5] = { s->nr_mapped, s->nr_zero, s->nr_spilled,
			      s->nr_ram_refs, s->nr_phys_used };

	for (l = 0; l < s->cfg.nr_logical; l++) {
		v = s->map[l];
		if (v == HIMS_DEDUP_UNMAPPED)
			continue;
		want[0]++;
		if (v == HIMS_DEDUP_ZERO)
			want[1]++;
		else if (hims_dedup_is_spill(v))
			want[2]++;
		else
			want[3]++;
	}
	for (p = 0; p < s->cfg.nr_phys; p++)
		want[4] += !!s->refcount[p];
	for (l = 0; l < 5; l++)
		if (want[l] != have[l])
			return report(rep, HIMS_DEDUP_CHK_COUNTER, l, 0, want[l], have[l]);
	return 0;
}

static int verify_index(const struct hims_dedup *s, struct hims_dedup_report *rep)
{
	u32 i, p, used = 0, busy = 0;

	for (i = 0; i < s->cfg.index_entries; i++) {
		p = s->index[i].phys;
		if (p == HIMS_DEDUP_NONE)
			continue;
		used++;
		if (p >= s->cfg.nr_phys || !s->refcount[p] || s->phys_islot[p] != i)
			return report(rep, HIMS_DEDUP_CHK_INDEX, i, p, 0, 0);
	}
	for (p = 0; p < s->cfg.nr_phys; p++) {
		i = s->phys_islot[p];
		if (i != HIMS_DEDUP_NONE &&
		    (i >= s->cfg.index_entries || s->index[i].phys != p))
			return report(rep, HIMS_DEDUP_CHK_INDEX, i, p, 0, 0);
		if (!(s->phys_flags[p] & HIMS_DEDUP_PHYS_BUSY))
			continue;
		if (!s->refcount[p])
			return report(rep, HIMS_DEDUP_CHK_BUSY, p, p, 0, 0);
		busy++;
	}
	if (busy > s->nr_inflight)
		return report(rep, HIMS_DEDUP_CHK_COUNTER, 8, 0, busy, s->nr_inflight);
	if (used != s->nr_index_used)
		return report(rep, HIMS_DEDUP_CHK_COUNTER, 5, 0, used, s->nr_index_used);
	return 0;
}

static int verify_meta(const struct hims_dedup *s, struct hims_dedup_report *rep)
{
	u32 i, open = 0, commit = 0;

	for (i = 0; i < hims_dedup_meta_count(s); i++) {
		u8 f = s->meta_flags[i];

		if ((f & ~(HIMS_DEDUP_META_OPEN | HIMS_DEDUP_META_COMMIT |
			   HIMS_DEDUP_META_LATEST1)) ||
		    ((f & HIMS_DEDUP_META_COMMIT) && !s->committing))
			return report(rep, HIMS_DEDUP_CHK_META, i, f, 0, 0);
		open += !!(f & HIMS_DEDUP_META_OPEN);
		commit += !!(f & HIMS_DEDUP_META_COMMIT);
	}
	if (open != s->nr_dirty_meta)
		return report(rep, HIMS_DEDUP_CHK_COUNTER, 6, 0, open, s->nr_dirty_meta);
	if (commit != s->nr_commit_meta)
		return report(rep, HIMS_DEDUP_CHK_COUNTER, 7, 0, commit,
			      s->nr_commit_meta);
	return 0;
}

int hims_dedup_verify(const struct hims_dedup *s, u32 *scratch,
		      struct hims_dedup_report *rep)
{
	u32 nr_phys = s->cfg.nr_phys, nr_spill = s->cfg.nr_spill, n;
	u32 *phys_mark = scratch, *spill_mark = scratch + nr_phys;

	if (hims_dedup_check(s->map, s->cfg.nr_logical, s->refcount, nr_phys,
			     nr_spill, scratch, rep))
		return -1;
	/* check() left references per block and owners per slot. */
	for (n = 0; n < nr_phys; n++)
		phys_mark[n] = phys_mark[n] ? MARK_USED : 0;
	for (n = 0; n < nr_spill; n++)
		spill_mark[n] = spill_mark[n] ? MARK_USED : 0;
	if (verify_pool(&s->phys, phys_mark, HIMS_DEDUP_CHK_FREE_LIST,
			HIMS_DEDUP_CHK_FREE_LOST, rep) ||
	    verify_pool(&s->spill, spill_mark, HIMS_DEDUP_CHK_SPILL_LIST,
			HIMS_DEDUP_CHK_SPILL_LOST, rep))
		return -1;
	if (verify_counters(s, rep) || verify_index(s, rep) || verify_meta(s, rep))
		return -1;
	return report(rep, HIMS_DEDUP_CHK_OK, 0, 0, 0, 0);
}
