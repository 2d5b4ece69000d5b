// SPDX-License-Identifier: GPL-2.0
/*
 * Writeback of dirty RAM-tier blocks to the SSD mirror in
 * least-recently-written order (watermarks, max_age, flushes), and the
 * completion of flushes once what they cover is durable.
 */
#include <linux/kthread.h>
#include <linux/jiffies.h>
#include <linux/dm-kcopyd.h>

#include "dm-hims.h"

void hims_kick_writeback(struct hims_c *hc)
{
	WRITE_ONCE(hc->wb.kick, true);
	wake_up(&hc->wb.wait);
}

/* Every write numbered up to the result is on the SSD. */
static u64 hims_durable_seq(struct hims_c *hc)
{
	u64 oldest = hims_lrw_oldest_seq(&hc->blocks.lrw);
	unsigned int i;

	lockdep_assert_held(&hc->lock);

	for (i = 0; i < hc->wb.jobs; i++)
		if (hc->wb.runs[i].active)
			oldest = min(oldest, hc->wb.runs[i].min_seq);
	return oldest == ~0ULL ? hc->blocks.write_seq : oldest - 1;
}

static void hims_writeback_done(int read_err, unsigned long write_err, void *context)
{
	struct hims_run *run = context;
	struct hims_c *hc = run->hc;
	bool ok = !read_err && !write_err, first_error = false;
	unsigned long flags;

	spin_lock_irqsave(&hc->lock, flags);
	hims_lrw_writeback_done(&hc->blocks.lrw, run->first, run->len, ok, ++hc->blocks.write_seq);
	run->active = false;
	hc->wb.runs_active--;
	hc->wb.kick = true;
	/*
	 * The error state with the same lock hold: a drain woken here must
	 * not see the failed block's retry as progress and report success.
	 */
	if (!ok && !hc->error) {
		hc->error = -EIO;
		first_error = true;
	}
	hims_release_held(hc);
	spin_unlock_irqrestore(&hc->lock, flags);
	if (first_error)
		DMERR("writeback to the SSD failed (read %d, write %lu): device in error state",
		      read_err, write_err);
	wake_up(&hc->wb.wait);
}

static bool hims_writeback_wanted(struct hims_c *hc)
{
	u64 oldest;

	lockdep_assert_held(&hc->lock);

	if (hc->error || hc->wb.halted || !hc->blocks.lrw.nr_dirty)
		return false;
	oldest = hims_lrw_oldest_seq(&hc->blocks.lrw);
	if (oldest <= hc->wb.flush_target)
		return true;	/* flushes override a pause */
	if (hc->wb.paused)
		return false;
	if (oldest <= hc->wb.age_target)
		return true;
	if (hc->blocks.lrw.nr_dirty > hc->wb.high_blocks)
		hc->wb.active = true;
	else if (hc->blocks.lrw.nr_dirty <= hc->wb.low_blocks)
		hc->wb.active = false;
	return hc->wb.active;
}

static void hims_start_writeback(struct hims_c *hc)
{
	struct dm_io_region from, to;
	struct hims_run *run;
	unsigned int i;
	u32 first, len;
	u64 min_seq;

	spin_lock_irq(&hc->lock);
	while (hc->wb.runs_active < hc->wb.jobs && hims_writeback_wanted(hc)) {
		len = hims_lrw_pick_run(&hc->blocks.lrw, HIMS_MAX_RUN, &first, &min_seq);
		if (!len)
			break;
		for (i = 0; hc->wb.runs[i].active; i++)
			;
		run = &hc->wb.runs[i];
		run->hc = hc;
		run->first = first;
		run->len = len;
		run->min_seq = min_seq;
		run->active = true;
		hc->wb.runs_active++;
		spin_unlock_irq(&hc->lock);

		from.bdev = ram_bdev(hc);
		from.sector = hims_ram_sector(hims_ram_block(hims_pblock(first)));
		from.count = block_to_sector(len);
		to.bdev = ssd_bdev(hc);
		to.sector = hims_ssd_sector(hims_mirror_block(&hc->geo, hims_pblock(first)));
		to.count = from.count;
		dm_kcopyd_copy(hc->kc, &from, 1, &to, 0, hims_writeback_done, run);

		spin_lock_irq(&hc->lock);
	}
	spin_unlock_irq(&hc->lock);
}

/*
 * A failed cache flush leaves unknown what the SSD kept of the copies
 * before it, so a later flush that succeeds must not vouch for them: the
 * error state, as for a failed copy (a reload writes every block back).
 */
static void hims_ssd_flush_failed(struct hims_c *hc, int error)
{
	if (hims_set_error(hc, error))
		DMERR("%s: SSD flush failed: %d; device in error state",
		      dm_table_device_name(hc->ti->table), error);
}

/*
 * Every cache flush of the SSD goes through here, one at a time.  Not for
 * speed: with two flushes in flight, dm-log-writes logs the writes it
 * spliced into the first at the completion of the first, possibly after
 * the second's and after later writes to the same blocks, and a crash
 * replay from its log cannot tell that from a real reordering.
 */
