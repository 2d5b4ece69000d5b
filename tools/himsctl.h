/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the command groups of himsctl share: the device and SSD descriptions,
 * the SSD's block 0, building and removing a device, argument helpers.
 */
#ifndef HIMS_HIMSCTL_H
#define HIMS_HIMSCTL_H

#include <getopt.h>
#include <limits.h>

#include "purec.h"
#include "dm-hims/hims-format.h"
#include "dm-hims/hims-dedup.h"
#include "dm-hims/hims-options.h"
#include "lib/hdm.h"
#include "lib/hims-hints.h"
#include "lib/hims-status.h"
#include "lib/msg.h"
#include "lib/opts.h"
#include "lib/sysdev.h"
#include "lib/toolutil.h"

#define SSD_LV_SUFFIX		"_hims_ssd"
#define LVM_TAG			"hims"

/* A superblock read from an SSD, checked against its own geometry. */
struct ssd_info {
	enum hims_sb_check check;
	struct hims_geometry geo;
	char uuid[40];
	int hints;			/* enum hims_hints_result */
	struct hims_hints h;
	u8 block[HIMS_BLOCK_SIZE];
};

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

/* What parse_spec needs to know of a command (create, lvcreate). */
#define SPEC_MAX_OWN	4
struct spec_args {
	const char *shortopts;		/* the command's own, e.g. "b:f" */
	const struct option *longopts;	/* the command's own, NULL-terminated */
	u64 size_unit;			/* bytes of a size given without a unit */
	bool ram_dev;			/* --ram may name a device */
	/* Called for the command's own options with getopt's value. */
	void (*own)(int c, const char *arg, struct spec *s, void *ctx);
	void *ctx;
};

struct hims_dev {
	char name[128];
	struct hdm_info info, table;
	struct hims_status st;
	struct hims_table tb;
	char ram_path[64], ssd_path[64];
};

/* himsctl.c: arguments */
bool parse_mode(const char *s);
u64 parse_size_arg(const char *what, const char *s, u64 default_unit);
void add_option(char *opts, size_t len, const char *kv);
u64 option_value(const char *opts, const char *key);
void one_name(int argc, char **argv, const char *what);
void spec_init(struct spec *s);
void parse_spec(int argc, char **argv, struct spec *s, const struct spec_args *a);

/* himsctl-ssd.c */
int table_geometry(struct hims_geometry *geo, u64 ram_blocks, u64 dedup,
		   u64 len_blocks);
int read_ssd(const char *path, struct ssd_info *si);
void write_hints(const struct spec *s, u64 ram_blocks, u64 len_sectors);
void update_hints_mode(const char *ssd, bool sync);

/* himsctl-create.c */
void require_new_name(const char *name);
int build_device(struct spec *s);
int cmd_create(int argc, char **argv);
int do_flush(const char *name);
int cmd_flush(int argc, char **argv);
int cmd_mode(int argc, char **argv);
int remove_device(const char *name, bool keep_ram);
int cmd_remove(int argc, char **argv);

/* himsctl-status.c */
int get_hims(const char *name, struct hims_dev *hd, bool loud);
void export_kv(const char *key, const char *val);
void export_u64(const char *key, u64 v);
int cmd_status(int argc, char **argv);
int cmd_wait(int argc, char **argv);

/* himsctl-assemble.c */
int cmd_probe(int argc, char **argv);
int cmd_assemble(int argc, char **argv);

/* himsctl-lvm.c */
int cmd_lvcreate(int argc, char **argv);
int cmd_lvremove(int argc, char **argv);

#endif /* HIMS_HIMSCTL_H */
