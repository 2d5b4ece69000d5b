// SPDX-License-Identifier: GPL-2.0
/*
 * The target: constructor and destructor, table options, suspend and
 * resume, status and messages.  The I/O paths live in hims-map.c,
 * hims-writeback.c, hims-restore.c and hims-dedup-glue.c.
 */
#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/vmalloc.h>
#include <linux/sched/mm.h>
#include <linux/jiffies.h>
#include <linux/dm-kcopyd.h>
#include <linux/dm-bufio.h>

#include "dm-hims.h"

/*
 * Enter the error state; the first error sticks.  Every waiter looks at
 * it (drains, flush waiters, the writeback thread), so wake them all: one
 * that never rechecks would wait forever.  Returns true for the first.
 */
bool hims_set_error(struct hims_c *hc, int error)
{
	unsigned long flags;
	bool first;

	spin_lock_irqsave(&hc->lock, flags);
	first = !hc->error;
	if (first)
		hc->error = error;
	hims_release_held(hc);
	spin_unlock_irqrestore(&hc->lock, flags);
	hims_kick_writeback(hc);
	return first;
}

/*
 * The SSD lags behind RAM: tell the next table, through the RAM header, not
 * to restore over RAM.  If RAM does not hold every block yet, the SSD holds
 * the rest: copy it now, so that RAM is whole and "dirty" (the next table
 * writes it all back).  If even that fails, neither device is whole, and
 * the next table refuses to load rather than lose either side.
 */
static void hims_mark_ram_newer(struct hims_c *hc)
{
	const char *name = dm_table_device_name(hc->ti->table);
	u32 state = HIMS_RAM_DIRTY;
	int r;

	/*
	 * First, so that the restore, if it ends now or after a resume of
	 * this table, says "dirty" and not "complete"; kept even if the
	 * header write fails.
	 */
	mutex_lock(&hc->meta.lock);
	hc->meta.ram_newer = true;
	mutex_unlock(&hc->meta.lock);
	if (!READ_ONCE(hc->restore.done) && !hims_restore_finish(hc))
		state = HIMS_RAM_DIRTY_PARTIAL;
	mutex_lock(&hc->meta.lock);
	r = hims_write_ram_header(hc, state);
	mutex_unlock(&hc->meta.lock);
	if (r)
		DMERR("%s: cannot write the RAM device header: %d", name, r);
	else if (state == HIMS_RAM_DIRTY_PARTIAL)
		DMERR("%s: RAM holds writes the SSD lacks, not every block: %s", name,
		      "the next table will refuse to load");
}

static int hims_preresume(struct dm_target *ti)
{
	struct hims_c *hc = ti->private;
	unsigned int noio;
	char *error;
	int r = 0;

	if (hc->loaded)
		return 0;
	/* The device is suspended: reclaim must not write to it. */
	noio = memalloc_noio_save();
	/*
	 * Formatted here, not in the constructor: the table this one
	 * replaces has written back and stopped writing to the SSD by now,
	 * and a table refused after our constructor ran wrote nothing.
	 */
	if (hc->formatting) {
		r = hims_format(hc, &error);
		if (r)
			DMERR("%s: %s: %d", dm_table_device_name(ti->table), error, r);
	}
	if (!r)
		r = hims_load(hc);
	memalloc_noio_restore(noio);
	if (!r)
		WRITE_ONCE(hc->loaded, true);
	return r;
}

/*
 * A killed suspend: no new writeback copy until resume, so none starts
 * while a next table formats or loads the SSD (those in flight are the
 * most that can still land).
 */
static void hims_halt_writeback(struct hims_c *hc)
{
	spin_lock_irq(&hc->lock);
	hc->wb.halted = true;
	spin_unlock_irq(&hc->lock);
	wake_up_all(&hc->progress_wait);	/* drains waiting end (-EAGAIN) */
}

