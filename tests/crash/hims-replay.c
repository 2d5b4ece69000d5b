// SPDX-License-Identifier: GPL-2.0
/*
 * hims-replay: rebuild a device at crash points of a dm-log-writes log
 * (tests/crash/README).
 *
 *   hims-replay info [--block B] <log>
 *   hims-replay run [--flush N] [--random N] [--seed S] [--only I]
 *                   [--mark-prefix P] [--exec CMD] <log> <base> <target>
 *   hims-replay check [point options] --ram R --table T --len L [--dedup]
 *                   --record F --run R --blocks N --boundary B
 *                   --expansion E --ssd-old ID --ram-old ID [--report N]
 *                   [--name DM] [--label L] <log> <base> <target>
 *
 * info prints the log's entries; with --block B only the flushes, the
 * marks and the writes touching 4 KiB block B, with the crash block
 * (run, block, version) each one carries.  run computes the crash points (N prefix
 * points at flush/FUA entries, N random subset points), and for each one
 * writes <base> (the device before the log began) with the point's kept
 * writes applied to <target>, then runs CMD with sh -c and the
 * environment CRASH_POINT (its index), CRASH_DESC and CRASH_MARK (the
 * last mark of the state starting with P, or "none").  --only I writes
 * point I alone.  The points depend only on the log and the seed.
 *
 * check does what the crash-replay test's per-point hook did, for every
 * point, in this process: it brings <target> to the point's state
 * (writing only the blocks that differ from what it holds), zeroes the
 * RAM device (the header and the table's ram_blocks), runs the
 * hims-check logic on the state (--dedup), loads "hims R <target> T" into
 * DM, reads and judges blocks [0, N) against the record during the
 * restore (odd points) and after it (checksumming only the blocks that
 * changed since their last read), and suspends DM (one device for all
 * points, created with an error table and removed at the end).
 * A point before the first mark of prefix P may fail to load (the test
 * marks the log once the table is loaded: the format may be unfinished).
 *
 * A log with a plain write of unknown order against a FUA write
 * (crash_ambiguous) fails too: its states may be ones no device reaches.
 *
 * Exit status: 0 every point passed, 1 a point failed or an error, 2 usage.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <unistd.h>

#include "tests/crash/crash-block.h"
#include "tests/crash/crash-log.h"
#include "tests/crash/crash-record.h"
#include "tools/hims-check.h"
#include "tools/lib/hdm.h"
#include "tools/lib/hims-status.h"
#include "tools/lib/msg.h"

#define ALIGN_BYTES 4096U
#define MAX_POINTS 100000U

static int fd_read(void *ctx, void *buf, size_t len, u64 off)
{
	ssize_t n = pread(*(int *)ctx, buf, len, off);

	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

static u64 dev_size(int fd, const char *path)
{
	struct stat st;
	u64 sz;

	if (fstat(fd, &st))
		tool_fail("%s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &sz))
			tool_fail("%s: size: %s", path, strerror(errno));
		return sz;
	}
	return st.st_size;
}

static void *read_all(const char *path, u64 len, u64 *size)
{
	int fd = open(path, O_RDONLY);
	u64 done = 0;
	void *buf;

	if (fd < 0)
		tool_fail("%s: %s", path, strerror(errno));
	if (!len)
		len = dev_size(fd, path);
	if (posix_memalign(&buf, ALIGN_BYTES, len ? len : ALIGN_BYTES))
		tool_fail("out of memory for %llu bytes of %s",
			  (unsigned long long)len, path);
	while (done < len) {
		ssize_t n = pread(fd, (u8 *)buf + done, len - done, done);

		if (n <= 0)
			tool_fail("%s: read at %llu: %s", path,
				  (unsigned long long)done,
				  n ? strerror(errno) : "short");
		done += n;
	}
	close(fd);
	*size = len;
	return buf;
}

static const char *flag_names(u64 f, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", f & LOG_FLUSH_FLAG ? "FLUSH " : "",
		 f & LOG_FUA_FLAG ? "FUA " : "",
		 f & LOG_DISCARD_FLAG ? "DISCARD " : "",
		 f & LOG_MARK_FLAG ? "MARK " : "",
		 f & LOG_METADATA_FLAG ? "META " : "");
	return buf;
}

static void parse_log(const char *path, struct crash_log *log)
{
	char why[200];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		tool_fail("%s: %s", path, strerror(errno));
	if (crash_log_parse(log, fd_read, &fd, why, sizeof(why)))
		tool_fail("%s: %s", path, why);
	close(fd);
}

/* Says how many plain writes have an unknown order (crash_ambiguous). */
static u64 say_ambiguous(const struct crash_log *log)
{
	u64 first, n = crash_ambiguous(log, &first);

	if (n)
		printf("%llu plain writes logged after an overlapping FUA write %s %llu\n",
		       (unsigned long long)n, "(order unknown), the first entry",
		       (unsigned long long)first);
	return n;
}

