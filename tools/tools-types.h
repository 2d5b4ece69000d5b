/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tools use the kernel-style names of tests/unit/kernel-shim.h (through
 * purec.h) next to system headers that include <linux/types.h>.  The two
 * agree on every type but __le64 (unsigned long long there, uint64_t in the
 * shim, both 64 bits): give the shim's its own name.  Include this before
 * purec.h and after every system header.
 */
#ifndef HIMS_TOOLS_TYPES_H
#define HIMS_TOOLS_TYPES_H

#include <linux/types.h>
#define __le64 hims_shim_le64
#include "purec.h"

/* Kernel-style attribute names, for checkpatch. */
#ifndef __printf
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#endif
#ifndef __noreturn
#define __noreturn	__attribute__((noreturn))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#endif /* HIMS_TOOLS_TYPES_H */
