/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-hims inline deduplication of the RAM tier (plain C, no locking: the
 * caller serialises every call on one state; no allocation: the caller
 * provides one buffer of hims_dedup_mem_bytes()).
 *
 * Logical blocks map to physical blocks of the RAM device (shared, with
 * reference counts), to nothing (all zeroes) or to slots of a spill area on
 * the SSD.  A bounded fingerprint index gives candidates for sharing; a
 * candidate is only shared after the caller has compared its bytes.
 *
 * Freed physical blocks and spill slots are reused only once the metadata
 * that frees them is durable: frees of the open epoch become reusable when
 * the commit of that epoch ends (hims_dedup_commit_begin/_end).  A shared
 * block is never written in place.  See dm-hims-design.rst.
 */
#ifndef DM_HIMS_DEDUP_H
#define DM_HIMS_DEDUP_H

#include "purec.h"
#include "hims-format.h"
#include "hims-dedup-pool.h"

/* Map values: a RAM physical block number, or one of these. */
#define HIMS_DEDUP_UNMAPPED	0xffffffffU	/* never written or discarded */
#define HIMS_DEDUP_ZERO		0xfffffffeU	/* all zeroes, no storage */
#define HIMS_DEDUP_SPILLED	0x80000000U	/* | spill slot */

/* A map value that is a RAM physical block. */
static inline bool hims_dedup_is_ram(u32 v)
{
	return !(v & HIMS_DEDUP_SPILLED);
}

/* A map value that is a spill slot. */
static inline bool hims_dedup_is_spill(u32 v)
{
	return (v & HIMS_DEDUP_SPILLED) && v != HIMS_DEDUP_UNMAPPED &&
		v != HIMS_DEDUP_ZERO;
}

static inline u32 hims_dedup_spill_slot(u32 v)
{
	return v & ~HIMS_DEDUP_SPILLED;
}

/* Logical blocks, physical blocks and spill slots each at most this many. */
#define HIMS_DEDUP_MAX_BLOCKS	0x7ffffff0U

/* Entries per bucket of the fingerprint index. */
#define HIMS_DEDUP_WAYS		8U

/* One fingerprint index entry: the high half of the fingerprint. */
struct hims_dedup_ient {
	u32 tag;
	u32 phys;		/* HIMS_DEDUP_NONE: empty */
};

struct hims_dedup {
	struct hims_dedup_config cfg;
	u32 *map;		/* per logical block */
	u32 *refcount;		/* per physical block */
	u32 *phys_islot;	/* per physical block: its index entry or NONE */
	u32 *phys_drop;		/* per physical block: epoch of its last unshare */
	u8 *phys_flags;		/* per physical block: HIMS_DEDUP_PHYS_* */
	u8 *meta_flags;		/* per metadata block: HIMS_DEDUP_META_* */
	struct hims_dedup_ient *index;
	struct hims_dedup_pool phys;
	struct hims_dedup_pool spill;
	u32 nr_map_meta;	/* metadata blocks of the map, then ... */
	u32 nr_ref_meta;	/* ... of the reference counts */
	u32 index_mask;		/* buckets - 1 */

	u64 epoch;		/* the open epoch: what changes now belongs to */
	u64 durable;		/* the last epoch whose commit ended well */
	bool committing;	/* the commit of epoch - 1 is in flight */
	bool broken;		/* a commit failed: no more commits */
	u8 record_slot;		/* commit record slot holding the durable one */
	u64 newest_seen;	/* restore: newest epoch in any metadata slot */
	u32 nr_inflight;	/* WRITE and SPILL results not yet done */
	u32 nr_dirty_meta;	/* metadata blocks changed in the open epoch */
	u32 nr_commit_meta;	/* metadata blocks of the commit in flight */

	/* Status counters. */
	u32 nr_mapped;		/* logical blocks not unmapped */
	u32 nr_zero;
	u32 nr_spilled;
	u32 nr_ram_refs;	/* logical blocks held in RAM: sum of refcounts */
	u32 nr_phys_used;	/* physical blocks with a reference */
	u32 nr_index_used;
	u64 nr_hits;		/* writes shared with an existing block */
	u64 nr_collisions;	/* candidates whose bytes differed */
	u64 nr_evictions;	/* index entries pushed out by newer ones */
	u64 nr_in_place;	/* writes of unshared blocks in place */
	u64 nr_need_commit;	/* writes that had to wait for a commit */
};