/*
 * The crash-block header (run, block, version) at @e's bytes of 4 KiB
 * device block @blk, or why there is none.
 */
static void entry_block_id(int fd, const struct crash_entry *e, u64 blk,
			   char *out, size_t len)
{
	u8 buf[CRASH_BS];
	struct crash_id id;
	u64 off = blk * CRASH_BS;

	if (e->flags & LOG_DISCARD_FLAG) {
		snprintf(out, len, "(discard)");
		return;
	}
	if (e->offset > off || e->offset + e->len < off + CRASH_BS) {
		snprintf(out, len, "(part of the block)");
		return;
	}
	if (fd_read(&fd, buf, CRASH_BS, e->data + off - e->offset)) {
		snprintf(out, len, "(unreadable)");
		return;
	}
	if (crash_block_parse(buf, &id) != CRASH_VALID) {
		snprintf(out, len, "(no valid crash block)");
		return;
	}
	snprintf(out, len, "run %llx block %lld version %llu",
		 (unsigned long long)id.run,
		 id.block == CRASH_POOL_BLOCK ? -1LL : (long long)id.block,
		 (unsigned long long)id.version);
}

/*
 * Every entry, or with @blk != ~0 the flush entries, the marks and the
 * writes that touch 4 KiB block @blk (with the crash block they carry).
 */
static int do_info(const char *path, u64 blk)
{
	struct crash_log log;
	char fl[64], id[96];
	u64 i, nflush = 0, nfua = 0, nmark = 0, bytes = 0;
	int fd;

	parse_log(path, &log);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		tool_fail("%s: %s", path, strerror(errno));
	for (i = 0; i < log.nr; i++) {
		const struct crash_entry *e = &log.e[i];
		bool touches = e->len && e->offset < (blk + 1) * CRASH_BS &&
			       e->offset + e->len > blk * CRASH_BS;

		nflush += !!(e->flags & LOG_FLUSH_FLAG);
		nfua += !!(e->flags & LOG_FUA_FLAG);
		nmark += !!(e->flags & LOG_MARK_FLAG);
		if (!(e->flags & (LOG_MARK_FLAG | LOG_DISCARD_FLAG)))
			bytes += e->len;
		if (blk != ~0ULL && !touches &&
		    !(e->flags & (LOG_FLUSH_FLAG | LOG_MARK_FLAG)))
			continue;
		id[0] = 0;
		if (blk != ~0ULL && touches)
			entry_block_id(fd, e, blk, id, sizeof(id));
		printf("%llu %s@%llu+%llu %s%s\n", (unsigned long long)i,
		       flag_names(e->flags, fl, sizeof(fl)),
		       (unsigned long long)e->offset,
		       (unsigned long long)e->len, e->mark, id);
	}
	close(fd);
	printf("entries %llu flush %llu fua %llu marks %llu data %llu bytes, sector size %u\n",
	       (unsigned long long)log.nr, (unsigned long long)nflush,
	       (unsigned long long)nfua, (unsigned long long)nmark,
	       (unsigned long long)bytes, log.sectorsize);
	say_ambiguous(&log);
	crash_log_free(&log);
	return 0;
}

static void write_target(const char *path, const u8 *img, u64 size)
{
	int fd = open(path, O_WRONLY | O_DIRECT);
	u64 done = 0;

	if (fd < 0 && errno == EINVAL)	/* a file on tmpfs */
		fd = open(path, O_WRONLY);
	if (fd < 0)
		tool_fail("%s: %s", path, strerror(errno));
	while (done < size) {
		ssize_t n = pwrite(fd, img + done, min_t(u64, size - done, 1 << 20),
				   done);

		if (n <= 0)
			tool_fail("%s: write at %llu: %s", path,
				  (unsigned long long)done, strerror(errno));
		done += n;
	}
	if (fsync(fd))
		tool_fail("%s: fsync: %s", path, strerror(errno));
	close(fd);
}

