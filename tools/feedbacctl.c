// SPDX-License-Identifier: GPL-2.0
/*
 * feedbacctl: create dm-feedbac devices, set cgroup weights, import the
 * weights container runtimes write to io.weight / io.bfq.weight.
 * Exit status: 0 success, 1 failure, 2 bad arguments.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dm-feedbac/feedbac-options.h"
#include "lib/hdm.h"
#include "lib/json.h"
#include "lib/msg.h"
#include "lib/opts.h"
#include "lib/sysdev.h"
#include "lib/feedbac-status.h"
#include "lib/toolutil.h"

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define MAX_CGROUPS	4096

static const char *cg_root = CGROUP_ROOT;

static const char usage_text[] =
"usage: feedbacctl <command> [arguments]\n"
"\n"
"  create <name> <dev> [--option KEY=VALUE]...   (period_ms, cost, io_cost, write_pct,\n"
"                                                alpha, alpha_min, alpha_max, carry_pct, min_credit)\n"
"  remove <name>\n"
"  status [<name>] [--json]\n"
"  weight <name> <cgroup> <1..10000>           cgroup: /path from the cgroup2 root, or an id\n"
"  clear-weight <name> <cgroup>\n"
"  import-weights <name> [--all] [--dry-run] [--root DIR]\n"
"\n"
"See feedbacctl(8).\n";

/* A cgroup argument: "/path" without spaces, or a numeric id. */
static void check_cgroup(const char *cg)
{
	u64 id;

	if (cg[0] == '/') {
		if (strpbrk(cg, " \t\n") || strstr(cg, "/../") || strlen(cg) > 1024)
			usage_err("invalid cgroup path '%s'", cg);
		return;
	}
	if (tu_parse_u64(cg, &id))
		usage_err("cgroup must be a /path from the cgroup2 root or an id, not '%s'", cg);
}

struct feedbac_dev {
	struct hdm_info info, table;
	struct feedbac_status st;
	char dev[32];
};

static int get_feedbac(const char *name, struct feedbac_dev *fd, bool loud)
{
	memset(fd, 0, sizeof(*fd));
	if (hdm_get(name, 0, &fd->info) || hdm_get(name, 1, &fd->table)) {
		if (loud)
			tool_err("cannot talk to device-mapper (is dm-mod loaded? are you root?)");
		return -1;
	}
	if (!fd->info.exists) {
		if (loud)
			tool_err("no device '%s'", name);
		return -1;
	}
	if (fd->info.nr_targets != 1 || strcmp(fd->info.type, "feedbac")) {
		if (loud)
			tool_err("'%s' is not a feedbac device", name);
		return -1;
	}
	if (feedbac_status_parse(fd->info.params, &fd->st) ||
	    feedbac_table_dev(fd->table.params, fd->dev, sizeof(fd->dev))) {
		if (loud)
			tool_err("cannot parse the status of '%s'", name);
		return -1;
	}
	return 0;
}

