// SPDX-License-Identifier: GPL-2.0
/*
 * hims-crashwl: the crash-replay workload (tests/crash/README).
 *
 *   hims-crashwl fill  --dev D --run R --blocks N [--start S]
 *   hims-crashwl write --dev D --run R --blocks N --ops M --record F ...
 *   hims-crashwl check --dev D --run R --blocks N --record F --mark K ...
 *
 * fill writes the pattern a disk holds before the test (blocks of run R
 * naming their own device block).  write runs writer threads over
 * logical blocks [0, N) and appends what was acknowledged, which sync
 * covered it and which dm-log-writes mark followed each sync to the
 * record (crash-record.h); marks and the flush message go through
 * libdevmapper, in this process.  check reads [0, N) and judges every block
 * against the record for a crash state whose last mark is K.
 *
 * Exit status: 0 good, 1 a block broke the rule or I/O failed, 2 usage.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/lib/hdm.h"
#include "tools/lib/msg.h"
#include "tests/crash/crash-block.h"
#include "tests/crash/crash-log.h"
#include "tests/crash/crash-record.h"

#define CHUNK	256U	/* blocks per read or fill write */
#define MAX_AT	8

struct opts {
	const char *dev, *record, *log, *hims, *baseline;
	const char *at_cmd[MAX_AT];
	u64 at_op[MAX_AT];
	int nat;
	u64 run, blocks, start, ops, seed, mark;
	u64 sync_every, threads, fua_pct, pool_pct, pool_size, hot;
	struct crash_judge j;
	u64 report;
};

static void *xalloc(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, CRASH_BS, len))
		tool_fail("out of memory");
	return p;
}

static int pw(int fd, const void *buf, size_t len, u64 off)
{
	ssize_t n = pwrite(fd, buf, len, off);

	return n == (ssize_t)len ? 0 : -1;
}

/* ---- fill */

static int do_fill(struct opts *o)
{
	u8 *buf = xalloc((size_t)CHUNK * CRASH_BS);
	u64 b, i, n;
	int fd = open(o->dev, O_WRONLY | O_DIRECT);

	if (fd < 0)
		tool_fail("%s: %s", o->dev, strerror(errno));
	for (b = o->start; b < o->start + o->blocks; b += n) {
		n = min_t(u64, CHUNK, o->start + o->blocks - b);
		for (i = 0; i < n; i++)
			crash_block_fill(buf + i * CRASH_BS, o->run, b + i, 0);
		if (pw(fd, buf, n * CRASH_BS, b * CRASH_BS))
			tool_fail("%s: write at block %llu: %s", o->dev,
				  (unsigned long long)b, strerror(errno));
	}
	if (fsync(fd))
		tool_fail("%s: fsync: %s", o->dev, strerror(errno));
	close(fd);
	free(buf);
	return 0;
}

/* ---- write */

static struct {
	pthread_mutex_t rec_lock, mark_lock;
	FILE *rec;
	u64 version, marks, syncs, claimed, done;
	/*
	 * wsync[b]: the first sync that covers block b's last plain write;
	 * synced: the last completed sync.  [rec_lock]
	 */
	u64 *wsync, synced;
	int fd, fua_fd, failed;
	struct opts *o;
} W = {
	.rec_lock = PTHREAD_MUTEX_INITIALIZER,
	.mark_lock = PTHREAD_MUTEX_INITIALIZER,
};

static int run_cmd(const char *fmt, ...) __printf(1, 2);

static int run_cmd(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st) {
		fprintf(stderr, "hims-crashwl: '%s' failed (%d)\n", cmd, st);
		return -1;
	}
	return 0;
}

/*
 * Issues the next mark into the log; call with mark_lock held.
 *
 * dm-log-writes logs a plain write with the first flush mapped after it
 * completed, at that flush's completion, so the log is in completion order
 * only while flushes never overlap: dm-hims sends the SSD one at a time.
 * A sync we mark has returned, so its flush and the writes it covers are
 * logged before the mark; a sync that returned before its flush completed
 * leaves them after the mark, and the replay finds them volatile there.
 */