struct run_opts {
	u64 nflush, nrandom, seed, only;
	bool has_only;
	const char *exec, *prefix;
	/* check */
	const char *ram, *table, *record, *name, *label;
	u64 len, blocks, report, run;
	bool dedup;
	struct crash_judge j;
};

/* What run and check share: the log, its data, the base and the points. */
struct replay {
	struct crash_log log;
	u8 *logdata, *base, *keep;
	u64 size;
	struct crash_point *pts;
	size_t n;
};

static void *xalloc(u64 len)
{
	void *p;

	if (posix_memalign(&p, ALIGN_BYTES, len ? len : ALIGN_BYTES))
		tool_fail("out of memory for %llu bytes", (unsigned long long)len);
	return p;
}

static void replay_setup(struct replay *rp, const struct run_opts *o,
			 const char *logp, const char *basep)
{
	u64 logsize;

	parse_log(logp, &rp->log);
	rp->logdata = read_all(logp, rp->log.end, &logsize);
	rp->base = read_all(basep, 0, &rp->size);
	rp->keep = xalloc(rp->log.nr);
	rp->pts = calloc(MAX_POINTS, sizeof(*rp->pts));
	if (!rp->pts)
		tool_fail("out of memory");
	rp->n = crash_points(&rp->log, o->nflush, o->nrandom, o->seed, rp->pts,
			     MAX_POINTS);
	if (o->has_only && o->only >= rp->n)
		tool_usage_err("--only %llu: there are %zu points",
			       (unsigned long long)o->only, rp->n);
}

static void replay_free(struct replay *rp)
{
	free(rp->pts);
	free(rp->keep);
	free(rp->base);
	free(rp->logdata);
	crash_log_free(&rp->log);
}

/* Plans point @i into rp->keep; its description into @desc. */
static void plan_point(struct replay *rp, size_t i, char *desc, size_t len)
{
	const struct crash_point *pt = &rp->pts[i];
	u64 j, kept = 0, pending = 0;

	crash_plan(&rp->log, pt, rp->keep);
	for (j = 0; j <= pt->last && j < rp->log.nr; j++)
		if (!(rp->log.e[j].flags & LOG_MARK_FLAG) && rp->log.e[j].len) {
			kept += rp->keep[j];
			pending += !rp->keep[j];
		}
	snprintf(desc, len, "%s entry %llu/%llu, %llu writes kept, %llu dropped",
		 pt->kind == CRASH_PREFIX ? "flush" : "subset",
		 (unsigned long long)pt->last, (unsigned long long)rp->log.nr,
		 (unsigned long long)kept, (unsigned long long)pending);
}

static int do_run(struct run_opts *o, const char *logp, const char *basep,
		  const char *tgt)
{
	struct replay rp;
	u64 i, failed = 0;
	u8 *img;

	replay_setup(&rp, o, logp, basep);
	img = xalloc(rp.size);
	for (i = 0; i < rp.n; i++) {
		const char *mark = crash_last_mark(&rp.log, rp.pts[i].last,
						   o->prefix);
		char desc[128], num[32];
		int st;

		if (o->has_only && i != o->only)
			continue;
		plan_point(&rp, i, desc, sizeof(desc));
		memcpy(img, rp.base, rp.size);
		if (crash_apply(&rp.log, rp.keep, rp.pts[i].last, rp.logdata, img,
				rp.size))
			tool_fail("the log writes past the end of %s (%llu bytes)",
				  basep, (unsigned long long)rp.size);
		write_target(tgt, img, rp.size);
		if (!o->exec) {
			printf("point %llu: %s, mark %s\n", (unsigned long long)i,
			       desc, mark ? mark : "none");
			continue;
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)i);
		setenv("CRASH_POINT", num, 1);
		setenv("CRASH_DESC", desc, 1);
		setenv("CRASH_MARK", mark ? mark : "none", 1);
		fflush(stdout);
		st = system(o->exec);
		if (st) {
			failed++;
			printf("FAIL point %llu (%s, mark %s): status %d\n",
			       (unsigned long long)i, desc,
			       mark ? mark : "none", st);
		}
	}
	printf("%zu crash points, %llu failed\n", o->has_only ? 1 : rp.n,
	       (unsigned long long)failed);
	free(img);
	replay_free(&rp);
	return failed ? 1 : 0;
}

