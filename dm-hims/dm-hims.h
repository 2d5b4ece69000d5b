/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-hims: hybrid in-memory storage.
 *
 * A RAM block device in front of an SSD as one virtual disk.  Logical blocks
 * below the boundary live in RAM and are mirrored on the SSD, synchronously
 * (sync mode) or by writeback in least-recently-written order (async mode);
 * blocks above it live on the SSD only.  After a reboot the RAM tier is
 * restored from the SSD in the background while I/O is served.
 *
 * This header is internal to the module: the per-device context, the
 * per-bio data and the functions the files share.  See dm-hims.rst for the
 * table, status and messages, and dm-hims-design.rst for the design.
 */
#ifndef DM_HIMS_H
#define DM_HIMS_H

#include <linux/device-mapper.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "hims-format.h"
#include "hims-lrw.h"
#include "hims-dedup.h"
#include "hims-dedup-check.h"
#include "hims-options.h"

#define DM_MSG_PREFIX "hims"

/* Largest copy of writeback and restore: 1 MiB. */
#define HIMS_MAX_RUN		256U

enum hims_mode { HIMS_SYNC, HIMS_ASYNC };

/*
 * Locking
 * =======
 *
 * Lock order, outermost first:
 *
 *   mode_lock          (mutex)    mode changes (never held while waiting)
 *   dedup.commit_lock  (mutex)    one dedup commit at a time
 *   dedup.lock         (mutex)    the dedup core; sleeps inside (block I/O)
 *   meta.lock          (mutex)    meta.page and meta.copy_page
 *   flush_lock         (mutex)    one SSD cache flush in flight (only
 *                                 dm-bufio's own lock nests inside)
 *   lock               (spinlock, irq-safe) the block state below
 *
 * @lock is taken from map, end_io and kcopyd callbacks, so it is always
 * taken with interrupts off and nothing under it sleeps.  Fields marked
 * [lock] are written only under @lock once the device serves I/O (the
 * constructor and the first preresume set them up alone); fields marked
 * [once] are set before the device serves I/O and read without a lock;
 * [meta.lock] and [dedup.lock] name the mutexes; [restore] and [defer
 * worker] fields belong to that thread; [dm] fields are touched only from
 * the target's ctr/dtr/suspend/resume hooks, which dm core serialises.
 * READ_ONCE/WRITE_ONCE mark lockless accesses; a few reads are lockless
 * by design and say so where they are made.
 */

/* A writeback copy in flight. */
struct hims_run {
	struct hims_c *hc;
	u32 first;
	u32 len;
	u64 min_seq;
	bool active;
};

/* Per-block state and the least-recently-written order. */
struct hims_blocks {
	struct hims_lrw lrw;		/* [lock] dirty blocks, oldest first */
	u8 *state;			/* [lock] HIMS_BLK_* per physical block */
	u32 *lrw_prev;			/* [lock] storage of @lrw */
	u32 *lrw_next;
	u64 *lrw_seq;
	u8 *lrw_writing;		/* [lock] */
	u64 write_seq;			/* [lock] number of the last completed write */
};

/* The SSD's metadata as held in memory (hims-metadata.c). */
struct hims_meta {
	/*
	 * [lock] "ever written" bitmap, as on the SSD (LE).  Bits are only
	 * ever set, so map tests them without the lock: a clear bit sends the
	 * bio to the defer worker, which looks again.
	 */
	void *valid;
	void *valid_staged;	/* [defer worker] valid + bits of deferred writes */
	u64 nr_valid;		/* [lock] bits set in @valid */
	struct mutex lock;	/* meta.lock: @page, @copy_page */
	struct page *page;	/* [meta.lock] once resumed: bounce of metadata I/O */
	struct page *copy_page;	/* [meta.lock] bounce of single-block restores */
	/*
	 * [meta.lock] The RAM header says RAM is newer than the mirror
	 * (dirty, or dirty but incomplete): it must not say complete until
	 * a drain has made the mirror current.
	 */
	bool ram_newer;
};

/* Writeback to the SSD mirror and flush completion (hims-writeback.c). */
struct hims_wb {
	unsigned int high_pct;		/* [once] table options */
	unsigned int low_pct;
	unsigned int jobs;
	unsigned int max_age_ms;
	u32 high_blocks;		/* [once] the watermarks in blocks */
	u32 low_blocks;

	u64 flush_target;		/* [lock] write back every write up to this */
	u64 age_target;			/* [lock] writes up to this are too old */
	u64 age_mark_seq;		/* [lock] */
	unsigned long age_mark_time;	/* [lock] */
	struct hims_run *runs;		/* [lock] @jobs slots */
	unsigned int runs_active;	/* [lock] */
	bool active;			/* [lock] between the high and low watermarks */
	bool paused;			/* [lock] */
	bool halted;			/* [lock] suspend was killed: none until resume */
	/* The thread has work: set under [lock] or by WRITE_ONCE. */
	bool kick;
	struct bio_list flush_waiters;	/* [lock] flushes and FUA writes waiting */
	struct task_struct *thread;	/* [once] */
	wait_queue_head_t wait;		/* the thread sleeps here */
};

