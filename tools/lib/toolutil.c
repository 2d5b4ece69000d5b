// SPDX-License-Identifier: GPL-2.0
/*
 * Small helpers shared by himsctl and feedbacctl.  No I/O: unit tested in
 * tests/unit/toolutil-test.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "toolutil.h"

/* Digits first, then all of @s a number in @base (strtoull's). */
static int parse_unsigned(const char *s, int base, u64 *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int tu_parse_u64(const char *s, u64 *out)
{
	return parse_unsigned(s, 10, out);
}

int tu_parse_num(const char *s, u64 *out)
{
	return parse_unsigned(s, 0, out);
}

int tu_parse_s64(const char *s, s64 *out)
{
	long long v;
	char *end;

	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || (*s == '-' && end == s + 1))
		return -1;
	*out = v;
	return 0;
}

int tu_parse_size(const char *s, u64 default_unit, u64 *bytes)
{
	unsigned long long v;
	u64 unit = default_unit;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		switch (*end) {
		case 'b': case 'B':
			unit = 1;
			break;
		case 's': case 'S':
			unit = 512;
			break;
		case 'k': case 'K':
			unit = 1ULL << 10;
			break;
		case 'm': case 'M':
			unit = 1ULL << 20;
			break;
		case 'g': case 'G':
			unit = 1ULL << 30;
			break;
		case 't': case 'T':
			unit = 1ULL << 40;
			break;
		case 'p': case 'P':
			unit = 1ULL << 50;
			break;
		default:
			return -1;
		}
		end++;
		if (unit > 512 && (!strcmp(end, "iB") || !strcmp(end, "B")))
			end += strlen(end);
		if (*end)
			return -1;
	}
	if (unit && v > ~0ULL / unit)
		return -1;
	*bytes = v * unit;
	return 0;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '+' || c == '-';
}

static bool valid_chars(const char *s, size_t max)
{
	size_t n;

	if (!s || !*s)
		return false;
	for (n = 0; s[n]; n++)
		if (n >= max || !name_char(s[n]))
			return false;
	return true;
}

bool tu_valid_dm_name(const char *s)
{
	return valid_chars(s, 127) && strcmp(s, ".") && strcmp(s, "..");
}

bool tu_valid_lvm_name(const char *s)
{
	return valid_chars(s, 63) && *s != '-' && strcmp(s, ".") && strcmp(s, "..");
}

int tu_lvm_dm_name(char *buf, size_t len, const char *vg, const char *lv)
{
	const char *parts[2] = { vg, lv };
	size_t n = 0;
	int i;
	const char *p;

	for (i = 0; i < 2; i++) {
		if (i) {
			if (n + 1 >= len)
				return -1;
			buf[n++] = '-';
		}
		for (p = parts[i]; *p; p++) {
			if (n + (*p == '-' ? 2 : 1) >= len)
				return -1;
			if (*p == '-')
				buf[n++] = '-';
			buf[n++] = *p;
		}
	}
	buf[n] = 0;
	return 0;
}

static bool safe_char(char c)
{
	return name_char(c) || c == '/' || c == ':' || c == ',' || c == '@' ||
	       c == '%' || c == '=';
}

int tu_shell_value(char *buf, size_t len, const char *val)
{
	bool quote = !*val;
	size_t n = strlen(val), i;

	for (i = 0; i < n; i++) {
		unsigned char c = val[i];

		if (c < 0x20 || c == 0x7f || c == '\'' || c == '"' || c == '\\')
			return -1;
		if (!safe_char(c))
			quote = true;
	}
	if (n + (quote ? 2 : 0) + 1 > len)
		return -1;
	if (quote)
		snprintf(buf, len, "'%s'", val);
	else
		memcpy(buf, val, n + 1);
	return 0;
}

int tu_cgroup_weight(const char *content, unsigned int maj, unsigned int min,
		     u64 *weight)
{
	char line[128], dev[32], key[64], val[64];
	const char *p = content, *nl;
	int found = -1;
	size_t n;
	u64 w;

	snprintf(dev, sizeof(dev), "%u:%u", maj, min);
	while (*p) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = 0;
			if (sscanf(line, "%63s %63s", key, val) == 2) {
				if (!tu_parse_u64(val, &w)) {
					if (!strcmp(key, dev)) {
						*weight = w;
						return 1;
					}
					if (!strcmp(key, "default")) {
						*weight = w;
						found = 0;
					}
				}
			} else if (sscanf(line, "%63s", key) == 1 && !tu_parse_u64(key, &w)) {
				*weight = w;
				found = 0;
			}
		}
		p += n;
		if (*p)
			p++;
	}
	return found;
}

u32 tu_feedbac_weight(u64 cgroup_weight)
{
	if (cgroup_weight < 1)
		return 1;
	if (cgroup_weight > 10000)
		return 10000;
	return (u32)cgroup_weight;
}
