// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-tools: the userspace half of the fuzzer (tests/fuzz/README).  SSD
 * images, valid then damaged (bit flips, truncations, valid checksums over
 * nonsense in the superblock, hints, bitmap, dedup records and slots).
 * Every case runs himsctl's probe logic (read_ssd()) and hims-check's
 * (hims_check()) in this process, with ASan and UBSan: an image in memory
 * costs no fork.  Every --cli-every'th case (50) also goes to a file, and
 * "himsctl probe", "himsctl assemble" and "hims-check" run on it in a child
 * process (their own main(), linked in): each must exit 0 or refuse with
 * status 1 and exactly one line on stderr naming the tool; a crash, a
 * sanitizer report or any other output fails the case.  Some outcomes are
 * known: an undamaged image must pass both, a flipped superblock must be
 * refused.
 *
 *   fuzz-tools [--seed S] [--first I] [--cases N] [--dir D] [--cli-every N] [-v]
 *
 * The files go in a new directory in /dev/shm (tmpfs: the tools' O_DIRECT
 * reads then cost no disk writes), else in /tmp, or in --dir.
 *
 * The last line: "tools: cases N refused N accepted N failures N seed S".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "tests/fuzz/fuzz-gen.h"
#include "tools/himsctl.h"
#include "tools/hims-check.h"

#define BS HIMS_BLOCK_SIZE

#include "tests/fuzz/fuzz-tools.h"

/* Crashes and reports must not pass for the tools' exit status 1. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0:exitcode=99";
}

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "exitcode=99:print_stacktrace=1";
}

static struct fz_run sel = { 1, 0, 1000 };	/* the cases to run */
static u64 cur_case, cli_every = 50;
static unsigned long nr_refused, nr_accepted, nr_failures;
static bool verbose, own_dir;
static char dir[256];

static void fail(const struct fz_image *img, const char *fmt, ...)
	__printf(2, 3);

static void fail(const struct fz_image *img, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL case %llu (seed %llu) [%s]: ", (unsigned long long)cur_case,
	       (unsigned long long)sel.seed, img->what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	nr_failures++;
}

/* Whether block @b may hold metadata: elsewhere the image is all zeroes. */
static bool meta_block(const struct fz_image *img, u64 b)
{
	const struct hims_geometry *g = &img->geo;

	return b < g->bitmap_start + g->bitmap_blocks ||
	       (g->dedup_blocks && b >= g->dedup_start &&
		b < g->dedup_start + 2 + 2 * g->meta_blocks);
}

/* The image's metadata blocks, in a file of its (maybe truncated) size. */
static int write_image(const struct fz_image *img, const char *path)
{
	u64 b, end;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	for (b = 0; b < img->blocks && b * BS < img->size; b++) {
		if (!meta_block(img, b))
			continue;
		end = img->size - b * BS < BS ? img->size - b * BS : BS;
		if (pwrite(fd, img->data + b * BS, end, (off_t)(b * BS)) != (ssize_t)end)
			goto bad;
	}
	if (ftruncate(fd, (off_t)img->size))
		goto bad;
	return close(fd);
bad:
	close(fd);
	return -1;
}

static size_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	n = n < 0 ? 0 : n;
	buf[n] = 0;
	return (size_t)n;
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

struct run {
	int status;		/* exit status, or 128 + signal */
	char out[8192];
	char err[8192];
};

/* @fn(argv) in a child, its stdout and stderr in files. */
static void run(int (*fn)(int, char **), char **argv, struct run *rr)
{
	char out[300], err[300];
	int argc = 0, st;
	pid_t pid;

	while (argv[argc])
		argc++;
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (!pid) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(98);
		optind = 0;
		exit(fn(argc, argv));
	}
	if (waitpid(pid, &st, 0) < 0) {
		perror("waitpid");
		exit(2);
	}
	rr->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	slurp(out, rr->out, sizeof(rr->out));
	slurp(err, rr->err, sizeof(rr->err));
}

/*
 * The command @argv (its main() @fn) on the image: status 0 exactly when
 * the tool's logic in this process found @ok, else 1 with one line on
 * stderr that names the tool.  Returns whether it exited 0, cleanly.
 */
static bool cli(const struct fz_image *img, int (*fn)(int, char **), char **argv,
		bool ok, struct run *rr)
{
	char prefix[32];

	run(fn, argv, rr);
	snprintf(prefix, sizeof(prefix), "%s: ", argv[0]);
	if (verbose)
		printf("case %llu [%s]: %s %s: %d %s", (unsigned long long)cur_case, img->what,
		       argv[0], argv[1], rr->status, rr->err[0] ? rr->err : "\n");
	if (rr->status == 0 && ok && !rr->err[0])
		return true;
	if (rr->status == 1 && !ok && lines(rr->err) == 1 &&
	    !strncmp(rr->err, prefix, strlen(prefix)))
		return false;
	fail(img, "%s %s: status %d (%s expected), stderr: %.300s", argv[0], argv[1],
	     rr->status, ok ? "0" : "1", rr->err);
	return false;
}

/* hims_check()'s reads, from the image as a file of its size would give them. */
static int img_read(void *ctx, u64 block, u32 nr, void *buf)
{
	const struct fz_image *img = ctx;

	if ((block + nr) * BS > img->size || block + nr > img->blocks)
		return -ENXIO;
	memcpy(buf, img->data + block * BS, (size_t)nr * BS);
	return 0;
}

