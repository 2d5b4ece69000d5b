// SPDX-License-Identifier: GPL-2.0
/*
 * dm-hims inline deduplication of the RAM tier (plain C).
 */
#include "hims-dedup.h"
#include "hims-dedup-check.h"

static u32 div_round_up(u32 n, u32 d)
{
	return n / d + !!(n % d);
}

static u64 align8(u64 n)
{
	return (n + 7) & ~7ULL;
}

static bool config_ok(const struct hims_dedup_config *cfg)
{
	u32 n = cfg->index_entries;

	return cfg->nr_logical && cfg->nr_logical <= HIMS_DEDUP_MAX_BLOCKS &&
		cfg->nr_phys && cfg->nr_phys <= HIMS_DEDUP_MAX_BLOCKS &&
		cfg->nr_spill <= HIMS_DEDUP_MAX_BLOCKS &&
		n >= HIMS_DEDUP_WAYS && n <= (1U << 30) && !(n & (n - 1));
}

static u32 meta_count(const struct hims_dedup_config *cfg)
{
	return div_round_up(cfg->nr_logical, HIMS_DEDUP_META_ENTRIES) +
		div_round_up(cfg->nr_phys, HIMS_DEDUP_META_ENTRIES);
}

/*
 * The buffer: index entries, map, then per physical block refcount, next,
 * index slot, drop epoch, spill next, then the byte arrays.
 */
u64 hims_dedup_mem_bytes(const struct hims_dedup_config *cfg)
{
	u64 bytes;

	if (!config_ok(cfg))
		return 0;
	bytes = (u64)cfg->index_entries * sizeof(struct hims_dedup_ient);
	bytes += align8((u64)cfg->nr_logical * 4);
	bytes += 4 * align8((u64)cfg->nr_phys * 4);
	bytes += align8((u64)cfg->nr_spill * 4);
	bytes += align8(cfg->nr_phys);
	bytes += align8(meta_count(cfg));
	return bytes;
}

u64 hims_dedup_index_bytes(const struct hims_dedup_config *cfg)
{
	if (!config_ok(cfg))
		return 0;
	return (u64)cfg->index_entries * sizeof(struct hims_dedup_ient) +
		(u64)cfg->nr_phys * 4;
}

u32 hims_dedup_spill_min(u32 nr_logical, u32 nr_phys)
{
	return nr_logical > nr_phys ? nr_logical - nr_phys : 0;
}

static void *carve(u8 **p, u64 bytes)
{
	void *start = *p;

	*p += align8(bytes);
	return start;
}

static void index_clear(struct hims_dedup *s)
{
	u32 i;

	for (i = 0; i < s->cfg.index_entries; i++) {
		s->index[i].tag = 0;
		s->index[i].phys = HIMS_DEDUP_NONE;
	}
	for (i = 0; i < s->cfg.nr_phys; i++)
		s->phys_islot[i] = HIMS_DEDUP_NONE;
	s->nr_index_used = 0;
}