/* KEY=VALUE of a table option, checked against the kernel's own table. */
static void add_table_option(char *opts, size_t len, const char *kv)
{
	static const char *words[FEEDBAC_NR_OPTS][8];
	struct opt_key known[FEEDBAC_NR_OPTS];
	const struct feedbac_option *o;
	unsigned int i, w, n;

	for (i = 0; i < FEEDBAC_NR_OPTS; i++) {
		o = &feedbac_options[i];
		known[i] = (struct opt_key){ o->name, NULL, o->min, o->max };
		if (!o->words)
			continue;
		for (w = o->min, n = 0; w <= o->max && n < 7; w++)
			words[i][n++] = o->words[w];
		words[i][n] = NULL;
		known[i].choices = words[i];
	}
	opt_add_kv(opts, len, kv, known, FEEDBAC_NR_OPTS, "");
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "option", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	char opt_words[512] = "", table[700];
	struct hdm_info di;
	dev_t dev;
	u64 size;
	int nr;

	while (next_opt(argc, argv, ":o:", opts) != -1)
		add_table_option(opt_words, sizeof(opt_words), optarg);
	nr = opt_count_words(opt_words);
	if (argc - optind != 2)
		usage_err("want <name> <dev>");
	check_name(argv[optind]);
	if (blkdev_of(argv[optind + 1], &dev))
		usage_err("%s is not a block device", argv[optind + 1]);
	if (blkdev_size(argv[optind + 1], &size))
		tool_fail("cannot open %s: %s", argv[optind + 1], strerror(errno));
	if (hdm_get(argv[optind], 1, &di))
		tool_fail("cannot talk to device-mapper (is dm-mod loaded? are you root?)");
	if (di.exists)
		tool_fail("a device named '%s' exists already", argv[optind]);
	if (nr)
		snprintf(table, sizeof(table), "%u:%u %d %s", major(dev), minor(dev), nr,
			 opt_words);
	else
		snprintf(table, sizeof(table), "%u:%u", major(dev), minor(dev));
	{
		const char *const mp[] = { "modprobe", "-q", "dm-feedbac", NULL };

		run_prog(mp, true);
	}
	if (hdm_create_table(argv[optind], NULL, size / 512, "feedbac", table))
		tool_fail("cannot create '%s' (table: %s); the kernel log says why (dmesg)",
			  argv[optind], table);
	printf("%s: /dev/mapper/%s over %s\n", argv[optind], argv[optind], argv[optind + 1]);
	return 0;
}

static int cmd_remove(int argc, char **argv)
{
	struct feedbac_dev fd;

	no_options(argc, argv);
	if (argc - optind != 1)
		usage_err("want <name>");
	check_name(argv[optind]);
	if (get_feedbac(argv[optind], &fd, true))
		return EXIT_RUNTIME;
	if (hdm_remove(argv[optind]))
		tool_fail("cannot remove '%s'", argv[optind]);
	return 0;
}

/* The cgroup directory whose inode is id, as a path from the root. */
static bool find_cgroup(const char *dir, const char *rel, u64 id, char *out, size_t len,
			int depth)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct dirent *e;
	struct stat st;
	bool found = false;
	DIR *d;

	if (depth > 32)
		return false;
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path) ||
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name) >= sizeof(sub) ||
		    stat(path, &st))
			continue;
		if ((u64)st.st_ino == id) {
			snprintf(out, len, "%s", sub);
			found = true;
		} else {
			found = find_cgroup(path, sub, id, out, len, depth + 1);
		}
	}
	closedir(d);
	return found;
}

static void cgroup_name(u64 id, char *buf, size_t len)
{
	if (!id) {
		snprintf(buf, len, "(default)");
		return;
	}
	if (!find_cgroup(cg_root, "", id, buf, len, 0))
		snprintf(buf, len, "(id %llu, removed?)", (unsigned long long)id);
}

static void print_human(const char *name, const struct feedbac_dev *fd)
{
	const struct feedbac_status *st = &fd->st;
	char cg[PATH_MAX];
	u32 i;

	printf("%s: /dev/mapper/%s over %s, %llu MiB\n", name, name, fd->dev,
	       (unsigned long long)fd->info.length >> 11);
	printf("  prediction %llu credits/period, last measured %llu,",
	       (unsigned long long)st->prediction, (unsigned long long)st->last_actual);
	printf(" alpha %llu.%03llu, error %lld permille\n",
	       (unsigned long long)st->alpha / 1000, (unsigned long long)st->alpha % 1000,
	       (long long)st->last_error);
	printf("  periods %llu, early refills %llu, level shifts %llu, held bios %llu\n",
	       (unsigned long long)st->periods, (unsigned long long)st->refills,
	       (unsigned long long)st->level_shifts, (unsigned long long)st->held);
	printf("  %-32s %7s %10s %12s %12s %5s\n", "cgroup", "weight", "credits",
	       "read MiB", "write MiB", "held");
	for (i = 0; i < st->nr_groups; i++) {
		const struct feedbac_group_status *g = &st->groups[i];

		cgroup_name(g->id, cg, sizeof(cg));
		printf("  %-32s %7u %10lld %12llu %12llu %5llu\n", cg, g->weight,
		       (long long)g->credits, (unsigned long long)g->read_bytes >> 20,
		       (unsigned long long)g->write_bytes >> 20, (unsigned long long)g->held);
	}
}

