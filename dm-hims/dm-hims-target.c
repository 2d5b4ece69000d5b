// SPDX-License-Identifier: GPL-2.0
/*
 * dm-hims: hybrid in-memory storage.
 *
 * A RAM block device in front of an SSD as one virtual disk.  Logical blocks
 * below the boundary live in RAM and are mirrored on the SSD, synchronously
 * (sync mode) or by writeback in least-recently-written order (async mode);
 * blocks above it live on the SSD only.  After a reboot the RAM tier is
 * restored from the SSD in the background while I/O is served.
 *
 * See dm-hims.rst for the table, status and messages.
 */
#include <linux/module.h>
#include <linux/device-mapper.h>
#include <linux/dm-kcopyd.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/kthread.h>
#include <linux/vmalloc.h>
#include <linux/uuid.h>
#include <linux/jiffies.h>
#include <linux/dm-bufio.h>
#include <linux/xxhash.h>

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

static struct hims_bio *hims_bio(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct hims_bio));
}

static bool hims_dedup_on(struct hims_c *hc)
{
	return hc->geo.dedup_blocks != 0;
}

static int hims_dedup_map(struct hims_c *hc, struct bio *bio, struct hims_extent *ext);
static bool hims_range_not_restoring(struct hims_c *hc, u64 first, u64 last);

static const char *mode_name(enum hims_mode mode)
{
	return mode == HIMS_SYNC ? "sync" : "async";
}

static sector_t block_to_sector(u64 block)
{
	return block << HIMS_BLOCK_SECTOR_SHIFT;
}

static struct block_device *ram_bdev(struct hims_c *hc)
{
	return hc->ram_dev->bdev;
}

static struct block_device *ssd_bdev(struct hims_c *hc)
{
	return hc->ssd_dev->bdev;
}

/* Synchronous one-block I/O for metadata and on-demand restore. */
static int hims_block_io(struct block_device *bdev, u64 block, struct page *page,
			 blk_opf_t opf)
{
	struct bio_vec bvec;
	struct bio bio;
	int r;

	bio_init(&bio, bdev, &bvec, 1, opf);
	bio.bi_iter.bi_sector = block_to_sector(block);
	__bio_add_page(&bio, page, HIMS_BLOCK_SIZE, 0);
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	return r;
}

static void hims_kick_writeback(struct hims_c *hc)
{
	WRITE_ONCE(hc->wb_kick, true);
	wake_up(&hc->wb_wait);
}

/* Every write numbered up to the result is on the SSD (lock held). */
static u64 hims_durable_seq(struct hims_c *hc)
{
	u64 oldest = hims_lrw_oldest_seq(&hc->lrw);
	unsigned int i;

	for (i = 0; i < hc->wb_jobs; i++)
		if (hc->runs[i].active)
			oldest = min(oldest, hc->runs[i].min_seq);
	return oldest == ~0ULL ? hc->write_seq : oldest - 1;
}

static bool hims_range_valid(struct hims_c *hc, u64 first, u64 last)
{
	return find_next_zero_bit_le(hc->valid, last + 1, first) > last;
}

/* Lock held. */
static bool hims_range_has(struct hims_c *hc, u64 first, u64 last, u8 bits)
{
	u64 b;

	for (b = first; b <= last; b++)
		if (hc->state[b] & bits)
			return true;
	return false;
}

/* Lock held: the blocks' RAM copies are now authoritative. */
static void hims_mark_restored(struct hims_c *hc, u64 first, u64 last)
{
	u64 b;

	if (hc->restore_done)
		return;
	for (b = first; b <= last; b++) {
		if (hc->state[b] & HIMS_BLK_RESTORED)
			continue;
		hc->state[b] |= HIMS_BLK_RESTORED;
		if (test_bit_le(b, hc->valid))
			hc->restore_remaining--;
	}
}

/* A block partly covered by the bio whose RAM copy is not yet restored. */
static bool hims_needs_partial_restore(struct hims_c *hc, struct bio *bio,
				       u64 first, u64 last, sector_t sector)
{
	sector_t end = sector + bio_sectors(bio);

	if (hc->restore_done)
		return false;
	if ((sector & (HIMS_SECTORS_PER_BLOCK - 1)) &&
	    test_bit_le(first, hc->valid) && !(hc->state[first] & HIMS_BLK_RESTORED))
		return true;
	if ((end & (HIMS_SECTORS_PER_BLOCK - 1)) &&
	    test_bit_le(last, hc->valid) && !(hc->state[last] & HIMS_BLK_RESTORED))
		return true;
	return false;
}

/*
 * Route a RAM-tier write.  Returns DM_MAPIO_REMAPPED (the bio goes to RAM,
 * with a chained clone to the SSD mirror in sync mode) or HIMS_DEFER when
 * the worker must first persist valid bits or restore a block.
 */
static int hims_write_ram_tier(struct hims_c *hc, struct bio *bio,
			       struct hims_extent *ext, gfp_t gfp)
{
	struct hims_bio *hb = hims_bio(bio);
	u64 first = ext->block;
	u64 last = (bio_end_sector(bio) - 1) >> HIMS_BLOCK_SECTOR_SHIFT;
	unsigned long flags;
	bool write_through;
	struct bio *clone;

	if (!hims_range_valid(hc, first, last))
		return HIMS_DEFER;

	spin_lock_irqsave(&hc->lock, flags);
	if (!hc->restore_done) {
		if (hims_range_has(hc, first, last, HIMS_BLK_RESTORING) ||
		    hims_needs_partial_restore(hc, bio, first, last, bio->bi_iter.bi_sector)) {
			spin_unlock_irqrestore(&hc->lock, flags);
			return HIMS_DEFER;
		}
		hims_mark_restored(hc, first, last);
	}
	/*
	 * A block with an older copy still to be written back keeps going
	 * through writeback, so that copy can never land after this one.
	 */
	write_through = hc->mode == HIMS_SYNC &&
		!hims_range_has(hc, first, last, HIMS_BLK_DIRTY | HIMS_BLK_WRITEBACK);
	spin_unlock_irqrestore(&hc->lock, flags);

	if (write_through) {
		clone = bio_alloc_clone(ssd_bdev(hc), bio, gfp, &hc->bs);
		if (!clone)
			return HIMS_DEFER;
		clone->bi_iter.bi_sector = ext->ssd_sector;
		bio_chain(clone, bio);
		submit_bio_noacct(clone);
	} else {
		hb->first_block = first;
		hb->nr_blocks = last - first + 1;
		hb->flags |= HB_MARK_DIRTY;
		/*
		 * FUA, and in sync mode a block still on its way through
		 * writeback: complete only once the SSD has it.
		 */
		if (bio->bi_opf & REQ_FUA || hc->mode == HIMS_SYNC) {
			bio->bi_opf &= ~REQ_FUA;
			hb->flags |= HB_FLUSH_AFTER;
		}
	}
	atomic64_inc(&hc->ram_writes);
	bio_set_dev(bio, ram_bdev(hc));
	bio->bi_iter.bi_sector = ext->ram_sector;
	return DM_MAPIO_REMAPPED;
}

/*
 * Route a bio whose sector is already relative to the target.  May cut the
 * bio (only when called from map, where @in_map is true).
 */
static int hims_route(struct hims_c *hc, struct bio *bio, bool in_map, gfp_t gfp)
{
	struct hims_extent ext;
	unsigned long flags;
	u64 b, last;
	bool from_ssd;

	hims_map_extent(&hc->geo, bio->bi_iter.bi_sector, bio_sectors(bio), &ext);
	if (ext.nr_sectors < bio_sectors(bio)) {
		if (WARN_ON_ONCE(!in_map))
			return -EIO;
		dm_accept_partial_bio(bio, ext.nr_sectors);
	}

	if (ext.tier == HIMS_TIER_RAM && hims_dedup_on(hc))
		return hims_dedup_map(hc, bio, &ext);

	if (ext.tier == HIMS_TIER_SSD) {
		if (bio_op(bio) == REQ_OP_DISCARD && !bdev_max_discard_sectors(ssd_bdev(hc))) {
			bio_endio(bio);	/* a hint the SSD cannot take */
			return DM_MAPIO_SUBMITTED;
		}
		atomic64_inc(op_is_write(bio_op(bio)) ? &hc->ssd_writes : &hc->ssd_reads);
		bio_set_dev(bio, ssd_bdev(hc));
		bio->bi_iter.bi_sector = ext.ssd_sector;
		return DM_MAPIO_REMAPPED;
	}

	if (op_is_write(bio_op(bio)))
		return hims_write_ram_tier(hc, bio, &ext, gfp);

	atomic64_inc(&hc->ram_reads);
	from_ssd = false;
	if (!READ_ONCE(hc->restore_done)) {
		/* Blocks not yet restored are read from the SSD mirror. */
		last = (bio_end_sector(bio) - 1) >> HIMS_BLOCK_SECTOR_SHIFT;
		spin_lock_irqsave(&hc->lock, flags);
		from_ssd = test_bit_le(ext.block, hc->valid) &&
			!(hc->state[ext.block] & HIMS_BLK_RESTORED);
		for (b = ext.block + 1; b <= last; b++)
			if ((test_bit_le(b, hc->valid) &&
			     !(hc->state[b] & HIMS_BLK_RESTORED)) != from_ssd)
				break;
		spin_unlock_irqrestore(&hc->lock, flags);
		if (b <= last) {
			if (WARN_ON_ONCE(!in_map))
				return -EIO;
			dm_accept_partial_bio(bio, block_to_sector(b) - bio->bi_iter.bi_sector);
		}
	}
	if (from_ssd) {
		bio_set_dev(bio, ssd_bdev(hc));
		bio->bi_iter.bi_sector = ext.ssd_sector;
	} else {
		bio_set_dev(bio, ram_bdev(hc));
		bio->bi_iter.bi_sector = ext.ram_sector;
	}
	return DM_MAPIO_REMAPPED;
}

