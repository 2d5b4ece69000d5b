// SPDX-License-Identifier: GPL-2.0
/*
 * himsctl status (human, --json, --export) and wait.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "himsctl.h"
#include "lib/json.h"

/* 0 if name is a hims device; else an error was printed (if loud). */
int get_hims(const char *name, struct hims_dev *hd, bool loud)
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
	if (st->restore != HIMS_RESTORE_UNKNOWN) {
		json_string(j, "restore_state", hims_restore_state_name(st->restore));
		json_u64(j, "restore_failed_copies", st->restore_failures);
	}
	if (st->has_flushes)
		json_u64(j, "ssd_flushes", st->ssd_flushes);
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

void export_kv(const char *key, const char *val)
{
	char buf[512];

	if (tu_shell_value(buf, sizeof(buf), val))
		return;
	printf("%s=%s\n", key, buf);
}

void export_u64(const char *key, u64 v)
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
	if (st->restore != HIMS_RESTORE_UNKNOWN) {
		export_kv("HIMS_RESTORE_STATE", hims_restore_state_name(st->restore));
		export_u64("HIMS_RESTORE_FAILED_COPIES", st->restore_failures);
	}
	if (st->has_flushes)
		export_u64("HIMS_SSD_FLUSHES", st->ssd_flushes);
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
	else if (st->restore == HIMS_RESTORE_INCOMPLETE)
		printf("  restore:    incomplete: %llu of %llu blocks, %llu failed copies\n",
		       (unsigned long long)st->restored, (unsigned long long)st->to_restore,
		       (unsigned long long)st->restore_failures);
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

int cmd_status(int argc, char **argv)
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

int cmd_wait(int argc, char **argv)
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
		if (hims_status_restore_over(&hd.st))
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
	if (!hims_status_restored(&hd.st))
		tool_fail("'%s': restore incomplete: %llu of %llu blocks, %llu failed copies",
			  hd.name, (unsigned long long)hd.st.restored,
			  (unsigned long long)hd.st.to_restore,
			  (unsigned long long)hd.st.restore_failures);
	if (!quiet)
		printf("%s: restored (%llu blocks)\n", hd.name,
		       (unsigned long long)hd.st.to_restore);
	return 0;
}