int hims_dedup_init(struct hims_dedup *s, const struct hims_dedup_config *cfg,
		    void *mem)
{
	u8 *p = mem;
	u32 i;

	if (!config_ok(cfg))
		return -1;
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->index = carve(&p, (u64)cfg->index_entries * sizeof(*s->index));
	s->map = carve(&p, (u64)cfg->nr_logical * 4);
	s->refcount = carve(&p, (u64)cfg->nr_phys * 4);
	s->phys.next = carve(&p, (u64)cfg->nr_phys * 4);
	s->phys_islot = carve(&p, (u64)cfg->nr_phys * 4);
	s->phys_drop = carve(&p, (u64)cfg->nr_phys * 4);
	s->spill.next = carve(&p, (u64)cfg->nr_spill * 4);
	s->phys_flags = carve(&p, cfg->nr_phys);
	s->meta_flags = carve(&p, meta_count(cfg));
	s->phys.nr = cfg->nr_phys;
	s->spill.nr = cfg->nr_spill;
	s->nr_map_meta = div_round_up(cfg->nr_logical, HIMS_DEDUP_META_ENTRIES);
	s->nr_ref_meta = div_round_up(cfg->nr_phys, HIMS_DEDUP_META_ENTRIES);
	s->index_mask = cfg->index_entries / HIMS_DEDUP_WAYS - 1;

	for (i = 0; i < cfg->nr_logical; i++)
		s->map[i] = HIMS_DEDUP_UNMAPPED;
	memset(s->refcount, 0, (size_t)cfg->nr_phys * 4);
	memset(s->phys_drop, 0, (size_t)cfg->nr_phys * 4);
	memset(s->phys_flags, 0, cfg->nr_phys);
	index_clear(s);
	hims_pool_fill(&s->phys, NULL);
	hims_pool_fill(&s->spill, NULL);

	/* The first commit writes every block: it formats the metadata. */
	s->epoch = 1;
	s->durable = 0;
	s->record_slot = HIMS_DEDUP_FORMAT_SLOT;
	for (i = 0; i < meta_count(cfg); i++)
		s->meta_flags[i] = HIMS_DEDUP_META_OPEN;
	s->nr_dirty_meta = meta_count(cfg);
	return 0;
}

enum hims_dedup_where hims_dedup_lookup(const struct hims_dedup *s, u32 lblk,
					u32 *where)
{
	u32 v = s->map[lblk];

	*where = HIMS_DEDUP_NONE;
	if (v == HIMS_DEDUP_UNMAPPED)
		return HIMS_DEDUP_AT_NONE;
	if (v == HIMS_DEDUP_ZERO)
		return HIMS_DEDUP_AT_ZERO;
	if (hims_dedup_is_spill(v)) {
		*where = hims_dedup_spill_slot(v);
		return HIMS_DEDUP_AT_SPILL;
	}
	*where = v;
	return HIMS_DEDUP_AT_RAM;
}

static void meta_dirty(struct hims_dedup *s, u32 meta)
{
	if (!(s->meta_flags[meta] & HIMS_DEDUP_META_OPEN)) {
		s->meta_flags[meta] |= HIMS_DEDUP_META_OPEN;
		s->nr_dirty_meta++;
	}
}

static void map_set(struct hims_dedup *s, u32 lblk, u32 v)
{
	u32 old = s->map[lblk];

	if (old == HIMS_DEDUP_ZERO)
		s->nr_zero--;
	else if (hims_dedup_is_spill(old))
		s->nr_spilled--;
	else if (old != HIMS_DEDUP_UNMAPPED)
		s->nr_ram_refs--;
	if (old != HIMS_DEDUP_UNMAPPED)
		s->nr_mapped--;

	if (v == HIMS_DEDUP_ZERO)
		s->nr_zero++;
	else if (hims_dedup_is_spill(v))
		s->nr_spilled++;
	else if (v != HIMS_DEDUP_UNMAPPED)
		s->nr_ram_refs++;
	if (v != HIMS_DEDUP_UNMAPPED)
		s->nr_mapped++;

	s->map[lblk] = v;
	meta_dirty(s, lblk / HIMS_DEDUP_META_ENTRIES);
}

static void ref_set(struct hims_dedup *s, u32 phys, u32 ref)
{
	s->refcount[phys] = ref;
	meta_dirty(s, s->nr_map_meta + phys / HIMS_DEDUP_META_ENTRIES);
}

/* Index: buckets of HIMS_DEDUP_WAYS entries, most recently used first. */
static u32 bucket_of(const struct hims_dedup *s, u64 fp)
{
	return ((u32)fp & s->index_mask) * HIMS_DEDUP_WAYS;
}

static u32 tag_of(u64 fp)
{
	return (u32)(fp >> 32);
}