/*
 * Dedup of the RAM tier.  Everything here runs in the dedup worker or in
 * commits, in process context; dd_lock serialises the dedup core.
 */
static int hims_drain(struct hims_c *hc);

static sector_t hims_spill_sector(struct hims_c *hc, u32 slot)
{
	return block_to_sector(hc->geo.spill_start + slot);
}

/* Lock held: the physical block's current data is on the SSD mirror only. */
static bool hims_phys_on_ssd(struct hims_c *hc, u32 phys)
{
	return !hc->restore_done && test_bit_le(phys, hc->valid) &&
		!(hc->state[phys] & HIMS_BLK_RESTORED);
}

/* Reads physical block @phys (RAM, or the mirror before its restore). */
static int hims_read_phys(struct hims_c *hc, u32 phys, struct page *page)
{
	bool on_ssd;

	spin_lock_irq(&hc->lock);
	on_ssd = hims_phys_on_ssd(hc, phys);
	spin_unlock_irq(&hc->lock);
	if (on_ssd)
		return hims_block_io(ssd_bdev(hc), hc->geo.mirror_start + phys, page,
				     REQ_OP_READ);
	return hims_block_io(ram_bdev(hc), 1 + phys, page, REQ_OP_READ);
}

static bool hims_same_data(void *ctx, u32 phys)
{
	struct hims_c *hc = ctx;

	if (hims_read_phys(hc, phys, hc->dd_cmp_page))
		return false;	/* cannot compare: do not share */
	return !memcmp(page_address(hc->dd_cmp_page), page_address(hc->dd_data_page),
		       HIMS_BLOCK_SIZE);
}

/* dd_lock held: the current data of logical block @lblk into @page. */
static int hims_dedup_read_block(struct hims_c *hc, u32 lblk, struct page *page)
{
	u32 where;

	switch (hims_dedup_lookup(&hc->dd, lblk, &where)) {
	case HIMS_DEDUP_AT_RAM:
		return hims_read_phys(hc, where, page);
	case HIMS_DEDUP_AT_SPILL:
		return hims_block_io(ssd_bdev(hc), hc->geo.spill_start + where, page,
				     REQ_OP_READ);
	default:
		memset(page_address(page), 0, HIMS_BLOCK_SIZE);
		return 0;
	}
}

/*
 * Commit the dedup metadata (see DEDUP-DESIGN.md): snapshot the changed
 * metadata blocks into their non-durable slots, make the data they point to
 * durable, write them, then the commit record.  Also what a flush does.
 */
static int hims_dedup_commit(struct hims_c *hc)
{
	struct dm_buffer *bp;
	u32 meta, slot;
	void *data;
	u64 epoch;
	int r = 0;

	mutex_lock(&hc->commit_lock);
	mutex_lock(&hc->dd_lock);
	if (!hims_dedup_commit_needed(&hc->dd)) {
		mutex_unlock(&hc->dd_lock);
		r = hims_drain(hc);
		goto out;
	}
	if (hims_dedup_commit_begin(&hc->dd, &epoch)) {
		mutex_unlock(&hc->dd_lock);
		r = -EIO;
		goto out;
	}
	for (meta = hims_dedup_commit_next(&hc->dd, 0); meta != HIMS_DEDUP_NONE;
	     meta = hims_dedup_commit_next(&hc->dd, meta + 1)) {
		slot = hims_dedup_meta_write_slot(&hc->dd, meta);
		data = dm_bufio_new(hc->bufio, 2 + 2 * meta + slot, &bp);
		if (IS_ERR(data)) {
			r = PTR_ERR(data);
			break;
		}
		hims_dedup_meta_encode_state(&hc->dd, meta, epoch, hc->fmt_id, data);
		dm_bufio_mark_buffer_dirty(bp);
		dm_bufio_release(bp);
	}
	mutex_unlock(&hc->dd_lock);

	/* The data first, so no durable map entry points at stale data. */
	if (!r)
		r = hims_drain(hc);
	if (!r)
		r = dm_bufio_write_dirty_buffers(hc->bufio);
	if (!r)
		r = dm_bufio_issue_flush(hc->bufio);
	if (!r) {
		mutex_lock(&hc->meta_lock);
		hims_dedup_record_encode(page_address(hc->meta_page), &hc->dd.cfg, epoch,
					 hc->fmt_id);
		r = hims_block_io(ssd_bdev(hc),
				  hc->geo.dedup_start + hims_dedup_record_slot(&hc->dd),
				  hc->meta_page, REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
		mutex_unlock(&hc->meta_lock);
	}
	mutex_lock(&hc->dd_lock);
	hims_dedup_commit_end(&hc->dd, epoch, !r);
	mutex_unlock(&hc->dd_lock);
	if (r) {
		DMERR("dedup metadata commit failed: %d; device in error state", r);
		spin_lock_irq(&hc->lock);
		if (!hc->error)
			hc->error = r;
		spin_unlock_irq(&hc->lock);
	}
out:
	hc->last_commit = jiffies;
	mutex_unlock(&hc->commit_lock);
	return r;
}

/* Periodic: frees become reusable and mappings durable without a flush. */
static void hims_dedup_commit_work(struct work_struct *work)
{
	struct hims_c *hc = container_of(work, struct hims_c, commit_work);
	bool needed;

	mutex_lock(&hc->dd_lock);
	needed = hims_dedup_commit_needed(&hc->dd);
	mutex_unlock(&hc->dd_lock);
	if (needed)
		hims_dedup_commit(hc);
	else
		hc->last_commit = jiffies;
}

static void hims_dedup_busy(struct hims_c *hc, u32 lblk, bool busy)
{
	spin_lock_irq(&hc->lock);
	if (busy)
		__set_bit(lblk, hc->dd_busy);
	else
		__clear_bit(lblk, hc->dd_busy);
	spin_unlock_irq(&hc->lock);
}

/* Copy @len bytes at byte @skip of the bio's data to or from @buf. */
static void hims_bio_copy(struct bio *bio, unsigned int skip, void *buf,
			  unsigned int len, bool to_bio)
{
	struct bvec_iter iter = bio->bi_iter;
	struct bio_vec bv;
	unsigned int n;
	void *p;

	bio_advance_iter(bio, &iter, skip);
	while (len) {
		bv = bio_iter_iovec(bio, iter);
		n = min(len, bv.bv_len);
		p = bvec_kmap_local(&bv);
		if (to_bio)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		kunmap_local(p);
		buf += n;
		len -= n;
		bio_advance_iter(bio, &iter, n);
	}
}

/* Writes the data page where the dedup core decided; dd_lock held. */
static int hims_dedup_store(struct hims_c *hc, struct hims_dedup_result *res)
{
	u32 phys = res->target;
	unsigned long flags;
	int r;

	if (res->action == HIMS_DEDUP_SPILL)
		return hims_block_io(ssd_bdev(hc), hc->geo.spill_start + phys,
				     hc->dd_data_page, REQ_OP_WRITE);

	/* A block being restored is copied over by the restorer: wait. */
	wait_event(hc->progress_wait, hims_range_not_restoring(hc, phys, phys));
	spin_lock_irqsave(&hc->lock, flags);
	hims_mark_restored(hc, phys, phys);
	if (!test_bit_le(phys, hc->valid)) {
		__set_bit_le(phys, hc->valid);
		hc->nr_valid++;
	}
	spin_unlock_irqrestore(&hc->lock, flags);

	r = hims_block_io(ram_bdev(hc), 1 + phys, hc->dd_data_page, REQ_OP_WRITE);
	if (r)
		return r;
	if (READ_ONCE(hc->mode) == HIMS_SYNC) {
		spin_lock_irqsave(&hc->lock, flags);
		r = hims_range_has(hc, phys, phys, HIMS_BLK_DIRTY | HIMS_BLK_WRITEBACK);
		spin_unlock_irqrestore(&hc->lock, flags);
		if (!r)
			return hims_block_io(ssd_bdev(hc), hc->geo.mirror_start + phys,
					     hc->dd_data_page, REQ_OP_WRITE);
	}
	spin_lock_irqsave(&hc->lock, flags);
	hims_lrw_mark_dirty(&hc->lrw, phys, ++hc->write_seq);
	r = hc->lrw.nr_dirty > hc->high_blocks;
	spin_unlock_irqrestore(&hc->lock, flags);
	if (r)
		hims_kick_writeback(hc);
	return 0;
}

/* One logical block of a write: @skip bytes into the bio, @len bytes. */
static int hims_dedup_write_block(struct hims_c *hc, struct bio *bio, u32 lblk,
				  unsigned int offset, unsigned int skip,
				  unsigned int len)
{
	void *data = page_address(hc->dd_data_page);
	struct hims_dedup_result res;
	bool is_zero;
	u64 fp;
	int r;

	hims_dedup_busy(hc, lblk, true);
	for (;;) {
		r = 0;
		mutex_lock(&hc->dd_lock);
		if (len < HIMS_BLOCK_SIZE) {
			r = hims_dedup_read_block(hc, lblk, hc->dd_data_page);
			if (r)
				break;
		}
		hims_bio_copy(bio, skip, data + offset, len, false);
		is_zero = !memchr_inv(data, 0, HIMS_BLOCK_SIZE);
		fp = is_zero ? 0 : xxh64(data, HIMS_BLOCK_SIZE, 0);
		hims_dedup_write(&hc->dd, lblk, fp, is_zero, hims_same_data, hc, &res);
		if (res.action != HIMS_DEDUP_NEED_COMMIT)
			break;
		mutex_unlock(&hc->dd_lock);
		r = hims_dedup_commit(hc);
		if (r)
			goto out;
	}
	if (!r) {
		if (res.action == HIMS_DEDUP_NOSPACE) {
			r = -ENOSPC;
		} else if (res.action == HIMS_DEDUP_WRITE || res.action == HIMS_DEDUP_SPILL) {
			r = hims_dedup_store(hc, &res);
			hims_dedup_write_done(&hc->dd, &res);
		}
	}
	mutex_unlock(&hc->dd_lock);
out:
	hims_dedup_busy(hc, lblk, false);
	return r;
}

static int hims_dedup_discard_bio(struct hims_c *hc, struct bio *bio)
{
	u64 first = DIV_ROUND_UP_ULL(bio->bi_iter.bi_sector, HIMS_SECTORS_PER_BLOCK);
	u64 end = bio_end_sector(bio) >> HIMS_BLOCK_SECTOR_SHIFT;
	struct hims_dedup_result res;
	u64 lblk;

	/* Only whole blocks are unmapped: discard is a hint. */
	for (lblk = first; lblk < end; lblk++) {
		hims_dedup_busy(hc, lblk, true);
		mutex_lock(&hc->dd_lock);
		hims_dedup_discard(&hc->dd, lblk, &res);
		mutex_unlock(&hc->dd_lock);
		hims_dedup_busy(hc, lblk, false);
	}
	return 0;
}

static int hims_dedup_write_bio(struct hims_c *hc, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector;
	unsigned int done = 0, size = bio->bi_iter.bi_size, offset, len;
	u32 lblk;
	int r = 0;

	while (done < size && !r) {
		lblk = (sector << SECTOR_SHIFT) / HIMS_BLOCK_SIZE;
		offset = (sector << SECTOR_SHIFT) % HIMS_BLOCK_SIZE;
		len = min(size - done, HIMS_BLOCK_SIZE - offset);
		r = hims_dedup_write_block(hc, bio, lblk, offset, done, len);
		done += len;
		sector += len >> SECTOR_SHIFT;
	}
	if (!r && bio->bi_opf & REQ_FUA)
		r = hims_dedup_commit(hc);
	return r;
}

/*
 * Route a read of the dedup RAM tier; lock held.  Maps the longest prefix
 * of blocks stored alike and contiguously.  Returns DM_MAPIO_REMAPPED, or
 * DM_MAPIO_SUBMITTED when the bio was completed (zeroes), or HIMS_DEFER
 * when its first block is being written.
 */
static int hims_dedup_route_read(struct hims_c *hc, struct bio *bio, bool in_map)
{
	sector_t sector = bio->bi_iter.bi_sector;
	u64 first = sector >> HIMS_BLOCK_SECTOR_SHIFT;
	u64 last = (bio_end_sector(bio) - 1) >> HIMS_BLOCK_SECTOR_SHIFT;
	enum hims_dedup_where kind, k;
	u32 where, w;
	bool on_ssd;
	u64 b;

	if (test_bit(first, hc->dd_busy))
		return HIMS_DEFER;
	kind = hims_dedup_lookup(&hc->dd, first, &where);
	if (kind == HIMS_DEDUP_AT_NONE)
		kind = HIMS_DEDUP_AT_ZERO;
	on_ssd = kind == HIMS_DEDUP_AT_RAM && hims_phys_on_ssd(hc, where);
	for (b = first + 1; b <= last; b++) {
		if (test_bit(b, hc->dd_busy))
			break;
		k = hims_dedup_lookup(&hc->dd, b, &w);
		if (k == HIMS_DEDUP_AT_NONE)
			k = HIMS_DEDUP_AT_ZERO;
		if (k != kind)
			break;
		if (k != HIMS_DEDUP_AT_ZERO &&
		    (w != where + (b - first) ||
		     (k == HIMS_DEDUP_AT_RAM && hims_phys_on_ssd(hc, w) != on_ssd)))
			break;
	}
	if (b <= last) {
		if (WARN_ON_ONCE(!in_map))
			return -EIO;
		dm_accept_partial_bio(bio, block_to_sector(b) - sector);
	}
	sector &= HIMS_SECTORS_PER_BLOCK - 1;
	switch (kind) {
	case HIMS_DEDUP_AT_RAM:
		if (on_ssd) {
			bio_set_dev(bio, ssd_bdev(hc));
			bio->bi_iter.bi_sector =
				block_to_sector(hc->geo.mirror_start + where) + sector;
		} else {
			bio_set_dev(bio, ram_bdev(hc));
			bio->bi_iter.bi_sector = block_to_sector(1 + where) + sector;
		}
		return DM_MAPIO_REMAPPED;
	case HIMS_DEDUP_AT_SPILL:
		bio_set_dev(bio, ssd_bdev(hc));
		bio->bi_iter.bi_sector = hims_spill_sector(hc, where) + sector;
		return DM_MAPIO_REMAPPED;
	default:
		zero_fill_bio(bio);
		return DM_MAPIO_SUBMITTED;
	}
}

/* Queue a bio for the dedup worker (writes, discards, flushes, busy reads). */
static void hims_dedup_defer(struct hims_c *hc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&hc->lock, flags);
	bio_list_add(&hc->dd_bios, bio);
	spin_unlock_irqrestore(&hc->lock, flags);
	queue_work(hc->wq, &hc->dd_work);
}