/* ---- check */

/* Failures that are not a block's verdict. */
enum {
	FAIL_HIMS_CHECK = CRASH_NR_VERDICTS,
	FAIL_LOAD,
	FAIL_RESTORE,
	FAIL_KINDS,
};

static const char *fail_name(int k)
{
	static const char * const more[] = {
		"hims-check", "load failed", "restore error or hang",
	};

	return k < CRASH_NR_VERDICTS ? crash_verdict_name[k] :
	       more[k - CRASH_NR_VERDICTS];
}

#define SEEN_NONE 0xff	/* seen_kind: not read yet */

/* Time spent per phase, in ns, over all points. */
enum { T_BUILD, T_LOAD, T_RESTORE, T_READ, T_SUSPEND, T_READBACK, T_NR };
static const char * const phase_name[T_NR] = {
	"build", "load", "restore", "read+judge", "suspend", "readback",
};

struct checker {
	struct run_opts *o;
	struct replay rp;
	struct crash_rec rec;
	u64 *floor;
	u8 *img;	/* the log applied whole up to entry applied */
	u64 applied;
	u8 *want;	/* the point's state */
	u8 *cur;	/* what the target holds */
	u8 *buf, *zero;
	int tfd, rfd;
	u64 ramsize;
	const char *target;
	char node[64];
	u64 nblocks_io;	/* blocks written to the target, over all points */
	u8 *seen_buf;	/* each checked block as last read */
	u8 *seen_kind;	/* its crash_kind, or SEEN_NONE */
	struct crash_id *seen_id;
	u64 nparsed;	/* blocks parsed (checksummed), over all points */
	u64 unformatted;	/* points before the first mark that did not load */
	u64 t[T_NR];
	u64 kinds[FAIL_KINDS];	/* failed points per kind */
	bool seen[FAIL_KINDS];	/* this point's kinds */
};

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void xpread(int fd, void *buf, u64 len, u64 off, const char *what)
{
	u64 done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (u8 *)buf + done, len - done, off + done);

		if (n <= 0)
			tool_fail("%s: read at %llu: %s", what,
				  (unsigned long long)(off + done),
				  n ? strerror(errno) : "short");
		done += n;
	}
}

static void xpwrite(int fd, const void *buf, u64 len, u64 off, const char *what)
{
	u64 done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const u8 *)buf + done, len - done,
				   off + done);

		if (n <= 0)
			tool_fail("%s: write at %llu: %s", what,
				  (unsigned long long)(off + done),
				  n ? strerror(errno) : "short");
		done += n;
	}
}

/* Writes the blocks where want and cur differ, in runs. */
static void sync_target(struct checker *c)
{
	u64 bs = ALIGN_BYTES, nb = c->rp.size / bs, b = 0, e;

	while (b < nb) {
		if (!memcmp(c->want + b * bs, c->cur + b * bs, bs)) {
			b++;
			continue;
		}
		for (e = b + 1; e < nb &&
		     memcmp(c->want + e * bs, c->cur + e * bs, bs); e++)
			;
		xpwrite(c->tfd, c->want + b * bs, (e - b) * bs, b * bs,
			c->target);
		memcpy(c->cur + b * bs, c->want + b * bs, (e - b) * bs);
		c->nblocks_io += e - b;
		b = e;
	}
}

/* Brings the target to point @i's state (the keep plan is made). */
static void build_point(struct checker *c, size_t i)
{
	const struct crash_point *pt = &c->rp.pts[i];
	u64 end = crash_prefix_end(&c->rp.log, pt);

	if (end < c->applied) {	/* --only, or points out of order */
		memcpy(c->img, c->rp.base, c->rp.size);
		c->applied = 0;
	}
	if (crash_apply_range(&c->rp.log, c->rp.keep, c->applied, end,
			      c->rp.logdata, c->img, c->rp.size) ||
	    (memcpy(c->want, c->img, c->rp.size),
	     crash_apply_range(&c->rp.log, c->rp.keep, end, pt->last + 1,
			       c->rp.logdata, c->want, c->rp.size)))
		tool_fail("the log writes past the end of the base (%llu bytes)",
			  (unsigned long long)c->rp.size);
	c->applied = end;
	sync_target(c);
	for (end = 0; end < c->ramsize; end += 1 << 20)
		xpwrite(c->rfd, c->zero, min_t(u64, 1 << 20, c->ramsize - end),
			end, c->o->ram);
}

