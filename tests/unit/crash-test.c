// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the crash-replay test's plain-C parts (tests/crash/):
 * a dm-log-writes log built in memory is parsed and replayed at prefix
 * and subset points; blocks are filled, parsed and torn; a record is
 * judged.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/crash/crash-block.h"
#include "tests/crash/crash-log.h"
#include "tests/crash/crash-record.h"
#include "unit.h"

#define SS 512U

static u8 logbuf[64 * 1024];
static u64 logpos, logn;

static void log_entry(u64 flags, u64 sector, u64 nr, u8 fill,
		      const char *mark)
{
	struct log_write_entry e = {
		.sector = cpu_to_le64(sector),
		.nr_sectors = cpu_to_le64(nr),
		.flags = cpu_to_le64(flags),
		.data_len = cpu_to_le64(mark ? strlen(mark) : nr * SS),
	};

	memcpy(logbuf + logpos, &e, sizeof(e));
	if (mark)
		memcpy(logbuf + logpos + sizeof(e), mark, strlen(mark));
	logpos += SS;
	if (!(flags & (LOG_DISCARD_FLAG | LOG_MARK_FLAG))) {
		memset(logbuf + logpos, fill, nr * SS);
		logpos += nr * SS;
	}
	logn++;
}

static void log_super(void)
{
	struct log_write_super s = {
		.magic = cpu_to_le64(WRITE_LOG_MAGIC),
		.version = cpu_to_le64(WRITE_LOG_VERSION),
		.nr_entries = cpu_to_le64(logn),
		.sectorsize = cpu_to_le32(SS),
	};

	memcpy(logbuf, &s, sizeof(s));
}

static int mem_read(void *ctx, void *buf, size_t len, u64 off)
{
	(void)ctx;
	if (off + len > sizeof(logbuf))
		return -5;
	memcpy(buf, logbuf + off, len);
	return 0;
}

/*
 * The log: 0 write A@0, 1 write B@1, 2 flush, 3 mark crw1, 4 write C@2,
 * 5 FUA D@3, 6 write E@0, 7 flush, 8 mark crw2, 9 discard @1, 10 write F@4.
 */
static void build_log(void)
{
	logpos = SS;
	logn = 0;
	log_entry(0, 0, 1, 'A', NULL);
	log_entry(0, 1, 1, 'B', NULL);
	log_entry(LOG_FLUSH_FLAG, 0, 0, 0, NULL);
	log_entry(LOG_MARK_FLAG, 0, 0, 0, "crw1");
	log_entry(0, 2, 1, 'C', NULL);
	log_entry(LOG_FUA_FLAG, 3, 1, 'D', NULL);
	log_entry(0, 0, 1, 'E', NULL);
	log_entry(LOG_FLUSH_FLAG, 0, 0, 0, NULL);
	log_entry(LOG_MARK_FLAG, 0, 0, 0, "crw2");
	log_entry(LOG_DISCARD_FLAG, 1, 1, 0, NULL);
	log_entry(0, 4, 1, 'F', NULL);
	log_super();
}

