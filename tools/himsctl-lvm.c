// SPDX-License-Identifier: GPL-2.0
/*
 * himsctl lvcreate and lvremove: a hims device stacked on an LVM LV.
 */
#include <stdio.h>
#include <stdlib.h>

#include "himsctl.h"

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

int cmd_lvcreate(int argc, char **argv)
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

int cmd_lvremove(int argc, char **argv)
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
