// SPDX-License-Identifier: GPL-2.0
/*
 * hims-fuzz: the kernel half of the fuzzer (tests/fuzz/README), run in the
 * VM by tests/guest/fuzz/fuzz-kernel.sh.  Through libdevmapper, so that
 * thousands of cases take seconds:
 *
 *   hims-fuzz tables   generated tables for both targets, loaded into one
 *                      device kept for the run; a refused one must leave a
 *                      reason in the kernel log and no write on any SSD
 *                      (the write counters of the devices and of the disks
 *                      under them, and every --batch cases the whole SSDs
 *                      against copies, the batch rerun case by case if
 *                      they differ)
 *   hims-fuzz messages every verb with bad arguments, to live devices
 *   hims-fuzz disk     a valid table over a damaged SSD or RAM header;
 *                      first, on every --probe-every'th (20) and
 *                      --assemble-every'th (40) case, the installed
 *                      "himsctl probe", "hims-check" and "himsctl
 *                      assemble" on that SSD, a real block device (its
 *                      hints name the RAM device and the device): exit 0,
 *                      or status 1 with one line on stderr; an assembled
 *                      device reads and "himsctl remove" takes it away,
 *                      leaving no device-mapper, zram or brd device
 *                      behind.  The undamaged SSDs go through all three
 *                      first and must pass.
 *   hims-fuzz list     print the tables of "tables" (with the test's sizes)
 *
 * Every case: no kernel warning in the log.  The summary line is
 * "<mode>: cases N refused N accepted N failures N seed S", then where the
 * time went ("<mode>: time ..."); disk prints its tools' runs before.
 * Exit 1 on any failure, with the case number; "--first <i> --cases 1"
 * replays it, tools included.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libdevmapper.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "tests/fuzz/fuzz-gen.h"
#include "tools/lib/hims-hints.h"

#define BS		HIMS_BLOCK_SIZE
#define CASE_NAME	"fz-case"
#define HEAD_BYTES	(64 * 1024)	/* read from a live device: block 0, bitmap */

static struct fz_run sel = { 1, 0, 1000 };	/* the cases to run */
static bool verbose;
static unsigned long nr_refused, nr_accepted, nr_failures, nr_ram_writes;
static char dm_last[256];
static int kmsg_fd = -1;
static u64 cur_case;
static char label[128];		/* of the case running, for a failure */

/*
 * Where a run's time goes, printed after its summary: to see what to make
 * faster, not checked (a time asserted would fail on a loaded host).
 */
enum {
	T_OTHER, T_LOAD, T_RESUME, T_REMOVE, T_SEND, T_BEFORE, T_AFTER, T_FULL, T_RESTORE, T_KMSG,
	T_DAMAGE, T_PROBE, T_ASSEMBLE, T_NR
};

/* probe: himsctl probe and hims-check; assemble: with the reads, remove, checks. */
static const char *const t_names[T_NR] = {
	"other", "load", "resume", "reset", "send", "before", "after", "full", "restore", "kmsg",
	"damage", "probe", "assemble",
};

static double t_spent[T_NR];
static double t_mark;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Charges the time since the last charge to @bucket. */
static void charge(int bucket)
{
	double t = now();

	t_spent[bucket] += t - t_mark;
	t_mark = t;
}

static void fail(const char *fmt, ...) __printf(1, 2);

static void fail(const char *fmt, ...)
{
	va_list ap;

	if (label[0])
		printf("FAIL %s (seed %llu): ", label, (unsigned long long)sel.seed);
	else
		printf("FAIL case %llu (seed %llu): ", (unsigned long long)cur_case,
		       (unsigned long long)sel.seed);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	nr_failures++;
}

/* libdevmapper's messages: keep the last, print none. */
static void dm_log(int level, const char *file, int line, int dm_errno,
		   const char *fmt, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno;
	if (level > 3)
		return;
	va_start(ap, fmt);
	vsnprintf(dm_last, sizeof(dm_last), fmt, ap);
	va_end(ap);
}

/* Kernel log lines since the last call (text only, one per record). */
#define KLINES	32
struct klog {
	char line[KLINES][256];
	int n;
	bool multi;		/* a record of more than one line */
};

static void kmsg_open(void)
{
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd < 0) {
		perror("/dev/kmsg");
		exit(2);
	}
	lseek(kmsg_fd, 0, SEEK_END);
}

static const char *const bad_words[] = {
	"WARNING:", "BUG:", "Oops", "Call Trace", "UBSAN", "KASAN", "general protection",
	"kernel BUG", "list_add corruption", "list_del corruption", "refcount_t",
	"blocked for more than", "soft lockup", "unreferenced object",
};

static void kmsg_read(struct klog *k)
{
	char rec[1024], *text, *nl;
	ssize_t n;
	size_t i;

	charge(T_OTHER);
	k->n = 0;
	k->multi = false;
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		text = strchr(rec, ';');
		if (!text)
			continue;
		text++;
		nl = strchr(text, '\n');
		if (nl)
			*nl = 0;
		/* printk escapes a newline inside a record as \x0a. */
		if (strstr(text, "\\x0a"))
			k->multi = true;
		for (i = 0; i < ARRAY_SIZE(bad_words); i++)
			if (strstr(text, bad_words[i]))
				fail("kernel log: %s", text);
		if (k->n < KLINES)
			snprintf(k->line[k->n++], sizeof(k->line[0]), "%s", text);
	}
	charge(T_KMSG);
}

/* A refusal must have left a device-mapper line with a reason. */
static bool has_reason(const struct klog *k, const char **reason)
{
	int i;

	for (i = 0; i < k->n; i++) {
		if (strncmp(k->line[i], "device-mapper:", 14))
			continue;
		*reason = k->line[i];
		/* "device-mapper: <module>: <reason>", the reason not empty. */
		return strlen(k->line[i]) > 30 && !strstr(k->line[i], "(null)");
	}
	return false;
}

static int dm_simple(int op, const char *name)
{
	struct dm_task *dmt = dm_task_create(op);
	int r = 0;

	if (dmt && dm_task_set_name(dmt, name) && dm_task_run(dmt))
		r = 1;
	if (dmt)
		dm_task_destroy(dmt);
	return r;
}

static bool dm_exists(const char *name)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_INFO);
	struct dm_info info;
	bool e = false;

	if (dmt && dm_task_set_name(dmt, name) && dm_task_run(dmt) &&
	    dm_task_get_info(dmt, &info))
		e = info.exists;
	if (dmt)
		dm_task_destroy(dmt);
	return e;
}

