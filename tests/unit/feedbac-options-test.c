// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for dm-feedbac/feedbac-options.h: the option table that the
 * kernel's parser and TABLE status walk.
 */
#include <stdio.h>

#include "dm-feedbac/feedbac-options.h"
#include "unit.h"

/* What dm-feedbac.rst documents, and what tables in use rely on. */
static void test_documented(void)
{
	static const struct {
		const char *name;
		u32 min, max, def;
	} doc[] = {
		{ "period_ms", 10, 10000, 100 },
		{ "cost", FB_COST_BYTES, FB_COST_MIXED, FB_COST_MIXED },
		{ "io_cost", 1, 1048576, 8 },
		{ "write_pct", 1, 1000, 100 },
		{ "alpha", 10, 900, 500 },
		{ "alpha_min", 10, 900, 100 },
		{ "alpha_max", 10, 900, 800 },
		{ "carry_pct", 0, 1000, 100 },
		{ "min_credit", 1, 1073741824, 64 },
	};
	unsigned int i;

	CHECK_EQ(ARRAY_SIZE(doc), FEEDBAC_NR_OPTS);
	CHECK_EQ(FEEDBAC_OPT_WORDS, 2 * FEEDBAC_NR_OPTS);
	for (i = 0; i < FEEDBAC_NR_OPTS && i < ARRAY_SIZE(doc); i++) {
		const struct feedbac_option *o = &feedbac_options[i];

		/* The TABLE status lists the options in this order. */
		CHECK(!strcmp(o->name, doc[i].name));
		CHECK_EQ(o->min, doc[i].min);
		CHECK_EQ(o->max, doc[i].max);
		CHECK_EQ(o->def, doc[i].def);
	}
}

static void test_consistent(void)
{
	char msg[128];
	unsigned int i, j;

	for (i = 0; i < FEEDBAC_NR_OPTS; i++) {
		const struct feedbac_option *o = &feedbac_options[i];

		CHECK(o->name && o->error);
		CHECK(o->min <= o->def && o->def <= o->max);
		CHECK(feedbac_option_in_range(o, o->def));
		for (j = 0; j < i; j++)
			CHECK(strcasecmp(o->name, feedbac_options[j].name));
		/* Numbers: "<name> must be <min>..<max>", as the kernel said before. */
		if (!o->words) {
			snprintf(msg, sizeof(msg), "%s must be %u..%u", o->name, o->min, o->max);
			CHECK(!strncmp(o->error, msg, strlen(msg)));
		}
	}
	/* The defaults load: alpha_min <= alpha <= alpha_max. */
	CHECK(feedbac_options[FEEDBAC_OPT_ALPHA_MIN].def <= feedbac_options[FEEDBAC_OPT_ALPHA].def);
	CHECK(feedbac_options[FEEDBAC_OPT_ALPHA].def <= feedbac_options[FEEDBAC_OPT_ALPHA_MAX].def);
}

static void test_lookup(void)
{
	const struct feedbac_option *cost = feedbac_option_find("cost");

	CHECK(feedbac_option_find("period_ms") == &feedbac_options[FEEDBAC_OPT_PERIOD_MS]);
	CHECK(feedbac_option_find("MIN_CREDIT") == &feedbac_options[FEEDBAC_OPT_MIN_CREDIT]);
	CHECK(!feedbac_option_find("period"));
	CHECK(!feedbac_option_find(""));
	CHECK(!feedbac_option_find("period_ms "));

	if (!CHECK(cost))
		return;
	CHECK_EQ(feedbac_option_word(cost, "bytes"), FB_COST_BYTES);
	CHECK_EQ(feedbac_option_word(cost, "IOS"), FB_COST_IOS);
	CHECK_EQ(feedbac_option_word(cost, "mixed"), FB_COST_MIXED);
	CHECK_EQ(feedbac_option_word(cost, "mix"), -1);
	CHECK_EQ(feedbac_option_word(cost, "2"), -1);
	CHECK_EQ(feedbac_option_word(&feedbac_options[FEEDBAC_OPT_ALPHA], "500"), -1);

	CHECK(!feedbac_option_in_range(&feedbac_options[FEEDBAC_OPT_PERIOD_MS], 9));
	CHECK(feedbac_option_in_range(&feedbac_options[FEEDBAC_OPT_PERIOD_MS], 10000));
	CHECK(!feedbac_option_in_range(&feedbac_options[FEEDBAC_OPT_PERIOD_MS], 10001));
	CHECK(feedbac_option_in_range(&feedbac_options[FEEDBAC_OPT_CARRY_PCT], 0));
}

int main(void)
{
	test_documented();
	test_consistent();
	test_lookup();
	return unit_result("feedbac-options");
}
