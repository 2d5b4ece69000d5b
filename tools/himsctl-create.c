// SPDX-License-Identifier: GPL-2.0
/*
 * himsctl create, remove, flush, mode: building and tearing down a device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>

#include "himsctl.h"
#include "lib/ramdev.h"

/* What build_device works out before it loads the table. */
struct plan {
	dev_t ssd_dev, ram_dev;
	u64 ssd_dev_blocks;	/* the SSD's size */
	u64 ram_blocks, len_blocks, dedup;
	struct hims_geometry geo;
	char ram_path[PATH_MAX];
	bool ours;		/* we set up the RAM device */
};

void require_new_name(const char *name)
{
	struct hdm_info di;

	if (hdm_get(name, 1, &di))
		tool_fail("cannot talk to device-mapper (is dm-mod loaded? are you root?)");
	if (di.exists)
		tool_fail("a device named '%s' exists already", name);
}

/* The RAM tier's size in blocks: of --ram-size, or of the RAM device given. */
static void plan_ram(struct spec *s, struct plan *p)
{
	u64 ram_bytes;

	if (!strcmp(s->ram, "brd") || !strcmp(s->ram, "zram")) {
		if (!s->ram_size)
			usage_err("--ram %s needs --ram-size", s->ram);
		if (s->ram_size < 2 * HIMS_BLOCK_SIZE || s->ram_size % HIMS_BLOCK_SIZE)
			usage_err("--ram-size must be a multiple of 4 KiB, at least 8 KiB");
		ram_bytes = s->ram_size;
	} else {
		if (blkdev_of(s->ram, &p->ram_dev))
			usage_err("RAM device %s is not a block device", s->ram);
		if (blkdev_size(s->ram, &ram_bytes))
			tool_fail("cannot open %s: %s", s->ram, strerror(errno));
		s->ram_size = 0;
	}
	p->ram_blocks = s->ram_blocks ? s->ram_blocks : ram_bytes / HIMS_BLOCK_SIZE - 1;
	if (p->ram_blocks + 1 > ram_bytes / HIMS_BLOCK_SIZE)
		usage_err("--ram-blocks %llu does not fit the RAM device (one block holds its header)",
			  (unsigned long long)p->ram_blocks);
}

/* Without --size: as long as the SSD allows, the overhead, then alignment. */
static u64 whole_ssd_blocks(const struct spec *s, struct plan *p)
{
	u64 boundary = p->dedup ? p->dedup : p->ram_blocks, len_blocks;

	if (table_geometry(&p->geo, p->ram_blocks, p->dedup, boundary))
		tool_fail("unsupported RAM tier size");
	if (p->geo.ssd_min_blocks > p->ssd_dev_blocks)
		tool_fail("%s is too small for a RAM tier of %llu MiB (needs %llu MiB)",
			  s->ssd, (unsigned long long)(boundary >> 8),
			  (unsigned long long)(p->geo.ssd_min_blocks >> 8));
	len_blocks = boundary + p->ssd_dev_blocks - p->geo.ssd_min_blocks;
	while (!table_geometry(&p->geo, p->ram_blocks, p->dedup, len_blocks) &&
	       p->geo.ssd_min_blocks > p->ssd_dev_blocks &&
	       len_blocks >= boundary + HIMS_ALIGN_BLOCKS)
		len_blocks -= HIMS_ALIGN_BLOCKS;
	return len_blocks;
}

/* The device's length and geometry, checked against the SSD's size. */
static void plan_length(const struct spec *s, struct plan *p)
{
	p->dedup = option_value(s->options, "dedup");
	if (s->len) {
		if (s->len % HIMS_BLOCK_SIZE)
			usage_err("--size must be a multiple of 4 KiB");
		p->len_blocks = s->len / HIMS_BLOCK_SIZE;
		if (!p->dedup && p->ram_blocks > p->len_blocks)
			p->ram_blocks = p->len_blocks;
	} else {
		p->len_blocks = whole_ssd_blocks(s, p);
	}
	if (p->dedup && p->dedup > p->len_blocks)
		usage_err("dedup %llu exceeds the device length", (unsigned long long)p->dedup);
	if (table_geometry(&p->geo, p->ram_blocks, p->dedup, p->len_blocks))
		tool_fail("unsupported RAM tier size");
	if (p->geo.ssd_min_blocks > p->ssd_dev_blocks)
		tool_fail("%s is too small: %llu MiB needed for this size and RAM tier",
			  s->ssd, (unsigned long long)((p->geo.ssd_min_blocks + 255) >> 8));
}