/* The tools' logic in this process: the probe's reading, hims-check's check. */
static void in_process(struct fz_image *img, const char *path, bool *probe_ok,
		       bool *check_ok)
{
	struct hims_check_result res;
	struct ssd_info si;

	*probe_ok = !read_ssd(path, &si) && si.check == HIMS_SB_OK;
	memset(&res, 0, sizeof(res));
	*check_ok = !hims_check(img_read, img, img->size / BS, 0, &res);
	if (!res.msg[0] || strchr(res.msg, '\n'))
		fail(img, "hims_check() said '%s': not one line", res.msg);
}

static void death(void)
{
	printf("FAIL case %llu (seed %llu): a sanitizer report\n",
	       (unsigned long long)cur_case, (unsigned long long)sel.seed);
	fflush(stdout);
}

static void one_case(struct fz_image *img, bool damage, struct fz_rng *r)
{
	char path[300], *argv[4];
	struct run rr;
	bool probe_ok, check_ok, sb_flip;
	const char *l;

	snprintf(path, sizeof(path), "%s/ssd.img", dir);
	if (damage)
		fz_damage(img, r, true, false);
	else
		snprintf(img->what, sizeof(img->what), "undamaged");
	sb_flip = !strcmp(img->what, "sb-flip");
	if (write_image(img, path)) {
		perror(path);
		exit(2);
	}
	in_process(img, path, &probe_ok, &check_ok);
	if (cur_case % cli_every)
		goto verdict;
	argv[0] = "himsctl";
	argv[1] = "probe";
	argv[2] = path;
	argv[3] = NULL;
	if (cli(img, himsctl_main, argv, probe_ok, &rr)) {
		/* KEY=value lines only, for udev's IMPORT and the shell. */
		for (l = rr.out; *l; l = strchr(l, '\n') + 1) {
			if (strncmp(l, "HIMS_", 5) || !strchr(l, '=') || !strchr(l, '\n') ||
			    strchr(l, '=') > strchr(l, '\n')) {
				fail(img, "himsctl probe printed '%.100s'", l);
				break;
			}
		}
	}
	/* A file is never assembled: a refusal, whatever the image. */
	argv[1] = "assemble";
	cli(img, himsctl_main, argv, false, &rr);

	argv[0] = "hims-check";
	argv[1] = path;
	argv[2] = NULL;
	if (cli(img, hims_check_main, argv, check_ok, &rr) &&
	    (lines(rr.out) != 1 || strncmp(rr.out, "hims-check: ", 12)))
		fail(img, "hims-check: status 0, stdout: %.300s", rr.out);
verdict:
	if (!damage && (!probe_ok || !check_ok))
		fail(img, "a valid image was refused (probe %d, hims-check %d)",
		     probe_ok, check_ok);
	if (sb_flip && (probe_ok || check_ok))
		fail(img, "a superblock with flipped bits was accepted (probe %d, hims-check %d)",
		     probe_ok, check_ok);
	if (check_ok && probe_ok)
		nr_accepted++;
	else
		nr_refused++;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "first", required_argument, NULL, 'f' },
		{ "cases", required_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' },
		{ "cli-every", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct fz_image img;
	struct fz_rng r;
	int c;

	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (fz_run_option(&sel, c, optarg))
			continue;
		switch (c) {
		case 'd':
			snprintf(dir, sizeof(dir), "%s", optarg);
			break;
		case 'c':
			cli_every = strtoull(optarg, NULL, 0) ? strtoull(optarg, NULL, 0) : 1;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			fprintf(stderr, "usage: fuzz-tools [--seed S] [--first I] [--cases N] %s\n",
				"[--dir D] [--cli-every N] [-v]");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	__sanitizer_set_death_callback(death);
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/dev/shm/hims-fuzz.XXXXXX");
		if (!mkdtemp(dir)) {
			snprintf(dir, sizeof(dir), "/tmp/hims-fuzz.XXXXXX");
			if (!mkdtemp(dir)) {
				perror(dir);
				return 2;
			}
		}
		own_dir = true;
	}
	for (cur_case = sel.first; cur_case < sel.first + sel.cases; cur_case++) {
		fz_rng_case(&r, sel.seed, cur_case, 0);
		if (fz_image_random(&img, &r)) {
			printf("FAIL case %llu: cannot build an image\n",
			       (unsigned long long)cur_case);
			nr_failures++;
			continue;
		}
		one_case(&img, !fz_chance(&r, 5), &r);
		fz_image_free(&img);
		if (nr_failures > 20)
			break;
	}
	if (own_dir) {
		static const char *const files[] = { "ssd.img", "out", "err" };
		char path[300];
		size_t i;

		for (i = 0; i < ARRAY_SIZE(files); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			unlink(path);
		}
		rmdir(dir);
	}
	printf("tools: cases %llu refused %lu accepted %lu failures %lu seed %llu\n",
	       (unsigned long long)sel.cases, nr_refused, nr_accepted, nr_failures,
	       (unsigned long long)sel.seed);
	return nr_failures ? 1 : 0;
}