static void print_json(struct json *j, const char *name, const struct feedbac_dev *fd)
{
	const struct feedbac_status *st = &fd->st;
	u32 i;

	json_object_begin(j, NULL);
	json_string(j, "name", name);
	json_string(j, "device", fd->dev);
	json_u64(j, "size_bytes", (u64)fd->info.length * 512);
	json_u64(j, "prediction", st->prediction);
	json_u64(j, "last_actual", st->last_actual);
	json_u64(j, "alpha", st->alpha);
	json_s64(j, "last_error", st->last_error);
	json_u64(j, "periods", st->periods);
	json_u64(j, "refills", st->refills);
	json_u64(j, "level_shifts", st->level_shifts);
	json_u64(j, "held", st->held);
	json_array_begin(j, "groups", false);
	for (i = 0; i < st->nr_groups; i++) {
		const struct feedbac_group_status *g = &st->groups[i];

		json_object_begin(j, NULL);
		json_u64(j, "id", g->id);
		json_u64(j, "weight", g->weight);
		json_s64(j, "credits", g->credits);
		json_u64(j, "read_bytes", g->read_bytes);
		json_u64(j, "read_ios", g->read_ios);
		json_u64(j, "write_bytes", g->write_bytes);
		json_u64(j, "write_ios", g->write_ios);
		json_u64(j, "held", g->held);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

struct walk {
	struct json *json;	/* NULL: human */
};

static int status_one(const char *name, void *arg)
{
	struct walk *w = arg;
	struct feedbac_dev fd;

	if (!tu_valid_dm_name(name) || get_feedbac(name, &fd, false))
		return 0;
	if (w->json)
		print_json(w->json, name, &fd);
	else
		print_human(name, &fd);
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct walk w = { NULL };
	struct feedbac_dev fd;
	struct json j;

	json_init(&j, stdout);
	while (next_opt(argc, argv, ":j", opts) != -1)
		w.json = &j;
	if (argc - optind > 1)
		usage_err("want at most one device name");
	if (argc - optind == 1) {
		check_name(argv[optind]);
		if (get_feedbac(argv[optind], &fd, true))
			return EXIT_RUNTIME;
		if (w.json) {
			print_json(&j, argv[optind], &fd);
			putchar('\n');
		} else {
			print_human(argv[optind], &fd);
		}
		return 0;
	}
	if (w.json)
		json_array_begin(&j, NULL, true);
	if (hdm_for_each(status_one, &w))
		tool_fail("cannot list device-mapper devices");
	if (w.json) {
		json_array_end(&j);
		putchar('\n');
	}
	return 0;
}

static int send_weight(const char *name, const char *cg, u32 w)
{
	char msg[PATH_MAX + 32];

	if ((size_t)snprintf(msg, sizeof(msg), "weight %s %u", cg, w) >= sizeof(msg) ||
	    hdm_message(name, msg)) {
		tool_err("'%s' refused weight %u for %s (see dmesg)", name, w, cg);
		return -1;
	}
	return 0;
}

static int cmd_weight(int argc, char **argv)
{
	struct feedbac_dev fd;
	u64 w;

	no_options(argc, argv);
	if (argc - optind != 3)
		usage_err("want <name> <cgroup> <weight>");
	check_name(argv[optind]);
	check_cgroup(argv[optind + 1]);
	if (tu_parse_u64(argv[optind + 2], &w) || w < 1 || w > 10000)
		usage_err("weight must be 1..10000, not '%s'", argv[optind + 2]);
	if (get_feedbac(argv[optind], &fd, true))
		return EXIT_RUNTIME;
	return send_weight(argv[optind], argv[optind + 1], (u32)w) ? EXIT_RUNTIME : 0;
}

static int cmd_clear_weight(int argc, char **argv)
{
	struct feedbac_dev fd;
	char msg[PATH_MAX + 32];

	no_options(argc, argv);
	if (argc - optind != 2)
		usage_err("want <name> <cgroup>");
	check_name(argv[optind]);
	check_cgroup(argv[optind + 1]);
	if (get_feedbac(argv[optind], &fd, true))
		return EXIT_RUNTIME;
	snprintf(msg, sizeof(msg), "clear_weight %s", argv[optind + 1]);
	if (hdm_message(argv[optind], msg))
		tool_fail("'%s' refused to clear the weight of %s", argv[optind], argv[optind + 1]);
	return 0;
}

struct import {
	const char *name;
	unsigned int devs[2][2];	/* the feedbac device's and the wrapped one's */
	bool all, dry_run;
	int sent, failed;
};

/*
 * A cgroup's weight for our device: device lines first, then defaults, of
 * io.weight (iocost) then io.bfq.weight; the first that is not the default
 * 100 wins (a runtime sets one or the other), else 100 if any was found.
 */
static bool weight_of(const char *dir, struct import *im, u64 *w)
{
	static const char * const files[] = { "io.weight", "io.bfq.weight" };
	char path[PATH_MAX], buf[2][4096];
	bool found = false, have[2];
	int i, d;
	u64 v;

	for (i = 0; i < 2; i++)
		have[i] = (size_t)snprintf(path, sizeof(path), "%s/%s", dir, files[i]) <
			  sizeof(path) && !read_file(path, buf[i], sizeof(buf[i]));
	for (i = 0; i < 2; i++) {
		for (d = 0; have[i] && d < 2; d++) {
			if (tu_cgroup_weight(buf[i], im->devs[d][0], im->devs[d][1], &v) == 1) {
				*w = v;
				return true;
			}
		}
	}
	for (i = 0; i < 2; i++) {
		if (!have[i] || tu_cgroup_weight(buf[i], 0, 0, &v) < 0)
			continue;
		found = true;
		*w = v;
		if (v != 100)
			return true;
	}
	return found;
}

static void import_dir(const char *dir, const char *rel, struct import *im, int depth)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct dirent *e;
	DIR *d;
	u64 w;

	if (depth > 32)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path) ||
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name) >= sizeof(sub))
			continue;
		if (weight_of(path, im, &w) && (im->all || w != 100) && !strpbrk(sub, " \t\n")) {
			if (im->dry_run) {
				printf("weight %s %u\n", sub, tu_feedbac_weight(w));
			} else if (send_weight(im->name, sub, tu_feedbac_weight(w))) {
				im->failed++;
			} else {
				printf("%s: weight %u\n", sub, tu_feedbac_weight(w));
				im->sent++;
			}
		}
		import_dir(path, sub, im, depth + 1);
	}
	closedir(d);
}

