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

/* What lvcreate's own options give. */
struct lv_args {
	const char *type, *lv;
};

static void lvcreate_opt(int c, const char *arg, struct spec *s, void *ctx)
{
	struct lv_args *la = ctx;

	(void)s;
	if (c == 't')
		la->type = arg;
	else
		la->lv = arg;
}

/* Check the arguments (vg: NULL unless one was given); size s and geo. */
static void lvcreate_check(struct spec *s, const struct lv_args *la, const char *vg,
			   struct hims_geometry *geo)
{
	u64 ram_blocks, dedup;

	if (!la->type || strcmp(la->type, "hims"))
		usage_err("only --type hims is supported");
	if (!s->len)
		usage_err("-L SIZE is required");
	if (!s->ram_size)
		usage_err("--ramsize SIZE is required");
	if (!la->lv)
		usage_err("-n LV is required");
	if (!vg)
		usage_err("want one VG");
	if (!tu_valid_lvm_name(vg))
		usage_err("invalid VG name '%s'", vg);
	if (!tu_valid_lvm_name(la->lv))
		usage_err("invalid LV name '%s'", la->lv);
	if (s->len % HIMS_BLOCK_SIZE || s->ram_size % HIMS_BLOCK_SIZE ||
	    s->ram_size < 2 * HIMS_BLOCK_SIZE)
		usage_err("sizes must be multiples of 4 KiB (RAM size at least 8 KiB)");
	dedup = option_value(s->options, "dedup");
	ram_blocks = s->ram_size / HIMS_BLOCK_SIZE - 1;
	if (!dedup)
		ram_blocks = min(ram_blocks, s->len / HIMS_BLOCK_SIZE);
	if (table_geometry(geo, ram_blocks, dedup, s->len / HIMS_BLOCK_SIZE))
		usage_err("unsupported RAM tier size (or dedup larger than -L)");
	s->ram_blocks = ram_blocks;
	if (tu_lvm_dm_name(s->name, sizeof(s->name), vg, la->lv) || !tu_valid_dm_name(s->name))
		usage_err("VG/LV name too long");
}

/* Create the SSD-side LV, tagged, as large as geo needs; its path in s->ssd. */
static void create_ssd_lv(struct spec *s, const char *vg, const char *ssd_lv,
			  const struct hims_geometry *geo)
{
	char ssd_dm[300], kib[32];
	struct hdm_info di;
	const char *const lvc[] = { "lvm", "lvcreate", "-y", "-Zy", "-Wy",
				    "--addtag", LVM_TAG,
				    "-L", kib, "-n", ssd_lv, vg, NULL };

	snprintf(kib, sizeof(kib), "%llu", (unsigned long long)geo->ssd_min_blocks * 4);
	strcat(kib, "k");
	if (lvm_run(lvc))
		tool_fail("lvcreate of %s/%s failed", vg, ssd_lv);
	if (tu_lvm_dm_name(ssd_dm, sizeof(ssd_dm), vg, ssd_lv) || hdm_get(ssd_dm, 1, &di) ||
	    !di.exists || dev_path(di.major, di.minor, s->ssd, sizeof(s->ssd)))
		tool_fail("cannot find the new LV %s/%s in device-mapper", vg, ssd_lv);
}

int cmd_lvcreate(int argc, char **argv)
{
	static const struct option own[] = {
		{ "type", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct lv_args la = { NULL, NULL };
	const struct spec_args args = {
		.shortopts = "t:n:", .longopts = own, .size_unit = 1ULL << 20,
		.ram_dev = false, .own = lvcreate_opt, .ctx = &la,
	};
	char ssd_lv[128], vg_lv[200];
	struct hims_geometry geo;
	const char *vg;
	struct spec s;

	spec_init(&s);
	parse_spec(argc, argv, &s, &args);
	vg = argc - optind == 1 ? argv[optind] : NULL;
	lvcreate_check(&s, &la, vg, &geo);
	require_new_name(s.name);

	snprintf(ssd_lv, sizeof(ssd_lv), "%s%s", la.lv, SSD_LV_SUFFIX);
	create_ssd_lv(&s, vg, ssd_lv, &geo);
	snprintf(vg_lv, sizeof(vg_lv), "%s/%s", vg, ssd_lv);
	/* build_device exits on failure: the LV goes with it. */
	snprintf(lv_undo, sizeof(lv_undo), "%s", vg_lv);
	atexit(undo_lvcreate);
	printf("%s/%s: SSD side on LV %s (%s), tag %s\n", vg, la.lv, vg_lv, s.ssd, LVM_TAG);
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
