// SPDX-License-Identifier: GPL-2.0
/*
 * Restore of the RAM tier from the SSD mirror after a table load, in the
 * background while I/O is served, and of single blocks on demand.
 */
#include <linux/kthread.h>
#include <linux/dm-kcopyd.h>

#include "dm-hims.h"

/* The blocks' RAM copies are now authoritative. */
void hims_mark_restored(struct hims_c *hc, u64 first, u64 last)
{
	u64 b;

	lockdep_assert_held(&hc->lock);

	if (hc->restore.done)
		return;
	for (b = first; b <= last; b++) {
		if (hc->blocks.state[b] & HIMS_BLK_RESTORED)
			continue;
		hc->blocks.state[b] |= HIMS_BLK_RESTORED;
		if (test_bit_le(b, hc->meta.valid))
			hc->restore.remaining--;
	}
}

/* Copy one block from the SSD mirror to RAM, for a partial write. */
int hims_restore_block(struct hims_c *hc, u64 block)
{
	unsigned long flags;
	int r;

	spin_lock_irqsave(&hc->lock, flags);
	if (hc->blocks.state[block] & (HIMS_BLK_RESTORED | HIMS_BLK_RESTORING)) {
		spin_unlock_irqrestore(&hc->lock, flags);
		return 0;
	}
	hc->blocks.state[block] |= HIMS_BLK_RESTORING;
	spin_unlock_irqrestore(&hc->lock, flags);

	mutex_lock(&hc->meta.lock);
	r = hims_ssd_io(hc, hims_mirror_block(&hc->geo, hims_pblock(block)), hc->meta.copy_page,
			REQ_OP_READ);
	if (!r)
		r = hims_ram_io(hc, hims_ram_block(hims_pblock(block)), hc->meta.copy_page,
				REQ_OP_WRITE);
	mutex_unlock(&hc->meta.lock);

	spin_lock_irqsave(&hc->lock, flags);
	hc->blocks.state[block] &= ~HIMS_BLK_RESTORING;
	if (!r)
		hims_mark_restored(hc, block, block);
	spin_unlock_irqrestore(&hc->lock, flags);
	wake_up_all(&hc->progress_wait);
	return r;
}

bool hims_range_not_restoring(struct hims_c *hc, u64 first, u64 last)
{
	unsigned long flags;
	bool r;

	spin_lock_irqsave(&hc->lock, flags);
	r = !hims_range_has(hc, first, last, HIMS_BLK_RESTORING);
	spin_unlock_irqrestore(&hc->lock, flags);
	return r;
}

static void hims_copy_done(int read_err, unsigned long write_err, void *context)
{
	struct hims_c *hc = context;

	hc->restore.copy.error = read_err || write_err ? -EIO : 0;
	complete(&hc->restore.copy.done);
	/* The restore thread may wait on progress_wait to see park too. */
	wake_up_all(&hc->progress_wait);
}

/* The next run of at most @max blocks written but not in RAM, from @from. */
static u32 hims_next_restore_run(struct hims_c *hc, u32 from, u32 max, u32 *first)
{
	u32 n = hc->geo.ram_blocks, b, len = 0;

	lockdep_assert_held(&hc->lock);

	for (b = find_next_bit_le(hc->meta.valid, n, from); b < n;
	     b = find_next_bit_le(hc->meta.valid, n, b + 1))
		if (!(hc->blocks.state[b] & (HIMS_BLK_RESTORED | HIMS_BLK_RESTORING)))
			break;
	*first = b;
	while (b < n && len < max && test_bit_le(b, hc->meta.valid) &&
	       !(hc->blocks.state[b] & (HIMS_BLK_RESTORED | HIMS_BLK_RESTORING))) {
		hc->blocks.state[b] |= HIMS_BLK_RESTORING;
		b++;
		len++;
	}
	return len;
}

/* Neither done nor given up: the restore thread has work. */
static bool hims_restore_wanted(struct hims_c *hc)
{
	return !READ_ONCE(hc->restore.done) && !READ_ONCE(hc->restore.gave_up);
}

/* Retry from the first pass (a resume, or a suspend that needs RAM whole). */
void hims_restore_rearm(struct hims_c *hc)
{
	if (!READ_ONCE(hc->restore.gave_up))
		return;
	hc->restore.pass = 0;
	hc->restore.pass_failed = false;
	hc->restore.cursor = 0;
	WRITE_ONCE(hc->restore.gave_up, false);
}

/* The end of a pass: RAM is complete, or another pass, or give up. */
static void hims_restore_pass_end(struct hims_c *hc)
{
	const char *name = dm_table_device_name(hc->ti->table);
	u64 left;
	int r;

	spin_lock_irq(&hc->lock);
	left = hc->restore.remaining;
	spin_unlock_irq(&hc->lock);
	if (!left) {
		mutex_lock(&hc->meta.lock);
		/* Still "dirty" if a failed suspend said RAM is newer. */
		r = hims_write_ram_header(hc, hims_ram_done_state(hc));
		if (!r)
			WRITE_ONCE(hc->restore.done, true);
		mutex_unlock(&hc->meta.lock);
		if (!r) {
			DMINFO("%s: RAM tier restored", name);
			return;
		}
		DMERR("%s: cannot write the RAM device header: %d", name, r);
		WRITE_ONCE(hc->restore.gave_up, true);
		return;
	}
	hc->restore.cursor = 0;
	if (!hc->restore.pass_failed &&
	    !hims_range_not_restoring(hc, 0, hc->geo.ram_blocks - 1)) {
		/*
		 * Nothing failed: what is left is being restored for a partial
		 * write.  Wait for it and look again; that is not a pass.
		 */
		wait_event(hc->progress_wait,
			   hims_range_not_restoring(hc, 0, hc->geo.ram_blocks - 1));
		return;
	}
	hc->restore.pass_failed = false;
	if (++hc->restore.pass < HIMS_RESTORE_PASSES) {
		/* A transient error (a path failover below) gets time to pass. */
		schedule_timeout_interruptible(msecs_to_jiffies(100));
		return;
	}
	DMERR("%s: restore incomplete: %llu blocks stay on the SSD (resume retries)", name, left);
	WRITE_ONCE(hc->restore.gave_up, true);
}