static int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "root", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct feedbac_dev fd;
	struct import im;
	int c;

	memset(&im, 0, sizeof(im));
	while ((c = next_opt(argc, argv, ":anr:", opts)) != -1) {
		if (c == 'a')
			im.all = true;
		else if (c == 'n')
			im.dry_run = true;
		else
			cg_root = optarg;
	}
	if (argc - optind != 1)
		usage_err("want <name>");
	check_name(argv[optind]);
	im.name = argv[optind];
	if (access(cg_root, R_OK))
		tool_fail("cannot read the cgroup tree at %s", cg_root);
	if (get_feedbac(im.name, &fd, true))
		return EXIT_RUNTIME;
	im.devs[0][0] = fd.info.major;
	im.devs[0][1] = fd.info.minor;
	if (parse_majmin(fd.dev, &im.devs[1][0], &im.devs[1][1]))
		im.devs[1][0] = im.devs[0][0], im.devs[1][1] = im.devs[0][1];
	import_dir(cg_root, "", &im, 0);
	if (!im.dry_run)
		printf("%s: %d weights imported, %d refused\n", im.name, im.sent, im.failed);
	return im.failed ? EXIT_RUNTIME : 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "create", cmd_create }, { "remove", cmd_remove },
		{ "status", cmd_status }, { "weight", cmd_weight },
		{ "clear-weight", cmd_clear_weight },
		{ "import-weights", cmd_import },
	};
	size_t i;

	tool_name = "feedbacctl";
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 0);
	opterr = 0;
	if (argc < 2)
		usage_err("no command given");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
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