static void dm_gone(const char *name)
{
	int tries;

	charge(T_OTHER);
	for (tries = 0; dm_exists(name) && tries < 50; tries++) {
		if (dm_simple(DM_DEVICE_REMOVE, name))
			break;
		usleep(20000);
	}
	if (dm_exists(name))
		fail("cannot remove %s: %s", name, dm_last);
	charge(T_REMOVE);
}

/* DM_DEVICE_CREATE (with a table) or DM_DEVICE_RELOAD (into the inactive slot). */
static bool dm_table(int op, const char *name, u64 len, const char *type,
		     const char *params)
{
	struct dm_task *dmt = dm_task_create(op);
	bool ok = false;

	dm_last[0] = 0;
	if (dmt && dm_task_set_name(dmt, name) &&
	    dm_task_add_target(dmt, 0, len, type, params) && dm_task_run(dmt))
		ok = true;
	if (dmt)
		dm_task_destroy(dmt);
	return ok;
}

/*
 * Every case loads its table into one device, kept for the whole run: a
 * device's creation and removal cost more than the table (measured: a
 * refused table took 43 ms to create, load and remove).  Between cases
 * the device holds an error table, so that no hims table stays live.
 */
static void case_dev_create(void)
{
	dm_gone(CASE_NAME);
	if (!dm_table(DM_DEVICE_CREATE, CASE_NAME, 8, "error", "")) {
		fprintf(stderr, "hims-fuzz: cannot create %s: %s\n", CASE_NAME, dm_last);
		exit(2);
	}
	/* No udev: libdevmapper makes /dev/mapper/<name> itself, now. */
	dm_task_update_nodes();
}

/* Back to the error table: the case's one is suspended and destroyed. */
static void case_dev_reset(void)
{
	charge(T_OTHER);
	if (!dm_table(DM_DEVICE_RELOAD, CASE_NAME, 8, "error", "") ||
	    !dm_simple(DM_DEVICE_RESUME, CASE_NAME)) {
		fail("cannot put back the error table (%s): recreating %s", dm_last, CASE_NAME);
		case_dev_create();
	}
	charge(T_REMOVE);
}

enum { REFUSED_LOAD, REFUSED_RESUME, LOADED, LIVE };

/*
 * Loads a case's table into the inactive slot (the constructor checks
 * it), then if @resume resumes it (the preresume reads the SSD's
 * metadata), or else clears it.  A table refused at resume is live but
 * suspended: the error table replaces it.  A resume costs most (the old
 * table's suspend, and the new one's to go), so not every table has one.
 */
static int case_load(const struct fz_table *t, bool resume)
{
	int r = LIVE;

	charge(T_OTHER);
	if (!dm_table(DM_DEVICE_RELOAD, CASE_NAME, t->len, t->type, t->params)) {
		charge(T_LOAD);
		return REFUSED_LOAD;
	}
	charge(T_LOAD);
	if (!resume) {
		if (!dm_simple(DM_DEVICE_CLEAR, CASE_NAME))
			fail("cannot clear the inactive table of %s: %s", CASE_NAME, dm_last);
		charge(T_REMOVE);
		return LOADED;
	}
	if (!dm_simple(DM_DEVICE_RESUME, CASE_NAME))
		r = REFUSED_RESUME;
	charge(T_RESUME);
	if (r == REFUSED_RESUME)
		case_dev_reset();
	return r;
}

static bool dm_send(const char *name, const char *msg)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	bool ok = false;

	charge(T_OTHER);
	if (dmt && dm_task_set_name(dmt, name) && dm_task_set_sector(dmt, 0) &&
	    dm_task_set_message(dmt, msg) && dm_task_run(dmt))
		ok = true;
	if (dmt)
		dm_task_destroy(dmt);
	charge(T_SEND);
	return ok;
}

/*
 * The devices a case may touch: SSDs (slices of the disks, copied), RAM
 * devices (a write is counted, not a failure), and the whole disks under
 * the slices (a write to one is a failure, its slices are what is copied).
 */
enum { DEV_SSD, DEV_RAM, DEV_DISK };
struct dev {
	const char *path;
	int kind;
	u64 bytes;
	u8 *copy;		/* an SSD's content as the run expects it */
	int stat_fd;		/* its /sys/dev/block/M:m/stat, kept open */
	u64 writes;		/* sectors written and discarded, from there */
	u64 block0;		/* a RAM device's: a checksum of its block 0 */
};

#define MAX_DEVS 10
static struct dev devs[MAX_DEVS];
static int nr_devs;