static u64 next_mark(void)
{
	u64 k = ++W.marks;

	char msg[64];

	if (!W.o->log || !*W.o->log)
		return k;
	snprintf(msg, sizeof(msg), "mark crw%llu", (unsigned long long)k);
	if (hdm_message(W.o->log, msg)) {
		fprintf(stderr, "hims-crashwl: %s: message '%s' failed\n",
			W.o->log, msg);
		W.failed = 1;
	}
	return k;
}

static void fail_io(const char *what, u64 b)
{
	fprintf(stderr, "hims-crashwl: %s of block %llu failed: %s\n", what,
		(unsigned long long)b, strerror(errno));
	__atomic_store_n(&W.failed, 1, __ATOMIC_RELAXED);
}

static void *writer(void *arg)
{
	u64 t = (uintptr_t)arg, rs = W.o->seed * 1000003 + t, T = W.o->threads;
	u64 mine = (W.o->blocks - t + T - 1) / T;
	u8 *buf = xalloc(CRASH_BS);

	while (__atomic_fetch_add(&W.claimed, 1, __ATOMIC_RELAXED) < W.o->ops &&
	       !__atomic_load_n(&W.failed, __ATOMIC_RELAXED)) {
		u64 r = crash_rand(&rs), b, v, key, idx;
		bool fua = crash_rand(&rs) % 100 < W.o->fua_pct;
		bool pool = crash_rand(&rs) % 100 < W.o->pool_pct;

		/* Half of the writes go to a few hot blocks of this thread. */
		if (r % 100 < 50 && W.o->hot)
			idx = (r >> 8) % min(W.o->hot, mine);
		else
			idx = (r >> 8) % mine;
		b = idx * T + t;
		pthread_mutex_lock(&W.rec_lock);
		v = ++W.version;
		/*
		 * A FUA write only to a block whose plain writes a completed
		 * sync covers: dm-log-writes logs a FUA write at once and a
		 * plain one at the next flush, so a plain write to the block
		 * still unflushed would be logged, and replayed, after the
		 * FUA write it preceded (crash_ambiguous).
		 */
		fua = fua && W.wsync[b] <= W.synced;
		pthread_mutex_unlock(&W.rec_lock);
		if (pool) {
			idx = (r >> 40) % W.o->pool_size;
			crash_block_fill(buf, W.o->run, CRASH_POOL_BLOCK, idx);
			key = CRASH_KEY_POOL | idx;
		} else {
			crash_block_fill(buf, W.o->run, b, v);
			key = v;
		}
		if (pw(fua ? W.fua_fd : W.fd, buf, CRASH_BS, b * CRASH_BS)) {
			fail_io("write", b);
			break;
		}
		if (fua) {
			u64 k;

			pthread_mutex_lock(&W.mark_lock);
			k = next_mark();
			pthread_mutex_lock(&W.rec_lock);
			fprintf(W.rec, "u %llu %llu %llu %llu\n",
				(unsigned long long)k, (unsigned long long)b,
				(unsigned long long)v, (unsigned long long)key);
			pthread_mutex_unlock(&W.rec_lock);
			pthread_mutex_unlock(&W.mark_lock);
		} else {
			pthread_mutex_lock(&W.rec_lock);
			fprintf(W.rec, "w %llu %llu %llu\n", (unsigned long long)b,
				(unsigned long long)v, (unsigned long long)key);
			W.wsync[b] = W.syncs + 1;
			pthread_mutex_unlock(&W.rec_lock);
		}
		__atomic_fetch_add(&W.done, 1, __ATOMIC_RELAXED);
	}
	free(buf);
	return NULL;
}