static void hims_resume(struct dm_target *ti)
{
	struct hims_c *hc = ti->private;

	spin_lock_irq(&hc->lock);
	hc->suspended = false;
	hc->wb.halted = false;
	spin_unlock_irq(&hc->lock);
	hims_kick_writeback(hc);
	if (hc->restore.parked) {
		hims_restore_rearm(hc);
		kthread_unpark(hc->restore.thread);
		hc->restore.parked = false;
	}
}

static void hims_postsuspend(struct dm_target *ti)
{
	struct hims_c *hc = ti->private;
	int r;

	if (!hc->restore.parked) {
		kthread_park(hc->restore.thread);
		hc->restore.parked = true;
	}
	spin_lock_irq(&hc->lock);	/* see hims_age_tick() */
	hc->suspended = true;
	spin_unlock_irq(&hc->lock);
	/* Before the killable wait: no commit may run once suspend returns. */
	cancel_work_sync(&hc->dedup.commit_work);
	if (!hims_restore_quiesce(hc)) {
		/*
		 * Killed with a restore copy in flight, which may still land
		 * in RAM: the unfinished restore makes the header "dirty but
		 * incomplete", so no table loads over RAM meanwhile.
		 */
		DMERR("%s: suspend interrupted with a restore copy in flight",
		      dm_table_device_name(ti->table));
		hims_halt_writeback(hc);
		if (hc->loaded)
			hims_mark_ram_newer(hc);
		return;
	}
	/*
	 * Killable, like the restore it may finish: an SSD that does not
	 * answer must not hold suspend or removal forever.  Killed, RAM is
	 * marked newer, as after any failed writeback.  With dedup, the
	 * commit after it, whose own drain is then short (as for "flush").
	 */
	r = hims_drain_killable(hc);
	if (!r && hims_dedup_on(hc))
		r = hims_dedup_commit(hc);
	if (!r) {
		hims_mirror_current(hc);
	} else {
		DMERR("writeback before suspend failed: %d", r);
		hims_halt_writeback(hc);
		if (hc->loaded)
			hims_mark_ram_newer(hc);
	}
}

static void hims_free(struct hims_c *hc)
{
	if (hc->restore.thread)
		kthread_stop(hc->restore.thread);
	if (hc->wb.thread)
		kthread_stop(hc->wb.thread);
	/* Copies still in flight complete into the workqueue: kcopyd first. */
	if (hc->kc)
		dm_kcopyd_client_destroy(hc->kc);
	WARN_ON(!bio_list_empty(&hc->held));
	WARN_ON(!bio_list_empty(&hc->wb.flush_waiters));
	if (hc->wq)
		destroy_workqueue(hc->wq);
	if (hc->dedup.bufio)
		dm_bufio_client_destroy(hc->dedup.bufio);
	if (hc->dedup.data_page)
		__free_page(hc->dedup.data_page);
	if (hc->dedup.cmp_page)
		__free_page(hc->dedup.cmp_page);
	bitmap_free(hc->dedup.busy);
	kvfree(hc->dedup.mem);
	bioset_exit(&hc->bs);
	if (hc->meta.page)
		__free_page(hc->meta.page);
	if (hc->meta.copy_page)
		__free_page(hc->meta.copy_page);
	kfree(hc->wb.runs);
	vfree(hc->meta.valid_staged);
	vfree(hc->meta.valid);
	vfree(hc->blocks.lrw_writing);
	vfree(hc->blocks.lrw_seq);
	vfree(hc->blocks.lrw_next);
	vfree(hc->blocks.lrw_prev);
	vfree(hc->blocks.state);
	if (hc->ssd_dev)
		dm_put_device(hc->ti, hc->ssd_dev);
	if (hc->ram_dev)
		dm_put_device(hc->ti, hc->ram_dev);
	kfree(hc);
}

static void hims_dtr(struct dm_target *ti)
{
	hims_free(ti->private);
}