/* Refuse early, with the reason, what the kernel would refuse. */
static void check_ssd(const struct spec *s, const struct plan *p)
{
	enum hims_sb_check check;
	struct ssd_info si;

	if (read_ssd(s->ssd, &si))
		tool_fail("cannot read %s: %s", s->ssd, strerror(errno));
	check = hims_sb_check(si.block, &p->geo);
	if (check != HIMS_SB_OK && check != HIMS_SB_BLANK && !s->format)
		tool_fail("%s: %s; --format overwrites it", s->ssd,
			  check == HIMS_SB_BAD_GEOMETRY ?
			  "holds a hims superblock of another geometry (RAM tier, length)" :
			  hims_sb_check_str(check));
}

static void setup_ram(const struct spec *s, struct plan *p)
{
	if (!strcmp(s->ram, "brd")) {
		ramdev_setup_brd(s->ram_size, p->ram_path, sizeof(p->ram_path));
		p->ours = true;
	} else if (!strcmp(s->ram, "zram")) {
		ramdev_setup_zram(s->ram_size, p->ram_path, sizeof(p->ram_path));
		p->ours = true;
	} else {
		snprintf(p->ram_path, sizeof(p->ram_path), "%s", s->ram);
	}
	if (blkdev_of(p->ram_path, &p->ram_dev))
		tool_fail("%s is not a block device", p->ram_path);
}

/* Load the table; on failure release the RAM device we set up. */
static void load_table(const struct spec *s, const struct plan *p)
{
	char table[1024];
	int words = 2 + (s->format ? 1 : 0) + opt_count_words(s->options);

	snprintf(table, sizeof(table), "%u:%u %u:%u %s %d ram_blocks %llu%s%s%s",
		 major(p->ram_dev), minor(p->ram_dev), major(p->ssd_dev), minor(p->ssd_dev),
		 s->sync ? "sync" : "async", words, (unsigned long long)p->ram_blocks,
		 s->options[0] ? " " : "", s->options, s->format ? " format" : "");
	if (hdm_create_table(s->name, NULL, p->len_blocks * HIMS_SECTORS_PER_BLOCK, "hims",
			     table)) {
		if (p->ours)
			ramdev_release(major(p->ram_dev), minor(p->ram_dev));
		tool_fail("cannot create '%s' (table: %s); the kernel log says why (dmesg)",
			  s->name, table);
	}
}

/* Name the dm uuid after the superblock's, write the hints. */
static void label_device(const struct spec *s, const struct plan *p)
{
	struct ssd_info si;
	char uuid[64];

	if (read_ssd(s->ssd, &si) || si.check != HIMS_SB_OK)
		tool_fail("%s: no valid superblock after loading the table", s->ssd);
	snprintf(uuid, sizeof(uuid), "HIMS-%s", si.uuid);
	if (hdm_set_uuid(s->name, uuid))
		tool_err("warning: cannot set the device-mapper uuid of '%s'", s->name);
	if (s->write_hints)
		write_hints(s, p->ram_blocks, p->len_blocks * HIMS_SECTORS_PER_BLOCK);
}

