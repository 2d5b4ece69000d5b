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
#include "hims-layout.h"
#include "hims-lrw.h"
#include "hims-dedup.h"

#define DM_MSG_PREFIX "hims"

/* Largest copy of writeback and restore: 1 MiB. */
#define HIMS_MAX_RUN		256U

#define HIMS_DEFAULT_HIGH	50
#define HIMS_DEFAULT_LOW	45
#define HIMS_DEFAULT_JOBS	32
/* Like the page cache's dirty_expire_centisecs: old dirty data goes out. */
#define HIMS_DEFAULT_MAX_AGE	30000	/* ms */

enum hims_mode { HIMS_SYNC, HIMS_ASYNC };

/* A writeback copy in flight. */
struct hims_run {
	struct hims_c *hc;
	u32 first;
	u32 len;
	u64 min_seq;
	bool active;
};

struct hims_c {
	struct dm_target *ti;
	struct dm_dev *ram_dev;
	struct dm_dev *ssd_dev;
	struct hims_geometry geo;
	u8 uuid[HIMS_UUID_SIZE];
	enum hims_mode mode;

	/* Table options. */
	unsigned int high_pct;
	unsigned int low_pct;
	unsigned int wb_jobs;
	unsigned int max_age_ms;
	u32 high_blocks;
	u32 low_blocks;

	/* Protects everything below up to the counters. */
	spinlock_t lock;
	struct hims_lrw lrw;
	u8 *state;
	u32 *lrw_prev;
	u32 *lrw_next;
	u64 *lrw_seq;
	void *valid;		/* "ever written" bitmap, as on the SSD (LE) */
	void *valid_staged;	/* valid + bits of deferred writes (worker) */
	u64 nr_valid;
	u64 write_seq;		/* number of the last completed RAM-tier write */
	u64 flush_target;	/* write back every write up to this number */
	u64 age_target;		/* writes up to this number are too old */
	u64 age_mark_seq;
	unsigned long age_mark_time;
	struct hims_run *runs;
	unsigned int runs_active;
	bool wb_active;		/* between the high and low watermarks */
	bool wb_paused;
	bool wb_kick;
	int error;		/* sticky writeback error */
	bool loaded;
	bool suspended;
	bool restore_done;
	u64 restore_total;
	u64 restore_remaining;
	u32 restore_cursor;
	u64 restore_errors;
	struct bio_list deferred;
	struct bio_list flush_waiters;

	atomic64_t ram_reads;
	atomic64_t ram_writes;
	atomic64_t ssd_reads;
	atomic64_t ssd_writes;

	struct mutex meta_lock;	/* bitmap writes; restore thread start/stop */
	struct page *meta_page;
	struct page *copy_page;

	struct workqueue_struct *wq;
	struct work_struct defer_work;
	struct task_struct *wb_thread;
	struct task_struct *restore_thread;
	wait_queue_head_t wb_wait;
	wait_queue_head_t progress_wait;
	struct dm_kcopyd_client *kc;
	struct bio_set bs;

	/*
	 * Dedup of the RAM tier (geo.dedup_blocks): logical blocks map to
	 * physical RAM blocks, and everything above (state, LRW order,
	 * writeback, restore) counts physical blocks.  The dedup worker
	 * handles every write, discard and flush of the RAM tier, one block
	 * at a time under dd_lock; reads are remapped in map unless their
	 * block is being written (dd_busy).
	 */
	struct hims_dedup dd;
	void *dd_mem;
	u32 index_entries;
	u64 fmt_id;
	struct mutex dd_lock;		/* the dedup core; may sleep inside */
	struct mutex commit_lock;	/* one commit at a time */
	unsigned long *dd_busy;		/* under lock */
	struct bio_list dd_bios;	/* under lock */
	struct work_struct dd_work;
	struct work_struct commit_work;
	struct dm_bufio_client *bufio;
	struct page *dd_data_page;	/* the block being written */
	struct page *dd_cmp_page;	/* a candidate to share */
	unsigned long last_commit;
};

/* Per-bio data. */
#define HB_MARK_DIRTY	0x1	/* async write: dirty the blocks at completion */
#define HB_FLUSH_AFTER	0x2	/* async FUA write: complete once durable */
#define HB_FLUSH_DONE	0x4	/* we complete this bio ourselves */

struct hims_bio {
	u64 first_block;
	u32 nr_blocks;
	u32 flags;
	u64 flush_seq;
};

#define HIMS_DEFER	(-1000)

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

static inline struct block_device *ram_bdev(struct hims_c *hc)
{
	return hc->ram_dev->bdev;
}

static inline struct block_device *ssd_bdev(struct hims_c *hc)
{
	return hc->ssd_dev->bdev;
}

/* hims-map.c */
bool hims_range_has(struct hims_c *hc, u64 first, u64 last, u8 bits);
int hims_map(struct dm_target *ti, struct bio *bio);
int hims_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error);
void hims_process_deferred(struct work_struct *work);

/* hims-metadata.c */
int hims_block_io(struct block_device *bdev, u64 block, struct page *page,
		  blk_opf_t opf);
void hims_stage_valid(struct hims_c *hc, u64 first, u64 last);
int hims_persist_valid(struct hims_c *hc, u64 first, u64 last);
int hims_write_ram_header(struct hims_c *hc, u32 state);
int hims_load(struct hims_c *hc);
int hims_open_superblock(struct hims_c *hc, bool format, char **error);

/* hims-writeback.c */
void hims_kick_writeback(struct hims_c *hc);
int hims_writeback_thread(void *data);
int hims_drain(struct hims_c *hc);
int hims_drain_all(struct hims_c *hc);

/* hims-restore.c */
void hims_mark_restored(struct hims_c *hc, u64 first, u64 last);
int hims_restore_block(struct hims_c *hc, u64 block);
bool hims_range_not_restoring(struct hims_c *hc, u64 first, u64 last);
int hims_restore_thread(void *data);
void hims_stop_restore(struct hims_c *hc);

/* hims-dedup-glue.c */
int hims_dedup_commit(struct hims_c *hc);
void hims_dedup_commit_work(struct work_struct *work);
void hims_dedup_defer(struct hims_c *hc, struct bio *bio);
void hims_dedup_worker(struct work_struct *work);
int hims_dedup_map(struct hims_c *hc, struct bio *bio, struct hims_extent *ext);
int hims_dedup_load(struct hims_c *hc);
int hims_dedup_alloc(struct hims_c *hc, char **error);

#endif /* DM_HIMS_H */
