/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A dm-log-writes log (Documentation/admin-guide/device-mapper/
 * log-writes.rst): sector 0 holds the super, then each entry is one log
 * sector of header (a mark's text follows the header in that sector) and,
 * unless it is a discard or a mark, nr_sectors sectors of data.  Sectors
 * are the log device's logical block size (the super's sectorsize).
 *
 * dm-log-writes logs a write once the next REQ_PREFLUSH is issued, just
 * before that flush's entry, and a REQ_FUA write or a mark at once.  So
 * a prefix of the log ending at a flush is what a volatile cache must
 * have kept when that flush completed, and the data entries after the
 * last flush of a prefix are writes that completed but may or may not
 * have left the cache.
 */
#ifndef CRASH_LOG_H
#define CRASH_LOG_H

#include <stddef.h>

#include "purec.h"

#define LOG_FLUSH_FLAG		0x01U
#define LOG_FUA_FLAG		0x02U
#define LOG_DISCARD_FLAG	0x04U
#define LOG_MARK_FLAG		0x08U
#define LOG_METADATA_FLAG	0x10U
#define WRITE_LOG_MAGIC		0x6a736677736872ULL
#define WRITE_LOG_VERSION	1ULL
#define CRASH_MARK_MAX		64

struct log_write_super {
	__le64 magic;
	__le64 version;
	__le64 nr_entries;
	__le32 sectorsize;
} __packed;

struct log_write_entry {
	__le64 sector;
	__le64 nr_sectors;
	__le64 flags;
	__le64 data_len;
} __packed;

struct crash_entry {
	u64 offset;		/* byte offset on the replayed device */
	u64 len;		/* bytes written (or discarded) */
	u64 flags;
	u64 data;		/* byte offset of the data in the log */
	char mark[CRASH_MARK_MAX];	/* a mark's text, else "" */
};

struct crash_log {
	u32 sectorsize;
	u64 nr;			/* entries after the super */
	struct crash_entry *e;
	u64 end;		/* bytes of the log in use */
};

/* Reads @len bytes at @off of the log; 0 or -errno. */
typedef int (*crash_read_fn)(void *ctx, void *buf, size_t len, u64 off);

/* Parses the log; 0, or -EINVAL with a reason in @why. */
int crash_log_parse(struct crash_log *log, crash_read_fn rd, void *ctx,
		    char *why, size_t whylen);
void crash_log_free(struct crash_log *log);

/*
 * A crash point: the log up to and including entry @last happened.
 * CRASH_PREFIX keeps all of it (used at flush and FUA entries); with
 * CRASH_SUBSET, everything up to the last flush at or before @last is
 * kept, and after it every FUA write and a random half of the other
 * writes (seeded by @seed), in log order.
 */
enum crash_point_kind { CRASH_PREFIX, CRASH_SUBSET };

struct crash_point {
	enum crash_point_kind kind;
	u64 last;
	u64 seed;
};

u64 crash_rand(u64 *state);
/* The crash points: @nflush prefix points at flush/FUA entries, evenly
 * spread, then @nrandom subset points; returns how many went into @pts.
 */
size_t crash_points(const struct crash_log *log, size_t nflush,
		    size_t nrandom, u64 seed, struct crash_point *pts,
		    size_t max);
/* Marks, in @keep (one byte per entry), the entries the point keeps. */
void crash_plan(const struct crash_log *log, const struct crash_point *pt,
		u8 *keep);
/* The last mark at or before @last starting with @prefix, or NULL. */
const char *crash_last_mark(const struct crash_log *log, u64 last,
			    const char *prefix);
/* Applies the kept entries to @img (@size bytes); -EINVAL if out of it. */
int crash_apply(const struct crash_log *log, const u8 *keep, u64 last,
		const u8 *logdata, u8 *img, u64 size);
/* The same for the entries [@first, @end) only: a state built in steps. */
int crash_apply_range(const struct crash_log *log, const u8 *keep, u64 first,
		      u64 end, const u8 *logdata, u8 *img, u64 size);
/*
 * Where the point's state is the whole log before it: @last + 1 for a
 * prefix point, the entry after the last flush at or before @last for a
 * subset point (0 without one).  crash_plan keeps every entry before it.
 */
u64 crash_prefix_end(const struct crash_log *log, const struct crash_point *pt);

/*
 * Plain writes whose order against a FUA write is unknown: dm-log-writes
 * logs a FUA write when it completes but a plain write only when the
 * next flush is issued, so a plain write logged after an overlapping FUA
 * write, with no flush entry between them, may have completed before the
 * FUA write was issued; replaying it over the FUA write's data can build
 * a state no device reaches.  Returns how many there are; *first (if
 * @first) is the index of the first one, else log->nr.
 */
u64 crash_ambiguous(const struct crash_log *log, u64 *first);

#endif