static void hims_dedup_complete(struct bio *bio, int r)
{
	hims_bio(bio)->flags |= HB_FLUSH_DONE;
	bio->bi_status = errno_to_blk_status(r);
	bio_endio(bio);
}

static void hims_dedup_worker(struct work_struct *work)
{
	struct hims_c *hc = container_of(work, struct hims_c, dd_work);
	struct bio_list bios;
	struct bio *bio;
	int r;

	spin_lock_irq(&hc->lock);
	bios = hc->dd_bios;
	bio_list_init(&hc->dd_bios);
	spin_unlock_irq(&hc->lock);

	while ((bio = bio_list_pop(&bios))) {
		if (bio->bi_opf & REQ_PREFLUSH) {
			hims_dedup_complete(bio, hims_dedup_commit(hc));
		} else if (bio_op(bio) == REQ_OP_DISCARD) {
			hims_dedup_complete(bio, hims_dedup_discard_bio(hc, bio));
		} else if (op_is_write(bio_op(bio))) {
			r = hims_dedup_write_bio(hc, bio);
			if (r)
				DMERR_LIMIT("dedup write failed: %d", r);
			hims_dedup_complete(bio, r);
		} else {
			/* A read that waited for a write of its block. */
			mutex_lock(&hc->dd_lock);
			spin_lock_irq(&hc->lock);
			r = hims_dedup_route_read(hc, bio, false);
			spin_unlock_irq(&hc->lock);
			mutex_unlock(&hc->dd_lock);
			if (r == DM_MAPIO_REMAPPED)
				dm_submit_bio_remap(bio, NULL);
			else if (r == DM_MAPIO_SUBMITTED)
				hims_dedup_complete(bio, 0);
			else
				hims_dedup_complete(bio, -EIO);
		}
	}
}

/* map() of a RAM-tier bio with dedup on. */
static int hims_dedup_map(struct hims_c *hc, struct bio *bio, struct hims_extent *ext)
{
	unsigned long flags;
	int r;

	if (op_is_write(bio_op(bio)) || bio_op(bio) == REQ_OP_DISCARD) {
		if (ext->nr_sectors < bio_sectors(bio))
			dm_accept_partial_bio(bio, ext->nr_sectors);
		atomic64_inc(&hc->ram_writes);
		hims_dedup_defer(hc, bio);
		return DM_MAPIO_SUBMITTED;
	}
	atomic64_inc(&hc->ram_reads);
	if (ext->nr_sectors < bio_sectors(bio))
		dm_accept_partial_bio(bio, ext->nr_sectors);
	spin_lock_irqsave(&hc->lock, flags);
	r = hims_dedup_route_read(hc, bio, true);
	if (r == HIMS_DEFER) {
		/* Just the busy block waits for the worker. */
		dm_accept_partial_bio(bio, min_t(u32, bio_sectors(bio), HIMS_SECTORS_PER_BLOCK -
			(bio->bi_iter.bi_sector & (HIMS_SECTORS_PER_BLOCK - 1))));
		bio_list_add(&hc->dd_bios, bio);
		spin_unlock_irqrestore(&hc->lock, flags);
		queue_work(hc->wq, &hc->dd_work);
		return DM_MAPIO_SUBMITTED;
	}
	spin_unlock_irqrestore(&hc->lock, flags);
	if (r == DM_MAPIO_SUBMITTED)
		bio_endio(bio);
	return r;
}

static void hims_defer(struct hims_c *hc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&hc->lock, flags);
	bio_list_add(&hc->deferred, bio);
	spin_unlock_irqrestore(&hc->lock, flags);
	queue_work(hc->wq, &hc->defer_work);
}

/* Lock held. */
static void hims_add_flush_waiter(struct hims_c *hc, struct bio *bio, u64 seq)
{
	hims_bio(bio)->flush_seq = seq;
	bio_list_add(&hc->flush_waiters, bio);
	hc->flush_target = max(hc->flush_target, seq);
	hc->wb_kick = true;
}

