// SPDX-License-Identifier: GPL-2.0
/*
 * On-SSD and RAM-device metadata: the superblock, the valid ("ever
 * written") bitmap and the RAM device's header, and the synchronous
 * one-block I/O they use.
 */
#include <linux/uuid.h>

#include "dm-hims.h"

/* Synchronous one-block I/O for metadata and on-demand restore. */
static int hims_block_io(struct block_device *bdev, sector_t sector, struct page *page,
			 blk_opf_t opf)
{
	struct bio_vec bvec;
	struct bio bio;
	int r;

	bio_init(&bio, bdev, &bvec, 1, opf);
	bio.bi_iter.bi_sector = sector;
	__bio_add_page(&bio, page, HIMS_BLOCK_SIZE, 0);
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	return r;
}

int hims_ssd_io(struct hims_c *hc, hims_sblock_t block, struct page *page, blk_opf_t opf)
{
	return hims_block_io(ssd_bdev(hc), hims_ssd_sector(block), page, opf);
}

int hims_ram_io(struct hims_c *hc, hims_rblock_t block, struct page *page, blk_opf_t opf)
{
	return hims_block_io(ram_bdev(hc), hims_ram_sector(block), page, opf);
}

/* Worker only: the blocks of a deferred write are to become valid. */
void hims_stage_valid(struct hims_c *hc, u64 first, u64 last)
{
	u64 b;

	for (b = first; b <= last; b++)
		__set_bit_le(b, hc->meta.valid_staged);
}

/*
 * Worker only: make the staged valid bits of every bitmap block touching
 * [first, last] durable before any write to those blocks completes, so a
 * restore after a power cut copies them.  One bitmap write covers every
 * write of the batch that stages bits in the same bitmap block.
 */
