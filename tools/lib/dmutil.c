// SPDX-License-Identifier: GPL-2.0
/*
 * Shared by himsctl and feedbacctl: messages, libdevmapper, block devices,
 * sysfs and helper programs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libdevmapper.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fs.h>

#include "dmutil.h"

const char *tool_name = "tool";
bool tool_udev;

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", tool_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void tool_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void tool_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

void tool_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(EXIT_RUNTIME);
}

#define DM_LOG_LEVEL_MASK	7
#define DM_LOG_ERR		3

static void dm_log(int level, const char *file, int line, int dm_errno_or_class,
		   const char *f, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	if ((level & DM_LOG_LEVEL_MASK) > DM_LOG_ERR)
		return;
	va_start(ap, f);
	vmsg(f, ap);
	va_end(ap);
}

void tool_dm_init(void)
{
	dm_log_with_errno_init(dm_log);
}

/* Udev synchronisation, unless run by udev itself (which would deadlock). */
static int set_cookie(struct dm_task *dmt, u32 *cookie)
{
	*cookie = 0;
	if (tool_udev)
		return 1;
	return dm_task_set_cookie(dmt, cookie, 0);
}

static void wait_cookie(u32 cookie)
{
	if (!tool_udev && cookie)
		dm_udev_wait(cookie);
}

int dm_get(const char *name, int what, struct dm_dev_info *di)
{
	struct dm_task *dmt;
	struct dm_info info;
	uint64_t start, length;	/* libdevmapper's type */
	char *type, *params;
	const char *uuid;
	void *next = NULL;
	int r = -1;

	memset(di, 0, sizeof(*di));
	/* INFO says "no such device" quietly; STATUS and TABLE log an error. */
	dmt = dm_task_create(DM_DEVICE_INFO);
	if (!dmt)
		return -1;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &info)) {
		dm_task_destroy(dmt);
		return -1;
	}
	dm_task_destroy(dmt);
	if (!info.exists)
		return 0;
	dmt = dm_task_create(what ? DM_DEVICE_TABLE : DM_DEVICE_STATUS);
	if (!dmt)
		return -1;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &info))
		goto out;
	r = 0;
	if (!info.exists)
		goto out;
	di->exists = true;
	di->major = info.major;
	di->minor = info.minor;
	di->open_count = info.open_count;
	uuid = dm_task_get_uuid(dmt);
	if (uuid)
		snprintf(di->uuid, sizeof(di->uuid), "%s", uuid);
	do {
		next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
		if (!type)
			break;
		if (!di->nr_targets++) {
			snprintf(di->type, sizeof(di->type), "%s", type);
			snprintf(di->params, sizeof(di->params), "%s", params ? params : "");
			di->start = start;
			di->length = length;
		}
	} while (next);
out:
	dm_task_destroy(dmt);
	return r;
}

int dm_create_table(const char *name, const char *uuid, u64 len,
		    const char *type, const char *params)
{
	struct dm_task *dmt;
	u32 cookie = 0;
	int r = -1;

	dmt = dm_task_create(DM_DEVICE_CREATE);
	if (!dmt)
		return -1;
	if (dm_task_set_name(dmt, name) && (!uuid || dm_task_set_uuid(dmt, uuid)) &&
	    dm_task_add_target(dmt, 0, len, type, params) &&
	    set_cookie(dmt, &cookie) && dm_task_run(dmt))
		r = 0;
	wait_cookie(cookie);
	dm_task_destroy(dmt);
	return r;
}

static int simple_task(int op, const char *name, const char *newuuid, bool retry)
{
	struct dm_task *dmt;
	u32 cookie = 0;
	int r = -1;

	dmt = dm_task_create(op);
	if (!dmt)
		return -1;
	if (!dm_task_set_name(dmt, name))
		goto out;
	if (newuuid && !dm_task_set_newuuid(dmt, newuuid))
		goto out;
	if (retry)
		dm_task_retry_remove(dmt);
	if (set_cookie(dmt, &cookie) && dm_task_run(dmt))
		r = 0;
	wait_cookie(cookie);
out:
	dm_task_destroy(dmt);
	return r;
}

