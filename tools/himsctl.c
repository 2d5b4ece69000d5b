// SPDX-License-Identifier: GPL-2.0
/*
 * himsctl: create, inspect and assemble dm-hims devices.
 *
 * Talks to device-mapper through libdevmapper; sets up brd or zram RAM
 * devices itself; keeps assembly hints in bytes [2048, 4096) of the SSD's
 * block 0 so that "himsctl assemble <ssd>" (run by udev at boot) can rebuild
 * the device.  Exit status: 0 success, 1 failure, 2 bad arguments.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libdevmapper.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "purec.h"
#include "dm-hims/hims-layout.h"
#include "dm-hims/hims-dedup.h"
#include "lib/hdm.h"
#include "lib/msg.h"
#include "lib/opts.h"
#include "lib/ramdev.h"
#include "lib/sysdev.h"
#include "lib/hims-hints.h"
#include "lib/hims-status.h"
#include "lib/json.h"
#include "lib/toolutil.h"

#define HIMS_VERSION_STR	"1.0"
#define SSD_LV_SUFFIX		"_hims_ssd"
#define LVM_TAG			"hims"

static const char usage_text[] =
"usage: himsctl <command> [arguments]\n"
"\n"
"  create <name> <ssd> [--ram brd|zram|<dev>] [--ram-size SIZE] [--size SIZE]\n"
"         [--ram-blocks N] [--mode sync|async] [--option KEY=VALUE]... [--format]\n"
"  remove <name> [--keep-ram]          flush, remove, release the RAM device\n"
"  status [<name>] [--json | --export]\n"
"  flush <name>\n"
"  mode <name> sync|async\n"
"  wait <name> [--timeout SECONDS] [--quiet]\n"
"  probe <dev>                         print the SSD's superblock and hints\n"
"  assemble <ssd>... | --scan [--udev] rebuild devices from their SSDs\n"
"  lvcreate --type hims -L SIZE --ramsize SIZE -n LV [--ram brd|zram]\n"
"           [--mode sync|async] [--option KEY=VALUE]... VG\n"
"  lvremove VG/LV\n"
"\n"
"Sizes take K, M, G, T suffixes (powers of 1024).  See himsctl(8).\n";

static bool parse_mode(const char *s)
{
	if (!strcmp(s, "sync"))
		return true;
	if (!strcmp(s, "async"))
		return false;
	usage_err("mode must be sync or async, not '%s'", s);
}

static u64 parse_size_arg(const char *what, const char *s, u64 default_unit)
{
	u64 v;

	if (tu_parse_size(s, default_unit, &v) || !v)
		usage_err("invalid %s '%s'", what, s);
	return v;
}

/* KEY=VALUE of a table option, appended as "KEY VALUE" to opts. */
static void add_option(char *opts, size_t len, const char *kv)
{
	static const struct opt_key known[] = {
		{ "high_watermark", NULL }, { "low_watermark", NULL }, { "writeback_jobs", NULL },
		{ "max_age", NULL }, { "dedup", NULL }, { "index_entries", NULL },
	};

	opt_add_kv(opts, len, kv, known, ARRAY_SIZE(known),
		   " (see dm-hims.rst for the table's options)");
}

