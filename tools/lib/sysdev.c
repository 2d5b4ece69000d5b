// SPDX-License-Identifier: GPL-2.0
/*
 * Block devices, sysfs files and helper programs, shared by himsctl and
 * feedbacctl.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fs.h>

#include "sysdev.h"

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

int modprobe(const char *mod, const char *arg1, const char *arg2)
{
	const char *const argv[] = { "modprobe", "-q", mod, arg1, arg2, NULL };

	return run_prog(argv, false);
}