static int xopen(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "hims-fuzz: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

static void *xalloc(size_t bytes)
{
	void *p;

	if (posix_memalign(&p, BS, bytes ? bytes : BS)) {
		fprintf(stderr, "hims-fuzz: out of memory\n");
		exit(2);
	}
	memset(p, 0, bytes);
	return p;
}

static void dev_io(const char *path, u64 off, void *buf, size_t len, bool write)
{
	int fd = xopen(path, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	/* O_DIRECT wants an aligned buffer. */
	void *io = (uintptr_t)buf % BS ? xalloc(len) : buf;
	ssize_t n;

	if (io != buf && write)
		memcpy(io, buf, len);
	n = write ? pwrite(fd, io, len, (off_t)off) : pread(fd, io, len, (off_t)off);
	if (n != (ssize_t)len) {
		fprintf(stderr, "hims-fuzz: %s %s at %llu: %s\n", write ? "write" : "read",
			path, (unsigned long long)off, n < 0 ? strerror(errno) : "short");
		exit(2);
	}
	if (io != buf) {
		if (!write)
			memcpy(buf, io, len);
		free(io);
	}
	close(fd);
}

static u64 dev_size(const char *path)
{
	int fd = xopen(path, O_RDONLY);
	u64 bytes = 0;

	if (ioctl(fd, BLKGETSIZE64, &bytes)) {
		fprintf(stderr, "hims-fuzz: %s: not a block device\n", path);
		exit(2);
	}
	close(fd);
	return bytes;
}

/* Sectors written plus discarded, the 7th and 14th fields of its stat. */
static u64 dev_writes(const struct dev *d)
{
	unsigned long long f[17] = { 0 };
	char line[512], *p = line, *end;
	ssize_t n;
	int i;

	/* sysfs makes the text again on every read from offset 0. */
	n = pread(d->stat_fd, line, sizeof(line) - 1, 0);
	if (n <= 0) {
		fprintf(stderr, "hims-fuzz: cannot read the stat of %s\n", d->path);
		exit(2);
	}
	line[n] = 0;
	for (i = 0; i < 17; i++, p = end) {
		f[i] = strtoull(p, &end, 10);
		if (end == p)
			break;
	}
	return f[6] + f[13];
}

static struct dev *dev_add(const char *path, int kind)
{
	struct dev *d = &devs[nr_devs++];
	char sys[64];
	struct stat st;

	d->path = path;
	d->kind = kind;
	d->bytes = dev_size(path);
	if (stat(path, &st)) {
		fprintf(stderr, "hims-fuzz: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/stat", major(st.st_rdev),
		 minor(st.st_rdev));
	d->stat_fd = xopen(sys, O_RDONLY);
	if (kind == DEV_SSD) {
		d->copy = xalloc(d->bytes);
		dev_io(path, 0, d->copy, d->bytes, false);
	}
	return d;
}

/*
 * brd counts no I/O in its stat, so a RAM device's block 0 is read
 * instead: its RAM header, or the superblock a table wrote when it took
 * the device for its SSD.  Past block 0 nothing is read without them.
 */
static u64 ram_block0(const struct dev *d)
{
	u8 *b = xalloc(BS);
	u64 sum;

	dev_io(d->path, 0, b, BS, false);
	sum = fz_sum(b, BS);
	free(b);
	return sum;
}

static bool ram_written(const struct dev *d)
{
	return dev_writes(d) != d->writes || ram_block0(d) != d->block0;
}

static void devs_before(void)
{
	int i;

	charge(T_OTHER);
	for (i = 0; i < nr_devs; i++) {
		devs[i].writes = dev_writes(&devs[i]);
		if (devs[i].kind == DEV_RAM)
			devs[i].block0 = ram_block0(&devs[i]);
	}
	charge(T_BEFORE);
}

/*
 * After a refused case: nothing written.  The counters see every write
 * and discard that reaches a device, the whole disks' those that skip the
 * slices; the contents are compared by batch (devs_differ()).
 */
static void devs_unchanged(const char *what)
{
	int i;

	charge(T_OTHER);
	for (i = 0; i < nr_devs; i++) {
		struct dev *d = &devs[i];
		u64 w = dev_writes(d);

		if (d->kind == DEV_RAM)
			nr_ram_writes += ram_written(d);
		else if (w != d->writes)
			fail("%s: %s got %llu sectors written", what, d->path,
			     (unsigned long long)(w - d->writes));
	}
	charge(T_AFTER);
}

/* Put back what a case changed (a format, a commit); @all: every device. */
static void devs_restore(bool all)
{
	u8 *zero = xalloc(BS);
	int i;

	charge(T_OTHER);
	for (i = 0; i < nr_devs; i++) {
		struct dev *d = &devs[i];

		if (d->kind == DEV_DISK)
			continue;
		if (d->kind == DEV_RAM && (all || ram_written(d)))
			dev_io(d->path, 0, zero, BS, true);	/* its header */
		else if (d->kind == DEV_SSD && (all || dev_writes(d) != d->writes))
			dev_io(d->path, 0, d->copy, d->bytes, true);
	}
	free(zero);
	charge(T_RESTORE);
}

/* The first SSD whose bytes are not its copy's, or NULL. */
static const struct dev *devs_differ(void)
{
	const struct dev *bad = NULL;
	int i;

	charge(T_OTHER);
	for (i = 0; i < nr_devs && !bad; i++) {
		struct dev *d = &devs[i];
		u8 *buf;

		if (d->kind != DEV_SSD)
			continue;
		buf = xalloc(d->bytes);
		dev_io(d->path, 0, buf, d->bytes, false);
		if (memcmp(buf, d->copy, d->bytes))
			bad = d;
		free(buf);
	}
	charge(T_FULL);
	return bad;
}

static void devs_full_check(void)
{
	const struct dev *d = devs_differ();

	if (d)
		fail("%s differs from what the run left on it", d->path);
}

/* The whole disks under the slices (--disk), counted as DEV_DISK. */
static const char *disks[2];
static int nr_disks;

static void disks_add(void)
{
	int i;

	for (i = 0; i < nr_disks; i++)
		dev_add(disks[i], DEV_DISK);
}

static void summary(const char *mode)
{
	double total = 0;
	int i;

	printf("%s: cases %llu refused %lu accepted %lu failures %lu seed %llu",
	       mode, (unsigned long long)sel.cases, nr_refused, nr_accepted, nr_failures,
	       (unsigned long long)sel.seed);
	if (nr_ram_writes)
		printf(" (refusals that wrote a RAM device: %lu)", nr_ram_writes);
	printf("\n");
	charge(T_OTHER);
	for (i = 0; i < T_NR; i++)
		total += t_spent[i];
	printf("%s: time %.1f s, %.2f ms per case:", mode, total,
	       total * 1000 / (double)max_t(u64, sel.cases, 1));
	for (i = 0; i < T_NR; i++)
		if (t_spent[i] >= 0.05)
			printf(" %s %.1f", t_names[i], t_spent[i]);
	printf("\n");
}

/* The geometry in a device's superblock. */
static void sb_of(const char *path, struct hims_geometry *geo)
{
	u8 *b = xalloc(BS);

	dev_io(path, 0, b, BS, false);
	if (hims_sb_geometry(b, geo) || hims_sb_check(b, geo) != HIMS_SB_OK) {
		fprintf(stderr, "hims-fuzz: %s holds no valid hims superblock\n", path);
		exit(2);
	}
	free(b);
}

static struct fz_env env;

/*
 * Tables that found bugs, run first (cases r0, r1, ...): @l is the plain
 * table's length, @d the dedup one's; %s the devices in the order given.
 */
static const struct {
	int len;		/* 0: the plain SSD's, 1: the dedup SSD's */
	const char *params;	/* ram, ssd, then the other devices */
	int expect;
	const char *why;
} regressions[] = {
	{ 0, "%3$s %5$s sync 2 ram_blocks 100", FZ_REFUSE,
	  "a hims SSD as the RAM device: its superblock became a RAM header" },
	{ 1, "%2$s %4$s async 7 ram_blocks 64 dedup 200 index_entries 1073741824 format",
	  FZ_REFUSE, "format, then kvzalloc() of 8 GiB: a warning and a formatted SSD" },
	/* The harness: brd counts no writes, so ram1 kept the superblock. */
	{ 0, "%1$s %2$s sync 3 ram_blocks 100 format", FZ_ACCEPT,
	  "the second RAM device formatted as the SSD" },
	{ 1, "%2$s %4$s async 4 ram_blocks 64 dedup 200", FZ_ACCEPT,
	  "a valid table over that RAM device: refused, a superblock on it" },
};

static void old_bug_table(int i, struct fz_table *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->type, sizeof(t->type), "hims");
	t->len = (regressions[i].len ? env.dbase_dedup + env.dbase_tier :
		  env.base_ram + env.base_tier) * HIMS_SECTORS_PER_BLOCK;
	snprintf(t->params, sizeof(t->params), regressions[i].params, env.ram, env.ram2,
		 env.ssd, env.dssd, env.blank);
	snprintf(t->what, sizeof(t->what), "regression r%d", i);
	t->expect = regressions[i].expect;
}

/*
 * --inject-write <case>: after that case, change a byte of the first SSD
 * and hide the write from the counters, as a write they could not see
 * would be: the run must fail, naming the case (fuzz-kernel.sh checks).
 */
static u64 inject_case;
static bool inject;

static void inject_write(void)
{
	struct dev *d = devs;
	u64 before[MAX_DEVS];
	u8 *b = xalloc(BS);
	int i;

	for (i = 0; i < nr_devs; i++)
		before[i] = dev_writes(&devs[i]);
	while (d->kind != DEV_SSD)
		d++;
	dev_io(d->path, d->bytes - BS, b, BS, false);
	b[0] ^= 1;
	dev_io(d->path, d->bytes - BS, b, BS, true);
	free(b);
	for (i = 0; i < nr_devs; i++)
		devs[i].writes += dev_writes(&devs[i]) - before[i];
}

/* Table cases between comparisons of the SSDs with their copies. */
static u64 batch = 1000;
/* Cases whose table, if accepted, is resumed: those with index % this 0. */
static u64 resume_every = 4;

/*
 * One table: a refusal must leave a reason in one line of the kernel log
 * and no write; what an accepted table wrote is put back.  @resume: make
 * an accepted table live; @check: also compare every SSD with its copy
 * (when a batch's comparison failed).
 */
static void table_case(const struct fz_table *t, bool resume, bool check)
{
	const struct dev *d;
	const char *reason;
	struct klog k;
	int r;

	if (verbose)
		printf("%s [%s]: %llu %s %s\n", label, t->what, (unsigned long long)t->len,
		       t->type, t->params);
	devs_before();
	kmsg_read(&k);
	r = case_load(t, resume);
	if (inject && cur_case == inject_case)
		inject_write();
	if (r == LIVE || r == LOADED) {
		nr_accepted++;
		if (t->expect == FZ_REFUSE)
			fail("[%s] %llu %s %s: accepted", t->what, (unsigned long long)t->len,
			     t->type, t->params);
		if (r == LIVE)
			case_dev_reset();
		kmsg_read(&k);
		devs_restore(false);
		goto check;
	}
	nr_refused++;
	kmsg_read(&k);
	if (t->expect == FZ_ACCEPT)
		fail("[valid] %llu %s %s: refused: %s", (unsigned long long)t->len, t->type,
		     t->params, has_reason(&k, &reason) ? reason : "no reason");
	if (!has_reason(&k, &reason))
		fail("[%s] %llu %s %s: refused (%s) without a reason in %s", t->what,
		     (unsigned long long)t->len, t->type, t->params, dm_last, "the kernel log");
	else if (k.multi)
		fail("[%s] %s: a reason of more than one line", t->what, t->params);
	else if (verbose)
		printf("  refused: %s\n", reason);
	devs_unchanged(t->params);
	if (nr_failures)
		devs_restore(false);
check:
	d = check ? devs_differ() : NULL;
	if (d) {
		fail("[%s] %s: %s's bytes changed", t->what, t->params, d->path);
		devs_restore(true);
	}
}

/* Table case @i (counted from 0 for the whole seed). */
static void gen_table_case(u64 i, bool check)
{
	struct fz_table t;
	struct fz_rng r;

	cur_case = i;
	fz_rng_case(&r, sel.seed, i, 1);
	fz_gen_table(&r, &env, &t);
	snprintf(label, sizeof(label), "case %llu", (unsigned long long)i);
	table_case(&t, i % resume_every == 0, check);
}

static int run_tables(void)
{
	struct hims_geometry geo;
	struct fz_table t;
	const struct dev *d;
	u64 b, i, end = sel.first + sel.cases;
	unsigned long failures, refused, accepted;
	int reg;

	sb_of(env.ssd, &geo);
	env.base_ram = geo.ram_blocks;
	env.base_tier = geo.ssd_blocks;
	sb_of(env.dssd, &geo);
	env.dbase_ram = geo.ram_blocks;
	env.dbase_dedup = geo.dedup_blocks;
	env.dbase_tier = geo.ssd_blocks;
	env.ram_blocks = dev_size(env.ram) / BS;
	env.blank_blocks = dev_size(env.blank) / BS;
	env.fb_sectors = dev_size(env.fb_dev) / 512;
	dev_add(env.ram, DEV_RAM);
	dev_add(env.ram2, DEV_RAM);
	dev_add(env.ssd, DEV_SSD);
	dev_add(env.dssd, DEV_SSD);
	dev_add(env.blank, DEV_SSD);
	dev_add(env.small, DEV_SSD);
	disks_add();
	case_dev_create();
	kmsg_open();
	/* The regressions first, each in its own case, each checked. */
	cur_case = ~0ULL;
	for (reg = 0; reg < (int)ARRAY_SIZE(regressions); reg++) {
		old_bug_table(reg, &t);
		snprintf(label, sizeof(label), "%s", t.what);
		table_case(&t, true, true);
	}
	/*
	 * Then in batches: the SSDs' bytes are compared with their copies
	 * after each (reading them all costs what a few hundred tables do).
	 * If they differ, the batch runs again from the copies, compared
	 * after every case, to name the case.
	 */
	for (b = sel.first; b < end && nr_failures <= 20; b += batch) {
		for (i = b; i < end && i < b + batch && nr_failures <= 20; i++)
			gen_table_case(i, false);
		label[0] = 0;
		d = devs_differ();
		if (!d)
			continue;
		printf("%s changed in cases %llu-%llu: running them again, one by one\n",
		       d->path, (unsigned long long)b, (unsigned long long)i - 1);
		devs_restore(true);
		failures = nr_failures;
		refused = nr_refused;
		accepted = nr_accepted;
		for (i = b; i < end && i < b + batch && nr_failures == failures; i++)
			gen_table_case(i, true);
		label[0] = 0;
		if (nr_failures == failures)
			fail("%s changed in cases %llu-%llu, but not when each ran alone", d->path,
			     (unsigned long long)b, (unsigned long long)i - 1);
		nr_refused = refused;
		nr_accepted = accepted;
		devs_restore(true);
	}
	label[0] = 0;
	devs_full_check();
	dm_gone(CASE_NAME);
	summary("tables");
	return nr_failures ? 1 : 0;
}

/* The tables alone, for a guest's geometry: to find or replay a case. */
static int list_tables(void)
{
	struct fz_table t;
	struct fz_rng r;

	/* fuzz-kernel.sh's devices, unless given. */
	env.ram = env.ram ? env.ram : "/dev/ram0";
	env.ram2 = env.ram2 ? env.ram2 : "/dev/ram1";
	env.ssd = env.ssd ? env.ssd : "/dev/mapper/fz-ssd";
	env.dssd = env.dssd ? env.dssd : "/dev/mapper/fz-dssd";
	env.blank = env.blank ? env.blank : "/dev/mapper/fz-blank";
	env.small = env.small ? env.small : "/dev/mapper/fz-small";
	env.fb_dev = env.fb_dev ? env.fb_dev : "/dev/mapper/fz-fbdev";
	env.base_ram = 100;
	env.base_tier = 256;
	env.dbase_ram = 64;
	env.dbase_dedup = 200;
	env.dbase_tier = 128;
	env.fb_sectors = 16384;
	for (cur_case = sel.first; cur_case < sel.first + sel.cases; cur_case++) {
		fz_rng_case(&r, sel.seed, cur_case, 1);
		fz_gen_table(&r, &env, &t);
		printf("case %llu [%s] expect %d: %llu %s %s\n", (unsigned long long)cur_case,
		       t.what, t.expect, (unsigned long long)t.len, t.type, t.params);
	}
	return 0;
}

static const char *msg_targets[4];
static int nr_msg_targets;

static int run_messages(void)
{
	bool weights[FZ_CGROUPS] = { false };
	const char *reason;
	struct fz_rng r;
	struct fz_msg m;
	struct klog k;
	int i;
	bool ok, feedbac;

	kmsg_open();
	for (cur_case = sel.first; cur_case < sel.first + sel.cases; cur_case++) {
		fz_rng_case(&r, sel.seed, cur_case, 2);
		i = (int)fz_below(&r, (u64)nr_msg_targets);
		feedbac = !strncmp(msg_targets[i], "fb", 2);
		fz_gen_message(&r, feedbac, weights, &m);
		/* At random times while fio runs. */
		if (fz_chance(&r, 30))
			usleep((useconds_t)fz_below(&r, 3000));
		kmsg_read(&k);
		ok = dm_send(msg_targets[i], m.text);
		kmsg_read(&k);
		if (verbose)
			printf("case %llu %s '%s': %s\n", (unsigned long long)cur_case,
			       msg_targets[i], m.text, ok ? "ok" : "refused");
		if (ok) {
			nr_accepted++;
			if (!m.valid)
				fail("%s: '%s' was accepted", msg_targets[i], m.text);
			continue;
		}
		nr_refused++;
		if (m.valid)
			fail("%s: '%s' was refused (%s)", msg_targets[i], m.text, dm_last);
		else if (!has_reason(&k, &reason))
			fail("%s: '%s' refused without a reason in the kernel log",
			     msg_targets[i], m.text);
		if (nr_failures > 20)
			break;
	}
	/* Leave writeback running. */
	for (i = 0; i < nr_msg_targets; i++)
		if (strncmp(msg_targets[i], "fb", 2))
			dm_send(msg_targets[i], "resume_writeback");
	summary("messages");
	return nr_failures ? 1 : 0;
}

/* A valid table over the device in @dev and its superblock's geometry. */
static void disk_table(const char *ram, const char *ssd, const struct hims_geometry *g,
		       struct fz_table *t, struct fz_rng *r)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->type, sizeof(t->type), "hims");
	t->len = (hims_boundary(g) + g->ssd_blocks) * HIMS_SECTORS_PER_BLOCK;
	if (g->dedup_blocks)
		snprintf(t->params, sizeof(t->params), "%s %s %s 4 ram_blocks %llu dedup %llu",
			 ram, ssd, fz_chance(r, 50) ? "sync" : "async",
			 (unsigned long long)g->ram_blocks, (unsigned long long)g->dedup_blocks);
	else
		snprintf(t->params, sizeof(t->params), "%s %s %s 2 ram_blocks %llu",
			 ram, ssd, fz_chance(r, 50) ? "sync" : "async",
			 (unsigned long long)g->ram_blocks);
}

