// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel glue of the RAM tier's dedup: the worker that runs writes,
 * discards and flushes through the plain-C core (hims-dedup.c), reads
 * remapped in map, and the metadata commit and load through dm-bufio.
 * No algorithm lives here.  Everything here runs in the dedup worker or in
 * commits, in process context; dd_lock serialises the dedup core.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/dm-bufio.h>
#include <linux/xxhash.h>

#include "dm-hims.h"

static sector_t hims_spill_sector(struct hims_c *hc, u32 slot)
{
	return hims_ssd_sector(hims_spill_block(&hc->geo, slot));
}

/* The physical block's current data is on the SSD mirror only. */
static bool hims_phys_on_ssd(struct hims_c *hc, u32 phys)
{
	lockdep_assert_held(&hc->lock);

	return !hc->restore.done && test_bit_le(phys, hc->meta.valid) &&
		!(hc->blocks.state[phys] & HIMS_BLK_RESTORED);
}

/* Reads physical block @phys (RAM, or the mirror before its restore). */
static int hims_read_phys(struct hims_c *hc, u32 phys, struct page *page)
{
	bool on_ssd;

	spin_lock_irq(&hc->lock);
	on_ssd = hims_phys_on_ssd(hc, phys);
	spin_unlock_irq(&hc->lock);
	if (on_ssd)
		return hims_ssd_io(hc, hims_mirror_block(&hc->geo, hims_pblock(phys)), page,
				   REQ_OP_READ);
	return hims_ram_io(hc, hims_ram_block(hims_pblock(phys)), page, REQ_OP_READ);
}

static bool hims_same_data(void *ctx, u32 phys)
{
	struct hims_c *hc = ctx;

	if (hims_read_phys(hc, phys, hc->dedup.cmp_page))
		return false;	/* cannot compare: do not share */
	return !memcmp(page_address(hc->dedup.cmp_page), page_address(hc->dedup.data_page),
		       HIMS_BLOCK_SIZE);
}

/* The current data of logical block @lblk into @page. */
static int hims_dedup_read_block(struct hims_c *hc, u32 lblk, struct page *page)
{
	u32 where;

	lockdep_assert_held(&hc->dedup.lock);

	switch (hims_dedup_lookup(&hc->dedup.core, lblk, &where)) {
	case HIMS_DEDUP_AT_RAM:
		return hims_read_phys(hc, where, page);
	case HIMS_DEDUP_AT_SPILL:
		return hims_ssd_io(hc, hims_spill_block(&hc->geo, where), page,
				   REQ_OP_READ);
	default:
		memset(page_address(page), 0, HIMS_BLOCK_SIZE);
		return 0;
	}
}

/*
 * dm_bufio_write_dirty_buffers() ends with a cache flush of its own, which
 * makes the buffers durable: so under flush_lock and counted, like every
 * SSD flush of ours (hims_flush_ssd()).  A failure is the commit's.
 */
static int hims_write_metadata_buffers(struct hims_c *hc)
{
	int r;

	mutex_lock(&hc->flush_lock);
	atomic64_inc(&hc->stats.ssd_flushes);
	r = dm_bufio_write_dirty_buffers(hc->dedup.bufio);
	mutex_unlock(&hc->flush_lock);
	return r;
}

/*
 * Commit the dedup metadata (see dm-hims-design.rst): snapshot the changed
 * metadata blocks into their non-durable slots, make the data they point to
 * durable, write them, then the commit record.  Also what a flush does.
 */
