// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O path: map and end_io, routing a bio to the RAM device or the
 * SSD, and the worker that runs the writes map cannot (first writes,
 * partial writes to blocks not yet restored).
 */
#include "dm-hims.h"

static bool hims_range_valid(struct hims_c *hc, u64 first, u64 last)
{
	return find_next_zero_bit_le(hc->meta.valid, last + 1, first) > last;
}

bool hims_range_has(struct hims_c *hc, u64 first, u64 last, u8 bits)
{
	u64 b;

	lockdep_assert_held(&hc->lock);

	for (b = first; b <= last; b++)
		if (hc->blocks.state[b] & bits)
			return true;
	return false;
}

/*
 * A write to [first, first + nr) ended; wakes writers waiting for a slot.
 * True when writeback should run now: a dirty block it skipped for this
 * write is wanted by a flush, by max_age or by the watermarks.
 */
bool hims_end_write(struct hims_c *hc, u64 first, u32 nr)
{
	struct hims_lrw *lrw = &hc->blocks.lrw;
	bool kick = false;
	u64 b;

	lockdep_assert_held(&hc->lock);

	if (hims_lrw_write_end(lrw, first, nr))
		hims_release_held(hc);
	for (b = first; b < first + nr && !kick; b++)
		kick = !lrw->writing[b] && lrw->state[b] & HIMS_BLK_DIRTY &&
			(lrw->seq[b] <= hc->wb.flush_target ||
			 lrw->seq[b] <= hc->wb.age_target || hc->wb.active);
	return kick;
}

/*
 * A block of [first, last] is dirty with a write a flush waits for.  New
 * writes to it wait until writeback has copied it: writeback skips a block
 * with a write in flight, so writes overlapping without a pause would
 * otherwise hold the flush for as long as they keep coming.  Not in the
 * error state, where writeback stops and flushes fail anyway.
 */
static bool hims_range_flushing(struct hims_c *hc, u64 first, u64 last)
{
	u64 b;

	lockdep_assert_held(&hc->lock);

	if (hc->error)
		return false;
	for (b = first; b <= last; b++)
		if (hc->blocks.state[b] & HIMS_BLK_DIRTY &&
		    hc->blocks.lrw_seq[b] <= hc->wb.flush_target)
			return true;
	return false;
}

/*
 * No block of [first, last] is under writeback, full of writes or held
 * for a flush.
 */
static bool hims_range_writable(struct hims_c *hc, u64 first, u64 last)
{
	bool r = true;
	u64 b;

	lockdep_assert_held(&hc->lock);

	for (b = first; b <= last && r; b++)
		r = !(hc->blocks.state[b] & HIMS_BLK_WRITEBACK) &&
			hc->blocks.lrw_writing[b] < HIMS_LRW_MAX_WRITING;
	return r && !hims_range_flushing(hc, first, last);
}

/*
 * Park a deferred write until [first, last] is writable, rather than wait
 * in the worker: a block a flush waits for may take the whole writeback
 * of what was dirty before it, and the worker's other writes (other
 * blocks, first writes) must not queue behind it.  True when parked.
 */
static bool hims_hold_unless_writable(struct hims_c *hc, struct bio *bio,
				      u64 first, u64 last)
{
	unsigned long flags;
	bool hold;

	spin_lock_irqsave(&hc->lock, flags);
	hold = !hims_range_writable(hc, first, last);
	if (hold)
		bio_list_add(&hc->held, bio);
	spin_unlock_irqrestore(&hc->lock, flags);
	return hold;
}

/*
 * A block may have become writable (a write or a copy ended, or the error
 * state, where nothing is held for a flush): the parked writes go back to
 * the worker, which parks again those still waiting.
 */
void hims_release_held(struct hims_c *hc)
{
	lockdep_assert_held(&hc->lock);

	wake_up_all(&hc->progress_wait);
	if (bio_list_empty(&hc->held))
		return;
	bio_list_merge(&hc->deferred, &hc->held);
	bio_list_init(&hc->held);
	queue_work(hc->wq, &hc->defer_work);
}