/* [<#opt_args> <opt_arg>*] into @vals, indexed by enum hims_opt. */
static int hims_parse_options(struct dm_arg_set *as, u64 *vals, char **error)
{
	static const struct dm_arg group = {
		0, HIMS_OPT_WORDS, "Invalid number of optional arguments"
	};
	const struct hims_option *opt;
	unsigned int nr_opts;
	const char *name;
	int r;

	r = dm_read_arg_group(&group, as, &nr_opts, error);
	if (r)
		return r;
	while (nr_opts--) {
		name = dm_shift_arg(as);
		opt = hims_option_find(name);
		if (!opt) {
			*error = "Unrecognised optional argument";
			return -EINVAL;
		}
		if (opt->flags & HIMS_OPT_FLAG) {
			vals[opt - hims_options] = 1;
			continue;
		}
		if (!nr_opts--) {
			*error = "Optional argument is missing its value";
			return -EINVAL;
		}
		if (kstrtoull(dm_shift_arg(as), 10, &vals[opt - hims_options])) {
			*error = opt == &hims_options[HIMS_OPT_RAM_BLOCKS] ||
				 opt == &hims_options[HIMS_OPT_DEDUP] ?
				 (char *)opt->error : "Invalid optional argument value";
			return -EINVAL;
		}
		if (!hims_option_ok(opt, vals[opt - hims_options])) {
			*error = (char *)opt->error;
			return -EINVAL;
		}
	}
	if (vals[HIMS_OPT_LOW_WATERMARK] > vals[HIMS_OPT_HIGH_WATERMARK]) {
		*error = "low_watermark is above high_watermark";
		return -EINVAL;
	}
	return 0;
}

/* The options that the context keeps. */
static void hims_apply_options(struct hims_c *hc, const u64 *vals)
{
	hc->dedup.index_entries = vals[HIMS_OPT_INDEX_ENTRIES];
	hc->wb.high_pct = vals[HIMS_OPT_HIGH_WATERMARK];
	hc->wb.low_pct = vals[HIMS_OPT_LOW_WATERMARK];
	hc->wb.jobs = vals[HIMS_OPT_WRITEBACK_JOBS];
	hc->wb.max_age_ms = vals[HIMS_OPT_MAX_AGE];
}

/* The options' values as the TABLE status lists them. */
static void hims_table_options(struct hims_c *hc, u64 *vals)
{
	vals[HIMS_OPT_RAM_BLOCKS] = hc->geo.ram_blocks;
	vals[HIMS_OPT_DEDUP] = hc->geo.dedup_blocks;
	vals[HIMS_OPT_INDEX_ENTRIES] = hc->dedup.index_entries;
	vals[HIMS_OPT_HIGH_WATERMARK] = hc->wb.high_pct;
	vals[HIMS_OPT_LOW_WATERMARK] = hc->wb.low_pct;
	vals[HIMS_OPT_WRITEBACK_JOBS] = hc->wb.jobs;
	vals[HIMS_OPT_MAX_AGE] = hc->wb.max_age_ms;
	vals[HIMS_OPT_FORMAT] = 0;
}

/* Every option with a value, dedup's only with dedup on. */
static bool hims_option_listed(struct hims_c *hc, unsigned int i)
{
	return !(hims_options[i].flags & HIMS_OPT_FLAG) &&
		(hims_dedup_on(hc) || !(hims_options[i].flags & HIMS_OPT_DEDUP_ONLY));
}

static int hims_alloc(struct hims_c *hc, char **error)
{
	u32 n = hc->geo.ram_blocks;

	hc->blocks.state = vzalloc(n);
	hc->blocks.lrw_prev = vmalloc_array(n, sizeof(u32));
	hc->blocks.lrw_next = vmalloc_array(n, sizeof(u32));
	hc->blocks.lrw_seq = vmalloc_array(n, sizeof(u64));
	hc->blocks.lrw_writing = vzalloc(n);
	hc->meta.valid = vzalloc(hc->geo.bitmap_blocks * HIMS_BLOCK_SIZE);
	hc->meta.valid_staged = vzalloc(hc->geo.bitmap_blocks * HIMS_BLOCK_SIZE);
	hc->wb.runs = kcalloc(hc->wb.jobs, sizeof(*hc->wb.runs), GFP_KERNEL);
	hc->meta.copy_page = alloc_page(GFP_KERNEL);
	if (!hc->blocks.state || !hc->blocks.lrw_prev || !hc->blocks.lrw_next ||
	    !hc->blocks.lrw_seq || !hc->blocks.lrw_writing ||
	    !hc->meta.valid || !hc->meta.valid_staged || !hc->wb.runs || !hc->meta.copy_page) {
		*error = "Cannot allocate the block map";
		return -ENOMEM;
	}
	hims_lrw_init(&hc->blocks.lrw, n, hc->blocks.state, hc->blocks.lrw_prev,
		      hc->blocks.lrw_next, hc->blocks.lrw_seq, hc->blocks.lrw_writing);
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
	hc->wq = alloc_workqueue("hims/%s", WQ_MEM_RECLAIM, 1,
				 dm_table_device_name(hc->ti->table));
	if (!hc->wq) {
		*error = "Cannot create the workqueue";
		return -ENOMEM;
	}
	return hims_dedup_alloc(hc, error);
}