static int mem_read(void *ctx, u64 block, u32 nr, void *buf)
{
	struct checker *c = ctx;

	if ((block + nr) * HIMS_BLOCK_SIZE > c->rp.size)
		return -ENXIO;
	memcpy(buf, c->want + block * HIMS_BLOCK_SIZE,
	       (size_t)nr * HIMS_BLOCK_SIZE);
	return 0;
}

/* Prints the point's header line once, before its first problem. */
static void point_say(struct checker *c, size_t i, const char *desc,
		      const char *mark, const char *fmt, ...) __printf(5, 6);

static void point_say(struct checker *c, size_t i, const char *desc,
		      const char *mark, const char *fmt, ...)
{
	va_list ap;

	printf("[%s point %zu: %s, mark %s] ", c->o->label, i, desc, mark);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/*
 * Parses block @b as read into @p, into seen_kind[b] and seen_id[b]:
 * from the last read of the block when it is the same bytes, so that the
 * checksum of a block is computed only when it changed (most blocks are
 * the same from one point to the next).
 */
static void parse_cached(struct checker *c, u64 b, const u8 *p)
{
	u8 *last = c->seen_buf + b * CRASH_BS;

	if (c->seen_kind[b] != SEEN_NONE && !memcmp(last, p, CRASH_BS))
		return;
	c->seen_kind[b] = crash_block_parse(p, &c->seen_id[b]);
	memcpy(last, p, CRASH_BS);
	c->nparsed++;
}

/* Reads and judges blocks [0, N) of the hims device; 0 if all are fine. */
static int judge_dev(struct checker *c, size_t i, const char *desc,
		     const char *mark, const char *when)
{
	const u64 chunk = 256;
	u64 b, k, n, bad = 0;
	char why[256];
	int fd = open(c->node, O_RDONLY | O_DIRECT);

	if (fd < 0)
		tool_fail("%s: %s", c->node, strerror(errno));
	for (b = 0; b < c->o->blocks; b += n) {
		n = min_t(u64, chunk, c->o->blocks - b);
		xpread(fd, c->buf, n * CRASH_BS, b * CRASH_BS, c->node);
		for (k = 0; k < n; k++) {
			enum crash_verdict v;

			parse_cached(c, b + k, c->buf + k * CRASH_BS);
			v = crash_judge_parsed(&c->rec, &c->o->j, b + k,
					       c->floor[b + k],
					       c->seen_kind[b + k],
					       &c->seen_id[b + k], why,
					       sizeof(why));
			if (v == CRASH_OK)
				continue;
			c->seen[v] = true;
			if (!bad++)
				point_say(c, i, desc, mark, "%s:", when);
			if (bad <= c->o->report)
				printf("    block %llu: %s\n",
				       (unsigned long long)(b + k), why);
		}
	}
	close(fd);
	if (bad)
		printf("    %llu of %llu blocks broke the rule\n",
		       (unsigned long long)bad,
		       (unsigned long long)c->o->blocks);
	return bad ? 1 : 0;
}

/* Waits for the restore to end: 0, or -1 on an error or after 60 s. */
static int wait_restore(struct checker *c)
{
	u64 t0 = now_ns();
	struct hdm_info di;
	struct hims_status st;

	for (;;) {
		if (hdm_get(c->o->name, 0, &di) || !di.exists ||
		    hims_status_parse(di.params, &st) || st.error)
			return -1;
		if (hims_status_restored(&st))
			return 0;
		if (now_ns() - t0 > 60000000000ULL)
			return -1;
		usleep(2000);
	}
}

/*
 * DM between points: suspended, so that hims's suspend (its drain) has
 * run before the target is read back and rewritten; the next point's
 * table replaces it (its destructor does no I/O).  One device for all
 * points: a table reload is much cheaper than a create and a remove,
 * which add and delete a disk.
 */
static void idle_dev(struct checker *c)
{
	int tries;

	for (tries = 0; hdm_suspend(c->o->name); tries++) {
		if (tries == 50)
			tool_fail("cannot suspend %s", c->o->name);
		usleep(100000);
	}
}

/* Point @i from load to suspend; 0 if it passed. */
static int check_point(struct checker *c, size_t i)
{
	const struct crash_point *pt = &c->rp.pts[i];
	const char *mark = crash_last_mark(&c->rp.log, pt->last, c->o->prefix);
	struct hims_check_result res;
	struct hdm_info di;
	char desc[128], params[512];
	u64 t, k;
	int bad = 0;
	bool unformatted;

	memset(c->seen, 0, sizeof(c->seen));
	t = now_ns();
	plan_point(&c->rp, i, desc, sizeof(desc));
	build_point(c, i);
	k = mark ? strtoull(mark + strlen(c->o->prefix), NULL, 10) : 0;
	crash_rec_floor(&c->rec, k, c->o->blocks, c->floor);
	mark = mark ? mark : "none";
	/*
	 * Before the first mark (the test marks the log once the table is
	 * loaded) the format may not have finished: a refusal is fine.
	 */
	unformatted = !strcmp(mark, "none");
	if (c->o->dedup &&
	    hims_check(mem_read, c, c->rp.size / HIMS_BLOCK_SIZE, 0, &res) &&
	    !unformatted) {
		point_say(c, i, desc, mark, "hims-check: %s", res.msg);
		c->seen[FAIL_HIMS_CHECK] = true;
		bad = 1;
	}
	c->t[T_BUILD] += now_ns() - t;
	t = now_ns();
	snprintf(params, sizeof(params), "%s %s %s", c->o->ram, c->target,
		 c->o->table);
	if (hdm_reload(c->o->name, c->o->len, "hims", params) ||
	    hdm_get(c->o->name, 0, &di) || !di.exists) {
		idle_dev(c);
		if (unformatted) {
			c->unformatted++;
			goto out;
		}
		point_say(c, i, desc, mark, "loading the table failed");
		c->seen[FAIL_LOAD] = true;
		bad = 1;
		goto out;
	}
	c->t[T_LOAD] += now_ns() - t;
	/* Odd points: also read while the restore runs. */
	t = now_ns();
	if (i % 2)
		bad |= judge_dev(c, i, desc, mark, "during the restore");
	c->t[T_READ] += now_ns() - t;
	t = now_ns();
	if (wait_restore(c)) {
		point_say(c, i, desc, mark, "the restore failed or hangs: %s",
			  di.params);
		c->seen[FAIL_RESTORE] = true;
		bad = 1;
	}
	c->t[T_RESTORE] += now_ns() - t;
	t = now_ns();
	if (!c->seen[FAIL_RESTORE])
		bad |= judge_dev(c, i, desc, mark, "after the restore");
	c->t[T_READ] += now_ns() - t;
	t = now_ns();
	idle_dev(c);
	c->t[T_SUSPEND] += now_ns() - t;
out:
	/* What hims wrote to the target is undone with the next point. */
	t = now_ns();
	xpread(c->tfd, c->cur, c->rp.size, 0, c->target);
	c->t[T_READBACK] += now_ns() - t;
	for (k = 0; k < FAIL_KINDS; k++)
		c->kinds[k] += c->seen[k];
	if (bad)
		printf("FAIL point %zu (%s, mark %s)\n", i, desc, mark);
	return bad;
}

/*
 * The bytes of the RAM device a table can use: its header block and
 * ram_blocks blocks (when the table says; else all of it, ~0).
 */
static u64 ram_used(const char *table)
{
	const char *p = strstr(table, " ram_blocks ");

	if (!p)
		return ~0ULL;
	return (1 + strtoull(p + strlen(" ram_blocks "), NULL, 10)) *
	       HIMS_BLOCK_SIZE;
}

static void checker_setup(struct checker *c, struct run_opts *o,
			  const char *logp, const char *basep, const char *tgt)
{
	struct hdm_info di;
	char why[256];
	FILE *f;
	int ret;

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->target = tgt;
	replay_setup(&c->rp, o, logp, basep);
	if (c->rp.size % ALIGN_BYTES)
		tool_fail("%s: not a multiple of %u bytes", basep, ALIGN_BYTES);
	f = fopen(o->record, "r");
	if (!f)
		tool_fail("%s: %s", o->record, strerror(errno));
	ret = crash_rec_parse(&c->rec, f, why, sizeof(why));
	fclose(f);
	if (ret)
		tool_fail("%s: %s", o->record, why);
	c->floor = calloc(o->blocks, sizeof(*c->floor));
	c->seen_kind = malloc(o->blocks);
	c->seen_id = calloc(o->blocks, sizeof(*c->seen_id));
	if (!c->floor || !c->seen_kind || !c->seen_id)
		tool_fail("out of memory");
	memset(c->seen_kind, SEEN_NONE, o->blocks);
	c->seen_buf = xalloc(o->blocks * CRASH_BS);
	c->img = xalloc(c->rp.size);
	memcpy(c->img, c->rp.base, c->rp.size);
	c->want = xalloc(c->rp.size);
	c->cur = xalloc(c->rp.size);
	c->buf = xalloc(256 * CRASH_BS);
	c->zero = xalloc(1 << 20);
	memset(c->zero, 0, 1 << 20);
	c->tfd = open(tgt, O_RDWR | O_DIRECT);
	if (c->tfd < 0)
		tool_fail("%s: %s", tgt, strerror(errno));
	if (dev_size(c->tfd, tgt) < c->rp.size)
		tool_fail("%s is smaller than the base", tgt);
	xpread(c->tfd, c->cur, c->rp.size, 0, tgt);
	c->rfd = open(o->ram, O_WRONLY | O_DIRECT);
	if (c->rfd < 0)
		tool_fail("%s: %s", o->ram, strerror(errno));
	c->ramsize = min(dev_size(c->rfd, o->ram), ram_used(o->table));
	snprintf(c->node, sizeof(c->node), "/tmp/hims-replay-%d", (int)getpid());
	hdm_init();
	if (hdm_create_table(o->name, NULL, o->len, "error", "") ||
	    hdm_get(o->name, 0, &di) || !di.exists)
		tool_fail("cannot create %s", o->name);
	unlink(c->node);
	if (mknod(c->node, S_IFBLK | 0600, makedev(di.major, di.minor)))
		tool_fail("%s: mknod: %s", c->node, strerror(errno));
}

/* Point indices in the order their states are built fastest: by where
 * their whole-log prefix ends, so that the log is applied once.
 */
static struct checker *sort_ctx;

static int cmp_points(const void *a, const void *b)
{
	const struct crash_log *log = &sort_ctx->rp.log;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	u64 ex = crash_prefix_end(log, &sort_ctx->rp.pts[x]);
	u64 ey = crash_prefix_end(log, &sort_ctx->rp.pts[y]);

	if (ex != ey)
		return ex < ey ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int do_check(struct run_opts *o, const char *logp, const char *basep,
		    const char *tgt)
{
	struct checker c;
	size_t *order, i, n, failed = 0;
	u64 t0, total, k, ambiguous;

	checker_setup(&c, o, logp, basep, tgt);
	ambiguous = say_ambiguous(&c.rp.log);
	order = calloc(c.rp.n ? c.rp.n : 1, sizeof(*order));
	if (!order)
		tool_fail("out of memory");
	for (i = 0, n = 0; i < c.rp.n; i++)
		if (!o->has_only || i == o->only)
			order[n++] = i;
	sort_ctx = &c;
	qsort(order, n, sizeof(*order), cmp_points);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		failed += check_point(&c, order[i]);
		fflush(stdout);
	}
	total = now_ns() - t0;
	printf("%zu crash points, %zu failed\n", n, failed);
	if (c.unformatted)
		printf("  (%llu points before the first mark did not load: %s)\n",
		       (unsigned long long)c.unformatted,
		       "the format had not finished");
	for (k = 0; k < FAIL_KINDS; k++)
		if (c.kinds[k])
			printf("  %s: %llu points\n", fail_name(k),
			       (unsigned long long)c.kinds[k]);
	printf("per point: %llu ms", n ? (unsigned long long)(total / n / 1000000) : 0ULL);
	for (k = 0; k < T_NR; k++)
		printf(", %s %llu", phase_name[k],
		       n ? (unsigned long long)(c.t[k] / n / 1000000) : 0ULL);
	printf("; %llu blocks written, %llu checksummed a point\n",
	       n ? (unsigned long long)(c.nblocks_io / n) : 0ULL,
	       n ? (unsigned long long)(c.nparsed / n) : 0ULL);
	for (k = 0; hdm_remove(o->name); k++) {
		if (k == 50)
			tool_fail("cannot remove %s", o->name);
		usleep(100000);
	}
	unlink(c.node);
	close(c.tfd);
	close(c.rfd);
	free(order);
	free(c.floor);
	free(c.seen_buf);
	free(c.seen_kind);
	free(c.seen_id);
	free(c.img);
	free(c.want);
	free(c.cur);
	free(c.buf);
	free(c.zero);
	crash_rec_free(&c.rec);
	replay_free(&c.rp);
	return failed || ambiguous ? 1 : 0;
}

/* Options with a value: each names its field, a number or a string. */
#define OPT_BASE 0x100
#define NUM(n, f) { n, offsetof(struct run_opts, f), true }
#define STR(n, f) { n, offsetof(struct run_opts, f), false }
static const struct {
	const char *name;
	size_t off;
	bool num;
} val_opts[] = {
	NUM("flush", nflush), NUM("random", nrandom), NUM("seed", seed),
	NUM("only", only), NUM("len", len), NUM("blocks", blocks),
	NUM("report", report), NUM("run", run), NUM("boundary", j.boundary),
	NUM("expansion", j.expansion), NUM("ssd-old", j.ssd_old),
	NUM("ram-old", j.ram_old), STR("exec", exec),
	STR("mark-prefix", prefix), STR("ram", ram), STR("table", table),
	STR("record", record), STR("name", name), STR("label", label),
};

static void parse_opts(int argc, char **argv, struct run_opts *o)
{
	struct option lo[ARRAY_SIZE(val_opts) + 2];
	size_t i;
	int c;

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < ARRAY_SIZE(val_opts); i++)
		lo[i] = (struct option){ val_opts[i].name, 1, NULL, OPT_BASE + i };
	lo[i] = (struct option){ "dedup", 0, NULL, 'd' };
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'd') {
			o->dedup = true;
			continue;
		}
		if (c < OPT_BASE || c >= OPT_BASE + (int)ARRAY_SIZE(val_opts))
			tool_usage_err("bad option");
		i = c - OPT_BASE;
		if (!val_opts[i].num) {
			*(const char **)((char *)o + val_opts[i].off) = optarg;
			continue;
		}
		*(u64 *)((char *)o + val_opts[i].off) =
			tool_num_arg(optarg, val_opts[i].name);
		o->has_only |= !strcmp(val_opts[i].name, "only");
	}
}

