/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What himsctl and feedbacctl share: messages and exit codes, libdevmapper
 * calls, block devices, sysfs, running helper programs.
 */
#ifndef HIMS_DMUTIL_H
#define HIMS_DMUTIL_H

#include <stdarg.h>
#include <sys/types.h>

#include "purec.h"

#define EXIT_RUNTIME	1	/* something failed */
#define EXIT_USAGE	2	/* bad arguments */

extern const char *tool_name;	/* "himsctl" */
extern bool tool_udev;		/* run by udev: no udev synchronisation */

/* One line on stderr, prefixed with the tool's name. */
void tool_err(const char *fmt, ...) __printf(1, 2);
/* tool_err, then exit with EXIT_USAGE or EXIT_RUNTIME. */
void tool_usage_err(const char *fmt, ...) __printf(1, 2) __noreturn;
void tool_fail(const char *fmt, ...) __printf(1, 2) __noreturn;

/* Route libdevmapper's messages through tool_err; errors only. */
void tool_dm_init(void);

/* A dm device: whether it exists, its dev_t, its only target. */
struct dm_dev_info {
	bool exists;
	unsigned int major, minor;
	int open_count;
	char type[32];		/* target type of the first target */
	u64 start, length;
	int nr_targets;
	char params[1024];	/* status or table parameters */
	char uuid[130];
};

/* what: 0 for the INFO status, 1 for the TABLE status.  0 or -1. */
int dm_get(const char *name, int what, struct dm_dev_info *di);
int dm_create_table(const char *name, const char *uuid, u64 len,
		    const char *type, const char *params);
int dm_remove_dev(const char *name);
int dm_set_uuid(const char *name, const char *uuid);
int dm_send_message(const char *name, const char *msg);
/* Calls fn for every dm device; stops at fn's first non-zero return. */
int dm_for_each(int (*fn)(const char *name, void *arg), void *arg);

/* "/dev/<kernel name>" of major:minor in buf; 0 or -1. */
int dev_path(unsigned int major, unsigned int minor, char *buf, size_t len);
/* The kernel name ("vda", "dm-3") of major:minor. */
int dev_kname(unsigned int major, unsigned int minor, char *buf, size_t len);
/* major:minor of a block device node; -1 if it is not one. */
int blkdev_of(const char *path, dev_t *dev);
/* Parse "major:minor". */
int parse_majmin(const char *s, unsigned int *major, unsigned int *minor);
int blkdev_size(const char *path, u64 *bytes);

/* Read or write 4 KiB at byte offset 0 of a block device, bypassing the cache. */
int block0_read(const char *path, void *buf);
int block0_write(const char *path, const void *buf);

/* Read a small sysfs (or cgroupfs) file into buf, trailing newline stripped. */
int read_file(const char *path, char *buf, size_t len);
int write_file(const char *path, const char *val);

/* Run a program (found in PATH) and wait: its exit status, or -1. */
int run_prog(const char *const argv[], bool quiet);

#endif /* HIMS_DMUTIL_H */