/* A block partly covered by the bio whose RAM copy is not yet restored. */
static bool hims_needs_partial_restore(struct hims_c *hc, struct bio *bio,
				       u64 first, u64 last, sector_t sector)
{
	sector_t end = sector + bio_sectors(bio);

	if (hc->restore.done)
		return false;
	if ((sector & (HIMS_SECTORS_PER_BLOCK - 1)) &&
	    test_bit_le(first, hc->meta.valid) && !(hc->blocks.state[first] & HIMS_BLK_RESTORED))
		return true;
	if ((end & (HIMS_SECTORS_PER_BLOCK - 1)) &&
	    test_bit_le(last, hc->meta.valid) && !(hc->blocks.state[last] & HIMS_BLK_RESTORED))
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
	u64 first = hims_pblock_nr(hims_direct_pblock(ext->block));
	u64 last = (bio_end_sector(bio) - 1) >> HIMS_BLOCK_SECTOR_SHIFT;
	u32 nr = last - first + 1;
	/* Once: a mode message may change it meanwhile, without the lock. */
	enum hims_mode mode = READ_ONCE(hc->mode);
	unsigned long flags;
	bool write_through;
	struct bio *clone;

	if (!hims_range_valid(hc, first, last))
		return HIMS_DEFER;

	spin_lock_irqsave(&hc->lock, flags);
	if (!hc->restore.done) {
		if (hims_range_has(hc, first, last, HIMS_BLK_RESTORING) ||
		    hims_needs_partial_restore(hc, bio, first, last, bio->bi_iter.bi_sector)) {
			spin_unlock_irqrestore(&hc->lock, flags);
			return HIMS_DEFER;
		}
	}
	/*
	 * Writeback must never copy a block while a write lands in it: wait
	 * for a copy in flight to end (in the worker), and keep the block
	 * from being copied until this write ends.  A block a flush waits
	 * for is copied first (see hims_range_flushing()).
	 */
	if (hims_range_flushing(hc, first, last) ||
	    !hims_lrw_write_begin(&hc->blocks.lrw, first, nr)) {
		spin_unlock_irqrestore(&hc->lock, flags);
		return HIMS_DEFER;
	}
	hims_mark_restored(hc, first, last);
	/*
	 * A block with an older copy still to be written back keeps going
	 * through writeback, so that copy can never land after this one.
	 */
	write_through = mode == HIMS_SYNC &&
		!hims_range_has(hc, first, last, HIMS_BLK_DIRTY | HIMS_BLK_WRITEBACK);
	spin_unlock_irqrestore(&hc->lock, flags);

	hb->first_block = first;
	hb->nr_blocks = nr;
	hb->flags |= HB_WRITING;
	if (write_through) {
		clone = bio_alloc_clone(ssd_bdev(hc), bio, gfp, &hc->bs);
		if (!clone) {
			spin_lock_irqsave(&hc->lock, flags);
			hims_end_write(hc, first, nr);
			spin_unlock_irqrestore(&hc->lock, flags);
			hb->flags = 0;
			return HIMS_DEFER;
		}
		clone->bi_iter.bi_sector = ext->ssd_sector;
		bio_chain(clone, bio);
		submit_bio_noacct(clone);
	} else {
		hb->flags |= HB_MARK_DIRTY;
		/*
		 * FUA, and in sync mode a block still on its way through
		 * writeback: complete only once the SSD has it.
		 */
		if (bio->bi_opf & REQ_FUA || mode == HIMS_SYNC) {
			bio->bi_opf &= ~REQ_FUA;
			hb->flags |= HB_FLUSH_AFTER;
		}
	}
	atomic64_inc(&hc->stats.ram_writes);
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
	u64 b, first, last;
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
		atomic64_inc(op_is_write(bio_op(bio)) ? &hc->stats.ssd_writes :
			     &hc->stats.ssd_reads);
		bio_set_dev(bio, ssd_bdev(hc));
		bio->bi_iter.bi_sector = ext.ssd_sector;
		return DM_MAPIO_REMAPPED;
	}

	if (op_is_write(bio_op(bio)))
		return hims_write_ram_tier(hc, bio, &ext, gfp);

	atomic64_inc(&hc->stats.ram_reads);
	from_ssd = false;
	if (!READ_ONCE(hc->restore.done)) {
		/* Blocks not yet restored are read from the SSD mirror. */
		first = hims_pblock_nr(hims_direct_pblock(ext.block));
		last = (bio_end_sector(bio) - 1) >> HIMS_BLOCK_SECTOR_SHIFT;
		spin_lock_irqsave(&hc->lock, flags);
		from_ssd = test_bit_le(first, hc->meta.valid) &&
			!(hc->blocks.state[first] & HIMS_BLK_RESTORED);
		for (b = first + 1; b <= last; b++)
			if ((test_bit_le(b, hc->meta.valid) &&
			     !(hc->blocks.state[b] & HIMS_BLK_RESTORED)) != from_ssd)
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

static void hims_defer(struct hims_c *hc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&hc->lock, flags);
	bio_list_add(&hc->deferred, bio);
	spin_unlock_irqrestore(&hc->lock, flags);
	queue_work(hc->wq, &hc->defer_work);
}