int main(int argc, char **argv)
{
	struct run_opts o = {
		.nflush = ~0ULL, .seed = 1, .prefix = "", .name = "crv",
		.label = "replay", .report = 5, .j.boundary = ~0ULL,
	};
	bool check;

	tool_name = "hims-replay";
	if (argc < 3)
		tool_usage_err("usage: hims-replay info <log> | run|check [options] <log> <base> <target>");
	if (!strcmp(argv[1], "info") && argc == 3)
		return do_info(argv[2], ~0ULL);
	if (!strcmp(argv[1], "info") && argc == 5 && !strcmp(argv[2], "--block"))
		return do_info(argv[4], tool_num_arg(argv[3], "--block"));
	check = !strcmp(argv[1], "check");
	if (!check && strcmp(argv[1], "run"))
		tool_usage_err("unknown command '%s'", argv[1]);
	parse_opts(argc, argv, &o);
	if (argc - optind != 3)
		tool_usage_err("%s: <log> <base> <target>", argv[1]);
	if (!check)
		return do_run(&o, argv[optind], argv[optind + 1], argv[optind + 2]);
	if (!o.ram || !o.table || !o.record || !o.len || !o.blocks || !o.run)
		tool_usage_err("check: --ram, --table, --len, --record, --blocks and --run are needed");
	o.j.run = o.run;
	return do_check(&o, argv[optind], argv[optind + 1], argv[optind + 2]);
}
