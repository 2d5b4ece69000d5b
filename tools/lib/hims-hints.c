// SPDX-License-Identifier: GPL-2.0
/*
 * Assembly hints in the SSD's block 0 (see hims-hints.h); unit tested in
 * tests/unit/hims-hints-test.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hims-hints.h"
#include "toolutil.h"

bool hims_hints_valid_value(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\'' ||
		    *s == '"' || *s == '\\')
			return false;
	return true;
}

static bool valid_ram(const char *ram)
{
	return !strcmp(ram, "brd") || !strcmp(ram, "zram") ||
	       (ram[0] == '/' && hims_hints_valid_value(ram) && !strchr(ram, ' '));
}

int hims_hints_encode(void *area, const struct hims_hints *h)
{
	char *text = (char *)area + HIMS_HINTS_HEADER;
	size_t room = HIMS_HINTS_SIZE - HIMS_HINTS_HEADER;
	int n;

	if (!tu_valid_dm_name(h->name) || !valid_ram(h->ram) ||
	    !hims_hints_valid_value(h->options) || !h->ram_blocks || !h->len)
		return -1;
	memset(area, 0, HIMS_HINTS_SIZE);
	n = snprintf(text, room,
		     "name=%s\nram=%s\nram_size=%llu\nmode=%s\nram_blocks=%llu\nlen=%llu\noptions=%s\n",
		     h->name, h->ram, (unsigned long long)h->ram_size,
		     h->sync ? "sync" : "async", (unsigned long long)h->ram_blocks,
		     (unsigned long long)h->len, h->options);
	if (n < 0 || (size_t)n >= room)
		return -1;
	hims_hints_frame(area, (u32)n);
	return 0;
}

static int copy_value(char *dst, size_t len, const char *val)
{
	if (strlen(val) >= len || !hims_hints_valid_value(val))
		return -1;
	strcpy(dst, val);
	return 0;
}

static int set_key(struct hims_hints *h, const char *key, const char *val)
{
	if (!strcmp(key, "name"))
		return tu_valid_dm_name(val) ? copy_value(h->name, sizeof(h->name), val) : -1;
	if (!strcmp(key, "ram"))
		return valid_ram(val) ? copy_value(h->ram, sizeof(h->ram), val) : -1;
	if (!strcmp(key, "ram_size"))
		return tu_parse_u64(val, &h->ram_size);
	if (!strcmp(key, "ram_blocks"))
		return tu_parse_u64(val, &h->ram_blocks);
	if (!strcmp(key, "len"))
		return tu_parse_u64(val, &h->len);
	if (!strcmp(key, "options"))
		return copy_value(h->options, sizeof(h->options), val);
	if (!strcmp(key, "mode")) {
		if (!strcmp(val, "sync"))
			h->sync = true;
		else if (!strcmp(val, "async"))
			h->sync = false;
		else
			return -1;
	}
	return 0;	/* unknown keys: from a later version */
}

int hims_hints_decode(const void *area, struct hims_hints *h)
{
	char text[HIMS_HINTS_SIZE], *line, *next, *eq;
	int len;

	memset(h, 0, sizeof(*h));
	len = hims_hints_unframe(area);
	if (len < 0)
		return len;
	memcpy(text, (const char *)area + HIMS_HINTS_HEADER, len);
	text[len] = 0;
	if (strlen(text) != (size_t)len)
		return HIMS_HINTS_BAD;
	for (line = text; *line; line = next) {
		next = strchr(line, '\n');
		if (!next)
			return HIMS_HINTS_BAD;
		*next++ = 0;
		eq = strchr(line, '=');
		if (!eq)
			return HIMS_HINTS_BAD;
		*eq = 0;
		if (set_key(h, line, eq + 1))
			return HIMS_HINTS_BAD;
	}
	if (!h->name[0] || !h->ram[0] || !h->ram_blocks || !h->len)
		return HIMS_HINTS_BAD;
	return HIMS_HINTS_OK;
}
