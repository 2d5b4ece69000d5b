// SPDX-License-Identifier: GPL-2.0
/*
 * hims-replay: rebuild a device at crash points of a dm-log-writes log
 * (tests/crash/README).
 *
 *   hims-replay info <log>
 *   hims-replay run [--flush N] [--random N] [--seed S] [--only I]
 *                   [--mark-prefix P] [--exec CMD] <log> <base> <target>
 *
 * info prints the log's entries.  run computes the crash points (N prefix
 * points at flush/FUA entries, N random subset points), and for each one
 * writes <base> (the device before the log began) with the point's kept
 * writes applied to <target>, then runs CMD with sh -c and the
 * environment CRASH_POINT (its index), CRASH_DESC and CRASH_MARK (the
 * last mark of the state starting with P, or "none").  --only I writes
 * point I alone.  The points depend only on the log and the seed.
 *
 * Exit status: 0 every CMD passed, 1 a CMD failed or an error, 2 usage.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <unistd.h>

#include "tools/lib/msg.h"
#include "tests/crash/crash-log.h"

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

static int do_info(const char *path)
{
	struct crash_log log;
	char fl[64];
	u64 i, nflush = 0, nfua = 0, nmark = 0, bytes = 0;

	parse_log(path, &log);
	for (i = 0; i < log.nr; i++) {
		const struct crash_entry *e = &log.e[i];

		printf("%llu %s@%llu+%llu %s\n", (unsigned long long)i,
		       flag_names(e->flags, fl, sizeof(fl)),
		       (unsigned long long)e->offset,
		       (unsigned long long)e->len, e->mark);
		nflush += !!(e->flags & LOG_FLUSH_FLAG);
		nfua += !!(e->flags & LOG_FUA_FLAG);
		nmark += !!(e->flags & LOG_MARK_FLAG);
		if (!(e->flags & (LOG_MARK_FLAG | LOG_DISCARD_FLAG)))
			bytes += e->len;
	}
	printf("entries %llu flush %llu fua %llu marks %llu data %llu bytes, sector size %u\n",
	       (unsigned long long)log.nr, (unsigned long long)nflush,
	       (unsigned long long)nfua, (unsigned long long)nmark,
	       (unsigned long long)bytes, log.sectorsize);
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
};

static int do_run(struct run_opts *o, const char *logp, const char *basep,
		  const char *tgt)
{
	struct crash_log log;
	struct crash_point *pts;
	u64 logsize, size, i, failed = 0;
	u8 *logdata, *base, *img, *keep;
	size_t n;

	parse_log(logp, &log);
	logdata = read_all(logp, log.end, &logsize);
	base = read_all(basep, 0, &size);
	if (posix_memalign((void **)&img, ALIGN_BYTES, size ? size : 1))
		tool_fail("out of memory");
	keep = malloc(log.nr ? log.nr : 1);
	pts = calloc(MAX_POINTS, sizeof(*pts));
	if (!keep || !pts)
		tool_fail("out of memory");
	n = crash_points(&log, o->nflush, o->nrandom, o->seed, pts, MAX_POINTS);
	if (o->has_only && o->only >= n)
		tool_usage_err("--only %llu: there are %zu points",
			       (unsigned long long)o->only, n);
	for (i = 0; i < n; i++) {
		const struct crash_point *pt = &pts[i];
		const char *mark = crash_last_mark(&log, pt->last, o->prefix);
		char desc[128], num[32];
		u64 j, kept = 0, pending = 0;
		int st;

		if (o->has_only && i != o->only)
			continue;
		crash_plan(&log, pt, keep);
		for (j = 0; j <= pt->last && j < log.nr; j++)
			if (!(log.e[j].flags & LOG_MARK_FLAG) && log.e[j].len) {
				kept += keep[j];
				pending += !keep[j];
			}
		memcpy(img, base, size);
		if (crash_apply(&log, keep, pt->last, logdata, img, size))
			tool_fail("the log writes past the end of %s (%llu bytes)",
				  basep, (unsigned long long)size);
		write_target(tgt, img, size);
		snprintf(desc, sizeof(desc), "%s entry %llu/%llu, %llu writes kept, %llu dropped",
			 pt->kind == CRASH_PREFIX ? "flush" : "subset",
			 (unsigned long long)pt->last,
			 (unsigned long long)log.nr, (unsigned long long)kept,
			 (unsigned long long)pending);
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
	printf("%zu crash points, %llu failed\n", o->has_only ? 1 : n,
	       (unsigned long long)failed);
	free(pts);
	free(keep);
	free(img);
	free(base);
	free(logdata);
	crash_log_free(&log);
	return failed ? 1 : 0;
}

static const struct option longopts[] = {
	{ "flush", 1, NULL, 'f' }, { "random", 1, NULL, 'r' },
	{ "seed", 1, NULL, 's' }, { "only", 1, NULL, 'o' },
	{ "exec", 1, NULL, 'e' }, { "mark-prefix", 1, NULL, 'm' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct run_opts o = { .nflush = ~0ULL, .seed = 1, .prefix = "" };
	int c;

	tool_name = "hims-replay";
	if (argc < 3)
		tool_usage_err("usage: hims-replay info <log> | run [options] <log> <base> <target>");
	if (!strcmp(argv[1], "info") && argc == 3)
		return do_info(argv[2]);
	if (strcmp(argv[1], "run"))
		tool_usage_err("unknown command '%s'", argv[1]);
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.nflush = tool_num_arg(optarg, "--flush");
			break;
		case 'r':
			o.nrandom = tool_num_arg(optarg, "--random");
			break;
		case 's':
			o.seed = tool_num_arg(optarg, "--seed");
			break;
		case 'o':
			o.only = tool_num_arg(optarg, "--only");
			o.has_only = true;
			break;
		case 'e':
			o.exec = optarg;
			break;
		case 'm':
			o.prefix = optarg;
			break;
		default:
			tool_usage_err("bad option");
		}
	}
	if (argc - optind != 3)
		tool_usage_err("run: <log> <base> <target>");
	return do_run(&o, argv[optind], argv[optind + 1], argv[optind + 2]);
}