/* Passes over the valid bitmap before the restore gives up on a block. */
#define HIMS_RESTORE_PASSES	3U

/*
 * The one restore copy in flight.  The restore thread, or postsuspend
 * while the thread is parked, issues it and accounts for it; it lives
 * here, not on a stack, so that a parked thread or a killed suspend can
 * leave it in flight: whoever copies next waits for it first, and the
 * destructor's kcopyd client waits for it at the end.
 */
struct hims_restore_copy {
	struct completion done;
	int error;
	u32 first;
	u32 len;
	bool inflight;
};

/* The restore of the RAM tier from the mirror (hims-restore.c). */
struct hims_restore {
	/*
	 * RAM holds every block: set by the load or by the restore thread
	 * (under meta.lock), never cleared; READ_ONCE elsewhere.
	 */
	bool done;
	/*
	 * [restore] The last pass left blocks it could not copy; they stay
	 * on the SSD until a resume retries.  READ_ONCE elsewhere.
	 */
	bool gave_up;
	u64 total;			/* [lock] blocks to restore at load */
	u64 remaining;			/* [lock] */
	u32 cursor;			/* [restore] next block to look at */
	unsigned int pass;		/* [restore] passes ended so far */
	bool pass_failed;		/* [restore] a copy of this pass failed */
	struct hims_restore_copy copy;	/* [restore] */
	u64 errors;			/* [lock] failed copies, retries included */
	/*
	 * [once] created parked by the constructor, stopped by the
	 * destructor; @parked [dm]: unparked by resume, parked by postsuspend.
	 * While it is parked, postsuspend and resume own the [restore] fields.
	 */
	struct task_struct *thread;
	bool parked;
};

/* Counters shown by status; lockless. */
struct hims_stats {
	atomic64_t ram_reads;
	atomic64_t ram_writes;
	atomic64_t ssd_reads;
	atomic64_t ssd_writes;
	atomic64_t ssd_flushes;		/* every SSD flush, under flush_lock; not cleared */
};

/*
 * Dedup of the RAM tier (geo.dedup_blocks != 0): logical blocks map to
 * physical RAM blocks, and everything else (block state, LRW order,
 * writeback, restore) counts physical blocks.  The dedup worker handles
 * every write, discard and flush of the RAM tier, one block at a time under
 * @lock; reads are remapped in map unless their block is being written
 * (@busy).  See hims-dedup-glue.c.
 */
struct hims_dedup_ctx {
	/*
	 * The plain-C map, refcounts and index: changed under @lock, with
	 * the logical block's @busy bit set; map reads a block's entry
	 * under hc->lock only while its @busy bit is clear.
	 */
	struct hims_dedup core;
	void *mem;			/* [once] storage of @core */
	u32 index_entries;		/* [once] table option */
	u64 fmt_id;			/* [once] metadata instance id */
	struct mutex lock;		/* dedup.lock: @core; sleeps inside */
	struct mutex commit_lock;	/* one commit at a time */
	unsigned long *busy;		/* [hc->lock] logical blocks being written */
	struct bio_list bios;		/* [hc->lock] queued for the worker */
	struct work_struct work;
	struct work_struct commit_work;
	struct dm_bufio_client *bufio;	/* [once] metadata blocks */
	struct page *data_page;		/* [dedup.lock] the block being written */
	struct page *cmp_page;		/* [dedup.lock] a candidate to share */
	/* Jiffies of the last commit or check: a hint, without a lock. */
	unsigned long last_commit;
};

struct hims_c {
	struct dm_target *ti;
	struct dm_dev *ram_dev;
	struct dm_dev *ssd_dev;
	struct hims_geometry geo;	/* [once] */
	u8 uuid[HIMS_UUID_SIZE];	/* [once] */
	enum hims_mode mode;		/* WRITE_ONCE under mode_lock */
	/*
	 * mode_lock: mode changes, so that a failed "mode sync" restores
	 * the old mode only if no later message changed it (@mode_gen).
	 */
	struct mutex mode_lock;
	u64 mode_gen;			/* [mode_lock] mode changes so far */
	/*
	 * flush_lock: every SSD cache flush we issue, one at a time
	 * (hims_flush_ssd()), so that no two are in flight at once: a
	 * recorder such as dm-log-writes then logs the SSD's writes in the
	 * order they completed.
	 */
	struct mutex flush_lock;

	spinlock_t lock;		/* see "Locking" above */
	int error;			/* [lock] sticky: the device's error state */
	bool loaded;			/* the first preresume loaded the metadata */
	bool formatting;		/* the SSD is formatted at first resume */
	bool suspended;			/* [lock] between postsuspend and resume */

	struct hims_blocks blocks;
	struct hims_meta meta;
	struct hims_wb wb;
	struct hims_restore restore;
	struct hims_stats stats;
	struct hims_dedup_ctx dedup;