static void format_uuid(const u8 *u, char *buf)
{
	sprintf(buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* The value of option key in "key value key value ...", or 0. */
static u64 option_value(const char *opts, const char *key)
{
	char k[32], v[32];
	int n = 0;
	u64 val;

	while (sscanf(opts, "%31s %31s%n", k, v, &n) == 2) {
		if (!strcmp(k, key) && !tu_parse_u64(v, &val))
			return val;
		opts += n;
	}
	return 0;
}

/* The geometry a table of len_blocks builds (dedup: logical RAM-tier blocks). */
static int table_geometry(struct hims_geometry *geo, u64 ram_blocks, u64 dedup,
			  u64 len_blocks)
{
	u64 boundary = dedup ? dedup : ram_blocks;

	if (len_blocks < boundary)
		return -1;
	if (dedup)
		return hims_geometry_init_dedup(geo, ram_blocks, dedup,
						hims_dedup_spill_min(dedup, ram_blocks),
						len_blocks - dedup);
	return hims_geometry_init(geo, ram_blocks, len_blocks - ram_blocks);
}

/* A superblock read from an SSD, checked against its own geometry. */
struct ssd_info {
	enum hims_sb_check check;
	struct hims_geometry geo;
	char uuid[40];
	int hints;			/* enum hims_hints_result */
	struct hims_hints h;
	u8 block[HIMS_BLOCK_SIZE];
};

static int read_ssd(const char *path, struct ssd_info *si)
{
	const struct hims_superblock *sb = (const void *)si->block;

	memset(si, 0, sizeof(*si));
	if (block0_read(path, si->block))
		return -1;
	si->hints = HIMS_HINTS_NONE;
	si->check = hims_sb_check(si->block, &si->geo);
	if (si->check != HIMS_SB_FOREIGN && si->check != HIMS_SB_BLANK &&
	    le64_to_cpu(sb->magic) == HIMS_SB_MAGIC) {
		int r;

		if (le64_to_cpu(sb->dedup_blocks))
			r = hims_geometry_init_dedup(&si->geo, le64_to_cpu(sb->ram_blocks),
						     le64_to_cpu(sb->dedup_blocks),
						     le64_to_cpu(sb->spill_blocks),
						     le64_to_cpu(sb->ssd_blocks));
		else
			r = hims_geometry_init(&si->geo, le64_to_cpu(sb->ram_blocks),
					       le64_to_cpu(sb->ssd_blocks));
		if (r)
			si->check = HIMS_SB_BAD_GEOMETRY;
		else
			si->check = hims_sb_check(si->block, &si->geo);
	}
	if (si->check == HIMS_SB_OK) {
		format_uuid(sb->uuid, si->uuid);
		si->hints = hims_hints_decode(si->block + HIMS_HINTS_OFFSET, &si->h);
	}
	return 0;
}

/* ---- creating and assembling ---- */

struct spec {
	char name[128];
	char ssd[PATH_MAX];
	char ram[128];		/* brd, zram or a device path */
	u64 ram_size;		/* bytes, brd and zram */
	u64 ram_blocks;		/* 0: from the RAM size */
	u64 len;		/* bytes, 0: the whole SSD */
	bool sync;
	bool format;
	bool write_hints;
	char options[256];
};

static void write_hints(const struct spec *s, u64 ram_blocks, u64 len_sectors)
{
	struct hims_hints h;
	u8 block[HIMS_BLOCK_SIZE];

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "%s", s->name);
	snprintf(h.ram, sizeof(h.ram), "%s", s->ram);
	h.ram_size = s->ram_size;
	h.sync = s->sync;
	h.ram_blocks = ram_blocks;
	h.len = len_sectors;
	snprintf(h.options, sizeof(h.options), "%s", s->options);
	if (block0_read(s->ssd, block))
		tool_fail("cannot read %s: %s", s->ssd, strerror(errno));
	if (hims_hints_encode(block + HIMS_HINTS_OFFSET, &h))
		tool_fail("cannot encode the assembly hints");
	if (block0_write(s->ssd, block))
		tool_fail("cannot write the assembly hints to %s: %s", s->ssd, strerror(errno));
}

/* Update the mode in an SSD's hints (if it has any). */
static void update_hints_mode(const char *ssd, bool sync)
{
	struct ssd_info si;

	if (read_ssd(ssd, &si) || si.check != HIMS_SB_OK || si.hints != HIMS_HINTS_OK)
		return;
	si.h.sync = sync;
	if (hims_hints_encode(si.block + HIMS_HINTS_OFFSET, &si.h) ||
	    block0_write(ssd, si.block))
		tool_err("cannot update the assembly hints on %s", ssd);
}

/* Set up the RAM device, load the table, name the uuid, write the hints. */
static int build_device(struct spec *s)
{
	struct hims_geometry geo;
	struct hdm_info di;
	struct ssd_info si;
	char ram_path[PATH_MAX], table[1024], uuid[64];
	u64 ssd_bytes, ram_bytes, ram_blocks, len_blocks, ssd_dev_blocks;
	dev_t ssd_dev, ram_dev;
	bool ours = false;
	enum hims_sb_check check;
	int words;
	u64 dedup, boundary;

	if (hdm_get(s->name, 1, &di))
		tool_fail("cannot talk to device-mapper (is dm-mod loaded? are you root?)");
	if (di.exists)
		tool_fail("a device named '%s' exists already", s->name);
	if (blkdev_of(s->ssd, &ssd_dev))
		tool_fail("%s is not a block device", s->ssd);
	if (blkdev_size(s->ssd, &ssd_bytes))
		tool_fail("cannot open %s: %s", s->ssd, strerror(errno));
	ssd_dev_blocks = ssd_bytes / HIMS_BLOCK_SIZE;

	if (!strcmp(s->ram, "brd") || !strcmp(s->ram, "zram")) {
		if (!s->ram_size)
			usage_err("--ram %s needs --ram-size", s->ram);
		if (s->ram_size < 2 * HIMS_BLOCK_SIZE || s->ram_size % HIMS_BLOCK_SIZE)
			usage_err("--ram-size must be a multiple of 4 KiB, at least 8 KiB");
		ram_bytes = s->ram_size;
	} else {
		if (blkdev_of(s->ram, &ram_dev))
			usage_err("RAM device %s is not a block device", s->ram);
		if (blkdev_size(s->ram, &ram_bytes))
			tool_fail("cannot open %s: %s", s->ram, strerror(errno));
		s->ram_size = 0;
	}
	ram_blocks = s->ram_blocks ? s->ram_blocks : ram_bytes / HIMS_BLOCK_SIZE - 1;
	if (ram_blocks + 1 > ram_bytes / HIMS_BLOCK_SIZE)
		usage_err("--ram-blocks %llu does not fit the RAM device (one block holds its header)",
			  (unsigned long long)ram_blocks);
	dedup = option_value(s->options, "dedup");
	if (s->len) {
		if (s->len % HIMS_BLOCK_SIZE)
			usage_err("--size must be a multiple of 4 KiB");
		len_blocks = s->len / HIMS_BLOCK_SIZE;
		if (!dedup && ram_blocks > len_blocks)
			ram_blocks = len_blocks;
	} else {
		/* As long as the SSD allows: the overhead, then alignment. */
		boundary = dedup ? dedup : ram_blocks;
		if (table_geometry(&geo, ram_blocks, dedup, boundary))
			tool_fail("unsupported RAM tier size");
		if (geo.ssd_min_blocks > ssd_dev_blocks)
			tool_fail("%s is too small for a RAM tier of %llu MiB (needs %llu MiB)",
				  s->ssd, (unsigned long long)(boundary >> 8),
				  (unsigned long long)(geo.ssd_min_blocks >> 8));
		len_blocks = boundary + ssd_dev_blocks - geo.ssd_min_blocks;
		while (!table_geometry(&geo, ram_blocks, dedup, len_blocks) &&
		       geo.ssd_min_blocks > ssd_dev_blocks &&
		       len_blocks >= boundary + HIMS_ALIGN_BLOCKS)
			len_blocks -= HIMS_ALIGN_BLOCKS;
	}
	if (dedup && dedup > len_blocks)
		usage_err("dedup %llu exceeds the device length", (unsigned long long)dedup);
	if (table_geometry(&geo, ram_blocks, dedup, len_blocks))
		tool_fail("unsupported RAM tier size");
	if (geo.ssd_min_blocks > ssd_dev_blocks)
		tool_fail("%s is too small: %llu MiB needed for this size and RAM tier",
			  s->ssd, (unsigned long long)((geo.ssd_min_blocks + 255) >> 8));

	/* Refuse early, with the reason, what the kernel would refuse. */
	if (read_ssd(s->ssd, &si))
		tool_fail("cannot read %s: %s", s->ssd, strerror(errno));
	check = hims_sb_check(si.block, &geo);
	if (check != HIMS_SB_OK && check != HIMS_SB_BLANK && !s->format)
		tool_fail("%s: %s; --format overwrites it", s->ssd,
			  check == HIMS_SB_BAD_GEOMETRY ?
			  "holds a hims superblock of another geometry (RAM tier, length)" :
			  hims_sb_check_str(check));

	modprobe("dm-hims", NULL, NULL);
	if (!strcmp(s->ram, "brd")) {
		ramdev_setup_brd(s->ram_size, ram_path, sizeof(ram_path));
		ours = true;
	} else if (!strcmp(s->ram, "zram")) {
		ramdev_setup_zram(s->ram_size, ram_path, sizeof(ram_path));
		ours = true;
	} else {
		snprintf(ram_path, sizeof(ram_path), "%s", s->ram);
	}
	if (blkdev_of(ram_path, &ram_dev))
		tool_fail("%s is not a block device", ram_path);

	words = 2 + (s->format ? 1 : 0) + opt_count_words(s->options);
	snprintf(table, sizeof(table), "%u:%u %u:%u %s %d ram_blocks %llu%s%s%s",
		 major(ram_dev), minor(ram_dev), major(ssd_dev), minor(ssd_dev),
		 s->sync ? "sync" : "async", words, (unsigned long long)ram_blocks,
		 s->options[0] ? " " : "", s->options, s->format ? " format" : "");
	if (hdm_create_table(s->name, NULL, len_blocks * HIMS_SECTORS_PER_BLOCK, "hims", table)) {
		if (ours)
			ramdev_release(major(ram_dev), minor(ram_dev));
		tool_fail("cannot create '%s' (table: %s); the kernel log says why (dmesg)",
			  s->name, table);
	}
	if (read_ssd(s->ssd, &si) || si.check != HIMS_SB_OK)
		tool_fail("%s: no valid superblock after loading the table", s->ssd);
	snprintf(uuid, sizeof(uuid), "HIMS-%s", si.uuid);
	if (hdm_set_uuid(s->name, uuid))
		tool_err("warning: cannot set the device-mapper uuid of '%s'", s->name);
	if (s->write_hints)
		write_hints(s, ram_blocks, len_blocks * HIMS_SECTORS_PER_BLOCK);
	printf("%s: /dev/mapper/%s, %llu MiB (RAM tier %llu MiB on %s, SSD %s), %s\n",
	       s->name, s->name, (unsigned long long)(len_blocks >> 8),
	       (unsigned long long)(ram_blocks >> 8), ram_path, s->ssd,
	       s->sync ? "sync" : "async");
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ram", required_argument, NULL, 'r' },
		{ "ram-size", required_argument, NULL, 'R' },
		{ "ramsize", required_argument, NULL, 'R' },
		{ "size", required_argument, NULL, 'L' },
		{ "ram-blocks", required_argument, NULL, 'b' },
		{ "mode", required_argument, NULL, 'm' },
		{ "option", required_argument, NULL, 'o' },
		{ "format", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct spec s;
	int c;

	memset(&s, 0, sizeof(s));
	strcpy(s.ram, "brd");
	s.sync = true;
	s.write_hints = true;
	while ((c = next_opt(argc, argv, ":r:R:L:b:m:o:f", opts)) != -1) {
		switch (c) {
		case 'r':
			if (strcmp(optarg, "brd") && strcmp(optarg, "zram") &&
			    (optarg[0] != '/' || !hims_hints_valid_value(optarg) ||
			     strchr(optarg, ' ') || strlen(optarg) >= sizeof(s.ram)))
				usage_err("--ram wants brd, zram or a device, not '%s'", optarg);
			snprintf(s.ram, sizeof(s.ram), "%s", optarg);
			break;
		case 'R':
			s.ram_size = parse_size_arg("RAM size", optarg, 1);
			break;
		case 'L':
			s.len = parse_size_arg("size", optarg, 1);
			break;
		case 'b':
			if (tu_parse_u64(optarg, &s.ram_blocks) || !s.ram_blocks)
				usage_err("invalid --ram-blocks '%s'", optarg);
			break;
		case 'm':
			s.sync = parse_mode(optarg);
			break;
		case 'o':
			add_option(s.options, sizeof(s.options), optarg);
			break;
		case 'f':
			s.format = true;
			break;
		}
	}
	if (argc - optind != 2)
		usage_err("want <name> <ssd>");
	check_name(argv[optind]);
	snprintf(s.name, sizeof(s.name), "%s", argv[optind]);
	if (strlen(argv[optind + 1]) >= sizeof(s.ssd))
		usage_err("SSD path too long");
	strcpy(s.ssd, argv[optind + 1]);
	return build_device(&s);
}

/* ---- looking at devices ---- */

struct hims_dev {
	char name[128];
	struct hdm_info info, table;
	struct hims_status st;
	struct hims_table tb;
	char ram_path[64], ssd_path[64];
};

/* 0 if name is a hims device; else an error was printed (if loud). */
static int get_hims(const char *name, struct hims_dev *hd, bool loud)
{
	unsigned int ma, mi;

	memset(hd, 0, sizeof(*hd));
	snprintf(hd->name, sizeof(hd->name), "%s", name);
	if (hdm_get(name, 0, &hd->info) || hdm_get(name, 1, &hd->table)) {
		if (loud)
			tool_err("cannot talk to device-mapper (is dm-mod loaded? are you root?)");
		return -1;
	}
	if (!hd->info.exists) {
		if (loud)
			tool_err("no device '%s'", name);
		return -1;
	}
	if (hd->info.nr_targets != 1 || strcmp(hd->info.type, "hims")) {
		if (loud)
			tool_err("'%s' is not a hims device", name);
		return -1;
	}
	if (hims_status_parse(hd->info.params, &hd->st) ||
	    hims_table_parse(hd->table.params, &hd->tb)) {
		if (loud)
			tool_err("cannot parse the status of '%s': %s", name, hd->info.params);
		return -1;
	}
	if (parse_majmin(hd->tb.ram, &ma, &mi) ||
	    dev_path(ma, mi, hd->ram_path, sizeof(hd->ram_path)))
		snprintf(hd->ram_path, sizeof(hd->ram_path), "%s", hd->tb.ram);
	if (parse_majmin(hd->tb.ssd, &ma, &mi) ||
	    dev_path(ma, mi, hd->ssd_path, sizeof(hd->ssd_path)))
		snprintf(hd->ssd_path, sizeof(hd->ssd_path), "%s", hd->tb.ssd);
	return 0;
}

static void print_json(struct json *j, const struct hims_dev *hd)
{
	const struct hims_status *st = &hd->st;

	json_object_begin(j, NULL);
	json_string(j, "name", hd->name);
	json_string(j, "uuid", hd->info.uuid);
	json_u64(j, "size_bytes", (u64)hd->info.length * 512);
	json_string(j, "mode", st->sync ? "sync" : "async");
	json_string(j, "ram_device", hd->ram_path);
	json_string(j, "ssd_device", hd->ssd_path);
	json_u64(j, "ram_blocks", st->total);
	json_u64(j, "used_blocks", st->used);
	json_u64(j, "dirty_blocks", st->dirty);
	json_u64(j, "writeback_blocks", st->writeback);
	json_u64(j, "restored_blocks", st->restored);
	json_u64(j, "to_restore_blocks", st->to_restore);
	json_bool(j, "restore_done", hims_status_restored(st));
	json_u64(j, "ram_reads", st->ram_reads);
	json_u64(j, "ram_writes", st->ram_writes);
	json_u64(j, "ssd_reads", st->ssd_reads);
	json_u64(j, "ssd_writes", st->ssd_writes);
	json_string(j, "writeback", st->wb_paused ? "paused" : "running");
	json_s64(j, "error", st->error);
	if (st->has_dedup) {
		json_u64(j, "dedup_blocks", option_value(hd->tb.options, "dedup"));
		json_u64(j, "mapped_blocks", st->mapped);
		json_u64(j, "physical_blocks", st->phys_used);
		json_u64(j, "zero_blocks", st->zero_blocks);
		json_u64(j, "spilled_blocks", st->spilled);
		json_number_text(j, "dedup_ratio", st->ratio);
	}
	json_object_end(j);
}

static void export_kv(const char *key, const char *val)
{
	char buf[512];

	if (tu_shell_value(buf, sizeof(buf), val))
		return;
	printf("%s=%s\n", key, buf);
}

static void export_u64(const char *key, u64 v)
{
	printf("%s=%llu\n", key, (unsigned long long)v);
}

static void print_export(const struct hims_dev *hd)
{
	const struct hims_status *st = &hd->st;

	export_kv("HIMS_NAME", hd->name);
	export_kv("HIMS_DM_UUID", hd->info.uuid);
	export_u64("HIMS_SIZE", (u64)hd->info.length * 512);
	export_kv("HIMS_MODE", st->sync ? "sync" : "async");
	export_kv("HIMS_RAM_DEVICE", hd->ram_path);
	export_kv("HIMS_SSD_DEVICE", hd->ssd_path);
	export_u64("HIMS_RAM_BLOCKS", st->total);
	export_u64("HIMS_USED_BLOCKS", st->used);
	export_u64("HIMS_DIRTY_BLOCKS", st->dirty);
	export_u64("HIMS_WRITEBACK_BLOCKS", st->writeback);
	export_u64("HIMS_RESTORED_BLOCKS", st->restored);
	export_u64("HIMS_TO_RESTORE_BLOCKS", st->to_restore);
	export_u64("HIMS_RESTORE_DONE", hims_status_restored(st));
	export_kv("HIMS_WRITEBACK", st->wb_paused ? "paused" : "running");
	printf("HIMS_ERROR=%d\n", st->error);
	if (st->has_dedup) {
		export_u64("HIMS_DEDUP_BLOCKS", option_value(hd->tb.options, "dedup"));
		export_u64("HIMS_MAPPED_BLOCKS", st->mapped);
		export_u64("HIMS_PHYSICAL_BLOCKS", st->phys_used);
		export_kv("HIMS_DEDUP_RATIO", st->ratio);
	}
}

static void print_human(const struct hims_dev *hd)
{
	const struct hims_status *st = &hd->st;
	unsigned int pm = hims_status_permille(st);

	printf("%s: /dev/mapper/%s, %llu MiB\n", hd->name, hd->name,
	       (unsigned long long)hd->info.length >> 11);
	printf("  mode:       %s, writeback %s\n", st->sync ? "sync" : "async",
	       st->wb_paused ? "paused" : "running");
	printf("  devices:    RAM %s, SSD %s\n", hd->ram_path, hd->ssd_path);
	printf("  RAM tier:   %llu blocks (%llu MiB), %llu in use, %llu dirty, %llu in writeback\n",
	       (unsigned long long)st->total, (unsigned long long)st->total >> 8,
	       (unsigned long long)st->used, (unsigned long long)st->dirty,
	       (unsigned long long)st->writeback);
	if (hims_status_restored(st))
		printf("  restore:    done (%llu blocks)\n", (unsigned long long)st->to_restore);
	else
		printf("  restore:    %u.%u%% (%llu of %llu blocks)\n", pm / 10, pm % 10,
		       (unsigned long long)st->restored, (unsigned long long)st->to_restore);
	if (st->has_dedup && option_value(hd->tb.options, "dedup"))
		printf("  dedup:      %llu blocks on %llu, %llu zero, %llu spilled, ratio %s\n",
		       (unsigned long long)st->mapped, (unsigned long long)st->phys_used,
		       (unsigned long long)st->zero_blocks, (unsigned long long)st->spilled,
		       st->ratio);
	printf("  I/O:        RAM tier %llu reads, %llu writes; SSD tier %llu reads, %llu writes\n",
	       (unsigned long long)st->ram_reads, (unsigned long long)st->ram_writes,
	       (unsigned long long)st->ssd_reads, (unsigned long long)st->ssd_writes);
	if (st->error)
		printf("  error:      %d (%s): flushes fail until the table is reloaded\n",
		       st->error, strerror(-st->error));
}

struct status_walk {
	struct json *json;	/* NULL: human */
};

static int status_one(const char *name, void *arg)
{
	struct status_walk *w = arg;
	struct hims_dev hd;

	if (get_hims(name, &hd, false))
		return 0;
	if (w->json)
		print_json(w->json, &hd);
	else
		print_human(&hd);
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "export", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct status_walk w = { NULL };
	bool json = false, exp = false;
	struct json j;
	struct hims_dev hd;
	int c;

	json_init(&j, stdout);
	while ((c = next_opt(argc, argv, ":je", opts)) != -1) {
		if (c == 'j')
			json = true;
		else
			exp = true;
	}
	if (json && exp)
		usage_err("--json and --export exclude each other");
	if (argc - optind > 1)
		usage_err("want at most one device name");
	if (argc - optind == 1) {
		check_name(argv[optind]);
		if (get_hims(argv[optind], &hd, true))
			return EXIT_RUNTIME;
		if (json) {
			print_json(&j, &hd);
			putchar('\n');
		} else if (exp) {
			print_export(&hd);
		} else {
			print_human(&hd);
		}
		return 0;
	}
	if (exp)
		usage_err("--export needs a device name");
	if (json) {
		w.json = &j;
		json_array_begin(&j, NULL, true);
	}
	if (hdm_for_each(status_one, &w))
		tool_fail("cannot list device-mapper devices");
	if (json) {
		json_array_end(&j);
		putchar('\n');
	}
	return 0;
}

static void one_name(int argc, char **argv, const char *what)
{
	if (argc - optind != 1)
		usage_err("want %s", what);
	check_name(argv[optind]);
}

static int do_flush(const char *name)
{
	if (hdm_message(name, "flush")) {
		tool_err("flush of '%s' failed (the device may be in its error state: see status)",
			 name);
		return -1;
	}
	return 0;
}

static int cmd_flush(int argc, char **argv)
{
	struct hims_dev hd;

	no_options(argc, argv);
	one_name(argc, argv, "<name>");
	if (get_hims(argv[optind], &hd, true))
		return EXIT_RUNTIME;
	return do_flush(hd.name) ? EXIT_RUNTIME : 0;
}

static int cmd_mode(int argc, char **argv)
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
static int remove_device(const char *name, bool keep_ram)
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

static int cmd_remove(int argc, char **argv)
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

static int cmd_wait(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct timespec ts = { 0, 200 * 1000 * 1000 }, start, now;
	bool quiet = false, bar;
	u64 timeout = 0;
	struct hims_dev hd;
	unsigned int pm, i;
	int c;

	while ((c = next_opt(argc, argv, ":t:q", opts)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (tu_parse_u64(optarg, &timeout))
			usage_err("invalid --timeout '%s' (seconds)", optarg);
	}
	one_name(argc, argv, "<name>");
	bar = !quiet && isatty(2);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (get_hims(argv[optind], &hd, true))
			return EXIT_RUNTIME;
		pm = hims_status_permille(&hd.st);
		if (bar) {
			fprintf(stderr, "\rrestoring %s: [", hd.name);
			for (i = 0; i < 40; i++)
				fputc(i < pm * 40 / 1000 ? '#' : '-', stderr);
			fprintf(stderr, "] %3u.%u%% %llu/%llu blocks", pm / 10, pm % 10,
				(unsigned long long)hd.st.restored,
				(unsigned long long)hd.st.to_restore);
		}
		if (hims_status_restored(&hd.st))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout && (u64)(now.tv_sec - start.tv_sec) >= timeout) {
			if (bar)
				fputc('\n', stderr);
			tool_fail("'%s': restore not done after %llu s (%llu of %llu blocks)",
				  hd.name, (unsigned long long)timeout,
				  (unsigned long long)hd.st.restored,
				  (unsigned long long)hd.st.to_restore);
		}
		nanosleep(&ts, NULL);
	}
	if (bar)
		fputc('\n', stderr);
	if (!quiet)
		printf("%s: restored (%llu blocks)\n", hd.name,
		       (unsigned long long)hd.st.to_restore);
	return 0;
}

/* ---- probe and assemble ---- */

static int probe_print(const char *dev, bool loud)
{
	struct ssd_info si;

	if (read_ssd(dev, &si)) {
		if (loud)
			tool_err("cannot read %s: %s", dev, strerror(errno));
		return EXIT_RUNTIME;
	}
	if (si.check != HIMS_SB_OK) {
		if (loud)
			tool_err("%s: no hims superblock (%s)", dev, hims_sb_check_str(si.check));
		return EXIT_RUNTIME;
	}
	printf("HIMS_SUPERBLOCK=1\n");
	printf("HIMS_UUID=%s\n", si.uuid);
	export_u64("HIMS_RAM_BLOCKS", si.geo.ram_blocks);
	export_u64("HIMS_SSD_BLOCKS", si.geo.ssd_blocks);
	export_u64("HIMS_DEDUP_BLOCKS", si.geo.dedup_blocks);
	export_u64("HIMS_LEN",
		   (hims_boundary(&si.geo) + si.geo.ssd_blocks) * HIMS_SECTORS_PER_BLOCK);
	export_u64("HIMS_MIRROR_START", si.geo.mirror_start);
	export_u64("HIMS_EXPANSION_START", si.geo.expansion_start);
	if (si.hints != HIMS_HINTS_OK) {
		printf("HIMS_HINTS=0\n");
		if (si.hints == HIMS_HINTS_BAD)
			printf("HIMS_HINTS_ERROR=corrupt\n");
		return 0;
	}
	printf("HIMS_HINTS=1\n");
	export_kv("HIMS_NAME", si.h.name);
	export_kv("HIMS_RAM", si.h.ram);
	export_u64("HIMS_RAM_SIZE", si.h.ram_size);
	export_kv("HIMS_MODE", si.h.sync ? "sync" : "async");
	export_u64("HIMS_HINT_RAM_BLOCKS", si.h.ram_blocks);
	export_u64("HIMS_HINT_LEN", si.h.len);
	export_kv("HIMS_OPTIONS", si.h.options);
	return 0;
}

static int cmd_probe(int argc, char **argv)
{
	no_options(argc, argv);
	if (argc - optind != 1)
		usage_err("want <dev>");
	return probe_print(argv[optind], true);
}

struct find_ssd {
	dev_t ssd;
	char name[128];
};

static int find_user(const char *name, void *arg)
{
	struct find_ssd *f = arg;
	struct hims_dev hd;
	unsigned int ma, mi;

	if (get_hims(name, &hd, false) || parse_majmin(hd.tb.ssd, &ma, &mi))
		return 0;
	if (makedev(ma, mi) != f->ssd)
		return 0;
	snprintf(f->name, sizeof(f->name), "%s", name);
	return 1;
}

/* Assemble the device whose SSD is dev; quiet_missing: skip non-hims devices. */
static int assemble_one(const char *dev, bool quiet_missing)
{
	struct find_ssd f;
	struct ssd_info si;
	struct spec s;

	if (read_ssd(dev, &si)) {
		if (quiet_missing)
			return 0;
		tool_err("cannot read %s: %s", dev, strerror(errno));
		return -1;
	}
	if (si.check != HIMS_SB_OK) {
		if (quiet_missing)
			return 0;
		tool_err("%s: no hims superblock (%s)", dev, hims_sb_check_str(si.check));
		return -1;
	}
	if (si.hints != HIMS_HINTS_OK) {
		tool_err("%s: %s assembly hints: create the device with himsctl", dev,
			 si.hints == HIMS_HINTS_BAD ? "corrupt" : "no");
		return -1;
	}
	memset(&f, 0, sizeof(f));
	if (blkdev_of(dev, &f.ssd)) {
		tool_err("%s is not a block device", dev);
		return -1;
	}
	if (hdm_for_each(find_user, &f) < 0) {
		tool_err("cannot list device-mapper devices");
		return -1;
	}
	if (f.name[0]) {
		printf("%s: already assembled as %s\n", dev, f.name);
		return 0;
	}
	if (si.h.ram_blocks != si.geo.ram_blocks ||
	    si.h.len != (hims_boundary(&si.geo) + si.geo.ssd_blocks) * HIMS_SECTORS_PER_BLOCK ||
	    option_value(si.h.options, "dedup") != si.geo.dedup_blocks) {
		tool_err("%s: the hints disagree with the superblock's geometry", dev);
		return -1;
	}
	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", si.h.name);
	snprintf(s.ssd, sizeof(s.ssd), "%s", dev);
	snprintf(s.ram, sizeof(s.ram), "%s", si.h.ram);
	snprintf(s.options, sizeof(s.options), "%s", si.h.options);
	s.ram_size = si.h.ram_size;
	s.ram_blocks = si.geo.ram_blocks;
	s.len = (hims_boundary(&si.geo) + si.geo.ssd_blocks) * HIMS_BLOCK_SIZE;
	s.sync = si.h.sync;
	return build_device(&s);
}

static bool skip_scan(const char *kname)
{
	char file[PATH_MAX], buf[160];

	if (!strncmp(kname, "ram", 3) || !strncmp(kname, "zram", 4) ||
	    !strncmp(kname, "sr", 2))
		return true;
	snprintf(file, sizeof(file), "/sys/class/block/%s/dm/uuid", kname);
	if (!read_file(file, buf, sizeof(buf)) && !strncmp(buf, "HIMS-", 5))
		return true;
	snprintf(file, sizeof(file), "/sys/class/block/%s/size", kname);
	return read_file(file, buf, sizeof(buf)) || !strcmp(buf, "0");
}

static int assemble_scan(void)
{
	const char *const lvm[] = { "lvm", "lvchange", "-ay", "@" LVM_TAG, NULL };
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int r = 0;

	/* LVs tagged by "himsctl lvcreate" hold hims SSDs: activate them. */
	run_prog(lvm, true);
	d = opendir("/sys/class/block");
	if (!d)
		tool_fail("cannot list block devices");
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || skip_scan(e->d_name))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		if (assemble_one(path, true))
			r = EXIT_RUNTIME;
	}
	closedir(d);
	return r;
}