/* Set up the RAM device, load the table, name the uuid, write the hints. */
int build_device(struct spec *s)
{
	struct plan p;
	u64 ssd_bytes;

	memset(&p, 0, sizeof(p));
	require_new_name(s->name);
	if (blkdev_of(s->ssd, &p.ssd_dev))
		tool_fail("%s is not a block device", s->ssd);
	if (blkdev_size(s->ssd, &ssd_bytes))
		tool_fail("cannot open %s: %s", s->ssd, strerror(errno));
	p.ssd_dev_blocks = ssd_bytes / HIMS_BLOCK_SIZE;
	plan_ram(s, &p);
	plan_length(s, &p);
	check_ssd(s, &p);
	modprobe("dm-hims", NULL, NULL);
	setup_ram(s, &p);
	load_table(s, &p);
	label_device(s, &p);
	printf("%s: /dev/mapper/%s, %llu MiB (RAM tier %llu MiB on %s, SSD %s), %s\n",
	       s->name, s->name, (unsigned long long)(p.len_blocks >> 8),
	       (unsigned long long)(p.ram_blocks >> 8), p.ram_path, s->ssd,
	       s->sync ? "sync" : "async");
	return 0;
}

static void create_opt(int c, const char *arg, struct spec *s, void *ctx)
{
	(void)ctx;
	if (c == 'f')
		s->format = true;
	else if (tu_parse_u64(arg, &s->ram_blocks) || !s->ram_blocks)
		usage_err("invalid --ram-blocks '%s'", arg);
}

int cmd_create(int argc, char **argv)
{
	static const struct option own[] = {
		{ "ram-blocks", required_argument, NULL, 'b' },
		{ "format", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const struct spec_args args = {
		.shortopts = "b:f", .longopts = own, .size_unit = 1,
		.ram_dev = true, .own = create_opt,
	};
	struct spec s;

	spec_init(&s);
	parse_spec(argc, argv, &s, &args);
	if (argc - optind != 2)
		usage_err("want <name> <ssd>");
	check_name(argv[optind]);
	snprintf(s.name, sizeof(s.name), "%s", argv[optind]);
	if (strlen(argv[optind + 1]) >= sizeof(s.ssd))
		usage_err("SSD path too long");
	strcpy(s.ssd, argv[optind + 1]);
	return build_device(&s);
}

int do_flush(const char *name)
{
	if (hdm_message(name, "flush")) {
		tool_err("flush of '%s' failed (the device may be in its error state: see status)",
			 name);
		return -1;
	}
	return 0;
}

int cmd_flush(int argc, char **argv)
{
	struct hims_dev hd;

	no_options(argc, argv);
	one_name(argc, argv, "<name>");
	if (get_hims(argv[optind], &hd, true))
		return EXIT_RUNTIME;
	return do_flush(hd.name) ? EXIT_RUNTIME : 0;
}

int cmd_mode(int argc, char **argv)
{
	struct hims_dev hd;
	bool sync;

	no_options(argc, argv);
	if (argc - optind != 2)
		usage_err("want <name> sync|async");
	check_name(argv[optind]);
	sync = parse_mode(argv[optind + 1]);
	if (get_hims(argv[optind], &hd, true))
		return EXIT_RUNTIME;
	if (hdm_message(hd.name, sync ? "mode sync" : "mode async"))
		tool_fail("cannot switch '%s' to %s", hd.name, argv[optind + 1]);
	update_hints_mode(hd.ssd_path, sync);
	return 0;
}

/* Remove a hims device: flush, remove, release the RAM device we made. */
int remove_device(const char *name, bool keep_ram)
{
	struct hims_dev hd;
	struct ssd_info si;
	unsigned int ma, mi;
	bool release = !keep_ram;

	if (get_hims(name, &hd, true))
		return -1;
	if (hd.info.open_count)
		tool_fail("'%s' is in use (open count %d)", name, hd.info.open_count);
	if (!read_ssd(hd.ssd_path, &si) && si.check == HIMS_SB_OK &&
	    si.hints == HIMS_HINTS_OK && si.h.ram[0] == '/')
		release = false;	/* a RAM device the user gave: leave it */
	if (do_flush(name))
		return -1;
	if (hdm_remove(name)) {
		tool_err("cannot remove '%s'", name);
		return -1;
	}
	if (release && !parse_majmin(hd.tb.ram, &ma, &mi))
		ramdev_release(ma, mi);
	return 0;
}

int cmd_remove(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep-ram", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	bool keep = false;

	while (next_opt(argc, argv, ":k", opts) != -1)
		keep = true;
	one_name(argc, argv, "<name>");
	return remove_device(argv[optind], keep) ? EXIT_RUNTIME : 0;
}