static void hims_init_context(struct dm_target *ti, struct hims_c *hc)
{
	hc->ti = ti;
	hc->suspended = true;	/* until the first resume: no periodic commit */
	spin_lock_init(&hc->lock);
	mutex_init(&hc->meta.lock);
	mutex_init(&hc->mode_lock);
	mutex_init(&hc->flush_lock);
	init_waitqueue_head(&hc->wb.wait);
	init_waitqueue_head(&hc->progress_wait);
	init_completion(&hc->restore.copy.done);
	INIT_WORK(&hc->defer_work, hims_process_deferred);
	INIT_WORK(&hc->dedup.work, hims_dedup_worker);
	INIT_WORK(&hc->dedup.commit_work, hims_dedup_commit_work);
	mutex_init(&hc->dedup.lock);
	mutex_init(&hc->dedup.commit_lock);
	bio_list_init(&hc->dedup.bios);
	bio_list_init(&hc->deferred);
	bio_list_init(&hc->held);
	bio_list_init(&hc->wb.flush_waiters);
	hc->wb.age_mark_time = jiffies;
}

/* <ram_dev> <ssd_dev> <sync|async> */
static int hims_get_devices(struct dm_target *ti, struct hims_c *hc, struct dm_arg_set *as)
{
	const char *arg;
	int r;

	r = dm_get_device(ti, dm_shift_arg(as), dm_table_get_mode(ti->table), &hc->ram_dev);
	if (r) {
		ti->error = "Cannot open the RAM device";
		return r;
	}
	r = dm_get_device(ti, dm_shift_arg(as), dm_table_get_mode(ti->table), &hc->ssd_dev);
	if (r) {
		ti->error = "Cannot open the SSD";
		return r;
	}
	if (ram_bdev(hc) == ssd_bdev(hc)) {
		ti->error = "The RAM device and the SSD must differ";
		return -EINVAL;
	}
	arg = dm_shift_arg(as);
	if (!strcasecmp(arg, "sync")) {
		hc->mode = HIMS_SYNC;
	} else if (!strcasecmp(arg, "async")) {
		hc->mode = HIMS_ASYNC;
	} else {
		ti->error = "Invalid mode: want sync or async";
		return -EINVAL;
	}
	return 0;
}