static int cmd_assemble(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scan", no_argument, NULL, 's' },
		{ "udev", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	bool scan = false;
	int c, r = 0;

	while ((c = next_opt(argc, argv, ":su", opts)) != -1) {
		if (c == 's')
			scan = true;
		else
			tool_udev = true;
	}
	if (scan && argc > optind)
		usage_err("--scan takes no devices");
	if (!scan && argc == optind)
		usage_err("want <ssd>... or --scan");
	if (scan)
		return assemble_scan();
	for (; optind < argc; optind++)
		if (assemble_one(argv[optind], false))
			r = EXIT_RUNTIME;
	return r;
}

/* ---- LVM ---- */

static int lvm_run(const char *const argv[])
{
	int r = run_prog(argv, false);

	if (r == 127)
		tool_err("cannot run lvm: is lvm2 installed?");
	return r;
}

/* An SSD-side LV to remove if the hims device on it cannot be built. */
static char lv_undo[300];

static void undo_lvcreate(void)
{
	const char *const lvr[] = { "lvm", "lvremove", "-y", lv_undo, NULL };

	if (!lv_undo[0])
		return;
	tool_err("removing %s again", lv_undo);
	run_prog(lvr, true);
}

static int cmd_lvcreate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 'L' },
		{ "ramsize", required_argument, NULL, 'R' },
		{ "ram-size", required_argument, NULL, 'R' },
		{ "name", required_argument, NULL, 'n' },
		{ "ram", required_argument, NULL, 'r' },
		{ "mode", required_argument, NULL, 'm' },
		{ "option", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	char ssd_lv[128], ssd_dm[300], vg_lv[200], kib[32];
	struct hims_geometry geo;
	struct hdm_info di;
	const char *type = NULL, *lv = NULL, *vg;
	struct spec s;
	u64 ram_blocks, dedup;
	int c;

	memset(&s, 0, sizeof(s));
	strcpy(s.ram, "brd");
	s.sync = true;
	s.write_hints = true;
	while ((c = next_opt(argc, argv, ":t:L:R:n:r:m:o:", opts)) != -1) {
		switch (c) {
		case 't':
			type = optarg;
			break;
		case 'L':
			s.len = parse_size_arg("size", optarg, 1ULL << 20);
			break;
		case 'R':
			s.ram_size = parse_size_arg("RAM size", optarg, 1ULL << 20);
			break;
		case 'n':
			lv = optarg;
			break;
		case 'r':
			if (strcmp(optarg, "brd") && strcmp(optarg, "zram"))
				usage_err("--ram wants brd or zram, not '%s'", optarg);
			snprintf(s.ram, sizeof(s.ram), "%s", optarg);
			break;
		case 'm':
			s.sync = parse_mode(optarg);
			break;
		case 'o':
			add_option(s.options, sizeof(s.options), optarg);
			break;
		}
	}
	if (!type || strcmp(type, "hims"))
		usage_err("only --type hims is supported");
	if (!s.len)
		usage_err("-L SIZE is required");
	if (!s.ram_size)
		usage_err("--ramsize SIZE is required");
	if (!lv)
		usage_err("-n LV is required");
	if (argc - optind != 1)
		usage_err("want one VG");
	vg = argv[optind];
	if (!tu_valid_lvm_name(vg))
		usage_err("invalid VG name '%s'", vg);
	if (!tu_valid_lvm_name(lv))
		usage_err("invalid LV name '%s'", lv);
	if (s.len % HIMS_BLOCK_SIZE || s.ram_size % HIMS_BLOCK_SIZE ||
	    s.ram_size < 2 * HIMS_BLOCK_SIZE)
		usage_err("sizes must be multiples of 4 KiB (RAM size at least 8 KiB)");
	dedup = option_value(s.options, "dedup");
	ram_blocks = s.ram_size / HIMS_BLOCK_SIZE - 1;
	if (!dedup)
		ram_blocks = min(ram_blocks, s.len / HIMS_BLOCK_SIZE);
	if (table_geometry(&geo, ram_blocks, dedup, s.len / HIMS_BLOCK_SIZE))
		usage_err("unsupported RAM tier size (or dedup larger than -L)");
	s.ram_blocks = ram_blocks;
	if (tu_lvm_dm_name(s.name, sizeof(s.name), vg, lv) || !tu_valid_dm_name(s.name))
		usage_err("VG/LV name too long");
	if (hdm_get(s.name, 1, &di))
		tool_fail("cannot talk to device-mapper (is dm-mod loaded? are you root?)");
	if (di.exists)
		tool_fail("a device named '%s' exists already", s.name);

	snprintf(ssd_lv, sizeof(ssd_lv), "%s%s", lv, SSD_LV_SUFFIX);
	snprintf(kib, sizeof(kib), "%llu", (unsigned long long)geo.ssd_min_blocks * 4);
	strcat(kib, "k");
	{
		const char *const lvc[] = { "lvm", "lvcreate", "-y", "-Zy", "-Wy",
					    "--addtag", LVM_TAG,
				"-L", kib, "-n", ssd_lv, vg, NULL };

		if (lvm_run(lvc))
			tool_fail("lvcreate of %s/%s failed", vg, ssd_lv);
	}
	if (tu_lvm_dm_name(ssd_dm, sizeof(ssd_dm), vg, ssd_lv) || hdm_get(ssd_dm, 1, &di) ||
	    !di.exists || dev_path(di.major, di.minor, s.ssd, sizeof(s.ssd)))
		tool_fail("cannot find the new LV %s/%s in device-mapper", vg, ssd_lv);
	snprintf(vg_lv, sizeof(vg_lv), "%s/%s", vg, ssd_lv);
	/* build_device exits on failure: the LV goes with it. */
	snprintf(lv_undo, sizeof(lv_undo), "%s", vg_lv);
	atexit(undo_lvcreate);
	printf("%s/%s: SSD side on LV %s (%s), tag %s\n", vg, lv, vg_lv, s.ssd, LVM_TAG);
	if (build_device(&s))
		return EXIT_RUNTIME;
	lv_undo[0] = 0;
	return 0;
}