/*
 * The installed tools (in the guest's PATH) on the damaged SSD, a real
 * block device: "himsctl probe" and "hims-check" every --probe-every'th
 * disk case, "himsctl assemble" every --assemble-every'th (0: never).
 * The case's index chooses, so "--first I --cases 1" runs what case I ran.
 */
static u64 probe_every = 20, assemble_every = 40;

/* The runs of each, and those that exited 0, for the line before the summary. */
enum { TOOL_PROBE, TOOL_CHECK, TOOL_ASSEMBLE, TOOL_REMOVE, TOOL_NR };
static const char *const tool_names[TOOL_NR] = { "probe", "hims-check", "assemble", "remove" };
static unsigned long nr_tool_runs[TOOL_NR], nr_tool_ok[TOOL_NR];

/* A tool still running after this many seconds is killed (SIGALRM, a failure). */
#define TOOL_TIMEOUT	120

#define TOOL_ARGS	6
struct tool_run {
	const char *argv[TOOL_ARGS];
	char cmd[300];		/* the command line, for a report */
	int status;		/* exit status, or -1 */
	int sig;		/* the signal that ended it, or 0 */
	char out[8192];
	char err[8192];
};

static int tool_out = -1, tool_err = -1;	/* memfds: its stdout, stderr */

static void tool_slurp(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = 0;
}