#define HIMS_DEDUP_PHYS_BUSY	0x01	/* a write of its data is in flight */

#define HIMS_DEDUP_META_OPEN	0x01	/* changed in the open epoch */
#define HIMS_DEDUP_META_COMMIT	0x02	/* part of the commit in flight */
#define HIMS_DEDUP_META_LATEST1	0x04	/* slot 1 holds the durable copy */

/* Bytes of the one buffer the state lives in; 0 if @cfg is invalid. */
u64 hims_dedup_mem_bytes(const struct hims_dedup_config *cfg);
/* Of those, the fingerprint index (entries and back pointers). */
u64 hims_dedup_index_bytes(const struct hims_dedup_config *cfg);
/* Spill slots that make a RAM-full write never fail (see hims_dedup_write). */
u32 hims_dedup_spill_min(u32 nr_logical, u32 nr_phys);

/*
 * A new, empty state in @mem (hims_dedup_mem_bytes(@cfg) bytes, 8-byte
 * aligned).  Durable epoch 0, open epoch 1, every metadata block dirty: the
 * first commit formats the metadata.  Returns 0, or -1 if @cfg is invalid.
 */
int hims_dedup_init(struct hims_dedup *s, const struct hims_dedup_config *cfg,
		    void *mem);

/* Where a logical block's data is. */
enum hims_dedup_where {
	HIMS_DEDUP_AT_NONE,	/* unmapped: reads as zeroes */
	HIMS_DEDUP_AT_ZERO,	/* written zeroes: reads as zeroes */
	HIMS_DEDUP_AT_RAM,	/* *where: physical block */
	HIMS_DEDUP_AT_SPILL,	/* *where: spill slot */
};

enum hims_dedup_where hims_dedup_lookup(const struct hims_dedup *s, u32 lblk,
					u32 *where);

enum hims_dedup_action {
	HIMS_DEDUP_SHARE,	/* the data is at RAM block target: write nothing */
	HIMS_DEDUP_WRITE,	/* write the data to RAM block target */
	HIMS_DEDUP_ZERO_FILL,	/* zeroes: write nothing */
	HIMS_DEDUP_SPILL,	/* write the data to spill slot target */
	HIMS_DEDUP_NEED_COMMIT,	/* nothing changed: commit, then try again */
	HIMS_DEDUP_NOSPACE,	/* nothing changed: spill area too small */
};

struct hims_dedup_result {
	enum hims_dedup_action action;
	u32 target;		/* RAM block or spill slot, else NONE */
	bool in_place;		/* target is where the block already was */
	u32 old;		/* the block's map value before */
	bool old_freed;		/* old lost its last reference (reuse deferred) */
};

/* Compares the data being written with RAM block @phys, byte for byte. */
typedef bool (*hims_dedup_same_fn)(void *ctx, u32 phys);

/*
 * A write of a whole block @lblk whose data has fingerprint @fp, or is all
 * zeroes (@is_zero).  Decides where the data goes and updates the map,
 * reference counts and index at once.  A shared block is never the target
 * of a WRITE; an unshared one is written in place only if no other logical
 * block may still map it on disk.  After a WRITE or SPILL the caller
 * writes the data (to RAM, and in sync mode to the mirror; or to the spill
 * slot), then calls hims_dedup_write_done(), or hims_dedup_write_abort()
 * if that write failed; until then the RAM block is no
 * candidate for sharing, no commit may begin, and the caller keeps reads
 * and other writes of @lblk waiting.
 *
 * NEED_COMMIT: only blocks whose free is not yet durable are left; the
 * caller commits and calls again.  With hims_dedup_spill_min() spill slots
 * and no commit in flight, the call after a commit always succeeds.
 */
void hims_dedup_write(struct hims_dedup *s, u32 lblk, u64 fp, bool is_zero,
		      hims_dedup_same_fn same_data, void *ctx,
		      struct hims_dedup_result *res);

/* The data of a WRITE or SPILL result is written. */
void hims_dedup_write_done(struct hims_dedup *s,
			   const struct hims_dedup_result *res);
