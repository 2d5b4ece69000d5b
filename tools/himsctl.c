// SPDX-License-Identifier: GPL-2.0
/*
 * himsctl: create, inspect and assemble dm-hims devices.
 *
 * Talks to device-mapper through libdevmapper; sets up brd or zram RAM
 * devices itself; keeps assembly hints in bytes [2048, 4096) of the SSD's
 * block 0 so that "himsctl assemble <ssd>" (run by udev at boot) can rebuild
 * the device.  Exit status: 0 success, 1 failure, 2 bad arguments.
 *
 * This file: usage, the arguments every command group shares, dispatch.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "himsctl.h"

#define HIMS_VERSION_STR	"1.0"

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

bool parse_mode(const char *s)
{
	if (!strcmp(s, "sync"))
		return true;
	if (!strcmp(s, "async"))
		return false;
	usage_err("mode must be sync or async, not '%s'", s);
}

u64 parse_size_arg(const char *what, const char *s, u64 default_unit)
{
	u64 v;

	if (tu_parse_size(s, default_unit, &v) || !v)
		usage_err("invalid %s '%s'", what, s);
	return v;
}

/* KEY=VALUE of a table option, appended as "KEY VALUE" to opts. */
void add_option(char *opts, size_t len, const char *kv)
{
	struct opt_key known[HIMS_NR_OPTS];
	size_t n = 0;
	unsigned int i;

	/* From the kernel's own table; ram_blocks and format have flags. */
	for (i = 0; i < HIMS_NR_OPTS; i++)
		if (i != HIMS_OPT_RAM_BLOCKS && !(hims_options[i].flags & HIMS_OPT_FLAG))
			known[n++] = (struct opt_key){ hims_options[i].name, NULL,
						       hims_options[i].min, hims_options[i].max };
	opt_add_kv(opts, len, kv, known, n, " (see dm-hims.rst for the table's options)");
}

/* The value of option key in "key value key value ...", or 0. */
u64 option_value(const char *opts, const char *key)
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

void spec_init(struct spec *s)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->ram, "brd");
	s->sync = true;
	s->write_hints = true;
}

static void spec_ram(struct spec *s, const char *arg, bool ram_dev)
{
	bool kind = !strcmp(arg, "brd") || !strcmp(arg, "zram");

	if (!kind && !ram_dev)
		usage_err("--ram wants brd or zram, not '%s'", arg);
	if (!kind && (arg[0] != '/' || !hims_hints_valid_value(arg) ||
		      strchr(arg, ' ') || strlen(arg) >= sizeof(s->ram)))
		usage_err("--ram wants brd, zram or a device, not '%s'", arg);
	snprintf(s->ram, sizeof(s->ram), "%s", arg);
}

/* The options create and lvcreate share, then the command's own. */
void parse_spec(int argc, char **argv, struct spec *s, const struct spec_args *a)
{
	static const struct option common[] = {
		{ "ram", required_argument, NULL, 'r' },
		{ "ram-size", required_argument, NULL, 'R' },
		{ "ramsize", required_argument, NULL, 'R' },
		{ "size", required_argument, NULL, 'L' },
		{ "mode", required_argument, NULL, 'm' },
		{ "option", required_argument, NULL, 'o' },
	};
	struct option opts[ARRAY_SIZE(common) + SPEC_MAX_OWN + 1];
	char shortopts[32];
	size_t n;
	int c;

	memcpy(opts, common, sizeof(common));
	for (n = 0; a->longopts[n].name && n < SPEC_MAX_OWN; n++)
		opts[ARRAY_SIZE(common) + n] = a->longopts[n];
	memset(&opts[ARRAY_SIZE(common) + n], 0, sizeof(opts[0]));
	snprintf(shortopts, sizeof(shortopts), ":r:R:L:m:o:%s", a->shortopts);
	while ((c = next_opt(argc, argv, shortopts, opts)) != -1) {
		switch (c) {
		case 'r':
			spec_ram(s, optarg, a->ram_dev);
			break;
		case 'R':
			s->ram_size = parse_size_arg("RAM size", optarg, a->size_unit);
			break;
		case 'L':
			s->len = parse_size_arg("size", optarg, a->size_unit);
			break;
		case 'm':
			s->sync = parse_mode(optarg);
			break;
		case 'o':
			add_option(s->options, sizeof(s->options), optarg);
			break;
		default:
			a->own(c, optarg, s, a->ctx);
		}
	}
}

void one_name(int argc, char **argv, const char *what)
{
	if (argc - optind != 1)
		usage_err("want %s", what);
	check_name(argv[optind]);
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