/* One sync: fsync, fdatasync or the flush message, in turn. */
static void do_sync(void)
{
	u64 id, k;
	int ret;

	pthread_mutex_lock(&W.rec_lock);
	id = ++W.syncs;
	fprintf(W.rec, "s %llu\n", (unsigned long long)id);
	pthread_mutex_unlock(&W.rec_lock);
	switch (id % 3) {
	case 0:
		ret = fsync(W.fd);
		break;
	case 1:
		ret = fdatasync(W.fd);
		break;
	default:
		if (W.o->hims)
			ret = hdm_message(W.o->hims, "flush");
		else
			ret = fsync(W.fd);
		break;
	}
	if (ret) {
		fprintf(stderr, "hims-crashwl: sync %llu failed\n",
			(unsigned long long)id);
		W.failed = 1;
		return;
	}
	pthread_mutex_lock(&W.mark_lock);
	k = next_mark();
	pthread_mutex_lock(&W.rec_lock);
	fprintf(W.rec, "m %llu %llu\n", (unsigned long long)k,
		(unsigned long long)id);
	W.synced = id;
	pthread_mutex_unlock(&W.rec_lock);
	pthread_mutex_unlock(&W.mark_lock);
}

/* The highest version in an existing record, to go on from. */
static u64 record_max_version(const char *path)
{
	unsigned long long a, b, c, d;
	char line[256];
	u64 max = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "v %llu", &a) == 1 && a > max)
			max = a;
		if (sscanf(line, "w %llu %llu", &a, &b) == 2 && b > max)
			max = b;
		if (sscanf(line, "u %llu %llu %llu %llu", &a, &b, &c, &d) == 4 &&
		    c > max)
			max = c;
	}
	fclose(f);
	return max;
}

static int do_write(struct opts *o)
{
	pthread_t th[16];
	u64 t, next_sync = o->sync_every, done;
	int i;

	if (!o->record || !o->ops || !o->threads || o->threads > 16 ||
	    o->blocks < o->threads)
		tool_usage_err("write: --record, --ops, --threads 1-16, --blocks >= threads");
	W.o = o;
	W.wsync = calloc(o->blocks, sizeof(*W.wsync));
	if (!W.wsync)
		tool_fail("out of memory");
	W.version = record_max_version(o->record);
	W.rec = fopen(o->record, "a");
	if (!W.rec)
		tool_fail("%s: %s", o->record, strerror(errno));
	/* Lines go out whole; the file only needs to be complete at exit. */
	W.fd = open(o->dev, O_WRONLY | O_DIRECT);
	W.fua_fd = open(o->dev, O_WRONLY | O_DIRECT | O_DSYNC);
	if (W.fd < 0 || W.fua_fd < 0)
		tool_fail("%s: %s", o->dev, strerror(errno));
	/* libdevmapper's first call opens its control device: not in a thread. */
	hdm_init();
	if (o->hims) {
		struct hdm_info di;

		if (hdm_get(o->hims, 0, &di) || !di.exists)
			tool_fail("%s: no such device-mapper device", o->hims);
	}
	for (t = 0; t < o->threads; t++)
		if (pthread_create(&th[t], NULL, writer, (void *)(uintptr_t)t))
			tool_fail("pthread_create failed");
	for (;;) {
		done = __atomic_load_n(&W.done, __ATOMIC_RELAXED);
		for (i = 0; i < o->nat; i++) {
			if (o->at_cmd[i] && done >= o->at_op[i]) {
				if (run_cmd("%s", o->at_cmd[i]))
					W.failed = 1;
				o->at_cmd[i] = NULL;
			}
		}
		if (done >= o->ops || W.failed)
			break;
		if (o->sync_every && done >= next_sync) {
			do_sync();
			next_sync = done + o->sync_every;
			continue;
		}
		usleep(2000);
	}
	for (t = 0; t < o->threads; t++)
		pthread_join(th[t], NULL);
	if (fclose(W.rec))
		tool_fail("%s: %s", o->record, strerror(errno));
	close(W.fd);
	close(W.fua_fd);
	free(W.wsync);
	printf("%llu writes, %llu syncs, %llu marks, versions up to %llu\n",
	       (unsigned long long)W.done, (unsigned long long)W.syncs,
	       (unsigned long long)W.marks, (unsigned long long)W.version);
	return W.failed ? 1 : 0;
}

