/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RAM devices for the RAM tier: a free brd minor of the wanted size, a
 * zram device, and releasing what we set up.
 */
#ifndef HIMS_TOOLS_RAMDEV_H
#define HIMS_TOOLS_RAMDEV_H

#include "purec.h"

/*
 * Set up a brd (or zram) device of size bytes and put its path in path;
 * exit through tool_fail when there is none.  Returns 0.
 */
int ramdev_setup_brd(u64 size, char *path, size_t len);
int ramdev_setup_zram(u64 size, char *path, size_t len);
/* Release a RAM device set up by us: free zram, discard brd. */
void ramdev_release(unsigned int major, unsigned int minor);

#endif /* HIMS_TOOLS_RAMDEV_H */