static void test_log(void)
{
	struct crash_log log;
	struct crash_point pts[64], pt;
	u8 keep[16], img[8 * SS];
	char why[128];
	size_t n, i;
	u64 s;

	build_log();
	CHECK_EQ(crash_log_parse(&log, mem_read, NULL, why, sizeof(why)), 0);
	CHECK_EQ(log.nr, 11);
	CHECK_EQ(log.e[1].offset, SS);
	CHECK(!strcmp(log.e[3].mark, "crw1"));
	CHECK_EQ(log.end, logpos);
	CHECK(!strcmp(crash_last_mark(&log, 10, "crw"), "crw2"));
	CHECK(!strcmp(crash_last_mark(&log, 7, "crw"), "crw1"));
	CHECK(!crash_last_mark(&log, 2, "crw"));

	/* Prefix points: the flushes and the FUA write, evenly spread. */
	n = crash_points(&log, 100, 0, 1, pts, 64);
	CHECK_EQ(n, 3);
	CHECK_EQ(pts[0].last, 2);
	CHECK_EQ(pts[1].last, 5);
	CHECK_EQ(pts[2].last, 7);
	CHECK_EQ(crash_points(&log, 2, 0, 1, pts, 64), 2);
	CHECK_EQ(pts[1].last, 5);

	memset(img, 'z', sizeof(img));
	crash_plan(&log, &pts[0], keep);
	CHECK_EQ(crash_apply(&log, keep, 2, logbuf, img, sizeof(img)), 0);
	CHECK(img[0] == 'A' && img[SS] == 'B' && img[2 * SS] == 'z');

	/* Subset points keep the flushed prefix and FUA writes, always. */
	for (s = 1; s < 200; s++) {
		bool saw_c[2] = { false, false };

		pt.kind = CRASH_SUBSET;
		pt.last = 10;
		pt.seed = s;
		crash_plan(&log, &pt, keep);
		for (i = 0; i <= 7; i++)
			CHECK(keep[i]);
		memset(img, 'z', sizeof(img));
		CHECK_EQ(crash_apply(&log, keep, 10, logbuf, img, sizeof(img)), 0);
		CHECK(img[0] == 'E' && img[3 * SS] == 'D');
		CHECK(img[SS] == 0 || img[SS] == 'B');
		CHECK(img[4 * SS] == 'F' || img[4 * SS] == 'z');
		pt.last = 6;
		crash_plan(&log, &pt, keep);
		CHECK(keep[5]);
		saw_c[keep[4]] = true;
		(void)saw_c;
	}
	/* A state built in steps is the state built at once. */
	for (s = 1; s < 50; s++) {
		u8 img2[8 * SS];
		u64 end;

		pt.kind = s % 3 ? CRASH_SUBSET : CRASH_PREFIX;
		pt.last = s % 11;
		pt.seed = s;
		crash_plan(&log, &pt, keep);
		end = crash_prefix_end(&log, &pt);
		CHECK(end <= pt.last + 1);
		for (i = 0; i < end; i++)
			CHECK(keep[i]);
		memset(img, 'z', sizeof(img));
		memset(img2, 'z', sizeof(img2));
		CHECK_EQ(crash_apply(&log, keep, pt.last, logbuf, img, sizeof(img)), 0);
		CHECK_EQ(crash_apply_range(&log, keep, 0, s % 4, logbuf, img2,
					   sizeof(img2)), 0);
		CHECK_EQ(crash_apply_range(&log, keep, s % 4, pt.last + 1, logbuf,
					   img2, sizeof(img2)), 0);
		CHECK(!memcmp(img, img2, sizeof(img)));
	}
	pt.kind = CRASH_SUBSET;
	pt.last = 6;
	CHECK_EQ(crash_prefix_end(&log, &pt), 3);
	pt.last = 1;
	CHECK_EQ(crash_prefix_end(&log, &pt), 0);
	pt.kind = CRASH_PREFIX;
	pt.last = 5;
	CHECK_EQ(crash_prefix_end(&log, &pt), 6);

	/* Reproducible: the same seed keeps the same subset. */
	n = crash_points(&log, 0, 20, 7, pts, 64);
	CHECK_EQ(n, 20);
	for (i = 0; i < n; i++) {
		u8 k2[16];

		crash_plan(&log, &pts[i], keep);
		crash_plan(&log, &pts[i], k2);
		CHECK(!memcmp(keep, k2, log.nr));
		CHECK(pts[i].last < log.nr);
	}
	/* Past the image's end. */
	crash_plan(&log, &pts[0], keep);
	pt.kind = CRASH_PREFIX;
	pt.last = 10;
	crash_plan(&log, &pt, keep);
	CHECK(crash_apply(&log, keep, 10, logbuf, img, 2 * SS));
	/* Entry 6 (E@0) is logged after FUA D@3: no overlap, no doubt. */
	CHECK_EQ(crash_ambiguous(&log, &s), 0);
	CHECK_EQ(s, log.nr);
	crash_log_free(&log);

	/*
	 * A plain write logged after an overlapping FUA write with no flush
	 * between them (1 after 0) is counted; after a flush (4) it is not.
	 */
	logpos = SS;
	logn = 0;
	log_entry(LOG_FUA_FLAG, 8, 8, 'F', NULL);
	log_entry(0, 12, 1, 'P', NULL);
	log_entry(0, 0, 1, 'Q', NULL);
	log_entry(LOG_FLUSH_FLAG, 0, 0, 0, NULL);
	log_entry(0, 8, 8, 'R', NULL);
	log_entry(LOG_FLUSH_FLAG, 0, 0, 0, NULL);
	log_super();
	CHECK_EQ(crash_log_parse(&log, mem_read, NULL, why, sizeof(why)), 0);
	CHECK_EQ(crash_ambiguous(&log, &s), 1);
	CHECK_EQ(s, 1);
	crash_log_free(&log);
	build_log();
	CHECK_EQ(crash_log_parse(&log, mem_read, NULL, why, sizeof(why)), 0);
	crash_log_free(&log);

	/* A bad magic is refused. */
	logbuf[0] ^= 1;
	CHECK(crash_log_parse(&log, mem_read, NULL, why, sizeof(why)));
	logbuf[0] ^= 1;
}

static void test_block(void)
{
	static u8 b[CRASH_BS];
	struct crash_id id;

	memset(b, 0, sizeof(b));
	CHECK_EQ(crash_block_parse(b, &id), CRASH_ZERO);
	crash_block_fill(b, 7, 42, 9);
	CHECK_EQ(crash_block_parse(b, &id), CRASH_VALID);
	CHECK(id.run == 7 && id.block == 42 && id.version == 9);
	b[2000] ^= 0x10;
	CHECK_EQ(crash_block_parse(b, &id), CRASH_TORN);
	b[0] ^= 1;
	CHECK_EQ(crash_block_parse(b, &id), CRASH_GARBAGE);
}

static const char record[] =
	"w 0 1 1\n"
	"w 1 2 2\n"
	"s 1\n"
	"w 0 3 3\n"
	"m 1 1\n"
	"u 2 1 4 4\n"
	"w 2 5 9223372036854775811\n"	/* pool 3 */
	"s 2\n"
	"w 0 6 6\n"
	"m 3 2\n";

