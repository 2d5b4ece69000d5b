// SPDX-License-Identifier: GPL-2.0
/*
 * RAM devices for the RAM tier: a free brd minor of the wanted size, a
 * zram device, and releasing what we set up.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "msg.h"
#include "ramdev.h"
#include "sysdev.h"

/* Wait up to 5 s for a device node to appear. */
static int wait_node(const char *path)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	struct stat st;
	int i;

	for (i = 0; i < 100; i++) {
		if (!stat(path, &st) && S_ISBLK(st.st_mode))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* Nobody uses it: no holders and an exclusive open succeeds. */
static bool dev_free(const char *kname)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int fd, n = 0;

	snprintf(path, sizeof(path), "/sys/block/%s/holders", kname);
	d = opendir(path);
	if (d) {
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				n++;
		closedir(d);
	}
	if (n)
		return false;
	snprintf(path, sizeof(path), "/dev/%s", kname);
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int ramdev_setup_brd(u64 size, char *path, size_t len)
{
	char buf[64], arg[64];
	u64 kib;
	int i;

	if (size % 4096)
		tool_fail("brd size must be a multiple of 4 KiB");
	kib = size / 1024;
	if (access("/sys/module/brd", F_OK)) {
		snprintf(arg, sizeof(arg), "rd_size=%llu", (unsigned long long)kib);
		if (modprobe("brd", "rd_nr=1", arg))
			tool_fail("cannot load brd (modprobe brd rd_nr=1 %s)", arg);
	}
	if (read_file("/sys/module/brd/parameters/rd_size", buf, sizeof(buf)))
		tool_fail("brd has no rd_size parameter");
	snprintf(arg, sizeof(arg), "%llu", (unsigned long long)kib);
	if (strcmp(buf, arg))
		tool_fail("brd is loaded with rd_size=%s KiB, not %s: use zram, or unload brd",
			  buf, arg);
	for (i = 0; i < 256; i++) {
		char kname[16], node[64];
		dev_t dev;

		snprintf(kname, sizeof(kname), "ram%d", i);
		snprintf(node, sizeof(node), "/sys/block/%s", kname);
		if (access(node, F_OK)) {
			/* Opening a missing brd minor creates it (brd_probe). */
			snprintf(node, sizeof(node), "/dev/.himsctl-%s", kname);
			unlink(node);
			if (!mknod(node, S_IFBLK | 0600, makedev(1, i))) {
				int fd = open(node, O_RDONLY | O_CLOEXEC);

				if (fd >= 0)
					close(fd);
				unlink(node);
			}
			snprintf(node, sizeof(node), "/sys/block/%s", kname);
			if (access(node, F_OK))
				tool_fail("no free brd device and none can be added: use zram");
		}
		snprintf(path, len, "/dev/%s", kname);
		if (wait_node(path) || blkdev_of(path, &dev))
			continue;
		if (dev_free(kname))
			return 0;
	}
	tool_fail("no free brd device");
}

int ramdev_setup_zram(u64 size, char *path, size_t len)
{
	char file[PATH_MAX], buf[64];
	int i, id = -1;

	if (access("/sys/class/zram-control", F_OK) && modprobe("zram", NULL, NULL))
		tool_fail("cannot load zram");
	for (i = 0; i < 256; i++) {
		snprintf(file, sizeof(file), "/sys/block/zram%d/disksize", i);
		if (read_file(file, buf, sizeof(buf)))
			continue;
		if (!strcmp(buf, "0")) {
			id = i;
			break;
		}
	}
	if (id < 0) {
		if (read_file("/sys/class/zram-control/hot_add", buf, sizeof(buf)) ||
		    sscanf(buf, "%d", &id) != 1)
			tool_fail("cannot add a zram device");
	}
	snprintf(file, sizeof(file), "/sys/block/zram%d/disksize", id);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)size);
	if (write_file(file, buf))
		tool_fail("cannot set the size of zram%d: %s", id, strerror(errno));
	snprintf(path, len, "/dev/zram%d", id);
	if (wait_node(path))
		tool_fail("%s did not appear", path);
	return 0;
}

/* Release a RAM device set up by us: free zram, discard brd. */
void ramdev_release(unsigned int major, unsigned int minor)
{
	char kname[64], file[PATH_MAX];
	u64 range[2] = { 0, 0 };
	int fd, id;

	if (dev_kname(major, minor, kname, sizeof(kname)))
		return;
	if (sscanf(kname, "zram%d", &id) == 1) {
		snprintf(file, sizeof(file), "/sys/block/%s/reset", kname);
		if (write_file(file, "1"))
			tool_err("cannot reset %s: %s", kname, strerror(errno));
		if (id) {
			snprintf(file, sizeof(file), "%d", id);
			write_file("/sys/class/zram-control/hot_remove", file);
		}
	} else if (!strncmp(kname, "ram", 3)) {
		snprintf(file, sizeof(file), "/dev/%s", kname);
		fd = open(file, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		if (!blkdev_size(file, &range[1]))
			ioctl(fd, BLKDISCARD, range);	/* frees brd pages (6.10+) */
		close(fd);
	}
}