static int hims_map_flush(struct hims_c *hc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&hc->lock, flags);
	if (hc->error) {
		spin_unlock_irqrestore(&hc->lock, flags);
		return DM_MAPIO_KILL;
	}
	if (!hc->lrw.nr_dirty && !hc->lrw.nr_writeback) {
		spin_unlock_irqrestore(&hc->lock, flags);
		bio_set_dev(bio, ssd_bdev(hc));
		return DM_MAPIO_REMAPPED;
	}
	hims_add_flush_waiter(hc, bio, hc->write_seq);
	spin_unlock_irqrestore(&hc->lock, flags);
	wake_up(&hc->wb_wait);
	return DM_MAPIO_SUBMITTED;
}

static int hims_map(struct dm_target *ti, struct bio *bio)
{
	struct hims_c *hc = ti->private;
	int r;

	hims_bio(bio)->flags = 0;
	if (bio->bi_opf & REQ_PREFLUSH) {
		if (!hims_dedup_on(hc))
			return hims_map_flush(hc, bio);
		/* Ordered after the dedup worker's writes: a commit. */
		hims_dedup_defer(hc, bio);
		return DM_MAPIO_SUBMITTED;
	}

	bio->bi_iter.bi_sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	r = hims_route(hc, bio, true, GFP_NOWAIT);
	if (r == HIMS_DEFER) {
		hims_defer(hc, bio);
		return DM_MAPIO_SUBMITTED;
	}
	return r;
}

static int hims_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct hims_c *hc = ti->private;
	struct hims_bio *hb = hims_bio(bio);
	unsigned long flags;
	bool wake, held = false;
	u64 b, seq;

	if (hb->flags & HB_FLUSH_DONE || !(hb->flags & HB_MARK_DIRTY) || *error)
		return DM_ENDIO_DONE;

	spin_lock_irqsave(&hc->lock, flags);
	seq = ++hc->write_seq;
	for (b = hb->first_block; b < hb->first_block + hb->nr_blocks; b++)
		hims_lrw_mark_dirty(&hc->lrw, b, seq);
	if (hb->flags & HB_FLUSH_AFTER) {
		hims_add_flush_waiter(hc, bio, seq);
		held = true;
	}
	wake = held || hc->lrw.nr_dirty > hc->high_blocks;
	spin_unlock_irqrestore(&hc->lock, flags);
	if (wake)
		hims_kick_writeback(hc);
	return held ? DM_ENDIO_INCOMPLETE : DM_ENDIO_DONE;
}

/* Worker only: the blocks of a deferred write are to become valid. */
static void hims_stage_valid(struct hims_c *hc, u64 first, u64 last)
{
	u64 b;

	for (b = first; b <= last; b++)
		__set_bit_le(b, hc->valid_staged);
}

/*
 * Worker only: make the staged valid bits of every bitmap block touching
 * [first, last] durable before any write to those blocks completes, so a
 * restore after a power cut copies them.  One bitmap write covers every
 * write of the batch that stages bits in the same bitmap block.
 */