/*
 * The command @arg0 (found in PATH) with the arguments after it, up to a
 * NULL, in a child; its command line, status and output in @tr.
 */
static void tool_run(struct tool_run *tr, const char *arg0, ...) __attribute__((sentinel));

static void tool_run(struct tool_run *tr, const char *arg0, ...)
{
	const char *arg = arg0;
	size_t l = 0;
	va_list ap;
	pid_t pid;
	int i, st;

	va_start(ap, arg0);
	for (i = 0; arg && i < TOOL_ARGS - 1; i++, arg = va_arg(ap, const char *)) {
		tr->argv[i] = arg;
		l += (size_t)snprintf(tr->cmd + l, sizeof(tr->cmd) - l, "%s%s", i ? " " : "", arg);
		l = min_t(size_t, l, sizeof(tr->cmd) - 1);
	}
	va_end(ap);
	tr->argv[i] = NULL;

	if (tool_out < 0) {
		tool_out = memfd_create("hims-fuzz-out", MFD_CLOEXEC);
		tool_err = memfd_create("hims-fuzz-err", MFD_CLOEXEC);
		if (tool_out < 0 || tool_err < 0) {
			perror("hims-fuzz: memfd_create");
			exit(2);
		}
	}
	/* The child's fds share these offsets: back to 0, and empty. */
	if (ftruncate(tool_out, 0) || ftruncate(tool_err, 0) ||
	    lseek(tool_out, 0, SEEK_SET) || lseek(tool_err, 0, SEEK_SET)) {
		perror("hims-fuzz: memfd");
		exit(2);
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("hims-fuzz: fork");
		exit(2);
	}
	if (!pid) {
		if (dup2(tool_out, 1) < 0 || dup2(tool_err, 2) < 0)
			_exit(126);
		alarm(TOOL_TIMEOUT);
		execvp(tr->argv[0], (char *const *)tr->argv);
		fprintf(stderr, "hims-fuzz: cannot run %s: %s\n", tr->argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			perror("hims-fuzz: waitpid");
			exit(2);
		}
	}
	tr->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	tr->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	tool_slurp(tool_out, tr->out, sizeof(tr->out));
	tool_slurp(tool_err, tr->err, sizeof(tr->err));
}