static void hims_add_flush_waiter(struct hims_c *hc, struct bio *bio, u64 seq)
{
	lockdep_assert_held(&hc->lock);

	hims_bio(bio)->flush_seq = seq;
	bio_list_add(&hc->wb.flush_waiters, bio);
	hc->wb.flush_target = max(hc->wb.flush_target, seq);
	hc->wb.kick = true;
}

static int hims_map_flush(struct hims_c *hc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&hc->lock, flags);
	if (hc->error) {
		spin_unlock_irqrestore(&hc->lock, flags);
		return DM_MAPIO_KILL;
	}
	/*
	 * Even with nothing dirty, not passed down: the writeback thread
	 * flushes, so that our SSD flushes never overlap (hims_flush_ssd()).
	 */
	hims_add_flush_waiter(hc, bio, hc->blocks.write_seq);
	spin_unlock_irqrestore(&hc->lock, flags);
	wake_up(&hc->wb.wait);
	return DM_MAPIO_SUBMITTED;
}

int hims_map(struct dm_target *ti, struct bio *bio)
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

int hims_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct hims_c *hc = ti->private;
	struct hims_bio *hb = hims_bio(bio);
	unsigned long flags;
	bool wake, held = false;
	u64 b, seq;

	if (hb->flags & HB_FLUSH_DONE || !(hb->flags & HB_WRITING))
		return DM_ENDIO_DONE;

	spin_lock_irqsave(&hc->lock, flags);
	wake = hims_end_write(hc, hb->first_block, hb->nr_blocks);
	if (!(hb->flags & HB_MARK_DIRTY) && !*error) {
		/* Written through to the mirror. */
		spin_unlock_irqrestore(&hc->lock, flags);
		if (wake)
			hims_kick_writeback(hc);
		return DM_ENDIO_DONE;
	}
	/*
	 * A failed write (to RAM, or to the mirror in sync mode) leaves the
	 * two copies unknown: dirty the blocks so writeback makes the mirror
	 * RAM's copy again, or the device enters the error state.
	 */
	seq = ++hc->blocks.write_seq;
	for (b = hb->first_block; b < hb->first_block + hb->nr_blocks; b++)
		hims_lrw_mark_dirty(&hc->blocks.lrw, b, seq);
	if (hb->flags & HB_FLUSH_AFTER && !*error) {
		hims_add_flush_waiter(hc, bio, seq);
		held = true;
	}
	wake |= held || hc->blocks.lrw.nr_dirty > hc->wb.high_blocks;
	spin_unlock_irqrestore(&hc->lock, flags);
	if (wake)
		hims_kick_writeback(hc);
	return held ? DM_ENDIO_INCOMPLETE : DM_ENDIO_DONE;
}

/*
 * Do what a deferred write waits for; may sleep.  HIMS_HELD: parked until
 * its blocks are writable.
 */
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
	if (r)
		return r;
	if (hims_hold_unless_writable(hc, bio, first, last))
		return HIMS_HELD;
	if (READ_ONCE(hc->restore.done))
		return 0;
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

void hims_process_deferred(struct work_struct *work)
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
		if (r == HIMS_HELD)
			continue;
		if (r == DM_MAPIO_REMAPPED) {
			dm_submit_bio_remap(bio, NULL);
		} else {
			DMERR_LIMIT("deferred write failed: %d", r);
			bio_io_error(bio);
		}
	}
}