int hims_flush_ssd(struct hims_c *hc)
{
	int r;

	mutex_lock(&hc->flush_lock);
	atomic64_inc(&hc->stats.ssd_flushes);
	r = blkdev_issue_flush(ssd_bdev(hc));
	mutex_unlock(&hc->flush_lock);
	if (r)
		hims_ssd_flush_failed(hc, r);
	return r;
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
	while ((bio = bio_list_pop(&hc->wb.flush_waiters))) {
		if (hc->error || hims_bio(bio)->flush_seq <= durable)
			bio_list_add(&ready, bio);
		else
			bio_list_add(&waiting, bio);
	}
	hc->wb.flush_waiters = waiting;
	r = hc->error;
	spin_unlock_irq(&hc->lock);

	if (bio_list_empty(&ready))
		return;
	if (!r)
		r = hims_flush_ssd(hc);
	if (!r)
		r = READ_ONCE(hc->error);	/* a copy failed meanwhile */
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
	if (time_after_eq(jiffies, hc->wb.age_mark_time + msecs_to_jiffies(hc->wb.max_age_ms))) {
		/* What was written before the last mark is now old enough. */
		hc->wb.age_target = hc->wb.age_mark_seq;
		hc->wb.age_mark_seq = hc->blocks.write_seq;
		hc->wb.age_mark_time = jiffies;
	}
	/*
	 * Frees become reusable, and mappings durable, by commits.  Queued
	 * under the lock postsuspend sets @suspended with, so its cancel
	 * cannot miss a commit queued by a tick that had not seen it.
	 */
	if (hims_dedup_on(hc) && READ_ONCE(hc->loaded) && !hc->suspended &&
	    time_after(jiffies, hc->dedup.last_commit + msecs_to_jiffies(hc->wb.max_age_ms)))
		queue_work(hc->wq, &hc->dedup.commit_work);
	spin_unlock_irqrestore(&hc->lock, flags);
}

int hims_writeback_thread(void *data)
{
	struct hims_c *hc = data;

	while (!kthread_should_stop()) {
		wait_event_interruptible_timeout(hc->wb.wait,
						 READ_ONCE(hc->wb.kick) || kthread_should_stop(),
						 msecs_to_jiffies(hc->wb.max_age_ms / 2 + 1));
		WRITE_ONCE(hc->wb.kick, false);
		hims_age_tick(hc);
		hims_start_writeback(hc);
		hims_complete_flushes(hc);
	}
	return 0;
}

static bool hims_drained(struct hims_c *hc, u64 target)
{
	bool done;

	spin_lock_irq(&hc->lock);
	/*
	 * In the error state too, only once no copy is in flight: a suspend
	 * returns, and the next table may format, with none still landing.
	 * Halted (a killed suspend), nothing more will be written back.
	 */
	if (hc->error || hc->wb.halted)
		done = !hc->wb.runs_active;
	else
		done = hims_durable_seq(hc) >= target;
	spin_unlock_irq(&hc->lock);
	return done;
}

/*
 * Write back everything written so far and flush the SSD; may sleep.
 * @killable: for messages, which hold the live table and so block
 * suspend and removal while they wait: a fatal signal ends the wait
 * (-EINTR); what it started is still written back.
 */
static int __hims_drain(struct hims_c *hc, bool killable)
{
	u64 target;
	int r;

	spin_lock_irq(&hc->lock);
	if (hc->wb.halted) {
		spin_unlock_irq(&hc->lock);
		goto halted;
	}
	target = hc->blocks.write_seq;
	hc->wb.flush_target = max(hc->wb.flush_target, target);
	spin_unlock_irq(&hc->lock);
	hims_kick_writeback(hc);
	/* Writing back a large dirty set takes long; that is not a hang. */
	if (!killable)
		wait_event_idle(hc->progress_wait, hims_drained(hc, target));
	else if (wait_event_killable(hc->progress_wait, hims_drained(hc, target)))
		return -EINTR;
	if (READ_ONCE(hc->wb.halted))
		goto halted;
	r = READ_ONCE(hc->error);
	if (!r)
		r = hims_flush_ssd(hc);
	return r ? r : READ_ONCE(hc->error);	/* a copy failed meanwhile */
halted:
	/*
	 * Not a wait until resume: a message waiting would hold the live
	 * table, and a reload or removal would hang behind it.
	 */
	DMWARN_LIMIT("%s: writeback halted by an interrupted suspend; resume first",
		     dm_table_device_name(hc->ti->table));
	return -EAGAIN;
}

int hims_drain(struct hims_c *hc)
{
	return __hims_drain(hc, false);
}

int hims_drain_killable(struct hims_c *hc)
{
	return __hims_drain(hc, true);
}

/* Messages: drain until nothing is dirty, however many writes were in flight. */
int hims_drain_all(struct hims_c *hc)
{
	bool clean;
	int r;

	do {
		r = hims_drain_killable(hc);
		spin_lock_irq(&hc->lock);
		clean = !hc->blocks.lrw.nr_dirty && !hc->blocks.lrw.nr_writeback;
		spin_unlock_irq(&hc->lock);
	} while (!r && !clean);
	return r;
}