static void index_remove(struct hims_dedup *s, u32 phys)
{
	u32 slot = s->phys_islot[phys];

	if (slot == HIMS_DEDUP_NONE)
		return;
	s->index[slot].phys = HIMS_DEDUP_NONE;
	s->phys_islot[phys] = HIMS_DEDUP_NONE;
	s->nr_index_used--;
}

/* Moves entries [base, slot) one way down and puts @e at base. */
static void index_put_front(struct hims_dedup *s, u32 base, u32 slot,
			    struct hims_dedup_ient e)
{
	for (; slot > base; slot--) {
		s->index[slot] = s->index[slot - 1];
		if (s->index[slot].phys != HIMS_DEDUP_NONE)
			s->phys_islot[s->index[slot].phys] = slot;
	}
	s->index[base] = e;
	s->phys_islot[e.phys] = base;
}

void hims_dedup_index_insert(struct hims_dedup *s, u64 fp, u32 phys)
{
	u32 base = bucket_of(s, fp), slot;
	struct hims_dedup_ient e = { .tag = tag_of(fp), .phys = phys };

	if (!s->refcount[phys])
		return;
	index_remove(s, phys);
	for (slot = base; slot < base + HIMS_DEDUP_WAYS - 1; slot++)
		if (s->index[slot].phys == HIMS_DEDUP_NONE)
			break;
	if (s->index[slot].phys != HIMS_DEDUP_NONE) {
		/* The bucket is full: the least recently used goes. */
		s->phys_islot[s->index[slot].phys] = HIMS_DEDUP_NONE;
		s->nr_evictions++;
	} else {
		s->nr_index_used++;
	}
	index_put_front(s, base, slot, e);
}

/*
 * A RAM block holding the data, according to the index and @same_data, not
 * @skip (already compared), or NONE.  Stale entries cost a comparison only.
 */
static u32 index_find(struct hims_dedup *s, u64 fp, u32 skip,
		      hims_dedup_same_fn same_data, void *ctx)
{
	u32 base = bucket_of(s, fp), tag = tag_of(fp), slot, phys;

	for (slot = base; slot < base + HIMS_DEDUP_WAYS; slot++) {
		phys = s->index[slot].phys;
		if (phys == HIMS_DEDUP_NONE || s->index[slot].tag != tag ||
		    phys == skip || (s->phys_flags[phys] & HIMS_DEDUP_PHYS_BUSY))
			continue;
		if (same_data(ctx, phys)) {
			index_put_front(s, base, slot, s->index[slot]);
			return phys;
		}
		s->nr_collisions++;
	}
	return HIMS_DEDUP_NONE;
}

/*
 * No other logical block may map @phys on disk: no reference to it was
 * dropped in an epoch whose commit has not ended (wrap-safe: a very old
 * drop may look recent, which only costs a copy).
 */
static bool drop_durable(const struct hims_dedup *s, u32 phys)
{
	return (s32)((u32)s->durable - s->phys_drop[phys]) >= 0;
}

static bool writable_in_place(const struct hims_dedup *s, u32 phys)
{
	return s->refcount[phys] == 1 && drop_durable(s, phys);
}

/* Drops the reference of a map value that was just replaced. */
static void release(struct hims_dedup *s, u32 old, struct hims_dedup_result *res)
{
	u32 ref;

	if (old == HIMS_DEDUP_UNMAPPED || old == HIMS_DEDUP_ZERO)
		return;
	if (hims_dedup_is_spill(old)) {
		hims_pool_defer(&s->spill, hims_dedup_spill_slot(old));
		res->old_freed = true;
		return;
	}
	ref = s->refcount[old] - 1;
	ref_set(s, old, ref);
	if (ref) {
		s->phys_drop[old] = (u32)s->epoch;
		return;
	}
	index_remove(s, old);
	hims_pool_defer(&s->phys, old);
	s->nr_phys_used--;
	res->old_freed = true;
}