/* The geometry from the target's length, the devices' sizes and the options. */
static int hims_set_geometry(struct dm_target *ti, struct hims_c *hc, u64 ram_blocks,
			     u64 dedup_blocks)
{
	u64 ram_dev_blocks, ssd_dev_blocks, total_blocks;

	if (ti->len & (HIMS_SECTORS_PER_BLOCK - 1)) {
		ti->error = "Device length must be a multiple of 4 KiB";
		return -EINVAL;
	}
	total_blocks = ti->len >> HIMS_BLOCK_SECTOR_SHIFT;
	ram_dev_blocks = bdev_nr_sectors(ram_bdev(hc)) >> HIMS_BLOCK_SECTOR_SHIFT;
	ssd_dev_blocks = bdev_nr_sectors(ssd_bdev(hc)) >> HIMS_BLOCK_SECTOR_SHIFT;
	if (ram_dev_blocks < 2) {
		ti->error = "RAM device too small";
		return -EINVAL;
	}
	if (!ram_blocks)
		ram_blocks = min(ram_dev_blocks - 1, dedup_blocks ? U64_MAX : total_blocks);
	if (ram_blocks > ram_dev_blocks - 1) {
		ti->error = "ram_blocks exceeds the RAM device (one block holds its header)";
		return -EINVAL;
	}
	if (!dedup_blocks && ram_blocks > total_blocks) {
		ti->error = "ram_blocks exceeds the device length";
		return -EINVAL;
	}
	if (dedup_blocks > total_blocks) {
		ti->error = "dedup (the logical RAM tier) exceeds the device length";
		return -EINVAL;
	}
	if (dedup_blocks) {
		if (hims_geometry_init_dedup(&hc->geo, ram_blocks, dedup_blocks,
					     hims_dedup_spill_min(dedup_blocks, ram_blocks),
					     total_blocks - dedup_blocks)) {
			ti->error = "Unsupported dedup geometry";
			return -EINVAL;
		}
		/*
		 * A quarter full, buckets of 8 practically never overflow; an
		 * overflow loses a hint and stores a duplicate again.
		 */
		if (!hc->dedup.index_entries)
			hc->dedup.index_entries =
				max_t(u32, HIMS_DEDUP_WAYS, roundup_pow_of_two(4 * ram_blocks));
	} else if (hims_geometry_init(&hc->geo, ram_blocks, total_blocks - ram_blocks)) {
		ti->error = "Unsupported RAM-tier size";
		return -EINVAL;
	}
	if (ssd_dev_blocks < hc->geo.ssd_min_blocks) {
		ti->error = dedup_blocks ?
			"SSD too small for the mirror, metadata, spill area and device length" :
			"SSD too small for the RAM-tier mirror, metadata and device length";
		return -EINVAL;
	}
	hc->wb.high_blocks = div_u64((u64)ram_blocks * hc->wb.high_pct, 100);
	hc->wb.low_blocks = div_u64((u64)ram_blocks * hc->wb.low_pct, 100);
	return 0;
}

/*
 * Refuse a hims SSD given as the RAM device: its header would overwrite
 * that SSD's superblock.  Before anything is written, the SSD included.
 */
static int hims_check_ram_device(struct hims_c *hc, char **error)
{
	const struct hims_superblock *sb = page_address(hc->meta.page);
	int r;

	r = hims_ram_io(hc, hims_ram_header_block(), hc->meta.page, REQ_OP_READ);
	if (r) {
		*error = "Cannot read the RAM device header";
		return r;
	}
	if (le64_to_cpu(sb->magic) == HIMS_SB_MAGIC) {
		*error = "RAM device holds a hims SSD superblock: zero its first 4 KiB to use it";
		return -EINVAL;
	}
	return 0;
}

/*
 * Refuse a RAM device that the last table left holding writes the SSD
 * lacks, but not every block (see hims_mark_ram_newer()).  A reload is
 * checked again at preresume, once the old table has suspended.
 */
static int hims_check_ram_header(struct hims_c *hc, char **error)
{
	int r;

	r = hims_ram_io(hc, hims_ram_header_block(), hc->meta.page, REQ_OP_READ);
	if (r) {
		*error = "Cannot read the RAM device header";
		return r;
	}
	if (hims_ram_header_state(page_address(hc->meta.page), hc->uuid) ==
	    HIMS_RAM_DIRTY_PARTIAL) {
		*error = HIMS_RAM_PARTIAL_ERROR;
		return -EIO;
	}
	return 0;
}

static int hims_start_threads(struct dm_target *ti, struct hims_c *hc)
{
	struct task_struct *t;

	t = kthread_run(hims_writeback_thread, hc, "hims_wb/%s",
			dm_table_device_name(ti->table));
	if (IS_ERR(t)) {
		ti->error = "Cannot start the writeback thread";
		return PTR_ERR(t);
	}
	hc->wb.thread = t;
	/* Parked until resume, which runs suspended and so must not create it. */
	t = kthread_create(hims_restore_thread, hc, "hims_rst/%s",
			   dm_table_device_name(ti->table));
	if (IS_ERR(t)) {
		ti->error = "Cannot create the restore thread";
		return PTR_ERR(t);
	}
	hc->restore.thread = t;
	kthread_park(t);
	hc->restore.parked = true;
	return 0;
}