static int nr_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * The tools' rule: exit 0 with nothing on stderr, or status 1 with exactly
 * one line on stderr that names the tool; never a signal.  @want: the
 * status the case must have (0 or 1), or -1.  Returns the status, 0 or 1,
 * or -1 after a failure.
 */
static int tool_verdict(int tool, const struct tool_run *tr, int want)
{
	const char *cmd = tr->cmd;
	char prefix[32];
	int r = -1;

	snprintf(prefix, sizeof(prefix), "%s: ", tr->argv[0]);
	nr_tool_runs[tool]++;
	if (verbose)
		printf("  %s: status %d%s%s", cmd, tr->sig ? 128 + tr->sig : tr->status,
		       tr->err[0] ? ", " : "\n", tr->err);
	if (tr->sig) {
		fail("%s: killed by signal %d (%s)%s", cmd, tr->sig, strsignal(tr->sig),
		     tr->sig == SIGALRM ? ", still running after the timeout" : "");
		return -1;
	}
	if (tr->status == 0 && !tr->err[0])
		r = 0;
	else if (tr->status == 1 && nr_lines(tr->err) == 1 &&
		 !strncmp(tr->err, prefix, strlen(prefix)))
		r = 1;
	if (r < 0)
		fail("%s: status %d, not 0 (with nothing on stderr) or 1 (with one line), %s%.300s",
		     cmd, tr->status, "stderr: ", tr->err);
	else if (want >= 0 && r != want)
		fail("%s: status %d (%d expected), stderr: %.300s", cmd, r, want, tr->err);
	else
		nr_tool_ok[tool] += r == 0;
	return r;
}

/*
 * "himsctl probe" and "hims-check" on the SSD: KEY=value lines, or one
 * line; and no write.  @want: their known status, or -1.
 */
static void probe_case(struct dev *ssd, int want)
{
	struct tool_run tr;
	const char *l, *nl;
	u64 w;

	charge(T_OTHER);
	w = dev_writes(ssd);
	tool_run(&tr, "himsctl", "probe", ssd->path, NULL);
	if (tool_verdict(TOOL_PROBE, &tr, want) == 0) {
		/* KEY=value lines only, for udev's IMPORT and the shell. */
		for (l = tr.out; *l; l = nl + 1) {
			nl = strchr(l, '\n');
			if (strncmp(l, "HIMS_", 5) || !nl || !strchr(l, '=') ||
			    strchr(l, '=') > nl) {
				fail("himsctl probe printed '%.100s'", l);
				break;
			}
		}
		if (want == 0 && !strstr(tr.out, "HIMS_HINTS=1\n"))
			fail("himsctl probe found no hints: %.300s", tr.out);
	}
	tool_run(&tr, "hims-check", ssd->path, NULL);
	if (tool_verdict(TOOL_CHECK, &tr, want) == 0 &&
	    (nr_lines(tr.out) != 1 || strncmp(tr.out, "hims-check: ", 12)))
		fail("hims-check: status 0, stdout: %.300s", tr.out);
	if (dev_writes(ssd) != w)
		fail("himsctl probe or hims-check wrote %llu sectors on %s",
		     (unsigned long long)(dev_writes(ssd) - w), ssd->path);
	charge(T_PROBE);
}

/*
 * What assembly may set up and must not leave behind: device-mapper
 * devices (by name), zram devices (with their sizes) and brd minors.
 */
#define MAX_DM	64
struct blk_set {
	char dm[MAX_DM][128];
	char dm_kname[MAX_DM][32];	/* dm-N */
	int nr_dm;
	char ram[1024];		/* "ram0 ram1 zram0:0 ..." */
};

static void sys_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

static void blk_set_read(struct blk_set *bs)
{
	struct dirent **e;
	char path[300], val[128];
	size_t l;
	int i, n;

	bs->nr_dm = 0;
	bs->ram[0] = 0;
	n = scandir("/sys/block", &e, NULL, alphasort);
	if (n < 0) {
		perror("hims-fuzz: /sys/block");
		exit(2);
	}
	for (i = 0; i < n; i++) {
		const char *kn = e[i]->d_name;

		l = strlen(bs->ram);
		if (!strncmp(kn, "dm-", 3) && bs->nr_dm < MAX_DM) {
			snprintf(path, sizeof(path), "/sys/block/%s/dm/name", kn);
			sys_read(path, bs->dm[bs->nr_dm], sizeof(bs->dm[0]));
			snprintf(bs->dm_kname[bs->nr_dm], sizeof(bs->dm_kname[0]), "%.30s", kn);
			bs->nr_dm++;
		} else if (!strncmp(kn, "zram", 4)) {
			snprintf(path, sizeof(path), "/sys/block/%s/disksize", kn);
			sys_read(path, val, sizeof(val));
			snprintf(bs->ram + l, sizeof(bs->ram) - l, "%s:%s ", kn, val);
		} else if (!strncmp(kn, "ram", 3)) {
			snprintf(bs->ram + l, sizeof(bs->ram) - l, "%s ", kn);
		}
		free(e[i]);
	}
	free(e);
}

static bool blk_set_has(const struct blk_set *bs, const char *name)
{
	int i;

	for (i = 0; i < bs->nr_dm; i++)
		if (!strcmp(bs->dm[i], name))
			return true;
	return false;
}

/* Whether the device-mapper device @kname (dm-N) sits on a RAM device the fuzzer gave. */
static bool ram_is_ours(const char *kname)
{
	const char *ours[2] = { env.ram, env.ram2 };
	char path[300];
	int i;

	for (i = 0; i < 2; i++) {
		if (!ours[i] || !strrchr(ours[i], '/'))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/slaves/%s", kname,
			 strrchr(ours[i], '/') + 1);
		if (!access(path, F_OK))
			return true;
	}
	return false;
}