static int cmd_lvremove(int argc, char **argv)
{
	char vg[128], lv[128], name[300], ssd_lv[300];
	struct hdm_info di;
	const char *slash;

	no_options(argc, argv);
	if (argc - optind != 1)
		usage_err("want VG/LV");
	slash = strchr(argv[optind], '/');
	if (!slash || (size_t)(slash - argv[optind]) >= sizeof(vg) ||
	    strlen(slash + 1) >= sizeof(lv))
		usage_err("want VG/LV, not '%s'", argv[optind]);
	snprintf(vg, sizeof(vg), "%.*s", (int)(slash - argv[optind]), argv[optind]);
	snprintf(lv, sizeof(lv), "%s", slash + 1);
	if (!tu_valid_lvm_name(vg) || !tu_valid_lvm_name(lv))
		usage_err("invalid VG/LV '%s'", argv[optind]);
	if (tu_lvm_dm_name(name, sizeof(name), vg, lv))
		usage_err("VG/LV name too long");
	if (hdm_get(name, 1, &di))
		tool_fail("cannot talk to device-mapper (is dm-mod loaded? are you root?)");
	if (di.exists && remove_device(name, false))
		return EXIT_RUNTIME;
	snprintf(ssd_lv, sizeof(ssd_lv), "%s/%s%s", vg, lv, SSD_LV_SUFFIX);
	{
		const char *const lvr[] = { "lvm", "lvremove", "-y", ssd_lv, NULL };

		if (lvm_run(lvr))
			tool_fail("lvremove of %s failed", ssd_lv);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "create", cmd_create }, { "remove", cmd_remove },
		{ "status", cmd_status }, { "flush", cmd_flush },
		{ "mode", cmd_mode }, { "wait", cmd_wait },
		{ "probe", cmd_probe }, { "assemble", cmd_assemble },
		{ "lvcreate", cmd_lvcreate }, { "lvremove", cmd_lvremove },
	};
	size_t i;

	tool_name = "himsctl";
	/* udev runs us with an empty environment: find modprobe and lvm. */
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 0);
	opterr = 0;
	if (argc < 2)
		usage_err("no command given");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("himsctl %s\n", HIMS_VERSION_STR);
		return 0;
	}
	hdm_init();
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			tool_cmd = cmds[i].name;
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	usage_err("unknown command '%s'", argv[1]);
}