/* ---- check */

static int do_check(struct opts *o)
{
	struct crash_rec r;
	char why[256];
	u8 *buf = xalloc((size_t)CHUNK * CRASH_BS);
	u64 *floor = calloc(o->blocks ? o->blocks : 1, sizeof(*floor));
	u64 b, i, n, bad = 0, zero = 0, pre = 0;
	FILE *f = fopen(o->record, "r"), *bl = NULL;
	int fd, ret;

	if (!f || !floor)
		tool_fail("%s: %s", o->record, strerror(errno));
	ret = crash_rec_parse(&r, f, why, sizeof(why));
	fclose(f);
	if (ret)
		tool_fail("%s: %s", o->record, why);
	crash_rec_floor(&r, o->mark, o->blocks, floor);
	fd = open(o->dev, O_RDONLY | O_DIRECT);
	if (fd < 0)
		tool_fail("%s: %s", o->dev, strerror(errno));
	if (o->baseline) {
		bl = fopen(o->baseline, "w");
		if (!bl)
			tool_fail("%s: %s", o->baseline, strerror(errno));
	}
	for (b = 0; b < o->blocks; b += n) {
		n = min_t(u64, CHUNK, o->blocks - b);
		if (pread(fd, buf, n * CRASH_BS, b * CRASH_BS) !=
		    (ssize_t)(n * CRASH_BS))
			tool_fail("%s: read at block %llu: %s", o->dev,
				  (unsigned long long)b, strerror(errno));
		for (i = 0; i < n; i++) {
			const u8 *p = buf + i * CRASH_BS;
			struct crash_id id;
			enum crash_kind k = crash_block_parse(p, &id);

			if (crash_judge_block(&r, &o->j, b + i, floor[b + i], p,
					      why, sizeof(why))) {
				if (bad++ < o->report)
					printf("block %llu: %s\n",
					       (unsigned long long)(b + i), why);
				continue;
			}
			if (k == CRASH_ZERO) {
				zero++;
			} else if (id.run != o->j.run) {
				pre++;
			} else if (bl) {
				u64 key = id.block == CRASH_POOL_BLOCK ?
					  CRASH_KEY_POOL | id.version : id.version;

				fprintf(bl, "w %llu %llu %llu\n",
					(unsigned long long)(b + i),
					(unsigned long long)crash_rec_version(&r, b + i, key),
					(unsigned long long)key);
			}
		}
	}
	close(fd);
	if (bl) {
		for (i = 0, n = 0; i < r.nw; i++)
			n = max(n, r.w[i].version);
		fprintf(bl, "b\nv %llu\n", (unsigned long long)n);
		if (fclose(bl))
			tool_fail("%s: %s", o->baseline, strerror(errno));
	}
	if (bad)
		printf("%llu of %llu blocks broke the rule (mark %llu; %llu zero, %llu initial)\n",
		       (unsigned long long)bad, (unsigned long long)o->blocks,
		       (unsigned long long)o->mark, (unsigned long long)zero,
		       (unsigned long long)pre);
	crash_rec_free(&r);
	free(floor);
	free(buf);
	return bad ? 1 : 0;
}