static void remap(struct hims_dedup *s, u32 lblk, u32 v,
		  struct hims_dedup_result *res)
{
	map_set(s, lblk, v);
	release(s, res->old, res);
}

/* A copy of the data is already in RAM: share it (returns true), or not. */
static bool share_existing(struct hims_dedup *s, u32 lblk, u64 fp,
			   hims_dedup_same_fn same_data, void *ctx,
			   struct hims_dedup_result *res)
{
	u32 old = res->old, skip = HIMS_DEDUP_NONE, p;

	/* Rewriting a block it may not write in place with the same data. */
	if (hims_dedup_is_ram(old) && old != HIMS_DEDUP_UNMAPPED &&
	    !writable_in_place(s, old)) {
		skip = old;
		if (same_data(ctx, old)) {
			res->action = HIMS_DEDUP_SHARE;
			res->target = old;
			res->in_place = true;
			s->nr_hits++;
			return true;
		}
	}

	p = index_find(s, fp, skip, same_data, ctx);
	if (p == HIMS_DEDUP_NONE)
		return false;
	res->action = HIMS_DEDUP_SHARE;
	res->target = p;
	s->nr_hits++;
	if (p == old) {
		res->in_place = true;
		return true;
	}
	ref_set(s, p, s->refcount[p] + 1);
	remap(s, lblk, p, res);
	return true;
}

/* New data: in place, in a free RAM block, in the spill area, or not yet. */
static void store_new(struct hims_dedup *s, u32 lblk, u64 fp,
		      struct hims_dedup_result *res)
{
	u32 old = res->old, p;

	if (hims_dedup_is_ram(old) && old != HIMS_DEDUP_UNMAPPED &&
	    writable_in_place(s, old)) {
		res->action = HIMS_DEDUP_WRITE;
		res->target = old;
		res->in_place = true;
		s->phys_flags[old] |= HIMS_DEDUP_PHYS_BUSY;
		s->nr_inflight++;
		hims_dedup_index_insert(s, fp, old);
		s->nr_in_place++;
		return;
	}

	p = hims_pool_get(&s->phys);
	if (p != HIMS_DEDUP_NONE) {
		res->action = HIMS_DEDUP_WRITE;
		res->target = p;
		ref_set(s, p, 1);
		s->nr_phys_used++;
		s->phys_flags[p] |= HIMS_DEDUP_PHYS_BUSY;
		s->nr_inflight++;
		hims_dedup_index_insert(s, fp, p);
		remap(s, lblk, p, res);
		return;
	}

	/* RAM is full. */
	if (hims_dedup_is_spill(old)) {
		res->action = HIMS_DEDUP_SPILL;
		res->target = hims_dedup_spill_slot(old);
		res->in_place = true;
		s->nr_inflight++;
		return;
	}
	p = hims_pool_get(&s->spill);
	if (p != HIMS_DEDUP_NONE) {
		res->action = HIMS_DEDUP_SPILL;
		res->target = p;
		s->nr_inflight++;
		remap(s, lblk, HIMS_DEDUP_SPILLED | p, res);
		return;
	}
	if (hims_pool_pending(&s->phys) || hims_pool_pending(&s->spill) ||
	    (hims_dedup_is_ram(old) && old != HIMS_DEDUP_UNMAPPED && s->refcount[old] == 1)) {
		res->action = HIMS_DEDUP_NEED_COMMIT;
		s->nr_need_commit++;
	} else {
		res->action = HIMS_DEDUP_NOSPACE;
	}
}

void hims_dedup_write(struct hims_dedup *s, u32 lblk, u64 fp, bool is_zero,
		      hims_dedup_same_fn same_data, void *ctx,
		      struct hims_dedup_result *res)
{
	u32 old = s->map[lblk];

	res->target = HIMS_DEDUP_NONE;
	res->in_place = false;
	res->old = old;
	res->old_freed = false;