/* An assembled device: its start reads, and "himsctl remove" takes it away. */
static void assembled_check(const char *name, const char *kname)
{
	char path[300];
	struct tool_run tr;
	void *buf = xalloc(HEAD_BYTES);
	ssize_t n = -1;
	int fd;

	/* Through RAM, the SSD or the restore, like a disk case's table. */
	snprintf(path, sizeof(path), "/dev/mapper/%s", name);
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, buf, HEAD_BYTES, 0);
		close(fd);
	}
	if (n != HEAD_BYTES)
		fail("the assembled %s: reading its first %d KiB: %s", path, HEAD_BYTES / 1024,
		     n < 0 ? strerror(errno) : "short");
	free(buf);
	/* Else brd's pages of a RAM device the fuzzer gave could be discarded. */
	tool_run(&tr, "himsctl", "remove", name, ram_is_ours(kname) ? "--keep-ram" : NULL,
		 NULL);
	tool_verdict(TOOL_REMOVE, &tr, 0);
}

/*
 * "himsctl assemble" on the damaged SSD (the hints name the RAM device
 * and the device).  Exit 0: exactly one new device-mapper device, named
 * by the hints, that reads and is removed by "himsctl remove"; status 1:
 * none, and a refusal by the kernel left its reason in the kernel log.
 * Either way no device-mapper device, zram device or brd minor is left.
 * Then the SSD and the RAM header are the damaged image's again.
 */
static void assemble_case(struct fz_image *im, struct dev *ssd, struct dev *ram,
			  int want)
{
	struct blk_set before, after;
	struct hims_hints h;
	struct tool_run tr;
	const char *reason, *fresh = NULL, *fresh_kname = NULL;
	struct klog k;
	u8 *zero;
	u64 w;
	int i, r, nr_new = 0;

	kmsg_read(&k);
	blk_set_read(&before);
	w = dev_writes(ssd);
	tool_run(&tr, "himsctl", "assemble", ssd->path, NULL);
	r = tool_verdict(TOOL_ASSEMBLE, &tr, want);
	blk_set_read(&after);
	for (i = 0; i < after.nr_dm; i++)
		if (!blk_set_has(&before, after.dm[i])) {
			nr_new++;
			fresh = after.dm[i];
			fresh_kname = after.dm_kname[i];
		}
	charge(T_ASSEMBLE);
	kmsg_read(&k);
	if (r == 0) {
		if (hims_hints_decode(im->data + HIMS_HINTS_OFFSET, &h) != HIMS_HINTS_OK)
			fail("himsctl assemble: exit 0 with hints the fuzzer cannot decode");
		else if (nr_new != 1 || strcmp(fresh, h.name))
			fail("himsctl assemble: exit 0, %d new devices (%s), the hints name '%s'",
			     nr_new, fresh ? fresh : "none", h.name);
		else
			assembled_check(fresh, fresh_kname);
	} else {
		if (nr_new)
			fail("himsctl assemble: status %d, but it left %s behind", tr.status,
			     fresh);
		if (r == 1 && strstr(tr.err, "cannot create '") && !has_reason(&k, &reason))
			fail("himsctl assemble: %s without a reason in the kernel log",
			     "the kernel refused the table");
	}
	charge(T_ASSEMBLE);
	kmsg_read(&k);
	/* Whatever it left: gone, for the next case. */
	blk_set_read(&after);
	for (i = 0; i < after.nr_dm; i++)
		if (!blk_set_has(&before, after.dm[i])) {
			fail("%s is left after himsctl assemble and remove", after.dm[i]);
			dm_gone(after.dm[i]);
		}
	if (strcmp(before.ram, after.ram))
		fail("RAM devices before himsctl assemble: %s; after it and remove: %s", before.ram,
		     after.ram);
	/* A table writes the SSD (superblock, records) and the RAM header. */
	zero = xalloc(BS);
	if (dev_writes(ssd) != w)
		dev_io(ssd->path, 0, im->data, ssd->bytes, true);
	dev_io(ram->path, 0, im->ram_header_set ? im->ram_header : zero, BS, true);
	free(zero);
	charge(T_ASSEMBLE);
}

/*
 * Known outcomes, 0 or 1 (or -1, unknown): a superblock with flipped bits
 * is refused by every tool (unless a later valid checksum over nonsense
 * sealed it again); with only the RAM header damaged, the SSD is valid for
 * probe and hims-check (assemble's table may refuse the header).
 */
static int tools_want(const struct fz_image *im, bool assemble)
{
	if (strstr(im->what, "sb-flip") && !strstr(im->what, "sb-nonsense"))
		return 1;
	if (!strcmp(im->what, "ram-header") && !assemble)
		return 0;
	return -1;
}

/* The tools on the image as the fuzzer wrote it, the RAM header zeroed. */
static void undamaged_case(struct fz_image *im, struct dev *ssd, struct dev *ram,
			   const char *what)
{
	snprintf(label, sizeof(label), "undamaged %s", what);
	snprintf(im->what, sizeof(im->what), "undamaged");
	im->ram_header_set = false;
	im->nr_touched = 0;
	if (verbose)
		printf("%s\n", label);
	probe_case(ssd, 0);
	assemble_case(im, ssd, ram, 0);
	label[0] = 0;
}