static const struct option longopts[] = {
	{ "dev", 1, NULL, 'd' }, { "run", 1, NULL, 'r' },
	{ "blocks", 1, NULL, 'n' }, { "start", 1, NULL, 'S' },
	{ "ops", 1, NULL, 'o' }, { "record", 1, NULL, 'R' },
	{ "threads", 1, NULL, 't' }, { "seed", 1, NULL, 's' },
	{ "sync-every", 1, NULL, 'y' }, { "fua", 1, NULL, 'f' },
	{ "pool", 1, NULL, 'p' }, { "pool-size", 1, NULL, 'P' },
	{ "hot", 1, NULL, 'H' }, { "log", 1, NULL, 'l' },
	{ "hims", 1, NULL, 'h' }, { "at", 1, NULL, 'a' },
	{ "mark", 1, NULL, 'm' }, { "boundary", 1, NULL, 'B' },
	{ "expansion", 1, NULL, 'E' }, { "ssd-old", 1, NULL, 'O' },
	{ "ram-old", 1, NULL, 'M' }, { "baseline", 1, NULL, 'b' },
	{ "report", 1, NULL, 'x' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct opts o = {
		.threads = 2, .seed = 1, .sync_every = 50, .pool_size = 16,
		.hot = 16, .report = 5, .j.boundary = ~0ULL,
	};
	const char *cmd;
	char *colon;
	int c;

	tool_name = "hims-crashwl";
	if (argc < 2)
		tool_usage_err("usage: hims-crashwl fill|write|check --dev <dev> ...");
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dev = optarg;
			break;
		case 'r':
			o.run = tool_num_arg(optarg, "--run");
			break;
		case 'n':
			o.blocks = tool_num_arg(optarg, "--blocks");
			break;
		case 'S':
			o.start = tool_num_arg(optarg, "--start");
			break;
		case 'o':
			o.ops = tool_num_arg(optarg, "--ops");
			break;
		case 'R':
			o.record = optarg;
			break;
		case 't':
			o.threads = tool_num_arg(optarg, "--threads");
			break;
		case 's':
			o.seed = tool_num_arg(optarg, "--seed");
			break;
		case 'y':
			o.sync_every = tool_num_arg(optarg, "--sync-every");
			break;
		case 'f':
			o.fua_pct = tool_num_arg(optarg, "--fua");
			break;
		case 'p':
			o.pool_pct = tool_num_arg(optarg, "--pool");
			break;
		case 'P':
			o.pool_size = tool_num_arg(optarg, "--pool-size");
			break;
		case 'H':
			o.hot = tool_num_arg(optarg, "--hot");
			break;
		case 'l':
			o.log = optarg;
			break;
		case 'h':
			o.hims = optarg;
			break;
		case 'a':
			colon = strchr(optarg, ':');
			if (!colon || o.nat == MAX_AT)
				tool_usage_err("--at <op>:<command>, at most %d", MAX_AT);
			*colon = 0;
			o.at_op[o.nat] = tool_num_arg(optarg, "--at");
			o.at_cmd[o.nat++] = colon + 1;
			break;
		case 'm':
			/* "crw<k>", "" or "none": the last mark of the state */
			if (!strncmp(optarg, "crw", 3))
				o.mark = tool_num_arg(optarg + 3, "--mark");
			else if (*optarg && strcmp(optarg, "none"))
				tool_usage_err("--mark crw<k> or none, not '%s'", optarg);
			break;
		case 'B':
			o.j.boundary = tool_num_arg(optarg, "--boundary");
			break;
		case 'E':
			o.j.expansion = tool_num_arg(optarg, "--expansion");
			break;
		case 'O':
			o.j.ssd_old = tool_num_arg(optarg, "--ssd-old");
			break;
		case 'M':
			o.j.ram_old = tool_num_arg(optarg, "--ram-old");
			break;
		case 'b':
			o.baseline = optarg;
			break;
		case 'x':
			o.report = tool_num_arg(optarg, "--report");
			break;
		default:
			tool_usage_err("bad option");
		}
	}
	o.j.run = o.run;
	if (!o.dev || !o.blocks || !o.run)
		tool_usage_err("--dev, --blocks and --run are needed");
	if (!o.pool_size)
		tool_usage_err("--pool-size must be at least 1");
	if (!strcmp(cmd, "fill"))
		return do_fill(&o);
	if (!strcmp(cmd, "write"))
		return do_write(&o);
	if (!strcmp(cmd, "check")) {
		if (!o.record)
			tool_usage_err("check: --record is needed");
		return do_check(&o);
	}
	tool_usage_err("unknown command '%s'", cmd);
}