	if (is_zero) {
		res->action = HIMS_DEDUP_ZERO_FILL;
		if (old != HIMS_DEDUP_ZERO)
			remap(s, lblk, HIMS_DEDUP_ZERO, res);
		return;
	}
	if (!share_existing(s, lblk, fp, same_data, ctx, res))
		store_new(s, lblk, fp, res);
}

void hims_dedup_write_done(struct hims_dedup *s,
			   const struct hims_dedup_result *res)
{
	if (res->action != HIMS_DEDUP_WRITE && res->action != HIMS_DEDUP_SPILL)
		return;
	if (res->action == HIMS_DEDUP_WRITE)
		s->phys_flags[res->target] &= ~HIMS_DEDUP_PHYS_BUSY;
	s->nr_inflight--;
}

/*
 * Takes back the reference release() dropped from @old.  Its data is
 * intact: a freed block or slot is not reused before a commit, and no commit
 * begins while a write is in flight; a block left with one reference by
 * release() is not written in place before a commit either (phys_drop).
 * phys_drop keeps the open epoch: at worst the next write copies.
 */
static void reacquire(struct hims_dedup *s, u32 old)
{
	if (old == HIMS_DEDUP_UNMAPPED || old == HIMS_DEDUP_ZERO)
		return;
	if (hims_dedup_is_spill(old)) {
		hims_pool_undefer(&s->spill, hims_dedup_spill_slot(old));
		return;
	}
	if (!s->refcount[old]) {
		hims_pool_undefer(&s->phys, old);
		s->nr_phys_used++;
	}
	ref_set(s, old, s->refcount[old] + 1);
}

void hims_dedup_write_abort(struct hims_dedup *s, u32 lblk,
			    const struct hims_dedup_result *res)
{
	u32 t = res->target;

	if (res->action != HIMS_DEDUP_WRITE && res->action != HIMS_DEDUP_SPILL)
		return;
	s->nr_inflight--;
	if (res->action == HIMS_DEDUP_WRITE) {
		s->phys_flags[t] &= ~HIMS_DEDUP_PHYS_BUSY;
		/* What it holds now is unknown: no candidate for sharing. */
		index_remove(s, t);
	}
	/* In place, nothing else changed: the block keeps its own data. */
	if (res->in_place)
		return;
	map_set(s, lblk, res->old);
	reacquire(s, res->old);
	/* The target came from the reusable ones, and no commit saw it used. */
	if (res->action == HIMS_DEDUP_WRITE) {
		ref_set(s, t, 0);
		s->nr_phys_used--;
		hims_pool_push_ready(&s->phys, t);
	} else {
		hims_pool_push_ready(&s->spill, t);
	}
}

void hims_dedup_discard(struct hims_dedup *s, u32 lblk,
			struct hims_dedup_result *res)
{
	res->action = HIMS_DEDUP_ZERO_FILL;
	res->target = HIMS_DEDUP_NONE;
	res->in_place = false;
	res->old = s->map[lblk];
	res->old_freed = false;
	if (res->old != HIMS_DEDUP_UNMAPPED)
		remap(s, lblk, HIMS_DEDUP_UNMAPPED, res);
}

void hims_dedup_get_stats(const struct hims_dedup *s, struct hims_dedup_stats *st)
{
	st->mapped = s->nr_mapped;
	st->phys_used = s->nr_phys_used;
	st->zero = s->nr_zero;
	st->spilled = s->nr_spilled;
	st->dedup_x1000 = s->nr_phys_used ?
		(u32)div_u64((u64)s->nr_ram_refs * 1000, s->nr_phys_used) : 1000;
	st->index_bytes = hims_dedup_index_bytes(&s->cfg);
	st->index_used = s->nr_index_used;
	st->index_capacity = s->cfg.index_entries;
	st->phys_pending = hims_pool_pending(&s->phys);
	st->spill_pending = hims_pool_pending(&s->spill);
	st->hits = s->nr_hits;
	st->collisions = s->nr_collisions;
	st->evictions = s->nr_evictions;
	st->in_place = s->nr_in_place;
	st->need_commit = s->nr_need_commit;
}