static int hims_persist_valid(struct hims_c *hc, u64 first, u64 last)
{
	u64 bitmap_block, base, b;
	void *staged, *buf = page_address(hc->meta_page);
	int r = 0;

	for (bitmap_block = first / HIMS_BITS_PER_BLOCK;
	     bitmap_block <= last / HIMS_BITS_PER_BLOCK; bitmap_block++) {
		staged = hc->valid_staged + bitmap_block * HIMS_BLOCK_SIZE;
		if (!memcmp(staged, hc->valid + bitmap_block * HIMS_BLOCK_SIZE,
			    HIMS_BLOCK_SIZE))
			continue;
		mutex_lock(&hc->meta_lock);
		memcpy(buf, staged, HIMS_BLOCK_SIZE);
		r = hims_block_io(ssd_bdev(hc), hc->geo.bitmap_start + bitmap_block,
				  hc->meta_page, REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
		mutex_unlock(&hc->meta_lock);
		if (r) {
			DMERR_LIMIT("valid bitmap write failed: %d", r);
			return r;
		}
		base = bitmap_block * HIMS_BITS_PER_BLOCK;
		spin_lock_irq(&hc->lock);
		for (b = find_next_bit_le(staged, HIMS_BITS_PER_BLOCK, 0);
		     b < HIMS_BITS_PER_BLOCK;
		     b = find_next_bit_le(staged, HIMS_BITS_PER_BLOCK, b + 1)) {
			if (test_bit_le(base + b, hc->valid))
				continue;
			__set_bit_le(base + b, hc->valid);
			hc->nr_valid++;
			/* Never written: RAM is as good as the SSD. */
			hc->state[base + b] |= HIMS_BLK_RESTORED;
		}
		spin_unlock_irq(&hc->lock);
	}
	return r;
}

/* Copy one block from the SSD mirror to RAM, for a partial write. */
static int hims_restore_block(struct hims_c *hc, u64 block)
{
	unsigned long flags;
	int r;

	spin_lock_irqsave(&hc->lock, flags);
	if (hc->state[block] & (HIMS_BLK_RESTORED | HIMS_BLK_RESTORING)) {
		spin_unlock_irqrestore(&hc->lock, flags);
		return 0;
	}
	hc->state[block] |= HIMS_BLK_RESTORING;
	spin_unlock_irqrestore(&hc->lock, flags);

	mutex_lock(&hc->meta_lock);
	r = hims_block_io(ssd_bdev(hc), hc->geo.mirror_start + block, hc->copy_page,
			  REQ_OP_READ);
	if (!r)
		r = hims_block_io(ram_bdev(hc), 1 + block, hc->copy_page, REQ_OP_WRITE);
	mutex_unlock(&hc->meta_lock);

	spin_lock_irqsave(&hc->lock, flags);
	hc->state[block] &= ~HIMS_BLK_RESTORING;
	if (!r)
		hims_mark_restored(hc, block, block);
	spin_unlock_irqrestore(&hc->lock, flags);
	wake_up_all(&hc->progress_wait);
	return r;
}

static bool hims_range_not_restoring(struct hims_c *hc, u64 first, u64 last)
{
	unsigned long flags;
	bool r;

	spin_lock_irqsave(&hc->lock, flags);
	r = !hims_range_has(hc, first, last, HIMS_BLK_RESTORING);
	spin_unlock_irqrestore(&hc->lock, flags);
	return r;
}

/* Do what a deferred write waits for; may sleep. */
static int hims_prepare_write(struct hims_c *hc, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector;
	u64 first = sector >> HIMS_BLOCK_SECTOR_SHIFT;
	u64 last = (bio_end_sector(bio) - 1) >> HIMS_BLOCK_SECTOR_SHIFT;
	int r;

	if (first >= hc->geo.ram_blocks)
		return 0;
	last = min(last, hc->geo.ram_blocks - 1);
	r = hims_persist_valid(hc, first, last);
	if (r || READ_ONCE(hc->restore_done))
		return r;
	wait_event(hc->progress_wait, hims_range_not_restoring(hc, first, last));
	if (sector & (HIMS_SECTORS_PER_BLOCK - 1)) {
		r = hims_restore_block(hc, first);
		if (r)
			return r;
	}
	if (bio_end_sector(bio) & (HIMS_SECTORS_PER_BLOCK - 1))
		r = hims_restore_block(hc, last);
	return r;
}

static void hims_process_deferred(struct work_struct *work)
{
	struct hims_c *hc = container_of(work, struct hims_c, defer_work);
	struct bio_list bios;
	unsigned long flags;
	struct bio *bio;
	int r;

	spin_lock_irqsave(&hc->lock, flags);
	bios = hc->deferred;
	bio_list_init(&hc->deferred);
	spin_unlock_irqrestore(&hc->lock, flags);

	/* Stage every valid bit first, so the batch shares bitmap writes. */
	bio_list_for_each(bio, &bios) {
		u64 first = bio->bi_iter.bi_sector >> HIMS_BLOCK_SECTOR_SHIFT;
		u64 last = (bio_end_sector(bio) - 1) >> HIMS_BLOCK_SECTOR_SHIFT;

		if (first < hc->geo.ram_blocks)
			hims_stage_valid(hc, first, min(last, hc->geo.ram_blocks - 1));
	}
	while ((bio = bio_list_pop(&bios))) {
		do {
			r = hims_prepare_write(hc, bio);
			if (r)
				break;
			r = hims_route(hc, bio, false, GFP_NOIO);
		} while (r == HIMS_DEFER);
		if (r == DM_MAPIO_REMAPPED) {
			dm_submit_bio_remap(bio, NULL);
		} else {
			DMERR_LIMIT("deferred write failed: %d", r);
			bio_io_error(bio);
		}
	}
}

static void hims_writeback_done(int read_err, unsigned long write_err, void *context)
{
	struct hims_run *run = context;
	struct hims_c *hc = run->hc;
	bool ok = !read_err && !write_err;
	unsigned long flags;

	spin_lock_irqsave(&hc->lock, flags);
	hims_lrw_writeback_done(&hc->lrw, run->first, run->len, ok, ++hc->write_seq);
	if (!ok && !hc->error) {
		hc->error = -EIO;
		DMERR("writeback to the SSD failed (read %d, write %lu): device in error state",
		      read_err, write_err);
	}
	run->active = false;
	hc->runs_active--;
	hc->wb_kick = true;
	spin_unlock_irqrestore(&hc->lock, flags);
	wake_up(&hc->wb_wait);
	wake_up_all(&hc->progress_wait);
}

/* Lock held. */
static bool hims_writeback_wanted(struct hims_c *hc)
{
	u64 oldest;

	if (hc->error || !hc->lrw.nr_dirty)
		return false;
	oldest = hims_lrw_oldest_seq(&hc->lrw);
	if (oldest <= hc->flush_target)
		return true;	/* flushes override a pause */
	if (hc->wb_paused)
		return false;
	if (oldest <= hc->age_target)
		return true;
	if (hc->lrw.nr_dirty > hc->high_blocks)
		hc->wb_active = true;
	else if (hc->lrw.nr_dirty <= hc->low_blocks)
		hc->wb_active = false;
	return hc->wb_active;
}

static void hims_start_writeback(struct hims_c *hc)
{
	struct dm_io_region from, to;
	struct hims_run *run;
	unsigned int i;
	u32 first, len;
	u64 min_seq;

	spin_lock_irq(&hc->lock);
	while (hc->runs_active < hc->wb_jobs && hims_writeback_wanted(hc)) {
		len = hims_lrw_pick_run(&hc->lrw, HIMS_MAX_RUN, &first, &min_seq);
		if (!len)
			break;
		for (i = 0; hc->runs[i].active; i++)
			;
		run = &hc->runs[i];
		run->hc = hc;
		run->first = first;
		run->len = len;
		run->min_seq = min_seq;
		run->active = true;
		hc->runs_active++;
		spin_unlock_irq(&hc->lock);

		from.bdev = ram_bdev(hc);
		from.sector = block_to_sector(1 + first);
		from.count = block_to_sector(len);
		to.bdev = ssd_bdev(hc);
		to.sector = block_to_sector(hc->geo.mirror_start + first);
		to.count = from.count;
		dm_kcopyd_copy(hc->kc, &from, 1, &to, 0, hims_writeback_done, run);

		spin_lock_irq(&hc->lock);
	}
	spin_unlock_irq(&hc->lock);
}

/* Complete the flushes whose writes are all on the SSD. */
static void hims_complete_flushes(struct hims_c *hc)
{
	struct bio_list ready, waiting;
	blk_status_t status;
	struct bio *bio;
	u64 durable;
	int r;

	bio_list_init(&ready);
	bio_list_init(&waiting);
	spin_lock_irq(&hc->lock);
	durable = hims_durable_seq(hc);
	while ((bio = bio_list_pop(&hc->flush_waiters))) {
		if (hc->error || hims_bio(bio)->flush_seq <= durable)
			bio_list_add(&ready, bio);
		else
			bio_list_add(&waiting, bio);
	}
	hc->flush_waiters = waiting;
	r = hc->error;
	spin_unlock_irq(&hc->lock);

	if (bio_list_empty(&ready))
		return;
	if (!r)
		r = blkdev_issue_flush(ssd_bdev(hc));
	status = errno_to_blk_status(r);
	while ((bio = bio_list_pop(&ready))) {
		hims_bio(bio)->flags |= HB_FLUSH_DONE;
		bio->bi_status = status;
		bio_endio(bio);
	}
}

static void hims_age_tick(struct hims_c *hc)
{
	unsigned long flags;

	spin_lock_irqsave(&hc->lock, flags);
	if (time_after_eq(jiffies, hc->age_mark_time + msecs_to_jiffies(hc->max_age_ms))) {
		/* What was written before the last mark is now old enough. */
		hc->age_target = hc->age_mark_seq;
		hc->age_mark_seq = hc->write_seq;
		hc->age_mark_time = jiffies;
	}
	spin_unlock_irqrestore(&hc->lock, flags);
	/* Frees become reusable, and mappings durable, by commits. */
	if (hims_dedup_on(hc) && READ_ONCE(hc->loaded) && !READ_ONCE(hc->suspended) &&
	    time_after(jiffies, hc->last_commit + msecs_to_jiffies(hc->max_age_ms)))
		queue_work(hc->wq, &hc->commit_work);
}

static int hims_writeback_thread(void *data)
{
	struct hims_c *hc = data;

	while (!kthread_should_stop()) {
		wait_event_interruptible_timeout(hc->wb_wait,
						 READ_ONCE(hc->wb_kick) || kthread_should_stop(),
						 msecs_to_jiffies(hc->max_age_ms / 2 + 1));
		WRITE_ONCE(hc->wb_kick, false);
		hims_age_tick(hc);
		hims_start_writeback(hc);
		hims_complete_flushes(hc);
	}
	return 0;
}

/* Write back everything written so far and flush the SSD; may sleep. */
static int hims_drain(struct hims_c *hc)
{
	u64 target;
	int r;

	spin_lock_irq(&hc->lock);
	target = hc->write_seq;
	hc->flush_target = max(hc->flush_target, target);
	spin_unlock_irq(&hc->lock);
	hims_kick_writeback(hc);
	/* Writing back a large dirty set takes long; that is not a hang. */
	wait_event_idle(hc->progress_wait, ({
		bool done;

		spin_lock_irq(&hc->lock);
		done = hc->error || hims_durable_seq(hc) >= target;
		spin_unlock_irq(&hc->lock);
		done;
	}));
	r = READ_ONCE(hc->error);
	return r ? r : blkdev_issue_flush(ssd_bdev(hc));
}

/* Drain until nothing is dirty, however many writes were in flight. */
static int hims_drain_all(struct hims_c *hc)
{
	bool clean;
	int r;

	do {
		r = hims_drain(hc);
		spin_lock_irq(&hc->lock);
		clean = !hc->lrw.nr_dirty && !hc->lrw.nr_writeback;
		spin_unlock_irq(&hc->lock);
	} while (!r && !clean);
	return r;
}

struct hims_copy {
	struct completion done;
	int error;
};

static void hims_copy_done(int read_err, unsigned long write_err, void *context)
{
	struct hims_copy *copy = context;

	copy->error = read_err || write_err ? -EIO : 0;
	complete(&copy->done);
}

static int hims_write_ram_header(struct hims_c *hc, u32 state)
{
	hims_ram_header_encode(page_address(hc->meta_page), hc->uuid, state);
	return hims_block_io(ram_bdev(hc), 0, hc->meta_page, REQ_OP_WRITE | REQ_SYNC);
}

/* Lock held: the next run of blocks written but not in RAM, from @from. */
static u32 hims_next_restore_run(struct hims_c *hc, u32 from, u32 *first)
{
	u32 n = hc->geo.ram_blocks, b, len = 0;

	for (b = find_next_bit_le(hc->valid, n, from); b < n;
	     b = find_next_bit_le(hc->valid, n, b + 1))
		if (!(hc->state[b] & (HIMS_BLK_RESTORED | HIMS_BLK_RESTORING)))
			break;
	*first = b;
	while (b < n && len < HIMS_MAX_RUN && test_bit_le(b, hc->valid) &&
	       !(hc->state[b] & (HIMS_BLK_RESTORED | HIMS_BLK_RESTORING))) {
		hc->state[b] |= HIMS_BLK_RESTORING;
		b++;
		len++;
	}
	return len;
}

static int hims_restore_thread(void *data)
{
	struct hims_c *hc = data;
	struct dm_io_region from, to;
	struct hims_copy copy;
	u32 first, len, b;

	while (!kthread_should_stop()) {
		spin_lock_irq(&hc->lock);
		len = hims_next_restore_run(hc, hc->restore_cursor, &first);
		spin_unlock_irq(&hc->lock);
		if (!len)
			break;

		from.bdev = ssd_bdev(hc);
		from.sector = block_to_sector(hc->geo.mirror_start + first);
		from.count = block_to_sector(len);
		to.bdev = ram_bdev(hc);
		to.sector = block_to_sector(1 + first);
		to.count = from.count;
		init_completion(&copy.done);
		dm_kcopyd_copy(hc->kc, &from, 1, &to, 0, hims_copy_done, &copy);
		wait_for_completion(&copy.done);

		spin_lock_irq(&hc->lock);
		for (b = first; b < first + len; b++)
			hc->state[b] &= ~HIMS_BLK_RESTORING;
		if (copy.error)
			hc->restore_errors++;	/* those blocks stay on the SSD */
		else
			hims_mark_restored(hc, first, first + len - 1);
		hc->restore_cursor = first + len;
		spin_unlock_irq(&hc->lock);
		wake_up_all(&hc->progress_wait);
		cond_resched();
	}

	spin_lock_irq(&hc->lock);
	if (!hc->restore_remaining && !hc->restore_errors) {
		spin_unlock_irq(&hc->lock);
		mutex_lock(&hc->meta_lock);
		if (!hims_write_ram_header(hc, HIMS_RAM_COMPLETE))
			WRITE_ONCE(hc->restore_done, true);
		mutex_unlock(&hc->meta_lock);
		DMINFO("%s: RAM tier restored", dm_table_device_name(hc->ti->table));
	} else {
		spin_unlock_irq(&hc->lock);
	}
	/* Park until kthread_stop(): the caller owns our lifetime. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

/*
 * Dedup: load the durable commit's map and reference counts; the physical
 * blocks in use are what a restore copies.
 */
static int hims_dedup_load(struct hims_c *hc)
{
	struct hims_dedup_report rep;
	enum hims_dedup_meta_err err;
	struct dm_buffer *bp0, *bp1;
	void *slot0, *slot1, *rec0;
	u32 meta, phys;
	int rslot, r;
	u64 durable;

	rec0 = kmalloc(HIMS_BLOCK_SIZE, GFP_KERNEL);
	if (!rec0)
		return -ENOMEM;
	r = hims_block_io(ssd_bdev(hc), hc->geo.dedup_start, hc->meta_page, REQ_OP_READ);
	if (!r) {
		memcpy(rec0, page_address(hc->meta_page), HIMS_BLOCK_SIZE);
		r = hims_block_io(ssd_bdev(hc), hc->geo.dedup_start + 1, hc->meta_page,
				  REQ_OP_READ);
	}
	if (r) {
		kfree(rec0);
		DMERR("cannot read the dedup commit records: %d", r);
		return r;
	}
	rslot = hims_dedup_record_choose(rec0, page_address(hc->meta_page), &hc->dd.cfg,
					 hc->fmt_id, &durable);
	kfree(rec0);
	if (rslot < 0)
		return 0;	/* never committed: empty */

	for (meta = 0; meta < hc->geo.meta_blocks; meta++) {
		slot0 = dm_bufio_read(hc->bufio, 2 + 2 * meta, &bp0);
		if (IS_ERR(slot0))
			return PTR_ERR(slot0);
		slot1 = dm_bufio_read(hc->bufio, 2 + 2 * meta + 1, &bp1);
		if (IS_ERR(slot1)) {
			dm_bufio_release(bp0);
			return PTR_ERR(slot1);
		}
		r = hims_dedup_meta_load(&hc->dd, meta, slot0, slot1, durable, hc->fmt_id,
					 &err);
		dm_bufio_release(bp1);
		dm_bufio_release(bp0);
		if (r < 0) {
			DMERR("dedup metadata block %u of commit %llu: %s", meta, durable,
			      hims_dedup_meta_err_str(err));
			return -EILSEQ;
		}
	}
	if (hims_dedup_rebuild(&hc->dd, durable, rslot, &rep)) {
		DMERR("dedup metadata of commit %llu inconsistent: %s (%u: %u, %u/%u)",
		      durable, hims_dedup_check_str(rep.code), rep.index, rep.value,
		      rep.expected, rep.found);
		return -EILSEQ;
	}
	for (phys = 0; phys < hc->geo.ram_blocks; phys++)
		if (hc->dd.refcount[phys])
			__set_bit_le(phys, hc->valid);
	return 0;
}

/* First resume: read the valid bitmap and decide whether RAM needs a restore. */
static int hims_load(struct hims_c *hc)
{
	u64 i, n = hc->geo.ram_blocks, b;
	u32 ram_state;
	int r;

	for (i = 0; i < hc->geo.bitmap_blocks && hims_dedup_on(hc); i++)
		memset(hc->valid + i * HIMS_BLOCK_SIZE, 0, HIMS_BLOCK_SIZE);
	if (hims_dedup_on(hc)) {
		r = hims_dedup_load(hc);
		if (r)
			return r;
	}
	for (i = 0; i < hc->geo.bitmap_blocks && !hims_dedup_on(hc); i++) {
		r = hims_block_io(ssd_bdev(hc), hc->geo.bitmap_start + i, hc->meta_page,
				  REQ_OP_READ);
		if (r) {
			DMERR("cannot read the valid bitmap: %d", r);
			return r;
		}
		memcpy(hc->valid + i * HIMS_BLOCK_SIZE, page_address(hc->meta_page),
		       HIMS_BLOCK_SIZE);
	}
	/* Bits past the RAM tier would confuse the scans. */
	for (b = n; b < hc->geo.bitmap_blocks * HIMS_BITS_PER_BLOCK; b++)
		__clear_bit_le(b, hc->valid);
	memcpy(hc->valid_staged, hc->valid, hc->geo.bitmap_blocks * HIMS_BLOCK_SIZE);
	hc->nr_valid = 0;
	for (b = find_next_bit_le(hc->valid, n, 0); b < n;
	     b = find_next_bit_le(hc->valid, n, b + 1))
		hc->nr_valid++;

	r = hims_block_io(ram_bdev(hc), 0, hc->meta_page, REQ_OP_READ);
	if (r) {
		DMERR("cannot read the RAM device header: %d", r);
		return r;
	}
	ram_state = hims_ram_header_state(page_address(hc->meta_page), hc->uuid);
	hc->restore_total = hc->nr_valid;
	if (ram_state == HIMS_RAM_COMPLETE || ram_state == HIMS_RAM_DIRTY) {
		/* Same boot, RAM already holds everything: nothing to copy. */
		memset(hc->state, HIMS_BLK_RESTORED, n);
		hc->restore_remaining = 0;
		hc->restore_done = true;
		if (ram_state == HIMS_RAM_DIRTY) {
			/* The last table failed to write back: RAM is newer. */
			for (b = find_next_bit_le(hc->valid, n, 0); b < n;
			     b = find_next_bit_le(hc->valid, n, b + 1))
				hims_lrw_mark_dirty(&hc->lrw, b, ++hc->write_seq);
			DMWARN("%s: writing back every block the last table may not have",
			       dm_table_device_name(hc->ti->table));
			return hims_write_ram_header(hc, HIMS_RAM_COMPLETE);
		}
		return 0;
	}
	r = hims_write_ram_header(hc, HIMS_RAM_RESTORING);
	if (r) {
		DMERR("cannot write the RAM device header: %d", r);
		return r;
	}
	for (b = 0; b < n; b++)
		hc->state[b] = test_bit_le(b, hc->valid) ? 0 : HIMS_BLK_RESTORED;
	hc->restore_remaining = hc->nr_valid;
	hc->restore_cursor = 0;
	hc->restore_done = !hc->nr_valid;
	if (hc->restore_done)
		return hims_write_ram_header(hc, HIMS_RAM_COMPLETE);
	return 0;
}

static void hims_stop_restore(struct hims_c *hc)
{
	mutex_lock(&hc->meta_lock);
	if (hc->restore_thread) {
		mutex_unlock(&hc->meta_lock);
		kthread_stop(hc->restore_thread);
		mutex_lock(&hc->meta_lock);
		hc->restore_thread = NULL;
	}
	mutex_unlock(&hc->meta_lock);
}

static int hims_preresume(struct dm_target *ti)
{
	struct hims_c *hc = ti->private;
	int r;

	if (hc->loaded)
		return 0;
	r = hims_load(hc);
	if (!r)
		hc->loaded = true;
	return r;
}

static void hims_resume(struct dm_target *ti)
{
	struct hims_c *hc = ti->private;
	struct task_struct *t;

	WRITE_ONCE(hc->suspended, false);
	if (READ_ONCE(hc->restore_done) || hc->restore_thread)
		return;
	t = kthread_run(hims_restore_thread, hc, "hims_restore");
	if (IS_ERR(t)) {
		/* Reads keep coming from the SSD until the next resume. */
		DMERR("cannot start the restore thread: %ld", PTR_ERR(t));
		return;
	}
	hc->restore_thread = t;
}

static void hims_postsuspend(struct dm_target *ti)
{
	struct hims_c *hc = ti->private;
	int r;

	hims_stop_restore(hc);
	WRITE_ONCE(hc->suspended, true);
	cancel_work_sync(&hc->commit_work);
	r = hims_dedup_on(hc) ? hims_dedup_commit(hc) : hims_drain(hc);
	if (r) {
		DMERR("writeback before suspend failed: %d", r);
		/* Tell the next table that RAM is newer than the SSD. */
		if (READ_ONCE(hc->restore_done)) {
			mutex_lock(&hc->meta_lock);
			hims_write_ram_header(hc, HIMS_RAM_DIRTY);
			mutex_unlock(&hc->meta_lock);
		}
	}
}

static void hims_free(struct hims_c *hc)
{
	if (hc->wb_thread)
		kthread_stop(hc->wb_thread);
	if (hc->wq)
		destroy_workqueue(hc->wq);
	if (hc->kc)
		dm_kcopyd_client_destroy(hc->kc);
	if (hc->bufio)
		dm_bufio_client_destroy(hc->bufio);
	if (hc->dd_data_page)
		__free_page(hc->dd_data_page);
	if (hc->dd_cmp_page)
		__free_page(hc->dd_cmp_page);
	bitmap_free(hc->dd_busy);
	kvfree(hc->dd_mem);
	bioset_exit(&hc->bs);
	if (hc->meta_page)
		__free_page(hc->meta_page);
	if (hc->copy_page)
		__free_page(hc->copy_page);
	kfree(hc->runs);
	vfree(hc->valid_staged);
	vfree(hc->valid);
	vfree(hc->lrw_seq);
	vfree(hc->lrw_next);
	vfree(hc->lrw_prev);
	vfree(hc->state);
	if (hc->ssd_dev)
		dm_put_device(hc->ti, hc->ssd_dev);
	if (hc->ram_dev)
		dm_put_device(hc->ti, hc->ram_dev);
	kfree(hc);
}

static void hims_dtr(struct dm_target *ti)
{
	struct hims_c *hc = ti->private;

	hims_stop_restore(hc);
	hims_free(hc);
}

static int hims_parse_options(struct hims_c *hc, struct dm_arg_set *as,
			      u64 *ram_blocks, u64 *dedup_blocks, bool *format,
			      char **error)
{
	static const struct dm_arg group = {0, 16, "Invalid number of optional arguments"};
	unsigned int nr_opts, val;
	const char *opt;
	int r;

	r = dm_read_arg_group(&group, as, &nr_opts, error);
	if (r)
		return r;
	while (nr_opts--) {
		opt = dm_shift_arg(as);
		if (!strcasecmp(opt, "format")) {
			*format = true;
			continue;
		}
		if (!nr_opts--) {
			*error = "Optional argument is missing its value";
			return -EINVAL;
		}
		if (!strcasecmp(opt, "ram_blocks")) {
			if (kstrtoull(dm_shift_arg(as), 10, ram_blocks) || !*ram_blocks) {
				*error = "Invalid ram_blocks";
				return -EINVAL;
			}
			continue;
		}
		if (!strcasecmp(opt, "dedup")) {
			if (kstrtoull(dm_shift_arg(as), 10, dedup_blocks) || !*dedup_blocks ||
			    *dedup_blocks > HIMS_DEDUP_MAX_BLOCKS) {
				*error = "Invalid dedup: want the RAM tier's logical blocks";
				return -EINVAL;
			}
			continue;
		}
		if (kstrtouint(dm_shift_arg(as), 10, &val)) {
			*error = "Invalid optional argument value";
			return -EINVAL;
		}
		if (!strcasecmp(opt, "high_watermark") && val <= 100) {
			hc->high_pct = val;
		} else if (!strcasecmp(opt, "low_watermark") && val <= 100) {
			hc->low_pct = val;
		} else if (!strcasecmp(opt, "writeback_jobs") && val >= 1 && val <= 1024) {
			hc->wb_jobs = val;
		} else if (!strcasecmp(opt, "max_age") && val >= 1 && val <= 86400000) {
			hc->max_age_ms = val;
		} else if (!strcasecmp(opt, "index_entries") && val >= HIMS_DEDUP_WAYS &&
			   val <= (1U << 30) && is_power_of_2(val)) {
			hc->index_entries = val;
		} else {
			*error = "Unrecognised optional argument or value out of range";
			return -EINVAL;
		}
	}
	if (hc->low_pct > hc->high_pct) {
		*error = "low_watermark is above high_watermark";
		return -EINVAL;
	}
	return 0;
}

/* Check the SSD's superblock, formatting it only when blank or asked to. */
static int hims_open_superblock(struct hims_c *hc, bool format, char **error)
{
	void *buf = page_address(hc->meta_page);
	enum hims_sb_check check;
	u64 i;
	int r;

	r = hims_block_io(ssd_bdev(hc), 0, hc->meta_page, REQ_OP_READ);
	if (r) {
		*error = "Cannot read the SSD superblock";
		return r;
	}
	check = hims_sb_check(buf, &hc->geo);
	if (check == HIMS_SB_OK && !format) {
		memcpy(hc->uuid, ((struct hims_superblock *)buf)->uuid, HIMS_UUID_SIZE);
		return 0;
	}
	if (check != HIMS_SB_BLANK && !format) {
		*error = (char *)hims_sb_check_str(check);
		return -EINVAL;
	}

	/* The bitmap first: a superblock must never describe stale bits. */
	memset(buf, 0, HIMS_BLOCK_SIZE);
	for (i = 0; i < hc->geo.bitmap_blocks; i++) {
		r = hims_block_io(ssd_bdev(hc), hc->geo.bitmap_start + i, hc->meta_page,
				  REQ_OP_WRITE);
		if (r)
			goto fail;
	}
	generate_random_uuid(hc->uuid);
	hims_sb_encode(buf, &hc->geo, hc->uuid);
	r = hims_block_io(ssd_bdev(hc), 0, hc->meta_page,
			  REQ_OP_WRITE | REQ_SYNC | REQ_PREFLUSH | REQ_FUA);
	if (r)
		goto fail;
	DMINFO("formatted %s: %llu RAM-tier blocks, %llu SSD-tier blocks",
	       hc->ssd_dev->name, hc->geo.ram_blocks, hc->geo.ssd_blocks);
	return 0;
fail:
	*error = "Cannot write the SSD superblock or bitmap";
	return r;
}

static int hims_dedup_alloc(struct hims_c *hc, char **error)
{
	struct hims_dedup_config cfg = {
		.nr_logical = hc->geo.dedup_blocks,
		.nr_phys = hc->geo.ram_blocks,
		.nr_spill = hc->geo.spill_blocks,
		.index_entries = hc->index_entries,
	};
	__le64 fmt_id;
	u64 bytes;

	if (!hims_dedup_on(hc))
		return 0;
	BUILD_BUG_ON(HIMS_DEDUP_META_ENTRIES != HIMS_DEDUP_ENTRIES_PER_BLOCK);
	bytes = hims_dedup_mem_bytes(&cfg);
	if (!bytes) {
		*error = "Unsupported dedup configuration";
		return -EINVAL;
	}
	hc->dd_mem = kvzalloc(bytes, GFP_KERNEL);
	hc->dd_busy = bitmap_zalloc(hc->geo.dedup_blocks, GFP_KERNEL);
	hc->dd_data_page = alloc_page(GFP_KERNEL);
	hc->dd_cmp_page = alloc_page(GFP_KERNEL);
	if (!hc->dd_mem || !hc->dd_busy || !hc->dd_data_page || !hc->dd_cmp_page) {
		*error = "Cannot allocate the dedup map and index";
		return -ENOMEM;
	}
	if (hims_dedup_init(&hc->dd, &cfg, hc->dd_mem)) {
		*error = "Unsupported dedup configuration";
		return -EINVAL;
	}
	/* The metadata's instance id: the superblock UUID's first 8 bytes. */
	memcpy(&fmt_id, hc->uuid, sizeof(fmt_id));
	hc->fmt_id = le64_to_cpu(fmt_id);
	hc->bufio = dm_bufio_client_create(ssd_bdev(hc), HIMS_BLOCK_SIZE, 1, 0, NULL, NULL, 0);
	if (IS_ERR(hc->bufio)) {
		hc->bufio = NULL;
		*error = "Cannot create the dedup metadata cache";
		return -ENOMEM;
	}
	dm_bufio_set_sector_offset(hc->bufio, block_to_sector(hc->geo.dedup_start));
	hc->last_commit = jiffies;
	return 0;
}

static int hims_alloc(struct hims_c *hc, char **error)
{
	u32 n = hc->geo.ram_blocks;

	hc->state = vzalloc(n);
	hc->lrw_prev = vmalloc_array(n, sizeof(u32));
	hc->lrw_next = vmalloc_array(n, sizeof(u32));
	hc->lrw_seq = vmalloc_array(n, sizeof(u64));
	hc->valid = vzalloc(hc->geo.bitmap_blocks * HIMS_BLOCK_SIZE);
	hc->valid_staged = vzalloc(hc->geo.bitmap_blocks * HIMS_BLOCK_SIZE);
	hc->runs = kcalloc(hc->wb_jobs, sizeof(*hc->runs), GFP_KERNEL);
	hc->copy_page = alloc_page(GFP_KERNEL);
	if (!hc->state || !hc->lrw_prev || !hc->lrw_next || !hc->lrw_seq ||
	    !hc->valid || !hc->valid_staged || !hc->runs || !hc->copy_page) {
		*error = "Cannot allocate the block map";
		return -ENOMEM;
	}
	hims_lrw_init(&hc->lrw, n, hc->state, hc->lrw_prev, hc->lrw_next, hc->lrw_seq);
	if (bioset_init(&hc->bs, BIO_POOL_SIZE, 0, 0)) {
		*error = "Cannot allocate the bio set";
		return -ENOMEM;
	}
	hc->kc = dm_kcopyd_client_create(NULL);
	if (IS_ERR(hc->kc)) {
		hc->kc = NULL;
		*error = "Cannot create a kcopyd client";
		return -ENOMEM;
	}
	hc->wq = alloc_workqueue("hims", WQ_MEM_RECLAIM, 1);
	if (!hc->wq) {
		*error = "Cannot create the workqueue";
		return -ENOMEM;
	}
	return hims_dedup_alloc(hc, error);
}

/*
 * <ram_dev> <ssd_dev> <sync|async> [<#opt_args> <opt_arg>*]
 */
static int hims_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	u64 ram_dev_blocks, ssd_dev_blocks, total_blocks, ram_blocks = 0, dedup_blocks = 0;
	bool format = false;
	struct hims_c *hc;
	const char *arg;
	struct task_struct *t;
	int r;

	if (argc < 3) {
		ti->error = "Invalid argument count: need <ram_dev> <ssd_dev> <sync|async>";
		return -EINVAL;
	}
	hc = kzalloc(sizeof(*hc), GFP_KERNEL);
	if (!hc) {
		ti->error = "Cannot allocate the hims context";
		return -ENOMEM;
	}
	hc->ti = ti;
	ti->private = hc;
	spin_lock_init(&hc->lock);
	mutex_init(&hc->meta_lock);
	init_waitqueue_head(&hc->wb_wait);
	init_waitqueue_head(&hc->progress_wait);
	INIT_WORK(&hc->defer_work, hims_process_deferred);
	INIT_WORK(&hc->dd_work, hims_dedup_worker);
	INIT_WORK(&hc->commit_work, hims_dedup_commit_work);
	mutex_init(&hc->dd_lock);
	mutex_init(&hc->commit_lock);
	bio_list_init(&hc->dd_bios);
	bio_list_init(&hc->deferred);
	bio_list_init(&hc->flush_waiters);
	hc->high_pct = HIMS_DEFAULT_HIGH;
	hc->low_pct = HIMS_DEFAULT_LOW;
	hc->wb_jobs = HIMS_DEFAULT_JOBS;
	hc->max_age_ms = HIMS_DEFAULT_MAX_AGE;
	hc->age_mark_time = jiffies;

	r = dm_get_device(ti, dm_shift_arg(&as), dm_table_get_mode(ti->table), &hc->ram_dev);
	if (r) {
		ti->error = "Cannot open the RAM device";
		goto bad;
	}
	r = dm_get_device(ti, dm_shift_arg(&as), dm_table_get_mode(ti->table), &hc->ssd_dev);
	if (r) {
		ti->error = "Cannot open the SSD";
		goto bad;
	}
	r = -EINVAL;
	if (ram_bdev(hc) == ssd_bdev(hc)) {
		ti->error = "The RAM device and the SSD must differ";
		goto bad;
	}
	arg = dm_shift_arg(&as);
	if (!strcasecmp(arg, "sync")) {
		hc->mode = HIMS_SYNC;
	} else if (!strcasecmp(arg, "async")) {
		hc->mode = HIMS_ASYNC;
	} else {
		ti->error = "Invalid mode: want sync or async";
		goto bad;
	}
	if (as.argc) {
		r = hims_parse_options(hc, &as, &ram_blocks, &dedup_blocks, &format,
				       &ti->error);
		if (r)
			goto bad;
		r = -EINVAL;
		if (as.argc) {
			ti->error = "Too many arguments";
			goto bad;
		}
	}

	if (ti->len & (HIMS_SECTORS_PER_BLOCK - 1)) {
		ti->error = "Device length must be a multiple of 4 KiB";
		goto bad;
	}
	total_blocks = ti->len >> HIMS_BLOCK_SECTOR_SHIFT;
	ram_dev_blocks = bdev_nr_sectors(ram_bdev(hc)) >> HIMS_BLOCK_SECTOR_SHIFT;
	ssd_dev_blocks = bdev_nr_sectors(ssd_bdev(hc)) >> HIMS_BLOCK_SECTOR_SHIFT;
	if (ram_dev_blocks < 2) {
		ti->error = "RAM device too small";
		goto bad;
	}
	if (!ram_blocks)
		ram_blocks = min(ram_dev_blocks - 1, dedup_blocks ? U64_MAX : total_blocks);
	if (ram_blocks > ram_dev_blocks - 1) {
		ti->error = "ram_blocks exceeds the RAM device (one block holds its header)";
		goto bad;
	}
	if (!dedup_blocks && ram_blocks > total_blocks) {
		ti->error = "ram_blocks exceeds the device length";
		goto bad;
	}
	if (dedup_blocks > total_blocks) {
		ti->error = "dedup (the logical RAM tier) exceeds the device length";
		goto bad;
	}
	if (dedup_blocks) {
		r = -EINVAL;
		if (hims_geometry_init_dedup(&hc->geo, ram_blocks, dedup_blocks,
					     hims_dedup_spill_min(dedup_blocks, ram_blocks),
					     total_blocks - dedup_blocks)) {
			ti->error = "Unsupported dedup geometry";
			goto bad;
		}
		/*
		 * A quarter full, buckets of 8 practically never overflow; an
		 * overflow loses a hint and stores a duplicate again.
		 */
		if (!hc->index_entries)
			hc->index_entries = max_t(u32, HIMS_DEDUP_WAYS,
						  roundup_pow_of_two(4 * ram_blocks));
	} else if (hims_geometry_init(&hc->geo, ram_blocks, total_blocks - ram_blocks)) {
		ti->error = "Unsupported RAM-tier size";
		goto bad;
	}
	if (ssd_dev_blocks < hc->geo.ssd_min_blocks) {
		ti->error = dedup_blocks ?
			"SSD too small for the mirror, metadata, spill area and device length" :
			"SSD too small for the RAM-tier mirror, metadata and device length";
		goto bad;
	}
	hc->high_blocks = div_u64((u64)ram_blocks * hc->high_pct, 100);
	hc->low_blocks = div_u64((u64)ram_blocks * hc->low_pct, 100);

	hc->meta_page = alloc_page(GFP_KERNEL);
	if (!hc->meta_page) {
		ti->error = "Cannot allocate a metadata page";
		r = -ENOMEM;
		goto bad;
	}
	r = hims_open_superblock(hc, format, &ti->error);
	if (r)
		goto bad;
	r = hims_alloc(hc, &ti->error);
	if (r)
		goto bad;
	t = kthread_run(hims_writeback_thread, hc, "hims_writeback");
	if (IS_ERR(t)) {
		ti->error = "Cannot start the writeback thread";
		r = PTR_ERR(t);
		goto bad;
	}
	hc->wb_thread = t;

	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	if (hims_dedup_on(hc)) {
		ti->num_discard_bios = 1;
		ti->discards_supported = true;
	}
	ti->per_io_data_size = sizeof(struct hims_bio);
	return 0;
bad:
	hims_free(hc);
	ti->private = NULL;
	return r;
}

static void hims_status(struct dm_target *ti, status_type_t type,
			unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct hims_c *hc = ti->private;
	struct hims_dedup_stats st = {};
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		if (hims_dedup_on(hc)) {
			mutex_lock(&hc->dd_lock);
			hims_dedup_get_stats(&hc->dd, &st);
			mutex_unlock(&hc->dd_lock);
		}
		spin_lock_irq(&hc->lock);
		if (!hims_dedup_on(hc)) {
			st.mapped = hc->nr_valid;
			st.phys_used = hc->nr_valid;
			st.dedup_x1000 = 1000;
		}
		DMEMIT("%s %llu %llu %u %u %llu %llu %lld %lld %lld %lld %s %d",
		       mode_name(hc->mode), hc->nr_valid, hc->geo.ram_blocks,
		       hc->lrw.nr_dirty, hc->lrw.nr_writeback,
		       hc->restore_total - hc->restore_remaining, hc->restore_total,
		       (s64)atomic64_read(&hc->ram_reads), (s64)atomic64_read(&hc->ram_writes),
		       (s64)atomic64_read(&hc->ssd_reads), (s64)atomic64_read(&hc->ssd_writes),
		       hc->wb_paused ? "paused" : "running", hc->error);
		DMEMIT(" %u %u %u %u %u.%03u %llu", st.mapped, st.phys_used, st.zero,
		       st.spilled, st.dedup_x1000 / 1000, st.dedup_x1000 % 1000,
		       st.index_bytes);
		spin_unlock_irq(&hc->lock);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %s %u ram_blocks %llu", hc->ram_dev->name, hc->ssd_dev->name,
		       mode_name(hc->mode), hims_dedup_on(hc) ? 14 : 10, hc->geo.ram_blocks);
		if (hims_dedup_on(hc))
			DMEMIT(" dedup %llu index_entries %u", hc->geo.dedup_blocks,
			       hc->index_entries);
		DMEMIT(" high_watermark %u low_watermark %u writeback_jobs %u max_age %u",
		       hc->high_pct, hc->low_pct, hc->wb_jobs, hc->max_age_ms);
		break;
	default:
		if (maxlen)
			result[0] = '\0';
		break;
	}
}