/*
 * Instead of write_done: the data of a WRITE or SPILL result of @lblk could
 * not be written.  @lblk maps its old value again, with its reference, and
 * the target is reusable again, so that the block never reads what the
 * target held before.  A write in place changed no mapping: the block then
 * holds old, new or torn data of its own, as after a failed write to a
 * disk.
 */
void hims_dedup_write_abort(struct hims_dedup *s, u32 lblk,
			    const struct hims_dedup_result *res);

/* A discard of @lblk: it becomes unmapped; res->old and old_freed only. */
void hims_dedup_discard(struct hims_dedup *s, u32 lblk,
			struct hims_dedup_result *res);

/* Adds RAM block @phys, holding data of fingerprint @fp, to the index. */
void hims_dedup_index_insert(struct hims_dedup *s, u64 fp, u32 phys);

struct hims_dedup_stats {
	u32 mapped;		/* logical blocks mapped (zero and spilled too) */
	u32 phys_used;		/* RAM blocks holding data */
	u32 zero;		/* logical blocks of zeroes */
	u32 spilled;		/* logical blocks in the spill area */
	u32 dedup_x1000;	/* 1000 * RAM-held logical blocks / phys_used */
	u64 index_bytes;	/* memory of the fingerprint index */
	u32 index_used;
	u32 index_capacity;
	u32 phys_pending;	/* freed, reusable after the next commits */
	u32 spill_pending;
	u64 hits, collisions, evictions, in_place, need_commit;
};

void hims_dedup_get_stats(const struct hims_dedup *s, struct hims_dedup_stats *st);

/*
 * Metadata commits.  begin: the open epoch's changes become the commit of
 * *epoch (returned) and a new epoch opens.  Under the same lock the caller
 * encodes every block hims_dedup_commit_next() names into the slot it
 * names, so that the commit is a snapshot; then it makes the data durable,
 * writes the blocks, flushes, and writes the commit record into
 * hims_dedup_record_slot().  end: blocks freed in that epoch become
 * reusable (ok) or never (a failed commit: no further commits).  begin
 * returns -1 while a commit or a write (see hims_dedup_write) is in
 * flight, or after a failed commit.
 */
bool hims_dedup_commit_needed(const struct hims_dedup *s);
int hims_dedup_commit_begin(struct hims_dedup *s, u64 *epoch);
/* The first metadata block >= @from of the commit in flight, or NONE. */
u32 hims_dedup_commit_next(const struct hims_dedup *s, u32 from);
void hims_dedup_commit_end(struct hims_dedup *s, u64 epoch, bool ok);

u32 hims_dedup_meta_count(const struct hims_dedup *s);
/* Metadata block @meta: its kind and index within that kind. */
void hims_dedup_meta_id(const struct hims_dedup *s, u32 meta,
			enum hims_dedup_meta_kind *kind, u32 *index);
/* The slot the commit in flight writes @meta to. */
u32 hims_dedup_meta_write_slot(const struct hims_dedup *s, u32 meta);

/* The state's metadata block @meta, for the commit of @epoch. */
void hims_dedup_meta_encode_state(const struct hims_dedup *s, u32 meta,
				  u64 epoch, u64 fmt_id, void *block);
/*
 * Loads metadata block @meta from its two slots; returns the slot or -1.
 * A block whose other slot holds a copy newer than @durable (of a commit
 * that never ended) is marked for rewriting by the first commit.
 */
int hims_dedup_meta_load(struct hims_dedup *s, u32 meta, const void *slot0,
			 const void *slot1, u64 durable, u64 fmt_id,
			 enum hims_dedup_meta_err *err);

/* Commit records: two slots, written alternately. */
u32 hims_dedup_record_slot(const struct hims_dedup *s);

struct hims_dedup_report;

/*
 * After a restore has loaded every metadata block (hims_dedup_meta_load)
 * of the durable commit @durable from record slot @record_slot (none for
 * epoch 0, format's empty state: right after hims_dedup_init()): checks
 * them and rebuilds free lists and counters; the index starts empty.
 * The next epoch is newer than any epoch found in a metadata slot.
 * Returns 0, or -1 with the first inconsistency in @rep.
 */
int hims_dedup_rebuild(struct hims_dedup *s, u64 durable, u32 record_slot,
		       struct hims_dedup_report *rep);

#endif /* DM_HIMS_DEDUP_H */
