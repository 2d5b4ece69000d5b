/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel names that the plain-C files (see purec.h) use, for userspace:
 * the unit tests and the tools.  Types come from <linux/types.h>, so this
 * header lives next to any system header that includes it too; the
 * little-endian conversions are real (<endian.h>), so the tools read the
 * on-disk format correctly on a big-endian host as well.
 *
 * Not in "make checkpatch": it defines the very macros checkpatch asks for.
 */
#ifndef HIMS_PUREC_USER_H
#define HIMS_PUREC_USER_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;

#define cpu_to_le16(x)	((__le16)htole16(x))
#define cpu_to_le32(x)	((__le32)htole32(x))
#define cpu_to_le64(x)	((__le64)htole64(x))
#define le16_to_cpu(x)	((u16)le16toh(x))
#define le32_to_cpu(x)	((u32)le32toh(x))
#define le64_to_cpu(x)	((u64)le64toh(x))

#define min(a, b)	((a) < (b) ? (a) : (b))
#define max(a, b)	((a) > (b) ? (a) : (b))
#define min_t(t, a, b)	min((t)(a), (t)(b))
#define max_t(t, a, b)	max((t)(a), (t)(b))

#define BITS_PER_LONG	(__SIZEOF_LONG__ * 8)
#define EXPORT_SYMBOL_GPL(sym)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* Kernel-style attribute names, as checkpatch wants them. */
#ifndef __packed
#define __packed	__attribute__((packed))
#endif
#ifndef __printf
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#endif
#ifndef __noreturn
#define __noreturn	__attribute__((noreturn))
#endif

static inline u64 div_u64(u64 dividend, u32 divisor)
{
	return dividend / divisor;
}

static inline u64 div64_u64(u64 dividend, u64 divisor)
{
	return dividend / divisor;
}

#endif /* HIMS_PUREC_USER_H */