/* Commits. */
bool hims_dedup_commit_needed(const struct hims_dedup *s)
{
	return s->nr_dirty_meta || hims_pool_pending(&s->phys) ||
		hims_pool_pending(&s->spill);
}

int hims_dedup_commit_begin(struct hims_dedup *s, u64 *epoch)
{
	u32 i, n = hims_dedup_meta_count(s);

	if (s->committing || s->broken || s->nr_inflight)
		return -1;
	for (i = 0; i < n; i++) {
		if (s->meta_flags[i] & HIMS_DEDUP_META_OPEN) {
			s->meta_flags[i] &= ~HIMS_DEDUP_META_OPEN;
			s->meta_flags[i] |= HIMS_DEDUP_META_COMMIT;
		}
	}
	s->nr_commit_meta = s->nr_dirty_meta;
	s->nr_dirty_meta = 0;
	hims_pool_begin(&s->phys);
	hims_pool_begin(&s->spill);
	*epoch = s->epoch++;
	s->committing = true;
	return 0;
}

u32 hims_dedup_commit_next(const struct hims_dedup *s, u32 from)
{
	u32 n = hims_dedup_meta_count(s);

	for (; from < n; from++)
		if (s->meta_flags[from] & HIMS_DEDUP_META_COMMIT)
			return from;
	return HIMS_DEDUP_NONE;
}

void hims_dedup_commit_end(struct hims_dedup *s, u64 epoch, bool ok)
{
	u32 i, n = hims_dedup_meta_count(s);

	if (!s->committing || epoch + 1 != s->epoch)
		return;
	for (i = 0; i < n; i++) {
		u8 *f = &s->meta_flags[i];

		if (!(*f & HIMS_DEDUP_META_COMMIT))
			continue;
		*f &= ~HIMS_DEDUP_META_COMMIT;
		if (ok) {
			*f ^= HIMS_DEDUP_META_LATEST1;
		} else if (!(*f & HIMS_DEDUP_META_OPEN)) {
			*f |= HIMS_DEDUP_META_OPEN;
			s->nr_dirty_meta++;
		}
	}
	s->nr_commit_meta = 0;
	hims_pool_end(&s->phys, ok);
	hims_pool_end(&s->spill, ok);
	s->committing = false;
	if (ok) {
		s->durable = epoch;
		s->record_slot ^= 1;
	} else {
		s->broken = true;
	}
}

u32 hims_dedup_meta_count(const struct hims_dedup *s)
{
	return s->nr_map_meta + s->nr_ref_meta;
}

void hims_dedup_meta_id(const struct hims_dedup *s, u32 meta,
			enum hims_dedup_meta_kind *kind, u32 *index)
{
	if (meta < s->nr_map_meta) {
		*kind = HIMS_DEDUP_META_MAP;
		*index = meta;
	} else {
		*kind = HIMS_DEDUP_META_REF;
		*index = meta - s->nr_map_meta;
	}
}

u32 hims_dedup_meta_write_slot(const struct hims_dedup *s, u32 meta)
{
	return (s->meta_flags[meta] & HIMS_DEDUP_META_LATEST1) ? 0 : 1;
}

static const u32 *meta_array(const struct hims_dedup *s, u32 meta, u32 **out,
			     u32 *nr)
{
	u32 *array = meta < s->nr_map_meta ? s->map : s->refcount;

	*nr = meta < s->nr_map_meta ? s->cfg.nr_logical : s->cfg.nr_phys;
	if (out)
		*out = array;
	return array;
}

