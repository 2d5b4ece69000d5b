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
		r = hims_ram_io(hc, hims_ram_block(hims_pblock(block)), hc->meta.copy_page, REQ_OP_WRITE);
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

/* The next run of blocks written but not in RAM, from @from. */
static u32 hims_next_restore_run(struct hims_c *hc, u32 from, u32 *first)
{
	u32 n = hc->geo.ram_blocks, b, len = 0;

	lockdep_assert_held(&hc->lock);

	for (b = find_next_bit_le(hc->meta.valid, n, from); b < n;
	     b = find_next_bit_le(hc->meta.valid, n, b + 1))
		if (!(hc->blocks.state[b] & (HIMS_BLK_RESTORED | HIMS_BLK_RESTORING)))
			break;
	*first = b;
	while (b < n && len < HIMS_MAX_RUN && test_bit_le(b, hc->meta.valid) &&
	       !(hc->blocks.state[b] & (HIMS_BLK_RESTORED | HIMS_BLK_RESTORING))) {
		hc->blocks.state[b] |= HIMS_BLK_RESTORING;
		b++;
		len++;
	}
	return len;
}

int hims_restore_thread(void *data)
{
	struct hims_c *hc = data;
	struct dm_io_region from, to;
	struct hims_copy copy;
	u32 first, len, b;

	while (!kthread_should_stop()) {
		spin_lock_irq(&hc->lock);
		len = hims_next_restore_run(hc, hc->restore.cursor, &first);
		spin_unlock_irq(&hc->lock);
		if (!len)
			break;

		from.bdev = ssd_bdev(hc);
		from.sector = hims_ssd_sector(hims_mirror_block(&hc->geo, hims_pblock(first)));
		from.count = block_to_sector(len);
		to.bdev = ram_bdev(hc);
		to.sector = hims_ram_sector(hims_ram_block(hims_pblock(first)));
		to.count = from.count;
		init_completion(&copy.done);
		dm_kcopyd_copy(hc->kc, &from, 1, &to, 0, hims_copy_done, &copy);
		wait_for_completion(&copy.done);

		spin_lock_irq(&hc->lock);
		for (b = first; b < first + len; b++)
			hc->blocks.state[b] &= ~HIMS_BLK_RESTORING;
		if (copy.error)
			hc->restore.errors++;	/* those blocks stay on the SSD */
		else
			hims_mark_restored(hc, first, first + len - 1);
		hc->restore.cursor = first + len;
		spin_unlock_irq(&hc->lock);
		wake_up_all(&hc->progress_wait);
		cond_resched();
	}

	spin_lock_irq(&hc->lock);
	if (!hc->restore.remaining && !hc->restore.errors) {
		spin_unlock_irq(&hc->lock);
		mutex_lock(&hc->meta.lock);
		if (!hims_write_ram_header(hc, HIMS_RAM_COMPLETE))
			WRITE_ONCE(hc->restore.done, true);
		mutex_unlock(&hc->meta.lock);
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

void hims_stop_restore(struct hims_c *hc)
{
	mutex_lock(&hc->meta.lock);
	if (hc->restore.thread) {
		mutex_unlock(&hc->meta.lock);
		kthread_stop(hc->restore.thread);
		mutex_lock(&hc->meta.lock);
		hc->restore.thread = NULL;
	}
	mutex_unlock(&hc->meta.lock);
}
