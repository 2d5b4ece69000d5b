/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fuzzer's generator (tests/fuzz/README): tables and messages for both
 * targets, and SSD images with damage, all from a seeded generator, so
 * that (seed, case index) gives the same case on every run and machine.
 * Used by hims-fuzz (in the VM, through libdevmapper) and by fuzz-tools
 * (userspace, himsctl probe/assemble and hims-check on image files).
 */
#ifndef HIMS_FUZZ_GEN_H
#define HIMS_FUZZ_GEN_H

#include "purec.h"
#include "dm-hims/hims-format.h"

/* Which cases a driver runs: --seed S --first I --cases N. */
struct fz_run {
	u64 seed, first, cases;
};

/* Takes getopt's 's', 'f' and 'n' (those three); false for any other. */
bool fz_run_option(struct fz_run *run, int c, const char *arg);

/* splitmix64: tiny, and good enough to pick mutations. */
struct fz_rng {
	u64 s;
};

/* The generator of case @index of run @seed. */
void fz_rng_case(struct fz_rng *r, u64 seed, u64 index, u32 stream);
u64 fz_next(struct fz_rng *r);
/* A number in [0, n); n > 0. */
u64 fz_below(struct fz_rng *r, u64 n);
/* true with probability pct / 100. */
bool fz_chance(struct fz_rng *r, u32 pct);

/* A table: its length (sectors), target type and parameter string. */
#define FZ_PARAMS	1024
struct fz_table {
	u64 len;
	char type[16];
	char params[FZ_PARAMS];
	char what[96];		/* the mutations made, for the report */
	int expect;		/* FZ_ANY, FZ_REFUSE or FZ_ACCEPT */
};

enum { FZ_ANY, FZ_REFUSE, FZ_ACCEPT };

/* What the devices in the guest are (filled in by hims-fuzz). */
struct fz_env {
	const char *ram;	/* a brd device, zeroed */
	u64 ram_blocks;		/* its size in 4 KiB blocks */
	const char *ram2;	/* another RAM device, for the dedup base */
	const char *ssd;	/* holds a superblock of base_ram/base_tier */
	u64 base_ram, base_tier;
	const char *dssd;	/* holds a dedup superblock */
	u64 dbase_ram, dbase_dedup, dbase_tier;
	const char *blank;	/* zeroes: a table may format it */
	u64 blank_blocks;
	const char *small;	/* a device too small for anything */
	const char *fb_dev;	/* what feedbac tables sit on */
	u64 fb_sectors;
};

/* Case @index of table fuzzing: a mutated valid table or a random one. */
void fz_gen_table(struct fz_rng *r, const struct fz_env *env, struct fz_table *t);

/* A message for a hims (@feedbac false) or feedbac device. */
#define FZ_MSG	256
struct fz_msg {
	char text[FZ_MSG];
	bool valid;		/* must succeed; else must be refused */
};

/* The cgroups a feedbac message may name, and whether each has a weight. */
#define FZ_CGROUPS	3
extern const char *const fz_cgroups[FZ_CGROUPS];	/* "/" first */
void fz_gen_message(struct fz_rng *r, bool feedbac, bool has_weight[FZ_CGROUPS],
		    struct fz_msg *m);

/*
 * An SSD image: a valid one (superblock, hints, bitmap; with dedup the
 * records and the metadata of a few commits) and its geometry.  The RAM
 * header a table over it would find is in @ram_header.
 */
struct fz_image {
	u8 *data;
	u64 blocks;		/* the image's size */
	u64 size;		/* bytes to give the file: a truncation cuts it */
	struct hims_geometry geo;
	struct hims_dedup_config cfg;
	u8 uuid[HIMS_UUID_SIZE];
	u8 ram_header[HIMS_BLOCK_SIZE];
	bool ram_header_set;
	char what[128];		/* the damage done, for the report */
	u64 touched[16];	/* blocks the damage changed (not the RAM header) */
	u32 nr_touched;
};

/*
 * A valid image of @geo's geometry (dedup if @dedup_blocks) with @uuid;
 * @populate: with dedup, write blocks and commit a few times.  0 or -1.
 */
int fz_image_build(struct fz_image *img, u64 ram_blocks, u64 dedup_blocks,
		   u64 ssd_tier, const u8 uuid[HIMS_UUID_SIZE], struct fz_rng *r,
		   bool populate);
/* A random small geometry, then fz_image_build(). */
int fz_image_random(struct fz_image *img, struct fz_rng *r);
void fz_image_free(struct fz_image *img);
/*
 * Damages the image: bit flips, a truncation (@may_truncate), or valid
 * checksums over nonsense, in the superblock, hints, bitmap, dedup records
 * or slots; and sometimes the RAM header (@ram_header).
 */
void fz_damage(struct fz_image *img, struct fz_rng *r, bool may_truncate,
	       bool ram_header);

/* A 64-bit checksum of @len bytes (FNV-1a over 8-byte words). */
u64 fz_sum(const void *data, size_t len);

#endif /* HIMS_FUZZ_GEN_H */