static int hims_message(struct dm_target *ti, unsigned int argc, char **argv,
			char *result, unsigned int maxlen)
{
	struct hims_c *hc = ti->private;

	if (argc == 1 && !strcasecmp(argv[0], "flush"))
		return hims_dedup_on(hc) ? hims_dedup_commit(hc) : hims_drain(hc);
	if (argc == 1 && !strcasecmp(argv[0], "pause_writeback")) {
		spin_lock_irq(&hc->lock);
		hc->wb_paused = true;
		spin_unlock_irq(&hc->lock);
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "resume_writeback")) {
		spin_lock_irq(&hc->lock);
		hc->wb_paused = false;
		spin_unlock_irq(&hc->lock);
		hims_kick_writeback(hc);
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "clear_stats")) {
		atomic64_set(&hc->ram_reads, 0);
		atomic64_set(&hc->ram_writes, 0);
		atomic64_set(&hc->ssd_reads, 0);
		atomic64_set(&hc->ssd_writes, 0);
		return 0;
	}
	if (argc == 2 && !strcasecmp(argv[0], "mode")) {
		if (!strcasecmp(argv[1], "async")) {
			WRITE_ONCE(hc->mode, HIMS_ASYNC);
			return 0;
		}
		if (!strcasecmp(argv[1], "sync")) {
			/*
			 * New writes go through, or wait for their block's
			 * writeback; what is dirty is written back now, until
			 * writes that were on their way when we switched are too.
			 */
			WRITE_ONCE(hc->mode, HIMS_SYNC);
			return hims_drain_all(hc);
		}
		DMWARN("mode: want sync or async, not '%s'", argv[1]);
		return -EINVAL;
	}
	DMWARN("unrecognised message '%s' (see dm-hims.rst)", argc ? argv[0] : "");
	return -EINVAL;
}

