// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for tools/lib/toolutil.c: number and size parsing, names,
 * shell-safe values, cgroup weight files.
 */
#include "tools/lib/toolutil.h"
#include "unit.h"

static void test_numbers(void)
{
	u64 v = 7;
	s64 s = 7;

	CHECK_EQ(tu_parse_u64("0", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(tu_parse_u64("18446744073709551615", &v), 0);
	CHECK_EQ(v, ~0ULL);
	CHECK_EQ(tu_parse_u64("18446744073709551616", &v), -1);
	CHECK_EQ(tu_parse_u64("", &v), -1);
	CHECK_EQ(tu_parse_u64("-1", &v), -1);
	CHECK_EQ(tu_parse_u64(" 1", &v), -1);
	CHECK_EQ(tu_parse_u64("1 ", &v), -1);
	CHECK_EQ(tu_parse_u64("12a", &v), -1);
	CHECK_EQ(tu_parse_u64(NULL, &v), -1);
	CHECK_EQ(tu_parse_num("0x55d0", &v), 0);
	CHECK_EQ(v, 0x55d0);
	CHECK_EQ(tu_parse_num("42", &v), 0);
	CHECK_EQ(v, 42);
	CHECK_EQ(tu_parse_num("0x", &v), -1);
	CHECK_EQ(tu_parse_num("-1", &v), -1);
	CHECK_EQ(tu_parse_num("1k", &v), -1);
	CHECK_EQ(tu_parse_num("", &v), -1);
	CHECK_EQ(tu_parse_s64("-22", &s), 0);
	CHECK_EQ(s, (u64)-22);
	CHECK_EQ(tu_parse_s64("-", &s), -1);
	CHECK_EQ(tu_parse_s64("+3", &s), -1);
	CHECK_EQ(tu_parse_s64("", &s), -1);
}

static void test_sizes(void)
{
	static const struct {
		const char *s;
		u64 unit;
		int r;
		u64 bytes;
	} cases[] = {
		{ "4096", 1, 0, 4096 },
		{ "4K", 1, 0, 4096 },
		{ "4k", 1, 0, 4096 },
		{ "4KiB", 1, 0, 4096 },
		{ "4KB", 1, 0, 4096 },
		{ "20G", 1, 0, 20ULL << 30 },
		{ "1T", 1, 0, 1ULL << 40 },
		{ "2P", 1, 0, 2ULL << 50 },
		{ "8s", 1, 0, 4096 },
		{ "8S", 1, 0, 4096 },
		{ "100b", 1 << 20, 0, 100 },
		{ "20", 1 << 20, 0, 20ULL << 20 },	/* lvcreate -L: MiB */
		{ "16384P", 1, -1, 0 },			/* overflows */
		{ "4X", 1, -1, 0 },
		{ "4Ki", 1, -1, 0 },
		{ "4sB", 1, -1, 0 },
		{ "G", 1, -1, 0 },
		{ "", 1, -1, 0 },
		{ "-4G", 1, -1, 0 },
		{ "4 G", 1, -1, 0 },
	};
	unsigned int i;
	u64 b;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		b = 0;
		if (!CHECK_EQ(tu_parse_size(cases[i].s, cases[i].unit, &b), cases[i].r))
			fprintf(stderr, "  size '%s'\n", cases[i].s);
		if (!cases[i].r && !CHECK_EQ(b, cases[i].bytes))
			fprintf(stderr, "  size '%s'\n", cases[i].s);
	}
}

static void test_names(void)
{
	char buf[64], big[200];

	CHECK(tu_valid_dm_name("fast"));
	CHECK(tu_valid_dm_name("vg0-fast_1.x+y"));
	CHECK(!tu_valid_dm_name(""));
	CHECK(!tu_valid_dm_name("a/b"));
	CHECK(!tu_valid_dm_name("a b"));
	CHECK(!tu_valid_dm_name(".."));
	CHECK(!tu_valid_dm_name("a'b"));
	memset(big, 'a', 127);
	big[127] = 0;
	CHECK(tu_valid_dm_name(big));
	big[127] = 'a';
	big[128] = 0;
	CHECK(!tu_valid_dm_name(big));
	CHECK(tu_valid_lvm_name("vg0"));
	CHECK(!tu_valid_lvm_name("-vg"));
	CHECK(!tu_valid_lvm_name("v/g"));

	CHECK_EQ(tu_lvm_dm_name(buf, sizeof(buf), "vg0", "fast"), 0);
	CHECK(!strcmp(buf, "vg0-fast"));
	CHECK_EQ(tu_lvm_dm_name(buf, sizeof(buf), "my-vg", "a-b-c"), 0);
	CHECK(!strcmp(buf, "my--vg-a--b--c"));
	CHECK_EQ(tu_lvm_dm_name(buf, 8, "vg0", "fast"), -1);
	CHECK_EQ(tu_lvm_dm_name(buf, 9, "vg0", "fast"), 0);
}

static void test_shell(void)
{
	char buf[64];

	CHECK_EQ(tu_shell_value(buf, sizeof(buf), "fast"), 0);
	CHECK(!strcmp(buf, "fast"));
	CHECK_EQ(tu_shell_value(buf, sizeof(buf), "/dev/ram0"), 0);
	CHECK(!strcmp(buf, "/dev/ram0"));
	CHECK_EQ(tu_shell_value(buf, sizeof(buf), "max_age 500"), 0);
	CHECK(!strcmp(buf, "'max_age 500'"));
	CHECK_EQ(tu_shell_value(buf, sizeof(buf), ""), 0);
	CHECK(!strcmp(buf, "''"));
	CHECK_EQ(tu_shell_value(buf, sizeof(buf), "$(reboot)"), 0);
	CHECK(!strcmp(buf, "'$(reboot)'"));
	CHECK_EQ(tu_shell_value(buf, sizeof(buf), "it's"), -1);
	CHECK_EQ(tu_shell_value(buf, sizeof(buf), "a\nb"), -1);
	CHECK_EQ(tu_shell_value(buf, sizeof(buf), "a\\b"), -1);
	CHECK_EQ(tu_shell_value(buf, 5, "abcd"), 0);
	CHECK_EQ(tu_shell_value(buf, 4, "abcd"), -1);
	CHECK_EQ(tu_shell_value(buf, 6, "ab cd"), -1);
}

static void test_weights(void)
{
	u64 w = 0;

	CHECK_EQ(tu_cgroup_weight("default 100\n", 8, 0, &w), 0);
	CHECK_EQ(w, 100);
	CHECK_EQ(tu_cgroup_weight("default 250\n8:16 500\n254:3 40\n", 254, 3, &w), 1);
	CHECK_EQ(w, 40);
	CHECK_EQ(tu_cgroup_weight("default 250\n8:16 500\n254:3 40\n", 254, 30, &w), 0);
	CHECK_EQ(w, 250);
	CHECK_EQ(tu_cgroup_weight("8:16 500\n", 8, 1, &w), -1);
	CHECK_EQ(tu_cgroup_weight("", 8, 1, &w), -1);
	CHECK_EQ(tu_cgroup_weight("300\n", 8, 1, &w), 0);	/* old io.bfq.weight */
	CHECK_EQ(w, 300);
	CHECK_EQ(tu_cgroup_weight("default x\n", 8, 1, &w), -1);
	CHECK_EQ(tu_feedbac_weight(0), 1);
	CHECK_EQ(tu_feedbac_weight(1), 1);
	CHECK_EQ(tu_feedbac_weight(100), 100);
	CHECK_EQ(tu_feedbac_weight(10000), 10000);
	CHECK_EQ(tu_feedbac_weight(10001), 10000);
}

int main(void)
{
	test_numbers();
	test_sizes();
	test_names();
	test_shell();
	test_weights();
	return unit_result("toolutil");
}
