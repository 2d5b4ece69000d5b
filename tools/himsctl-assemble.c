// SPDX-License-Identifier: GPL-2.0
/*
 * himsctl probe and assemble: rebuilding devices from their SSDs at boot.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>

#include "himsctl.h"

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
	if (si.geo.dedup_blocks)
		export_u64("HIMS_DEDUP_RECORDS",
			   hims_sblock_nr(hims_dedup_record_block(&si.geo, 0)));
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

int cmd_probe(int argc, char **argv)
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

int cmd_assemble(int argc, char **argv)
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