	struct bio_list deferred;	/* [lock] writes for the defer worker */
	struct bio_list held;		/* [lock] deferred, waiting to be writable */
	struct workqueue_struct *wq;	/* defer, dedup and commit work */
	struct work_struct defer_work;
	wait_queue_head_t progress_wait;	/* restore, writeback, drain progress */
	struct dm_kcopyd_client *kc;	/* writeback and restore copies */
	struct bio_set bs;		/* clones to the mirror in sync mode */
};

/* Why a table refuses a RAM device in state HIMS_RAM_DIRTY_PARTIAL. */
#define HIMS_RAM_PARTIAL_ERROR \
	"RAM device holds writes the SSD lacks but not every block (SSD errors during a restore); zero its first 4 KiB to restore from the SSD alone"

/* Per-bio data. */
#define HB_MARK_DIRTY	0x1	/* async write: dirty the blocks at completion */
#define HB_FLUSH_AFTER	0x2	/* async FUA write: complete once durable */
#define HB_FLUSH_DONE	0x4	/* we complete this bio ourselves */
#define HB_WRITING	0x8	/* a RAM-tier write counted in lrw.writing */

struct hims_bio {
	u64 first_block;
	u32 nr_blocks;
	u32 flags;
	u64 flush_seq;
};

#define HIMS_DEFER	(-1000)
#define HIMS_HELD	(-1001)

static inline struct hims_bio *hims_bio(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct hims_bio));
}

static inline bool hims_dedup_on(struct hims_c *hc)
{
	return hc->geo.dedup_blocks != 0;
}

static inline const char *mode_name(enum hims_mode mode)
{
	return mode == HIMS_SYNC ? "sync" : "async";
}

static inline sector_t block_to_sector(u64 block)
{
	return block << HIMS_BLOCK_SECTOR_SHIFT;
}

static inline sector_t hims_ssd_sector(hims_sblock_t block)
{
	return block_to_sector(hims_sblock_nr(block));
}

static inline sector_t hims_ram_sector(hims_rblock_t block)
{
	return block_to_sector(hims_rblock_nr(block));
}

static inline struct block_device *ram_bdev(struct hims_c *hc)
{
	return hc->ram_dev->bdev;
}

static inline struct block_device *ssd_bdev(struct hims_c *hc)
{
	return hc->ssd_dev->bdev;
}

/* dm-hims-target.c */
bool hims_set_error(struct hims_c *hc, int error);

/* hims-map.c */
bool hims_range_has(struct hims_c *hc, u64 first, u64 last, u8 bits);
void hims_release_held(struct hims_c *hc);
bool hims_end_write(struct hims_c *hc, u64 first, u32 nr);
int hims_map(struct dm_target *ti, struct bio *bio);
int hims_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error);
void hims_process_deferred(struct work_struct *work);

/* hims-metadata.c */
int hims_ssd_io(struct hims_c *hc, hims_sblock_t block, struct page *page, blk_opf_t opf);
int hims_ram_io(struct hims_c *hc, hims_rblock_t block, struct page *page, blk_opf_t opf);
void hims_stage_valid(struct hims_c *hc, u64 first, u64 last);
int hims_persist_valid(struct hims_c *hc, u64 first, u64 last);
int hims_write_ram_header(struct hims_c *hc, u32 state);
u32 hims_ram_done_state(struct hims_c *hc);
void hims_mirror_current(struct hims_c *hc);
int hims_load(struct hims_c *hc);
int hims_open_superblock(struct hims_c *hc, bool format, char **error);
int hims_format(struct hims_c *hc, char **error);

/* hims-writeback.c */
void hims_kick_writeback(struct hims_c *hc);
int hims_flush_ssd(struct hims_c *hc);
int hims_writeback_thread(void *data);
int hims_drain(struct hims_c *hc);
int hims_drain_killable(struct hims_c *hc);
int hims_drain_all(struct hims_c *hc);

/* hims-restore.c */
void hims_mark_restored(struct hims_c *hc, u64 first, u64 last);
int hims_restore_block(struct hims_c *hc, u64 block);
bool hims_range_not_restoring(struct hims_c *hc, u64 first, u64 last);
int hims_restore_thread(void *data);
void hims_restore_rearm(struct hims_c *hc);
bool hims_restore_quiesce(struct hims_c *hc);
bool hims_restore_finish(struct hims_c *hc);

/* hims-dedup-glue.c */
int hims_dedup_commit(struct hims_c *hc);
void hims_dedup_commit_work(struct work_struct *work);
void hims_dedup_defer(struct hims_c *hc, struct bio *bio);
void hims_dedup_worker(struct work_struct *work);
int hims_dedup_map(struct hims_c *hc, struct bio *bio, struct hims_extent *ext);
int hims_dedup_load(struct hims_c *hc);
int hims_dedup_format(struct hims_c *hc);
int hims_dedup_alloc(struct hims_c *hc, char **error);

#endif /* DM_HIMS_H */