/* Account for the copy in flight once it has ended. */
static void hims_restore_copy_end(struct hims_c *hc)
{
	struct hims_restore_copy *c = &hc->restore.copy;
	u32 b;

	c->inflight = false;
	spin_lock_irq(&hc->lock);
	for (b = c->first; b < c->first + c->len; b++)
		hc->blocks.state[b] &= ~HIMS_BLK_RESTORING;
	if (c->error) {
		hc->restore.errors++;	/* those blocks stay on the SSD */
		hc->restore.pass_failed = true;
	} else {
		hims_mark_restored(hc, c->first, c->first + c->len - 1);
	}
	hc->restore.cursor = c->first + c->len;
	spin_unlock_irq(&hc->lock);
	wake_up_all(&hc->progress_wait);
	if (c->error)
		DMERR_LIMIT("%s: restore of blocks %u-%u failed (pass %u of %u): %d",
			    dm_table_device_name(hc->ti->table), c->first,
			    c->first + c->len - 1, hc->restore.pass + 1,
			    HIMS_RESTORE_PASSES, c->error);
}

/*
 * Wait for the copy in flight, if any, and account for it.  False if it
 * is still in flight: the thread is asked to park, or postsuspend
 * (@killable) got a fatal signal, so that an SSD that does not answer
 * cannot hold suspend or removal forever.
 */
static bool hims_restore_copy_wait(struct hims_c *hc, bool killable)
{
	struct hims_restore_copy *c = &hc->restore.copy;

	if (!c->inflight)
		return true;
	if (killable) {
		if (wait_for_completion_killable(&c->done))
			return false;
	} else {
		wait_event(hc->progress_wait,
			   completion_done(&c->done) || kthread_should_park());
		if (!completion_done(&c->done))
			return false;
	}
	hims_restore_copy_end(hc);
	return true;
}

/*
 * Copy the next run of the pass from the mirror to RAM, or end the pass.
 * The first pass copies runs of up to 1 MiB; retries copy single blocks,
 * so that a bad block keeps only itself on the SSD.  False when a copy
 * is left in flight (see hims_restore_copy_wait()).
 */
static bool hims_restore_step(struct hims_c *hc, bool killable)
{
	struct hims_restore_copy *c = &hc->restore.copy;
	struct dm_io_region from, to;
	u32 first, len;

	if (!hims_restore_copy_wait(hc, killable))
		return false;
	if (killable && fatal_signal_pending(current))
		return false;
	spin_lock_irq(&hc->lock);
	len = hims_next_restore_run(hc, hc->restore.cursor,
				    hc->restore.pass ? 1 : HIMS_MAX_RUN, &first);
	spin_unlock_irq(&hc->lock);
	if (!len) {
		hims_restore_pass_end(hc);
		return true;
	}

	from.bdev = ssd_bdev(hc);
	from.sector = hims_ssd_sector(hims_mirror_block(&hc->geo, hims_pblock(first)));
	from.count = block_to_sector(len);
	to.bdev = ram_bdev(hc);
	to.sector = hims_ram_sector(hims_ram_block(hims_pblock(first)));
	to.count = from.count;
	c->first = first;
	c->len = len;
	c->inflight = true;
	reinit_completion(&c->done);
	dm_kcopyd_copy(hc->kc, &from, 1, &to, 0, hims_copy_done, hc);
	return hims_restore_copy_wait(hc, killable);
}

/*
 * Created parked by the constructor and unparked by resume, so that
 * resume, which runs with the device suspended, neither creates a thread
 * nor allocates.  Parks at suspend; sleeps once done or given up.
 */
int hims_restore_thread(void *data)
{
	struct hims_c *hc = data;

	while (!kthread_should_stop()) {
		if (kthread_should_park()) {
			kthread_parkme();
			continue;
		}
		if (hims_restore_wanted(hc)) {
			hims_restore_step(hc, false);
			cond_resched();
			continue;
		}
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop() && !kthread_should_park())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

/*
 * Postsuspend, with the thread parked: wait for the copy the thread may
 * have left in flight when it parked.  It must end before postsuspend
 * returns: a reload resumes the new table before it destroys this one,
 * so a copy landing later could overwrite what the new table wrote.
 * False if a fatal signal ended the wait with the copy still in flight.
 */
bool hims_restore_quiesce(struct hims_c *hc)
{
	return hims_restore_copy_wait(hc, true);
}

/*
 * Postsuspend, with the thread parked: restore every block still missing,
 * retries included.  Returns whether RAM now holds every block.  A fatal
 * signal to the process suspending (or removing) the device ends it
 * early, with a copy perhaps left in flight: RAM is then not whole.
 */
bool hims_restore_finish(struct hims_c *hc)
{
	hims_restore_rearm(hc);
	while (hims_restore_wanted(hc)) {
		if (!hims_restore_step(hc, true)) {
			DMERR("%s: restore before suspend interrupted",
			      dm_table_device_name(hc->ti->table));
			break;
		}
		cond_resched();
	}
	return READ_ONCE(hc->restore.done);
}
