// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for tools/lib/hims-status.c: dm-hims INFO and TABLE status lines.
 */
#include <stdio.h>

#include "tools/lib/hims-status.h"
#include "unit.h"

/* The parser uses the number helpers: one translation unit keeps the link simple. */
#include "tools/lib/toolutil.c"

static void test_info(void)
{
	static const char f21[] = "sync 0 1 0 0 0 0 0 0 0 0 paused 0 0 0 0 0 1.000 0 complete 0";
	struct hims_status st;
	char line[128];

	CHECK_EQ(hims_status_parse("async 10 65535 3 1 7 10 100 200 300 400 running 0", &st), 0);
	CHECK(!st.sync);
	CHECK_EQ(st.used, 10);
	CHECK_EQ(st.total, 65535);
	CHECK_EQ(st.dirty, 3);
	CHECK_EQ(st.writeback, 1);
	CHECK_EQ(st.restored, 7);
	CHECK_EQ(st.to_restore, 10);
	CHECK_EQ(st.ram_reads, 100);
	CHECK_EQ(st.ram_writes, 200);
	CHECK_EQ(st.ssd_reads, 300);
	CHECK_EQ(st.ssd_writes, 400);
	CHECK(!st.wb_paused);
	CHECK_EQ(st.error, 0);
	CHECK(!hims_status_restored(&st));
	CHECK_EQ(hims_status_permille(&st), 700);

	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 0 paused -5", &st), 0);
	CHECK(st.sync);
	CHECK(st.wb_paused);
	CHECK_EQ(st.error, -5);
	CHECK(hims_status_restored(&st));
	CHECK_EQ(hims_status_permille(&st), 1000);

	/* Fields 14-19: dedup. */
	CHECK_EQ(hims_status_parse("async 5 100 0 0 0 0 0 0 0 0 running 0 40 5 3 1 8.000 4096",
				   &st), 0);
	CHECK(st.has_dedup);
	CHECK_EQ(st.mapped, 40);
	CHECK_EQ(st.phys_used, 5);
	CHECK_EQ(st.zero_blocks, 3);
	CHECK_EQ(st.spilled, 1);
	CHECK(!strcmp(st.ratio, "8.000"));
	CHECK_EQ(st.index_bytes, 4096);
	CHECK_EQ(hims_status_parse("async 5 100 0 0 0 0 0 0 0 0 running 0 40 5 3 x 8.000 4096",
				   &st), -1);
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 0 paused 0", &st), 0);
	CHECK(!st.has_dedup);
	CHECK_EQ(st.restore, HIMS_RESTORE_UNKNOWN);
	/* Fields 20-21: the restore's state decides, not the counts. */
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 4 9 0 0 0 0 paused 0 0 0 0 0 1.000 0 incomplete 7",
				   &st), 0);
	CHECK_EQ(st.restore, HIMS_RESTORE_INCOMPLETE);
	CHECK_EQ(st.restore_failures, 7);
	CHECK(!hims_status_restored(&st));
	CHECK(hims_status_restore_over(&st));
	CHECK(!strcmp(hims_restore_state_name(st.restore), "incomplete"));
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 0 paused 0 0 0 0 0 1.000 0 restoring 0",
				   &st), 0);
	CHECK(!hims_status_restored(&st));
	CHECK(!hims_status_restore_over(&st));
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 0 paused 0 0 0 0 0 1.000 0 complete 0",
				   &st), 0);
	CHECK(hims_status_restored(&st));
	CHECK(!st.has_flushes);
	/* Field 22: SSD flushes, after 21 fields (f21). */
	snprintf(line, sizeof(line), "%s 12", f21);
	CHECK_EQ(hims_status_parse(line, &st), 0);
	CHECK(st.has_flushes);
	CHECK_EQ(st.ssd_flushes, 12);
	snprintf(line, sizeof(line), "%s -1", f21);
	CHECK_EQ(hims_status_parse(line, &st), -1);
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 0 paused 0 0 0 0 0 1.000 0 done 0",
				   &st), -1);
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 0 paused 0 0 0 0 0 1.000 0 complete x",
				   &st), -1);
	/* Later versions append fields. */
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 0 paused 0 0 0 0 0 1.0 0 complete 0 4 x",
				   &st), 0);

	CHECK_EQ(hims_status_parse("", &st), -1);
	CHECK_EQ(hims_status_parse(NULL, &st), -1);
	CHECK_EQ(hims_status_parse("fast 0 1 0 0 0 0 0 0 0 0 paused 0", &st), -1);
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 0 paused", &st), -1);
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 0 idle 0", &st), -1);
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 -1 paused 0", &st), -1);
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 0 0 0 0 0 0 paused 5", &st), -1);
	CHECK_EQ(hims_status_parse("sync 2 1 0 0 0 0 0 0 0 0 paused 0", &st), -1);
	CHECK_EQ(hims_status_parse("sync 0 1 0 0 2 1 0 0 0 0 paused 0", &st), -1);
	/* dm-linear's status is not ours. */
	CHECK_EQ(hims_status_parse("", &st), -1);
}

static void test_table(void)
{
	struct hims_table tb;

	static const char opts[] =
		"high_watermark 50 low_watermark 45 writeback_jobs 32 max_age 1000";
	char line[256];

	snprintf(line, sizeof(line), "1:0 254:0 async 10 ram_blocks 65535 %s", opts);
	CHECK_EQ(hims_table_parse(line, &tb), 0);
	CHECK(!strcmp(tb.ram, "1:0"));
	CHECK(!strcmp(tb.ssd, "254:0"));
	CHECK(!tb.sync);
	CHECK_EQ(tb.ram_blocks, 65535);
	CHECK(!strcmp(tb.options,
		      "high_watermark 50 low_watermark 45 writeback_jobs 32 max_age 1000"));
	CHECK_EQ(hims_table_parse("1:0 254:0 sync", &tb), 0);
	CHECK(tb.sync);
	CHECK_EQ(tb.ram_blocks, 0);
	CHECK_EQ(hims_table_parse("1:0 254:0 sync 3 format ram_blocks 8", &tb), 0);
	CHECK_EQ(tb.ram_blocks, 8);
	CHECK_EQ(hims_table_parse("1:0 254:0 sync 2 ram_blocks", &tb), -1);
	CHECK_EQ(hims_table_parse("1:0 254:0 sync 1 ram_blocks", &tb), -1);
	CHECK_EQ(hims_table_parse("1:0 254:0 sync 2 ram_blocks x", &tb), -1);
	CHECK_EQ(hims_table_parse("1:0 254:0", &tb), -1);
	CHECK_EQ(hims_table_parse("1:0 254:0 fast", &tb), -1);
}

int main(void)
{
	test_info();
	test_table();
	return unit_result("hims-status");
}