static int hims_iterate_devices(struct dm_target *ti, iterate_devices_callout_fn fn,
				void *data)
{
	struct hims_c *hc = ti->private;
	int r;

	r = fn(ti, hc->ram_dev, 0, block_to_sector(hc->geo.ram_min_blocks), data);
	if (!r)
		r = fn(ti, hc->ssd_dev, 0, block_to_sector(hc->geo.ssd_min_blocks), data);
	return r;
}

static void hims_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct hims_c *hc = ti->private;

	if (hims_dedup_on(hc)) {
		/* Discards unmap whole blocks of the dedup RAM tier. */
		limits->discard_granularity = HIMS_BLOCK_SIZE;
		limits->max_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
		limits->max_hw_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
	}
	limits->io_min = max_t(unsigned int, limits->io_min, HIMS_BLOCK_SIZE);
	limits->physical_block_size = max_t(unsigned int, limits->physical_block_size,
					    HIMS_BLOCK_SIZE);
}

static struct target_type hims_target = {
	.name = "hims",
	.version = {1, 0, 0},
	.module = THIS_MODULE,
	.ctr = hims_ctr,
	.dtr = hims_dtr,
	.map = hims_map,
	.end_io = hims_end_io,
	.postsuspend = hims_postsuspend,
	.preresume = hims_preresume,
	.resume = hims_resume,
	.status = hims_status,
	.message = hims_message,
	.iterate_devices = hims_iterate_devices,
	.io_hints = hims_io_hints,
};

static int __init dm_hims_init(void)
{
	return dm_register_target(&hims_target);
}

static void __exit dm_hims_exit(void)
{
	dm_unregister_target(&hims_target);
}

module_init(dm_hims_init);
module_exit(dm_hims_exit);

MODULE_DESCRIPTION(DM_NAME " hybrid in-memory storage target (RAM tier over an SSD)");
MODULE_AUTHOR("hims developers");
MODULE_LICENSE("GPL");