/* What dm core sends the target: flushes always, discards with dedup. */
static void hims_set_target_limits(struct dm_target *ti, struct hims_c *hc)
{
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	if (hims_dedup_on(hc)) {
		ti->num_discard_bios = 1;
		ti->discards_supported = true;
	}
	ti->per_io_data_size = sizeof(struct hims_bio);
}

/*
 * <ram_dev> <ssd_dev> <sync|async> [<#opt_args> <opt_arg>*]
 */
static int hims_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	u64 vals[HIMS_NR_OPTS];
	struct hims_c *hc;
	unsigned int i;
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
	ti->private = hc;
	hims_init_context(ti, hc);
	for (i = 0; i < HIMS_NR_OPTS; i++)
		vals[i] = hims_options[i].def;

	r = hims_get_devices(ti, hc, &as);
	if (r)
		goto bad;
	if (as.argc) {
		r = hims_parse_options(&as, vals, &ti->error);
		if (r)
			goto bad;
		r = -EINVAL;
		if (as.argc) {
			ti->error = "Too many arguments";
			goto bad;
		}
	}
	hims_apply_options(hc, vals);
	r = hims_set_geometry(ti, hc, vals[HIMS_OPT_RAM_BLOCKS], vals[HIMS_OPT_DEDUP]);
	if (r)
		goto bad;

	hc->meta.page = alloc_page(GFP_KERNEL);
	if (!hc->meta.page) {
		ti->error = "Cannot allocate a metadata page";
		r = -ENOMEM;
		goto bad;
	}
	r = hims_check_ram_device(hc, &ti->error);
	if (r)
		goto bad;
	r = hims_open_superblock(hc, vals[HIMS_OPT_FORMAT], &ti->error);
	if (r)
		goto bad;
	r = hims_check_ram_header(hc, &ti->error);
	if (r)
		goto bad;
	r = hims_alloc(hc, &ti->error);
	if (r)
		goto bad;
	r = hims_start_threads(ti, hc);
	if (r)
		goto bad;
	hims_set_target_limits(ti, hc);
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
	u64 vals[HIMS_NR_OPTS];
	unsigned int sz = 0, i, words;

	switch (type) {
	case STATUSTYPE_INFO:
		if (hims_dedup_on(hc)) {
			mutex_lock(&hc->dedup.lock);
			hims_dedup_get_stats(&hc->dedup.core, &st);
			mutex_unlock(&hc->dedup.lock);
		}
		spin_lock_irq(&hc->lock);
		if (!hims_dedup_on(hc)) {
			st.mapped = hc->meta.nr_valid;
			st.phys_used = hc->meta.nr_valid;
			st.dedup_x1000 = 1000;
		}
		DMEMIT("%s %llu %llu %u %u %llu %llu %lld %lld %lld %lld %s %d",
		       mode_name(READ_ONCE(hc->mode)), hc->meta.nr_valid, hc->geo.ram_blocks,
		       hc->blocks.lrw.nr_dirty, hc->blocks.lrw.nr_writeback,
		       hc->restore.total - hc->restore.remaining, hc->restore.total,
		       (s64)atomic64_read(&hc->stats.ram_reads),
		       (s64)atomic64_read(&hc->stats.ram_writes),
		       (s64)atomic64_read(&hc->stats.ssd_reads),
		       (s64)atomic64_read(&hc->stats.ssd_writes),
		       hc->wb.paused ? "paused" : "running", hc->error);
		DMEMIT(" %u %u %u %u %u.%03u %llu", st.mapped, st.phys_used, st.zero,
		       st.spilled, st.dedup_x1000 / 1000, st.dedup_x1000 % 1000,
		       st.index_bytes);
		DMEMIT(" %s %llu", READ_ONCE(hc->restore.done) ? "complete" :
		       READ_ONCE(hc->restore.gave_up) ? "incomplete" : "restoring",
		       hc->restore.errors);
		DMEMIT(" %lld", (s64)atomic64_read(&hc->stats.ssd_flushes));
		spin_unlock_irq(&hc->lock);
		break;
	case STATUSTYPE_TABLE:
		hims_table_options(hc, vals);
		for (i = 0, words = 0; i < HIMS_NR_OPTS; i++)
			words += hims_option_listed(hc, i) ? 2 : 0;
		DMEMIT("%s %s %s %u", hc->ram_dev->name, hc->ssd_dev->name,
		       mode_name(READ_ONCE(hc->mode)), words);
		for (i = 0; i < HIMS_NR_OPTS; i++)
			if (hims_option_listed(hc, i))
				DMEMIT(" %s %llu", hims_options[i].name, vals[i]);
		break;
	default:
		if (maxlen)
			result[0] = '\0';
		break;
	}
}