int hims_dedup_commit(struct hims_c *hc)
{
	struct dm_buffer *bp;
	u32 meta, slot;
	void *data;
	u64 epoch;
	int r = 0;

	mutex_lock(&hc->dedup.commit_lock);
	mutex_lock(&hc->dedup.lock);
	if (!hims_dedup_commit_needed(&hc->dedup.core)) {
		mutex_unlock(&hc->dedup.lock);
		r = hims_drain(hc);
		goto out;
	}
	if (hims_dedup_commit_begin(&hc->dedup.core, &epoch)) {
		mutex_unlock(&hc->dedup.lock);
		r = -EIO;
		goto out;
	}
	for (meta = hims_dedup_commit_next(&hc->dedup.core, 0); meta != HIMS_DEDUP_NONE;
	     meta = hims_dedup_commit_next(&hc->dedup.core, meta + 1)) {
		slot = hims_dedup_meta_write_slot(&hc->dedup.core, meta);
		data = dm_bufio_new(hc->dedup.bufio, hims_dedup_meta_offset(meta, slot), &bp);
		if (IS_ERR(data)) {
			r = PTR_ERR(data);
			break;
		}
		hims_dedup_meta_encode_state(&hc->dedup.core, meta, epoch, hc->dedup.fmt_id, data);
		dm_bufio_mark_buffer_dirty(bp);
		dm_bufio_release(bp);
	}
	mutex_unlock(&hc->dedup.lock);

	/* The data first, so no durable map entry points at stale data. */
	if (!r)
		r = hims_drain(hc);
	if (!r)
		r = hims_write_metadata_buffers(hc);
	if (!r)
		r = READ_ONCE(hc->error);	/* a flush or copy failed meanwhile */
	if (!r) {
		mutex_lock(&hc->meta.lock);
		hims_dedup_record_encode(page_address(hc->meta.page), &hc->dedup.core.cfg, epoch,
					 hc->dedup.fmt_id);
		slot = hims_dedup_record_slot(&hc->dedup.core);
		r = hims_ssd_io(hc, hims_dedup_record_block(&hc->geo, slot), hc->meta.page,
				REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
		mutex_unlock(&hc->meta.lock);
	}
	mutex_lock(&hc->dedup.lock);
	hims_dedup_commit_end(&hc->dedup.core, epoch, !r);
	mutex_unlock(&hc->dedup.lock);
	/* -EAGAIN: writeback halted (a killed suspend); retried later. */
	if (r && r != -EAGAIN) {
		DMERR("dedup metadata commit failed: %d; device in error state", r);
		hims_set_error(hc, r);
	}
out:
	hc->dedup.last_commit = jiffies;
	mutex_unlock(&hc->dedup.commit_lock);
	return r;
}

/* Periodic: frees become reusable and mappings durable without a flush. */
void hims_dedup_commit_work(struct work_struct *work)
{
	struct hims_c *hc = container_of(work, struct hims_c, dedup.commit_work);
	bool needed;

	mutex_lock(&hc->dedup.lock);
	needed = hims_dedup_commit_needed(&hc->dedup.core);
	mutex_unlock(&hc->dedup.lock);
	if (needed)
		hims_dedup_commit(hc);
	else
		hc->dedup.last_commit = jiffies;
}

static void hims_dedup_busy(struct hims_c *hc, u32 lblk, bool busy)
{
	spin_lock_irq(&hc->lock);
	if (busy)
		__set_bit(lblk, hc->dedup.busy);
	else
		__clear_bit(lblk, hc->dedup.busy);
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

/*
 * Begin a write of physical block @phys unless it is being restored (the
 * restorer copies over it) or written back (the copy must not be torn).
 */
static bool hims_dedup_begin_write(struct hims_c *hc, u32 phys, bool *new_valid)
{
	unsigned long flags;
	bool r;

	spin_lock_irqsave(&hc->lock, flags);
	r = !hims_range_has(hc, phys, phys, HIMS_BLK_RESTORING) &&
		hims_lrw_write_begin(&hc->blocks.lrw, phys, 1);
	if (r) {
		hims_mark_restored(hc, phys, phys);
		*new_valid = !test_bit_le(phys, hc->meta.valid);
		if (*new_valid) {
			__set_bit_le(phys, hc->meta.valid);
			hc->meta.nr_valid++;
		}
	}
	spin_unlock_irqrestore(&hc->lock, flags);
	return r;
}

/* Writes the data page where the dedup core decided. */
static int hims_dedup_store(struct hims_c *hc, struct hims_dedup_result *res)
{
	u32 phys = res->target;
	bool write_through, wake, new_valid = false;
	unsigned long flags;
	int r;

	lockdep_assert_held(&hc->dedup.lock);

	if (res->action == HIMS_DEDUP_SPILL)
		return hims_ssd_io(hc, hims_spill_block(&hc->geo, phys),
				   hc->dedup.data_page, REQ_OP_WRITE);

	wait_event(hc->progress_wait, hims_dedup_begin_write(hc, phys, &new_valid));
	r = hims_ram_io(hc, hims_ram_block(hims_pblock(phys)), hc->dedup.data_page, REQ_OP_WRITE);
	spin_lock_irqsave(&hc->lock, flags);
	write_through = !r && READ_ONCE(hc->mode) == HIMS_SYNC &&
		!hims_range_has(hc, phys, phys, HIMS_BLK_DIRTY | HIMS_BLK_WRITEBACK);
	spin_unlock_irqrestore(&hc->lock, flags);
	if (write_through)
		r = hims_ssd_io(hc, hims_mirror_block(&hc->geo, hims_pblock(phys)),
				hc->dedup.data_page, REQ_OP_WRITE);

	spin_lock_irqsave(&hc->lock, flags);
	wake = hims_end_write(hc, phys, 1);
	/*
	 * A failed write is undone by the caller, except in place: that
	 * block keeps its mapping with RAM and mirror copies unknown, so
	 * writeback brings the mirror in line (or the error state does).
	 */
	if (r ? res->in_place : !write_through)
		hims_lrw_mark_dirty(&hc->blocks.lrw, phys, ++hc->blocks.write_seq);
	/* Undone, a block never used before is not "ever written" either. */
	if (r && !res->in_place && new_valid) {
		__clear_bit_le(phys, hc->meta.valid);
		hc->meta.nr_valid--;
	}
	wake |= hc->blocks.lrw.nr_dirty > hc->wb.high_blocks;
	spin_unlock_irqrestore(&hc->lock, flags);
	if (wake)
		hims_kick_writeback(hc);
	return r;
}

/* One logical block of a write: @skip bytes into the bio, @len bytes. */
static int hims_dedup_write_block(struct hims_c *hc, struct bio *bio, u32 lblk,
				  unsigned int offset, unsigned int skip,
				  unsigned int len)
{
	void *data = page_address(hc->dedup.data_page);
	struct hims_dedup_result res;
	bool is_zero;
	u64 fp;
	int r;

	hims_dedup_busy(hc, lblk, true);
	for (;;) {
		r = 0;
		mutex_lock(&hc->dedup.lock);
		if (len < HIMS_BLOCK_SIZE) {
			r = hims_dedup_read_block(hc, lblk, hc->dedup.data_page);
			if (r)
				break;
		}
		hims_bio_copy(bio, skip, data + offset, len, false);
		is_zero = !memchr_inv(data, 0, HIMS_BLOCK_SIZE);
		fp = is_zero ? 0 : xxh64(data, HIMS_BLOCK_SIZE, 0);
		hims_dedup_write(&hc->dedup.core, lblk, fp, is_zero, hims_same_data, hc, &res);
		if (res.action != HIMS_DEDUP_NEED_COMMIT)
			break;
		mutex_unlock(&hc->dedup.lock);
		r = hims_dedup_commit(hc);
		if (r)
			goto out;
	}
	if (!r) {
		if (res.action == HIMS_DEDUP_NOSPACE) {
			r = -ENOSPC;
		} else if (res.action == HIMS_DEDUP_WRITE || res.action == HIMS_DEDUP_SPILL) {
			r = hims_dedup_store(hc, &res);
			/* Else the block would read what the target held before. */
			if (r)
				hims_dedup_write_abort(&hc->dedup.core, lblk, &res);
			else
				hims_dedup_write_done(&hc->dedup.core, &res);
		}
	}
	mutex_unlock(&hc->dedup.lock);
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
		mutex_lock(&hc->dedup.lock);
		hims_dedup_discard(&hc->dedup.core, lblk, &res);
		mutex_unlock(&hc->dedup.lock);
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
 * Route a read of the dedup RAM tier.  Maps the longest prefix
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
	hims_pblock_t phys;
	bool on_ssd;
	u64 b;

	lockdep_assert_held(&hc->lock);

	if (test_bit(first, hc->dedup.busy))
		return HIMS_DEFER;
	kind = hims_dedup_lookup(&hc->dedup.core, first, &where);
	if (kind == HIMS_DEDUP_AT_NONE)
		kind = HIMS_DEDUP_AT_ZERO;
	on_ssd = kind == HIMS_DEDUP_AT_RAM && hims_phys_on_ssd(hc, where);
	for (b = first + 1; b <= last; b++) {
		if (test_bit(b, hc->dedup.busy))
			break;
		k = hims_dedup_lookup(&hc->dedup.core, b, &w);
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
		phys = hims_pblock(where);
		if (on_ssd) {
			bio_set_dev(bio, ssd_bdev(hc));
			bio->bi_iter.bi_sector =
				hims_ssd_sector(hims_mirror_block(&hc->geo, phys)) + sector;
		} else {
			bio_set_dev(bio, ram_bdev(hc));
			bio->bi_iter.bi_sector = hims_ram_sector(hims_ram_block(phys)) + sector;
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
void hims_dedup_defer(struct hims_c *hc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&hc->lock, flags);
	bio_list_add(&hc->dedup.bios, bio);
	spin_unlock_irqrestore(&hc->lock, flags);
	queue_work(hc->wq, &hc->dedup.work);
}

static void hims_dedup_complete(struct bio *bio, int r)
{
	hims_bio(bio)->flags |= HB_FLUSH_DONE;
	bio->bi_status = errno_to_blk_status(r);
	bio_endio(bio);
}

void hims_dedup_worker(struct work_struct *work)
{
	struct hims_c *hc = container_of(work, struct hims_c, dedup.work);
	struct bio_list bios;
	struct bio *bio;
	int r;

	spin_lock_irq(&hc->lock);
	bios = hc->dedup.bios;
	bio_list_init(&hc->dedup.bios);
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
			mutex_lock(&hc->dedup.lock);
			spin_lock_irq(&hc->lock);
			r = hims_dedup_route_read(hc, bio, false);
			spin_unlock_irq(&hc->lock);
			mutex_unlock(&hc->dedup.lock);
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
int hims_dedup_map(struct hims_c *hc, struct bio *bio, struct hims_extent *ext)
{
	unsigned long flags;
	int r;

	if (op_is_write(bio_op(bio)) || bio_op(bio) == REQ_OP_DISCARD) {
		if (ext->nr_sectors < bio_sectors(bio))
			dm_accept_partial_bio(bio, ext->nr_sectors);
		atomic64_inc(&hc->stats.ram_writes);
		hims_dedup_defer(hc, bio);
		return DM_MAPIO_SUBMITTED;
	}
	atomic64_inc(&hc->stats.ram_reads);
	if (ext->nr_sectors < bio_sectors(bio))
		dm_accept_partial_bio(bio, ext->nr_sectors);
	spin_lock_irqsave(&hc->lock, flags);
	r = hims_dedup_route_read(hc, bio, true);
	if (r == HIMS_DEFER) {
		/* Just the busy block waits for the worker. */
		dm_accept_partial_bio(bio, min_t(u32, bio_sectors(bio), HIMS_SECTORS_PER_BLOCK -
			(bio->bi_iter.bi_sector & (HIMS_SECTORS_PER_BLOCK - 1))));
		bio_list_add(&hc->dedup.bios, bio);
		spin_unlock_irqrestore(&hc->lock, flags);
		queue_work(hc->wq, &hc->dedup.work);
		return DM_MAPIO_SUBMITTED;
	}
	spin_unlock_irqrestore(&hc->lock, flags);
	if (r == DM_MAPIO_SUBMITTED)
		bio_endio(bio);
	return r;
}

static const char hims_no_record[] = "dedup commit records both invalid: run hims-check";

/*
 * The durable commit record: its slot and *@durable, -EILSEQ if neither
 * record is valid (format wrote one, so the metadata is damaged), or the
 * read's error.  Reads into meta.page.
 */
static int hims_dedup_read_records(struct hims_c *hc, u64 *durable)
{
	void *rec0;
	int r;

	/* No allocation at resume; no restore copies use this page yet. */
	rec0 = page_address(hc->meta.copy_page);
	r = hims_ssd_io(hc, hims_dedup_record_block(&hc->geo, 0), hc->meta.page, REQ_OP_READ);
	if (!r) {
		memcpy(rec0, page_address(hc->meta.page), HIMS_BLOCK_SIZE);
		r = hims_ssd_io(hc, hims_dedup_record_block(&hc->geo, 1), hc->meta.page,
				REQ_OP_READ);
	}
	if (!r) {
		r = hims_dedup_record_choose(rec0, page_address(hc->meta.page),
					     &hc->dedup.core.cfg, hc->dedup.fmt_id, durable);
		if (r < 0)
			r = -EILSEQ;
	}
	return r;
}

/*
 * Format: the empty commit, epoch 0, in its record slot and zeroes in the
 * other, before the superblock, whose REQ_PREFLUSH makes them durable
 * first.  The superblock's UUID is made, the dedup state not yet.
 */
int hims_dedup_format(struct hims_c *hc)
{
	struct hims_dedup_config cfg = {
		.nr_logical = hc->geo.dedup_blocks,
		.nr_phys = hc->geo.ram_blocks,
		.nr_spill = hc->geo.spill_blocks,
	};
	void *buf = page_address(hc->meta.page);
	u32 slot;
	int r;

	if (!hims_dedup_on(hc))
		return 0;
	for (slot = 0; slot < 2; slot++) {
		if (slot == HIMS_DEDUP_FORMAT_SLOT)
			hims_dedup_record_encode(buf, &cfg, 0, hims_dedup_fmt_id(hc->uuid));
		else
			memset(buf, 0, HIMS_BLOCK_SIZE);
		r = hims_ssd_io(hc, hims_dedup_record_block(&hc->geo, slot), hc->meta.page,
				REQ_OP_WRITE);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Dedup: load the durable commit's map and reference counts; the physical
 * blocks in use are what a restore copies.
 */
int hims_dedup_load(struct hims_c *hc)
{
	struct hims_dedup_report rep;
	enum hims_dedup_meta_err err;
	struct dm_buffer *bp0, *bp1;
	void *slot0, *slot1;
	u32 meta, phys;
	int rslot, r;
	u64 durable;

	rslot = hims_dedup_read_records(hc, &durable);
	if (rslot == -EILSEQ) {
		DMERR("%s", hims_no_record);
		return rslot;
	}
	if (rslot < 0) {
		DMERR("cannot read the dedup commit records: %d", rslot);
		return rslot;
	}

	/* Epoch 0 is format's empty state: no metadata block holds it. */
	for (meta = 0; durable && meta < hc->geo.meta_blocks; meta++) {
		slot0 = dm_bufio_read(hc->dedup.bufio, hims_dedup_meta_offset(meta, 0), &bp0);
		if (IS_ERR(slot0))
			return PTR_ERR(slot0);
		slot1 = dm_bufio_read(hc->dedup.bufio, hims_dedup_meta_offset(meta, 1), &bp1);
		if (IS_ERR(slot1)) {
			dm_bufio_release(bp0);
			return PTR_ERR(slot1);
		}
		r = hims_dedup_meta_load(&hc->dedup.core, meta, slot0, slot1, durable,
					 hc->dedup.fmt_id, &err);
		dm_bufio_release(bp1);
		dm_bufio_release(bp0);
		if (r < 0) {
			DMERR("dedup metadata block %u of commit %llu: %s", meta, durable,
			      hims_dedup_meta_err_str(err));
			return -EILSEQ;
		}
	}
	if (hims_dedup_rebuild(&hc->dedup.core, durable, rslot, &rep)) {
		DMERR("dedup metadata of commit %llu inconsistent: %s (%u: %u, %u/%u)",
		      durable, hims_dedup_check_str(rep.code), rep.index, rep.value,
		      rep.expected, rep.found);
		return -EILSEQ;
	}
	for (phys = 0; phys < hc->geo.ram_blocks; phys++)
		if (hc->dedup.core.refcount[phys])
			__set_bit_le(phys, hc->meta.valid);
	return 0;
}

int hims_dedup_alloc(struct hims_c *hc, char **error)
{
	struct hims_dedup_config cfg = {
		.nr_logical = hc->geo.dedup_blocks,
		.nr_phys = hc->geo.ram_blocks,
		.nr_spill = hc->geo.spill_blocks,
		.index_entries = hc->dedup.index_entries,
	};
	u64 bytes, durable;
	int r;

	if (!hims_dedup_on(hc))
		return 0;
	BUILD_BUG_ON(HIMS_DEDUP_META_ENTRIES != HIMS_DEDUP_ENTRIES_PER_BLOCK);
	bytes = hims_dedup_mem_bytes(&cfg);
	if (!bytes) {
		*error = "Unsupported dedup configuration";
		return -EINVAL;
	}
	/*
	 * Refuse it here: kvzalloc() warns (a panic with panic_on_warn) over
	 * INT_MAX whatever the memory, and could OOM the host below that.
	 */
	if (bytes > INT_MAX) {
		*error = "Dedup map and index need over 2 GiB: lower index_entries or dedup";
		return -EINVAL;
	}
	if (bytes > ((u64)totalram_pages() << PAGE_SHIFT) / 4) {
		*error = "Dedup map and index need over a quarter of memory: lower index_entries";
		return -ENOMEM;
	}
	hc->dedup.mem = kvzalloc(bytes, GFP_KERNEL);
	hc->dedup.busy = bitmap_zalloc(hc->geo.dedup_blocks, GFP_KERNEL);
	hc->dedup.data_page = alloc_page(GFP_KERNEL);
	hc->dedup.cmp_page = alloc_page(GFP_KERNEL);
	if (!hc->dedup.mem || !hc->dedup.busy || !hc->dedup.data_page || !hc->dedup.cmp_page) {
		*error = "Cannot allocate the dedup map and index";
		return -ENOMEM;
	}
	if (hims_dedup_init(&hc->dedup.core, &cfg, hc->dedup.mem)) {
		*error = "Unsupported dedup configuration";
		return -EINVAL;
	}
	hc->dedup.fmt_id = hims_dedup_fmt_id(hc->uuid);
	hc->dedup.bufio = dm_bufio_client_create(ssd_bdev(hc), HIMS_BLOCK_SIZE, 1, 0,
						 NULL, NULL, 0);
	if (IS_ERR(hc->dedup.bufio)) {
		hc->dedup.bufio = NULL;
		*error = "Cannot create the dedup metadata cache";
		return -ENOMEM;
	}
	dm_bufio_set_sector_offset(hc->dedup.bufio,
				   hims_ssd_sector(hims_dedup_record_block(&hc->geo, 0)));
	hc->dedup.last_commit = jiffies;

	/*
	 * Refuse damaged metadata now, with a message, rather than in resume;
	 * the load reads the records again, as a table being replaced may
	 * commit meanwhile.  Nothing here writes to the SSD.  A format at the
	 * first resume writes them.
	 */
	if (hc->formatting)
		return 0;
	r = hims_dedup_read_records(hc, &durable);
	if (r < 0) {
		*error = r == -EILSEQ ? (char *)hims_no_record :
			"Cannot read the dedup commit records";
		return r;
	}
	return 0;
}