int hims_persist_valid(struct hims_c *hc, u64 first, u64 last)
{
	u64 bitmap_block, base, b;
	void *staged, *buf = page_address(hc->meta.page);
	int r = 0;

	for (bitmap_block = first / HIMS_BITS_PER_BLOCK;
	     bitmap_block <= last / HIMS_BITS_PER_BLOCK; bitmap_block++) {
		staged = hc->meta.valid_staged + bitmap_block * HIMS_BLOCK_SIZE;
		if (!memcmp(staged, hc->meta.valid + bitmap_block * HIMS_BLOCK_SIZE,
			    HIMS_BLOCK_SIZE))
			continue;
		mutex_lock(&hc->meta.lock);
		memcpy(buf, staged, HIMS_BLOCK_SIZE);
		r = hims_ssd_io(hc, hims_bitmap_block(&hc->geo, bitmap_block),
				hc->meta.page, REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
		mutex_unlock(&hc->meta.lock);
		if (r) {
			DMERR_LIMIT("valid bitmap write failed: %d", r);
			return r;
		}
		base = bitmap_block * HIMS_BITS_PER_BLOCK;
		spin_lock_irq(&hc->lock);
		for (b = find_next_bit_le(staged, HIMS_BITS_PER_BLOCK, 0);
		     b < HIMS_BITS_PER_BLOCK;
		     b = find_next_bit_le(staged, HIMS_BITS_PER_BLOCK, b + 1)) {
			if (test_bit_le(base + b, hc->meta.valid))
				continue;
			__set_bit_le(base + b, hc->meta.valid);
			hc->meta.nr_valid++;
			/* Never written: RAM is as good as the SSD. */
			hc->blocks.state[base + b] |= HIMS_BLK_RESTORED;
		}
		spin_unlock_irq(&hc->lock);
	}
	return r;
}

int hims_write_ram_header(struct hims_c *hc, u32 state)
{
	lockdep_assert_held(&hc->meta.lock);

	hims_ram_header_encode(page_address(hc->meta.page), hc->uuid, state);
	return hims_ram_io(hc, hims_ram_header_block(), hc->meta.page, REQ_OP_WRITE | REQ_SYNC);
}

/*
 * The state a header must say once the restore is done: "dirty" while it
 * says RAM is newer than the mirror (until a drain has made the mirror
 * current), "complete" otherwise.
 */
u32 hims_ram_done_state(struct hims_c *hc)
{
	lockdep_assert_held(&hc->meta.lock);

	return hc->meta.ram_newer ? HIMS_RAM_DIRTY : HIMS_RAM_COMPLETE;
}

/*
 * A drain succeeded: every write up to it is on the mirror and flushed.
 * A header that says RAM is newer can now say what a reload should do
 * without writing everything back: nothing (complete), or restore the
 * blocks RAM still lacks from a mirror that is now current (restoring).
 */
void hims_mirror_current(struct hims_c *hc)
{
	int r;

	mutex_lock(&hc->meta.lock);
	if (hc->meta.ram_newer) {
		r = hims_write_ram_header(hc, READ_ONCE(hc->restore.done) ?
					  HIMS_RAM_COMPLETE : HIMS_RAM_RESTORING);
		if (r)
			DMERR("%s: cannot write the RAM device header: %d",
			      dm_table_device_name(hc->ti->table), r);
		else
			hc->meta.ram_newer = false;
	}
	mutex_unlock(&hc->meta.lock);
}

/*
 * The load's scans of every RAM-tier block take the lock in bites of this
 * many blocks, so that interrupts are never off for a whole large tier.
 */
#define HIMS_LOAD_BATCH	65536

/* Forget what a failed earlier load left, so that a retry starts afresh. */
static void hims_load_reset(struct hims_c *hc)
{
	struct hims_blocks *blk = &hc->blocks;

	spin_lock_irq(&hc->lock);
	hims_lrw_init(&blk->lrw, hc->geo.ram_blocks, blk->state, blk->lrw_prev,
		      blk->lrw_next, blk->lrw_seq, blk->lrw_writing);
	spin_unlock_irq(&hc->lock);
	mutex_lock(&hc->meta.lock);
	hc->meta.ram_newer = false;
	mutex_unlock(&hc->meta.lock);
}

/*
 * The last table failed to write back: RAM is newer than the mirror.
 * Dirty every valid block, so writeback makes the mirror current.  The
 * header stays "dirty" until a drain has done so (hims_mirror_current()):
 * saying "complete" before would let the next table skip the writeback.
 */
static void hims_load_dirty(struct hims_c *hc)
{
	u64 n = hc->geo.ram_blocks, first, end, b;

	mutex_lock(&hc->meta.lock);
	hc->meta.ram_newer = true;
	mutex_unlock(&hc->meta.lock);
	for (first = 0; first < n; first += HIMS_LOAD_BATCH) {
		end = min(n, first + HIMS_LOAD_BATCH);
		spin_lock_irq(&hc->lock);
		for (b = find_next_bit_le(hc->meta.valid, end, first); b < end;
		     b = find_next_bit_le(hc->meta.valid, end, b + 1))
			hims_lrw_mark_dirty(&hc->blocks.lrw, b, ++hc->blocks.write_seq);
		spin_unlock_irq(&hc->lock);
		cond_resched();
	}
	DMWARN("%s: writing back every block the last table may not have",
	       dm_table_device_name(hc->ti->table));
}

/* First resume: read the valid bitmap and decide whether RAM needs a restore. */
int hims_load(struct hims_c *hc)
{
	u64 i, n = hc->geo.ram_blocks, b, nr_valid;
	u32 ram_state;
	int r;

	hims_load_reset(hc);
	for (i = 0; i < hc->geo.bitmap_blocks && hims_dedup_on(hc); i++)
		memset(hc->meta.valid + i * HIMS_BLOCK_SIZE, 0, HIMS_BLOCK_SIZE);
	if (hims_dedup_on(hc)) {
		r = hims_dedup_load(hc);
		if (r)
			return r;
	}
	for (i = 0; i < hc->geo.bitmap_blocks && !hims_dedup_on(hc); i++) {
		r = hims_ssd_io(hc, hims_bitmap_block(&hc->geo, i), hc->meta.page,
				REQ_OP_READ);
		if (r) {
			DMERR("cannot read the valid bitmap: %d", r);
			return r;
		}
		memcpy(hc->meta.valid + i * HIMS_BLOCK_SIZE, page_address(hc->meta.page),
		       HIMS_BLOCK_SIZE);
	}
	/* Bits past the RAM tier would confuse the scans. */
	for (b = n; b < hc->geo.bitmap_blocks * HIMS_BITS_PER_BLOCK; b++)
		__clear_bit_le(b, hc->meta.valid);
	memcpy(hc->meta.valid_staged, hc->meta.valid, hc->geo.bitmap_blocks * HIMS_BLOCK_SIZE);
	nr_valid = 0;
	for (b = find_next_bit_le(hc->meta.valid, n, 0); b < n;
	     b = find_next_bit_le(hc->meta.valid, n, b + 1))
		nr_valid++;
	spin_lock_irq(&hc->lock);
	hc->meta.nr_valid = nr_valid;
	spin_unlock_irq(&hc->lock);

	r = hims_ram_io(hc, hims_ram_header_block(), hc->meta.page, REQ_OP_READ);
	if (r) {
		DMERR("cannot read the RAM device header: %d", r);
		return r;
	}
	ram_state = hims_ram_header_state(page_address(hc->meta.page), hc->uuid);
	if (ram_state == HIMS_RAM_DIRTY_PARTIAL) {
		DMERR("%s: %s", dm_table_device_name(hc->ti->table), HIMS_RAM_PARTIAL_ERROR);
		return -EIO;
	}
	if (ram_state == HIMS_RAM_COMPLETE || ram_state == HIMS_RAM_DIRTY) {
		/* Same boot, RAM already holds everything: nothing to copy. */
		spin_lock_irq(&hc->lock);
		hc->restore.total = hc->meta.nr_valid;
		memset(hc->blocks.state, HIMS_BLK_RESTORED, n);
		hc->restore.remaining = 0;
		WRITE_ONCE(hc->restore.done, true);
		spin_unlock_irq(&hc->lock);
		if (ram_state == HIMS_RAM_DIRTY)
			hims_load_dirty(hc);
		return 0;
	}
	mutex_lock(&hc->meta.lock);
	r = hims_write_ram_header(hc, nr_valid ? HIMS_RAM_RESTORING :
				  HIMS_RAM_COMPLETE);
	mutex_unlock(&hc->meta.lock);
	if (r) {
		DMERR("cannot write the RAM device header: %d", r);
		return r;
	}
	/* The restore thread is parked: no one reads the states meanwhile. */
	for (i = 0; i < n; i += HIMS_LOAD_BATCH) {
		spin_lock_irq(&hc->lock);
		for (b = i; b < min(n, i + HIMS_LOAD_BATCH); b++)
			hc->blocks.state[b] = test_bit_le(b, hc->meta.valid) ? 0 :
				HIMS_BLK_RESTORED;
		spin_unlock_irq(&hc->lock);
		cond_resched();
	}
	spin_lock_irq(&hc->lock);
	hc->restore.total = hc->meta.nr_valid;
	hc->restore.remaining = hc->meta.nr_valid;
	hc->restore.cursor = 0;
	WRITE_ONCE(hc->restore.done, !hc->meta.nr_valid);
	spin_unlock_irq(&hc->lock);
	return 0;
}

/*
 * Check the SSD's superblock.  A blank SSD, or any with @format, is to be
 * formatted (hc->formatting): by hims_format(), at the table's first
 * resume, so that a refused table writes nothing and a reload never
 * formats under the live table.
 */
int hims_open_superblock(struct hims_c *hc, bool format, char **error)
{
	void *buf = page_address(hc->meta.page);
	enum hims_sb_check check;
	int r;

	r = hims_ssd_io(hc, hims_sb_block(), hc->meta.page, REQ_OP_READ);
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
	/* Now: the dedup state's instance id comes from it. */
	generate_random_uuid(hc->uuid);
	hc->formatting = true;
	return 0;
}

/* Write the new superblock, its empty bitmap and dedup records. */
int hims_format(struct hims_c *hc, char **error)
{
	void *buf = page_address(hc->meta.page);
	u64 i;
	int r;

	/* First: a cut-short format must not leave the old superblock. */
	memset(buf, 0, HIMS_BLOCK_SIZE);
	*(__le64 *)buf = cpu_to_le64(HIMS_SB_MAGIC_FORMATTING);
	r = hims_ssd_io(hc, hims_sb_block(), hc->meta.page, REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
	if (r)
		goto fail;
	/*
	 * A valid bit becomes durable before the data it covers reaches the
	 * mirror, so after a power cut the restore may copy a mirror block
	 * never written since: it must read as never written, not as what
	 * the SSD held before (another filesystem, another tenant).
	 */
	r = blkdev_issue_zeroout(ssd_bdev(hc),
				 hims_ssd_sector(hims_mirror_block(&hc->geo, hims_pblock(0))),
				 block_to_sector(hc->geo.ram_blocks), GFP_KERNEL, 0);
	if (r) {
		*error = "Cannot zero the SSD mirror";
		return r;
	}
	/*
	 * And the RAM tier: a block never written since this format reads
	 * RAM, which may hold an earlier format's data (a reload with
	 * format, a RAM device used before).  With dedup, unmapped blocks
	 * read as zeroes without reading RAM.
	 */
	if (!hims_dedup_on(hc)) {
		r = blkdev_issue_zeroout(ram_bdev(hc),
					 hims_ram_sector(hims_ram_block(hims_pblock(0))),
					 block_to_sector(hc->geo.ram_blocks), GFP_KERNEL, 0);
		if (r) {
			*error = "Cannot zero the RAM tier";
			return r;
		}
	}
	/* The bitmap first: a superblock must never describe stale bits. */
	memset(buf, 0, HIMS_BLOCK_SIZE);
	for (i = 0; i < hc->geo.bitmap_blocks; i++) {
		r = hims_ssd_io(hc, hims_bitmap_block(&hc->geo, i), hc->meta.page,
				REQ_OP_WRITE);
		if (r)
			goto fail;
	}
	r = hims_dedup_format(hc);
	if (r)
		goto fail;
	/* What came before durable first, through the one flush path. */
	r = hims_flush_ssd(hc);
	if (r)
		goto fail;
	hims_sb_encode(buf, &hc->geo, hc->uuid);
	r = hims_ssd_io(hc, hims_sb_block(), hc->meta.page, REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
	if (r)
		goto fail;
	hc->formatting = false;
	DMINFO("formatted %s: %llu RAM-tier blocks, %llu SSD-tier blocks",
	       hc->ssd_dev->name, hc->geo.ram_blocks, hc->geo.ssd_blocks);
	return 0;
fail:
	*error = "Cannot write the SSD superblock, bitmap or dedup records";
	return r;
}