static int run_disk(void)
{
	struct fz_image img[2];
	struct dev *ssd[2], *ram[2];
	const char *reason;
	struct fz_table t;
	struct fz_rng r;
	struct klog k;
	u8 *rd = xalloc(HEAD_BYTES), *zero = xalloc(BS);
	u32 i;
	int which;

	ram[0] = dev_add(env.ram, DEV_RAM);
	ram[1] = dev_add(env.ram2, DEV_RAM);
	ssd[0] = dev_add(env.ssd, DEV_SSD);
	ssd[1] = dev_add(env.dssd, DEV_SSD);
	disks_add();
	case_dev_create();
	for (which = 0; which < 2; which++) {
		memset(&img[which], 0, sizeof(img[which]));
		sb_of(ssd[which]->path, &img[which].geo);
		img[which].blocks = ssd[which]->bytes / BS;
		img[which].data = xalloc(ssd[which]->bytes);
		memcpy(img[which].data, ssd[which]->copy, ssd[which]->bytes);
		memcpy(img[which].uuid, ((struct hims_superblock *)img[which].data)->uuid,
		       HIMS_UUID_SIZE);
		img[which].cfg.nr_logical = img[which].geo.dedup_blocks;
		img[which].cfg.nr_phys = img[which].geo.ram_blocks;
		img[which].cfg.nr_spill = img[which].geo.spill_blocks;
	}
	kmsg_open();
	if (probe_every || assemble_every) {
		undamaged_case(&img[0], ssd[0], ram[0], "plain");
		undamaged_case(&img[1], ssd[1], ram[1], "dedup");
	}
	for (cur_case = sel.first; cur_case < sel.first + sel.cases; cur_case++) {
		struct fz_image *im;

		fz_rng_case(&r, sel.seed, cur_case, 3);
		which = (int)fz_below(&r, 2);
		im = &img[which];
		im->ram_header_set = false;
		charge(T_OTHER);
		fz_damage(im, &r, false, true);
		for (i = 0; i < im->nr_touched; i++)
			dev_io(ssd[which]->path, im->touched[i] * BS,
			       im->data + im->touched[i] * BS, BS, true);
		dev_io(ram[which]->path, 0, im->ram_header_set ? im->ram_header : zero, BS, true);
		charge(T_DAMAGE);
		disk_table(ram[which]->path, ssd[which]->path, &im->geo, &t, &r);
		if (verbose)
			printf("case %llu [%s]: %s\n", (unsigned long long)cur_case, im->what,
			       t.params);
		/* The tools first: they see the image as damaged, as the table will. */
		if (probe_every && cur_case % probe_every == 0)
			probe_case(ssd[which], tools_want(im, false));
		if (assemble_every && cur_case % assemble_every == 0)
			assemble_case(im, ssd[which], ram[which], tools_want(im, true));
		devs_before();
		kmsg_read(&k);
		if (case_load(&t, true) == LIVE) {
			nr_accepted++;
			/* Read the start: through RAM, the SSD or a restore. */
			dev_io("/dev/mapper/" CASE_NAME, 0, rd, HEAD_BYTES, false);
			case_dev_reset();
			kmsg_read(&k);
		} else {
			nr_refused++;
			kmsg_read(&k);
			if (!has_reason(&k, &reason))
				fail("[%s] %s: refused (%s) without a reason in the kernel log",
				     im->what, t.params, dm_last);
			else if (verbose)
				printf("  refused: %s\n", reason);
			devs_unchanged(im->what);
		}
		/*
		 * Back to the valid image: the damaged blocks, or all of it if
		 * the table wrote or the damage touched more blocks than it
		 * lists.
		 */
		charge(T_OTHER);
		if (dev_writes(ssd[which]) != ssd[which]->writes ||
		    im->nr_touched == ARRAY_SIZE(im->touched)) {
			memcpy(im->data, ssd[which]->copy, ssd[which]->bytes);
			dev_io(ssd[which]->path, 0, im->data, ssd[which]->bytes, true);
		} else {
			for (i = 0; i < im->nr_touched; i++) {
				u64 off = im->touched[i] * BS;

				memcpy(im->data + off, ssd[which]->copy + off, BS);
				dev_io(ssd[which]->path, off, im->data + off, BS, true);
			}
		}
		charge(T_RESTORE);
		if (nr_failures > 20)
			break;
	}
	dev_io(ram[0]->path, 0, zero, BS, true);
	dev_io(ram[1]->path, 0, zero, BS, true);
	devs_full_check();
	dm_gone(CASE_NAME);
	printf("disk: tools:");
	for (which = 0; which < TOOL_NR; which++)
		printf("%s %s %lu ok %lu", which ? "," : "", tool_names[which],
		       nr_tool_runs[which], nr_tool_ok[which]);
	printf("\n");
	summary("disk");
	free(rd);
	free(zero);
	return nr_failures ? 1 : 0;
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: hims-fuzz tables|messages|disk|list [--seed S] [--first I] [--cases N] [-v]\n"
		"  tables, disk: --ram D --ram2 D --ssd D --dssd D [--blank D --small D --fb-dev D]\n"
		"    [--disk D (a whole disk under them)...] [--batch N] [--resume-every N]\n"
		"    [--inject-write CASE]\n"
		"  disk: [--probe-every N] [--assemble-every N] (0: never; default 20, 40)\n"
		"  messages: --target NAME (hims devices, and feedbac ones named fb*)...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "first", required_argument, NULL, 'f' },
		{ "cases", required_argument, NULL, 'n' },
		{ "ram", required_argument, NULL, 'r' },
		{ "ram2", required_argument, NULL, 'R' },
		{ "ssd", required_argument, NULL, 'S' },
		{ "dssd", required_argument, NULL, 'D' },
		{ "blank", required_argument, NULL, 'b' },
		{ "small", required_argument, NULL, 'm' },
		{ "fb-dev", required_argument, NULL, 'F' },
		{ "target", required_argument, NULL, 't' },
		{ "disk", required_argument, NULL, 'd' },
		{ "batch", required_argument, NULL, 'B' },
		{ "inject-write", required_argument, NULL, 'I' },
		{ "resume-every", required_argument, NULL, 'E' },
		{ "probe-every", required_argument, NULL, 'P' },
		{ "assemble-every", required_argument, NULL, 'A' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode;
	int c;

	if (argc < 2)
		print_usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (fz_run_option(&sel, c, optarg))
			continue;
		switch (c) {
		case 'r':
			env.ram = optarg;
			break;
		case 'R':
			env.ram2 = optarg;
			break;
		case 'S':
			env.ssd = optarg;
			break;
		case 'D':
			env.dssd = optarg;
			break;
		case 'b':
			env.blank = optarg;
			break;
		case 'm':
			env.small = optarg;
			break;
		case 'F':
			env.fb_dev = optarg;
			break;
		case 't':
			if (nr_msg_targets < (int)ARRAY_SIZE(msg_targets))
				msg_targets[nr_msg_targets++] = optarg;
			break;
		case 'd':
			if (nr_disks < (int)ARRAY_SIZE(disks))
				disks[nr_disks++] = optarg;
			break;
		case 'B':
			batch = max_t(u64, strtoull(optarg, NULL, 0), 1);
			break;
		case 'I':
			inject_case = strtoull(optarg, NULL, 0);
			inject = true;
			break;
		case 'E':
			resume_every = max_t(u64, strtoull(optarg, NULL, 0), 1);
			break;
		case 'P':
			probe_every = strtoull(optarg, NULL, 0);
			break;
		case 'A':
			assemble_every = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			print_usage();
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	dm_log_with_errno_init(dm_log);
	dm_udev_set_sync_support(0);
	t_mark = now();
	if (!strcmp(mode, "list"))
		return list_tables();
	if (!strcmp(mode, "tables")) {
		if (!env.ram || !env.ram2 || !env.ssd || !env.dssd || !env.blank ||
		    !env.small || !env.fb_dev)
			print_usage();
		return run_tables();
	}
	if (!strcmp(mode, "messages")) {
		if (!nr_msg_targets)
			print_usage();
		return run_messages();
	}
	if (!strcmp(mode, "disk")) {
		if (!env.ram || !env.ram2 || !env.ssd || !env.dssd)
			print_usage();
		return run_disk();
	}
	print_usage();
	return 2;
}
