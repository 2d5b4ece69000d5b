// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for tools/lib/json.c: the layout himsctl and feedbacctl have
 * always printed, and escaping.
 */
#include "tools/lib/json.h"
#include "unit.h"

static char *out;
static size_t out_len;

static FILE *start(struct json *j)
{
	FILE *f = open_memstream(&out, &out_len);

	json_init(j, f);
	return f;
}

static bool got(FILE *f, const char *want)
{
	bool ok;

	fclose(f);
	ok = CHECK(!strcmp(out, want));
	if (!ok)
		fprintf(stderr, "  output:   %s\n  expected: %s\n", out, want);
	free(out);
	out = NULL;
	return ok;
}

static void test_object(void)
{
	struct json j;
	FILE *f = start(&j);

	json_object_begin(&j, NULL);
	json_string(&j, "name", "fast");
	json_u64(&j, "size", 4096);
	json_bool(&j, "restore_done", true);
	json_number_text(&j, "ratio", "8.000");
	json_object_end(&j);
	got(f, "{\"name\": \"fast\", \"size\": 4096, \"restore_done\": true, \"ratio\": 8.000}");
}

static void test_nested(void)
{
	struct json j;
	FILE *f = start(&j);
	int i;

	json_object_begin(&j, NULL);
	json_u64(&j, "held", 0);
	json_array_begin(&j, "groups", false);
	for (i = 0; i < 2; i++) {
		json_object_begin(&j, NULL);
		json_u64(&j, "id", i);
		json_s64(&j, "c", -i);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	got(f, "{\"held\": 0, \"groups\": [{\"id\": 0, \"c\": 0}, {\"id\": 1, \"c\": -1}]}");

	f = start(&j);
	json_object_begin(&j, NULL);
	json_array_begin(&j, "groups", false);
	json_array_end(&j);
	json_object_end(&j);
	got(f, "{\"groups\": []}");
}

/* The list of "status --json" without a name: one device per line. */
static void test_lines(void)
{
	struct json j;
	FILE *f = start(&j);
	int i;

	json_array_begin(&j, NULL, true);
	json_array_end(&j);
	got(f, "[]");

	f = start(&j);
	json_array_begin(&j, NULL, true);
	for (i = 0; i < 2; i++) {
		json_object_begin(&j, NULL);
		json_u64(&j, "n", i);
		json_object_end(&j);
	}
	json_array_end(&j);
	got(f, "[\n  {\"n\": 0},\n  {\"n\": 1}\n]");
}

static void test_escape(void)
{
	struct json j;
	FILE *f = start(&j);

	json_string(&j, NULL, "a\"b\\c\nd\x01\x7f\xc3\xa9");
	got(f, "\"a\\\"b\\\\c\\u000ad\\u0001\x7f\xc3\xa9\"");

	f = start(&j);
	json_object_begin(&j, NULL);
	json_number_text(&j, "a", "1e3");
	json_number_text(&j, "b", "01");
	json_number_text(&j, "c", "1.");
	json_number_text(&j, "d", "x\"");
	json_number_text(&j, "e", "");
	json_object_end(&j);
	got(f, "{\"a\": 1e3, \"b\": null, \"c\": null, \"d\": null, \"e\": null}");
}

int main(void)
{
	test_object();
	test_nested();
	test_lines();
	test_escape();
	return unit_result("json-test");
}
