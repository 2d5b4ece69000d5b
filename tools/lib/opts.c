// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line helpers shared by himsctl and feedbacctl.
 */
#include <stdarg.h>
#include <stdio.h>

#include "msg.h"
#include "opts.h"
#include "toolutil.h"

const char *tool_cmd = "";

void usage_err(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tool_usage_err("%s%s%s (see %s --help)", tool_cmd, *tool_cmd ? ": " : "", msg,
		       tool_name);
}

int next_opt(int argc, char **argv, const char *shortopts,
	     const struct option *longopts)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (c == '?')
		usage_err("unknown option '%s'", argv[optind - 1]);
	if (c == ':')
		usage_err("option '%s' needs a value", argv[optind - 1]);
	return c;
}

void no_options(int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };

	while (next_opt(argc, argv, ":", opts) != -1)
		;
}

void check_name(const char *name)
{
	if (!tu_valid_dm_name(name))
		usage_err("invalid device name '%s' (letters, digits, _ . + -)", name);
}

/* "a, b or c" */
static void join_choices(char *buf, size_t len, const char * const *choices)
{
	size_t used = 0;
	int i;

	buf[0] = 0;
	for (i = 0; choices[i] && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s",
				 !i ? "" : choices[i + 1] ? ", " : " or ", choices[i]);
}

static const struct opt_key *find_key(const char *kv, size_t klen,
				      const struct opt_key *keys, size_t nr_keys)
{
	size_t i;

	for (i = 0; i < nr_keys; i++)
		if (strlen(keys[i].name) == klen && !strncmp(keys[i].name, kv, klen))
			return &keys[i];
	return NULL;
}

void opt_add_kv(char *opts, size_t len, const char *kv,
		const struct opt_key *keys, size_t nr_keys, const char *see)
{
	const char *eq = strchr(kv, '='), *val;
	const struct opt_key *key;
	size_t klen, used = strlen(opts);
	char num[24], all[128];
	int i, n;
	u64 v;

	if (!eq)
		usage_err("option '%s' is not KEY=VALUE", kv);
	klen = eq - kv;
	val = eq + 1;
	key = find_key(kv, klen, keys, nr_keys);
	if (!key)
		usage_err("unknown option '%.*s'%s", (int)klen, kv, see);
	if (key->choices) {
		for (i = 0; key->choices[i] && strcmp(key->choices[i], val); i++)
			;
		if (!key->choices[i]) {
			join_choices(all, sizeof(all), key->choices);
			usage_err("%s must be %s, not '%s'", key->name, all, val);
		}
	} else {
		if (tu_parse_u64(val, &v))
			usage_err("option '%s' needs a number, not '%s'", key->name, val);
		if (v < key->min || v > key->max)
			usage_err("%s must be %llu..%llu, not %llu", key->name,
				  (unsigned long long)key->min, (unsigned long long)key->max,
				  (unsigned long long)v);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
		val = num;
	}
	n = snprintf(opts + used, len - used, "%s%s %s", used ? " " : "", key->name, val);
	if (n < 0 || (size_t)n >= len - used)
		usage_err("too many options");
}

int opt_count_words(const char *opts)
{
	const char *p;
	int words = 0;

	for (p = opts; *p; p++)
		if (*p != ' ' && (p == opts || p[-1] == ' '))
			words++;
	return words;
}