/* Set the mode; returns this change's generation, @old the mode before. */
static u64 hims_set_mode(struct hims_c *hc, enum hims_mode mode, enum hims_mode *old)
{
	u64 gen;

	mutex_lock(&hc->mode_lock);
	if (old)
		*old = hc->mode;
	WRITE_ONCE(hc->mode, mode);
	gen = ++hc->mode_gen;
	mutex_unlock(&hc->mode_lock);
	return gen;
}

static int hims_message(struct dm_target *ti, unsigned int argc, char **argv,
			char *result, unsigned int maxlen)
{
	struct hims_c *hc = ti->private;
	int r;

	/*
	 * A reloaded table is live from the swap, before its preresume has
	 * formatted and loaded it: nothing to flush or switch yet.
	 */
	if (!READ_ONCE(hc->loaded)) {
		DMWARN("%s: message before the table's first resume",
		       dm_table_device_name(ti->table));
		return -EAGAIN;
	}
	if (argc == 1 && !strcasecmp(argv[0], "flush")) {
		/* The long part, killable; the commit's own drain is then short. */
		r = hims_drain_killable(hc);
		if (!r && hims_dedup_on(hc))
			r = hims_dedup_commit(hc);
		if (!r)
			hims_mirror_current(hc);
		return r;
	}
	if (argc == 1 && !strcasecmp(argv[0], "pause_writeback")) {
		spin_lock_irq(&hc->lock);
		hc->wb.paused = true;
		spin_unlock_irq(&hc->lock);
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "resume_writeback")) {
		spin_lock_irq(&hc->lock);
		hc->wb.paused = false;
		spin_unlock_irq(&hc->lock);
		hims_kick_writeback(hc);
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "clear_stats")) {
		atomic64_set(&hc->stats.ram_reads, 0);
		atomic64_set(&hc->stats.ram_writes, 0);
		atomic64_set(&hc->stats.ssd_reads, 0);
		atomic64_set(&hc->stats.ssd_writes, 0);
		return 0;
	}
	if (argc == 2 && !strcasecmp(argv[0], "mode")) {
		if (!strcasecmp(argv[1], "async")) {
			hims_set_mode(hc, HIMS_ASYNC, NULL);
			return 0;
		}
		if (!strcasecmp(argv[1], "sync")) {
			enum hims_mode old;
			u64 gen = hims_set_mode(hc, HIMS_SYNC, &old);

			/*
			 * New writes go through, or wait for their block's
			 * writeback; what is dirty is written back now, until
			 * writes that were on their way when we switched are too.
			 * Killed or failed, the mode is as before, as the
			 * error says, unless a later message changed it; the
			 * writeback it started goes on.
			 */
			r = hims_drain_all(hc);
			if (r) {
				mutex_lock(&hc->mode_lock);
				if (hc->mode_gen == gen)
					WRITE_ONCE(hc->mode, old);
				mutex_unlock(&hc->mode_lock);
			}
			return r;
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
	.version = {1, 3, 0},
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