void hims_dedup_meta_encode_state(const struct hims_dedup *s, u32 meta,
				  u64 epoch, u64 fmt_id, void *block)
{
	enum hims_dedup_meta_kind kind;
	const u32 *array;
	u32 index, nr;

	hims_dedup_meta_id(s, meta, &kind, &index);
	array = meta_array(s, meta, NULL, &nr);
	hims_dedup_meta_encode(block, kind, index, array, nr, epoch, fmt_id);
}

int hims_dedup_meta_load(struct hims_dedup *s, u32 meta, const void *slot0,
			 const void *slot1, u64 durable, u64 fmt_id,
			 enum hims_dedup_meta_err *err)
{
	enum hims_dedup_meta_kind kind;
	u32 index, nr, *array;
	u64 newest;
	int slot;

	hims_dedup_meta_id(s, meta, &kind, &index);
	meta_array(s, meta, &array, &nr);
	slot = hims_dedup_meta_choose_newest(slot0, slot1, kind, index, fmt_id,
					     durable, err, &newest);
	if (slot < 0)
		return -1;
	hims_dedup_meta_decode(slot ? slot1 : slot0, index, array, nr);
	s->meta_flags[meta] = slot ? HIMS_DEDUP_META_LATEST1 : 0;
	/* The other slot holds a copy of a commit that never ended. */
	if (newest > durable)
		s->meta_flags[meta] |= HIMS_DEDUP_META_OPEN;
	s->newest_seen = max(s->newest_seen, newest);
	return slot;
}

u32 hims_dedup_record_slot(const struct hims_dedup *s)
{
	return s->record_slot ^ 1;
}

int hims_dedup_rebuild(struct hims_dedup *s, u64 durable, u32 record_slot,
		       struct hims_dedup_report *rep)
{
	u32 nr_phys = s->cfg.nr_phys, l, p, v, i;
	u64 seen = max(durable, s->newest_seen);

	/* The free lists' links are rebuilt below: use them as scratch. */
	if (hims_dedup_check_arrays(s->map, s->cfg.nr_logical, s->refcount, nr_phys,
				    s->cfg.nr_spill, s->phys.next, s->spill.next, rep))
		return -1;
	s->nr_mapped = 0;
	s->nr_zero = 0;
	s->nr_spilled = 0;
	s->nr_ram_refs = 0;
	for (l = 0; l < s->cfg.nr_logical; l++) {
		v = s->map[l];
		if (v == HIMS_DEDUP_UNMAPPED)
			continue;
		s->nr_mapped++;
		if (v == HIMS_DEDUP_ZERO)
			s->nr_zero++;
		else if (hims_dedup_is_spill(v))
			s->nr_spilled++;
		else
			s->nr_ram_refs++;
	}
	s->nr_phys_used = 0;
	for (p = 0; p < nr_phys; p++) {
		s->nr_phys_used += !!s->refcount[p];
		s->phys_drop[p] = (u32)durable;
	}
	memset(s->phys_flags, 0, nr_phys);
	hims_pool_fill(&s->phys, s->refcount);
	/* hims_dedup_check_arrays() left each slot's owner in spill.next. */
	hims_pool_fill(&s->spill, s->spill.next);
	index_clear(s);

	/*
	 * Blocks whose other slot holds a copy of a commit that never ended
	 * are rewritten by the first commit, and epochs continue after every
	 * epoch seen: a stale copy must never pass for a durable one.
	 */
	s->nr_dirty_meta = 0;
	for (i = 0; i < hims_dedup_meta_count(s); i++) {
		s->meta_flags[i] &= HIMS_DEDUP_META_LATEST1 | HIMS_DEDUP_META_OPEN;
		s->nr_dirty_meta += !!(s->meta_flags[i] & HIMS_DEDUP_META_OPEN);
	}
	s->nr_commit_meta = 0;
	s->nr_inflight = 0;
	s->durable = durable;
	s->epoch = seen + 1;
	s->committing = false;
	s->broken = false;
	s->record_slot = record_slot & 1;
	return hims_dedup_report_ok(rep);
}
