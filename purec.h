/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The seam for plain-C algorithm files (mapping, dedup index, LRW order,
 * credit maths, predictor): they include only this header, use no bios, locks
 * or allocation, and so compile both into the modules and into the userspace
 * unit tests under tests/unit/ and the tools (userspace names: purec-user.h).
 */
#ifndef HIMS_PUREC_H
#define HIMS_PUREC_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/minmax.h>
#include <linux/bitops.h>
#include <linux/math64.h>
#include <linux/crc32c.h>
#else
/* Unit tests and tools: the kernel names these files use. */
#include "purec-user.h"
#endif

#endif /* HIMS_PUREC_H */
