/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block devices, sysfs files and helper programs, shared by himsctl and
 * feedbacctl.
 */
#ifndef HIMS_TOOLS_SYSDEV_H
#define HIMS_TOOLS_SYSDEV_H

#include <sys/types.h>

#include "purec.h"

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
/* "modprobe -q mod [arg1 [arg2]]": its exit status, or -1. */
int modprobe(const char *mod, const char *arg1, const char *arg2);

#endif /* HIMS_TOOLS_SYSDEV_H */
