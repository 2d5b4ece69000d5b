// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for tools/lib/feedbac-status.c: dm-feedbac INFO and TABLE status.
 */
#include <stdio.h>

#include "tools/lib/feedbac-status.h"
#include "unit.h"

/* The parser uses the number helpers: one translation unit keeps the link simple. */
#include "tools/lib/toolutil.c"

/* The example from dm-feedbac.rst: the head, then three groups. */
static const char rst_head[] = "2728 2757 147 24 232 20 44 0 3";
static const char rst_group0[] = "0 100 2424 0 0 0 0 0";
static const char rst_group1[] = "23 100 2424 33554432 8192 33554432 8192 0";
static const char rst_group2[] = "43 25 606 33554432 8192 33554432 8192 0";

static void test_info(void)
{
	static struct feedbac_status st;
	char line[8192];
	int i, n;

	snprintf(line, sizeof(line), "%s %s %s %s", rst_head, rst_group0, rst_group1, rst_group2);
	CHECK_EQ(feedbac_status_parse(line, &st), 0);
	CHECK_EQ(st.prediction, 2728);
	CHECK_EQ(st.last_actual, 2757);
	CHECK_EQ(st.alpha, 147);
	CHECK_EQ(st.last_error, 24);
	CHECK_EQ(st.periods, 232);
	CHECK_EQ(st.refills, 20);
	CHECK_EQ(st.level_shifts, 44);
	CHECK_EQ(st.held, 0);
	CHECK_EQ(st.nr_groups, 3);
	CHECK_EQ(st.groups[0].id, 0);
	CHECK_EQ(st.groups[0].weight, 100);
	CHECK_EQ(st.groups[0].credits, 2424);
	CHECK_EQ(st.groups[1].id, 23);
	CHECK_EQ(st.groups[1].read_bytes, 33554432);
	CHECK_EQ(st.groups[1].read_ios, 8192);
	CHECK_EQ(st.groups[2].id, 43);
	CHECK_EQ(st.groups[2].weight, 25);
	CHECK_EQ(st.groups[2].credits, 606);
	CHECK_EQ(st.groups[2].write_bytes, 33554432);
	CHECK_EQ(st.groups[2].write_ios, 8192);
	CHECK_EQ(st.groups[2].held, 0);

	/* Negative credits and errors. */
	CHECK_EQ(feedbac_status_parse("10 20 500 -30 1 0 0 4 1 0 100 -77 1 2 3 4 4", &st), 0);
	CHECK_EQ(st.last_error, (u64)-30);
	CHECK_EQ(st.groups[0].credits, (u64)-77);
	CHECK_EQ(st.groups[0].held, 4);
	/* Appended fields are ignored. */
	CHECK_EQ(feedbac_status_parse("10 20 500 0 1 0 0 0 1 0 100 0 1 2 3 4 0 99", &st), 0);

	/* Malformed lines. */
	CHECK_EQ(feedbac_status_parse("", &st), -1);
	CHECK_EQ(feedbac_status_parse(NULL, &st), -1);
	CHECK_EQ(feedbac_status_parse("10 20 500 0 1 0 0 0 0", &st), -1);	/* no groups */
	CHECK_EQ(feedbac_status_parse("10 20 500 0 1 0 0 0 2 0 100 0 1 2 3 4 0", &st), -1);
	CHECK_EQ(feedbac_status_parse("10 20 500 0 1 0 0 0 1 0 0 0 1 2 3 4 0", &st), -1);
	CHECK_EQ(feedbac_status_parse("10 20 500 0 1 0 0 0 1 0 10001 0 1 2 3 4 0", &st), -1);
	CHECK_EQ(feedbac_status_parse("10 20 500 0 1 0 0 0 1 0 100 0 1 2 3 x 0", &st), -1);
	CHECK_EQ(feedbac_status_parse("1:0 18 period_ms 100", &st), -1);

	/* The most groups a device can have. */
	n = snprintf(line, sizeof(line), "1 1 1 0 1 0 0 0 %d", FEEDBAC_MAX_GROUPS);
	for (i = 0; i < FEEDBAC_MAX_GROUPS; i++)
		n += snprintf(line + n, sizeof(line) - n, " %d 1 0 0 0 0 0 0", i);
	CHECK_EQ(feedbac_status_parse(line, &st), 0);
	CHECK_EQ(st.nr_groups, FEEDBAC_MAX_GROUPS);
	CHECK_EQ(st.groups[FEEDBAC_MAX_GROUPS - 1].id, FEEDBAC_MAX_GROUPS - 1);
	n = snprintf(line, sizeof(line), "1 1 1 0 1 0 0 0 %d", FEEDBAC_MAX_GROUPS + 1);
	for (i = 0; i <= FEEDBAC_MAX_GROUPS; i++)
		n += snprintf(line + n, sizeof(line) - n, " %d 1 0 0 0 0 0 0", i);
	CHECK_EQ(feedbac_status_parse(line, &st), -1);
}

static void test_table(void)
{
	char dev[32];

	CHECK_EQ(feedbac_table_dev("254:1 18 period_ms 100 cost mixed", dev, sizeof(dev)), 0);
	CHECK(!strcmp(dev, "254:1"));
	CHECK_EQ(feedbac_table_dev("254:1", dev, sizeof(dev)), 0);
	CHECK(!strcmp(dev, "254:1"));
	CHECK_EQ(feedbac_table_dev("", dev, sizeof(dev)), -1);
	CHECK_EQ(feedbac_table_dev("254:1 18", dev, 3), -1);
}

int main(void)
{
	test_info();
	test_table();
	return unit_result("feedbac-status");
}