static void test_record(void)
{
	struct crash_judge j = {
		.run = 100, .ssd_old = 1, .ram_old = 2, .boundary = 3,
		.expansion = 50,
	};
	static u8 b[CRASH_BS];
	struct crash_rec r;
	char why[200];
	u64 fl[4];
	int i;
	FILE *f = fmemopen((void *)record, sizeof(record) - 1, "r");

	CHECK(f);
	CHECK_EQ(crash_rec_parse(&r, f, why, sizeof(why)), 0);
	fclose(f);
	CHECK_EQ(r.nw, 6);

	crash_rec_floor(&r, 0, 4, fl);
	CHECK(fl[0] == 0 && fl[1] == 0 && fl[2] == 0);
	crash_rec_floor(&r, 1, 4, fl);
	CHECK(fl[0] == 1 && fl[1] == 2 && fl[2] == 0);
	crash_rec_floor(&r, 2, 4, fl);
	CHECK(fl[0] == 1 && fl[1] == 4);
	crash_rec_floor(&r, 3, 4, fl);
	CHECK(fl[0] == 3 && fl[1] == 4 && fl[2] == 5);

	/* Mark 1: block 0 may read 1, 3 or 6, not zeroes; block 2 zeroes. */
	crash_rec_floor(&r, 1, 4, fl);
	crash_block_fill(b, 100, 0, 3);
	CHECK_EQ(crash_judge_block(&r, &j, 0, fl[0], b, why, sizeof(why)), 0);
	memset(b, 0, sizeof(b));
	CHECK(crash_judge_block(&r, &j, 0, fl[0], b, why, sizeof(why)));
	CHECK_EQ(crash_judge_block(&r, &j, 2, fl[2], b, why, sizeof(why)), 0);
	crash_block_fill(b, 100, CRASH_POOL_BLOCK, 3);
	CHECK_EQ(crash_judge_block(&r, &j, 2, fl[2], b, why, sizeof(why)), 0);
	crash_block_fill(b, 100, CRASH_POOL_BLOCK, 4);
	CHECK(crash_judge_block(&r, &j, 2, fl[2], b, why, sizeof(why)));
	/* Mark 3: block 0 version 1 is stale; another block's data. */
	crash_rec_floor(&r, 3, 4, fl);
	crash_block_fill(b, 100, 0, 1);
	CHECK_EQ(crash_judge_block(&r, &j, 0, fl[0], b, why, sizeof(why)),
		 CRASH_BAD_STALE);
	CHECK(strstr(why, "stale"));
	crash_block_fill(b, 100, 1, 4);
	CHECK_EQ(crash_judge_block(&r, &j, 0, fl[0], b, why, sizeof(why)),
		 CRASH_BAD_BLOCK);
	CHECK(strstr(why, "another block"));
	/* A version never written there, another run, the old patterns. */
	crash_block_fill(b, 100, 0, 5);
	CHECK_EQ(crash_judge_block(&r, &j, 0, fl[0], b, why, sizeof(why)),
		 CRASH_BAD_NEVER);
	crash_block_fill(b, 101, 0, 6);
	CHECK_EQ(crash_judge_block(&r, &j, 0, fl[0], b, why, sizeof(why)),
		 CRASH_BAD_RUN);
	crash_block_fill(b, 1, 256, 0);
	CHECK_EQ(crash_judge_block(&r, &j, 2, 0, b, why, sizeof(why)),
		 CRASH_BAD_SSD_OLD);
	CHECK(strstr(why, "pre-format"));
	/* The SSD tier starts as the SSD's pattern at its own place. */
	crash_block_fill(b, 1, 50, 0);
	CHECK_EQ(crash_judge_block(&r, &j, 3, 0, b, why, sizeof(why)), 0);
	crash_block_fill(b, 1, 51, 0);
	CHECK(crash_judge_block(&r, &j, 3, 0, b, why, sizeof(why)));
	crash_block_fill(b, 2, 0, 0);
	CHECK_EQ(crash_judge_block(&r, &j, 0, 0, b, why, sizeof(why)),
		 CRASH_BAD_RAM_OLD);
	b[100] ^= 1;
	CHECK_EQ(crash_judge_block(&r, &j, 0, 0, b, why, sizeof(why)),
		 CRASH_BAD_TORN);
	for (i = 0; i < CRASH_NR_VERDICTS; i++)
		CHECK(crash_verdict_name[i]);
	crash_rec_free(&r);

	/* A baseline makes everything before it durable. */
	f = fmemopen((void *)"w 0 1 1\nb\nw 0 2 2\n", 18, "r");
	CHECK_EQ(crash_rec_parse(&r, f, why, sizeof(why)), 0);
	fclose(f);
	crash_rec_floor(&r, 0, 1, fl);
	CHECK_EQ(fl[0], 1);
	crash_rec_free(&r);
	f = fmemopen((void *)"m 1 5\n", 6, "r");
	CHECK(crash_rec_parse(&r, f, why, sizeof(why)));
	fclose(f);
}

int main(void)
{
	test_log();
	test_block();
	test_record();
	return unit_result("crash");
}