int dm_remove_dev(const char *name)
{
	return simple_task(DM_DEVICE_REMOVE, name, NULL, true);
}

int dm_set_uuid(const char *name, const char *uuid)
{
	return simple_task(DM_DEVICE_RENAME, name, uuid, false);
}

int dm_send_message(const char *name, const char *msg)
{
	struct dm_task *dmt;
	int r = -1;

	dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	if (!dmt)
		return -1;
	if (dm_task_set_name(dmt, name) && dm_task_set_sector(dmt, 0) &&
	    dm_task_set_message(dmt, msg) && dm_task_run(dmt))
		r = 0;
	dm_task_destroy(dmt);
	return r;
}

int dm_for_each(int (*fn)(const char *name, void *arg), void *arg)
{
	struct dm_task *dmt;
	struct dm_names *names;
	unsigned int next = 0;
	int r = 0;

	dmt = dm_task_create(DM_DEVICE_LIST);
	if (!dmt)
		return -1;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -1;
	}
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			names = (struct dm_names *)((char *)names + next);
			r = fn(names->name, arg);
			if (r)
				break;
			next = names->next;
		} while (next);
	}
	dm_task_destroy(dmt);
	return r;
}

int dev_kname(unsigned int major, unsigned int minor, char *buf, size_t len)
{
	char link[64], target[PATH_MAX];
	ssize_t n;
	char *base;

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major, minor);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = 0;
	base = basename(target);
	if (strlen(base) >= len)
		return -1;
	strcpy(buf, base);
	return 0;
}

int dev_path(unsigned int major, unsigned int minor, char *buf, size_t len)
{
	char name[NAME_MAX + 1];

	if (dev_kname(major, minor, name, sizeof(name)))
		return -1;
	if ((size_t)snprintf(buf, len, "/dev/%s", name) >= len)
		return -1;
	return 0;
}

int blkdev_of(const char *path, dev_t *dev)
{
	struct stat st;

	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		return -1;
	*dev = st.st_rdev;
	return 0;
}

int parse_majmin(const char *s, unsigned int *major, unsigned int *minor)
{
	char c;

	if (sscanf(s, "%u:%u%c", major, minor, &c) != 2)
		return -1;
	return 0;
}

int blkdev_size(const char *path, u64 *bytes)
{
	unsigned long long size;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = ioctl(fd, BLKGETSIZE64, &size);
	close(fd);
	if (r)
		return -1;
	*bytes = size;
	return 0;
}

static int block0_io(const char *path, void *buf, bool write)
{
	void *aligned;
	ssize_t n;
	int fd, r = -1;

	if (posix_memalign(&aligned, 4096, 4096))
		return -1;
	fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		goto out;
	if (write) {
		memcpy(aligned, buf, 4096);
		n = pwrite(fd, aligned, 4096, 0);
		if (n == 4096 && !fsync(fd))
			r = 0;
	} else {
		n = pread(fd, aligned, 4096, 0);
		if (n == 4096) {
			memcpy(buf, aligned, 4096);
			r = 0;
		}
	}
	if (r && !errno)
		errno = EIO;
	close(fd);
out:
	free(aligned);
	return r;
}

int block0_read(const char *path, void *buf)
{
	return block0_io(path, buf, false);
}

int block0_write(const char *path, const void *buf)
{
	return block0_io(path, (void *)buf, true);
}

int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

int write_file(const char *path, const char *val)
{
	size_t len = strlen(val);
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, val, len) != (ssize_t)len)
		r = -1;
	if (close(fd))
		r = -1;
	return r;
}

int run_prog(const char *const argv[], bool quiet)
{
	int status, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (quiet) {
			fd = open("/dev/null", O_WRONLY);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		/* libdevmapper's control fd and the like: lvm warns about leaks. */
		close_range(3, ~0U, 0);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}
