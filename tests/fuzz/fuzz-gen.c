// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's generator: see fuzz-gen.h and tests/fuzz/README.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/fuzz/fuzz-gen.h"
#include "dm-hims/hims-dedup.h"
#include "tools/lib/hims-hints.h"

#define BS		HIMS_BLOCK_SIZE
#define MAX_WORDS	48
#define WORD		64

bool fz_run_option(struct fz_run *run, int c, const char *arg)
{
	u64 v;

	if (c != 's' && c != 'f' && c != 'n')
		return false;	/* another option: @arg may be NULL */
	v = strtoull(arg, NULL, 0);
	if (c == 's')
		run->seed = v;
	else if (c == 'f')
		run->first = v;
	else if (c == 'n')
		run->cases = v;
	return true;
}

void fz_rng_case(struct fz_rng *r, u64 seed, u64 index, u32 stream)
{
	r->s = seed * 0x9e3779b97f4a7c15ULL ^ (index + 1) * 0xbf58476d1ce4e5b9ULL ^
	       (u64)stream << 56;
	fz_next(r);
}

u64 fz_next(struct fz_rng *r)
{
	u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

u64 fz_below(struct fz_rng *r, u64 n)
{
	return fz_next(r) % n;
}

bool fz_chance(struct fz_rng *r, u32 pct)
{
	return fz_below(r, 100) < pct;
}

u64 fz_sum(const void *data, size_t len)
{
	const u8 *p = data;
	u64 h = 0xcbf29ce484222325ULL, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Numbers a parser must refuse, or take at its edges. */
static const char *const odd_numbers[] = {
	"0", "1", "-1", "-0", "+5", "007", "0x10", "1e3", "12abc", "abc", "",
	"4294967295", "4294967296", "2147483647", "2147483648", "1073741824",
	"1073741825", "9223372036854775807", "9223372036854775808",
	"18446744073709551615", "18446744073709551616",
	"99999999999999999999999999", "-18446744073709551615", "0.5", "1,000",
};

/* A weird number, or one near @near. */
static void odd_number(struct fz_rng *r, u64 near, char *buf)
{
	switch (fz_below(r, 6)) {
	case 0:
		snprintf(buf, WORD, "%llu", (unsigned long long)(near + fz_below(r, 5) - 2));
		break;
	case 1:
		snprintf(buf, WORD, "%llu", (unsigned long long)(near * (2 + fz_below(r, 1000))));
		break;
	case 2:
		snprintf(buf, WORD, "%llu", (unsigned long long)fz_next(r));
		break;
	case 3:
		snprintf(buf, WORD, "%llu", (unsigned long long)(1ULL << fz_below(r, 64)));
		break;
	default:
		snprintf(buf, WORD, "%s", odd_numbers[fz_below(r, ARRAY_SIZE(odd_numbers))]);
	}
}

static const char *const hims_names[] = {
	"ram_blocks", "dedup", "index_entries", "high_watermark", "low_watermark",
	"writeback_jobs", "max_age", "format",
};

static const char *const feedbac_names[] = {
	"period_ms", "cost", "io_cost", "write_pct", "alpha", "alpha_min",
	"alpha_max", "carry_pct", "min_credit",
};

static const char *const junk_words[] = {
	"sync", "async", "format", "dedup", "RAM_BLOCKS", "Format", "bytes", "ios",
	"mixed", "-", "--", "#", "0", "/", "/dev/null", "none", "writeback",
	"high_watermark=5", "ram_blocks:1", "\t", "x", "hims", "feedbac",
};

struct words {
	char w[MAX_WORDS][WORD];
	int n;
	int count_at;		/* the <#opt_args> word, -1: none */
};

static void add(struct words *ws, const char *fmt, unsigned long long v)
{
	if (ws->n < MAX_WORDS)
		snprintf(ws->w[ws->n++], WORD, fmt, v);
}

static void add_s(struct words *ws, const char *s)
{
	if (ws->n < MAX_WORDS)
		snprintf(ws->w[ws->n++], WORD, "%s", s);
}

static void insert_at(struct words *ws, int at, const char *s)
{
	if (ws->n >= MAX_WORDS || at > ws->n)
		return;
	memmove(ws->w[at + 1], ws->w[at], (size_t)(ws->n - at) * WORD);
	snprintf(ws->w[at], WORD, "%s", s);
	ws->n++;
	if (ws->count_at >= at)
		ws->count_at++;
}

static void delete_at(struct words *ws, int at)
{
	if (at >= ws->n)
		return;
	memmove(ws->w[at], ws->w[at + 1], (size_t)(ws->n - at - 1) * WORD);
	ws->n--;
	if (ws->count_at == at)
		ws->count_at = -1;
	else if (ws->count_at > at)
		ws->count_at--;
}

/* Keep <#opt_args> right after an edit, most of the time. */
static void recount(struct fz_rng *r, struct words *ws)
{
	if (ws->count_at >= 0 && fz_chance(r, 80))
		snprintf(ws->w[ws->count_at], WORD, "%d", ws->n - ws->count_at - 1);
}

static void note(struct fz_table *t, const char *what)
{
	size_t l = strlen(t->what);

	snprintf(t->what + l, sizeof(t->what) - l, "%s%s", l ? "," : "", what);
}

/* A valid table: over the plain SSD, the dedup SSD or for feedbac. */
static void base_table(struct fz_rng *r, const struct fz_env *env, struct fz_table *t,
		       struct words *ws, int kind)
{
	u64 h;

	ws->n = 0;
	ws->count_at = -1;
	if (kind == 2) {
		snprintf(t->type, sizeof(t->type), "feedbac");
		t->len = env->fb_sectors;
		add_s(ws, env->fb_dev);
		if (fz_chance(r, 30))
			return;
		ws->count_at = ws->n;
		add_s(ws, "0");
		if (fz_chance(r, 50)) {
			add_s(ws, "period_ms");
			add(ws, "%llu", 10 + fz_below(r, 10000 - 9));
		}
		if (fz_chance(r, 50)) {
			add_s(ws, "cost");
			add_s(ws, fz_chance(r, 50) ? "bytes" : "IOS");
		}
		if (fz_chance(r, 30)) {
			add_s(ws, "alpha");
			add(ws, "%llu", 100 + fz_below(r, 701));
		}
		if (fz_chance(r, 30)) {
			add_s(ws, "min_credit");
			add(ws, "%llu", 1 + fz_below(r, 1 << 30));
		}
		snprintf(ws->w[ws->count_at], WORD, "%d", ws->n - ws->count_at - 1);
		return;
	}
	snprintf(t->type, sizeof(t->type), "hims");
	if (kind == 1) {
		t->len = (env->dbase_dedup + env->dbase_tier) * HIMS_SECTORS_PER_BLOCK;
		add_s(ws, env->ram2);
		add_s(ws, env->dssd);
	} else {
		t->len = (env->base_ram + env->base_tier) * HIMS_SECTORS_PER_BLOCK;
		add_s(ws, env->ram);
		add_s(ws, env->ssd);
	}
	add_s(ws, fz_chance(r, 50) ? "sync" : "async");
	ws->count_at = ws->n;
	add_s(ws, "0");
	add_s(ws, "ram_blocks");
	add(ws, "%llu", kind == 1 ? env->dbase_ram : env->base_ram);
	if (kind == 1) {
		add_s(ws, "dedup");
		add(ws, "%llu", env->dbase_dedup);
		if (fz_chance(r, 30)) {
			add_s(ws, "index_entries");
			add(ws, "%llu", 8ULL << fz_below(r, 8));
		}
	}
	if (fz_chance(r, 40)) {
		h = fz_below(r, 101);
		add_s(ws, "high_watermark");
		add(ws, "%llu", h);
		add_s(ws, "low_watermark");
		add(ws, "%llu", fz_below(r, h + 1));
	}
	if (fz_chance(r, 30)) {
		add_s(ws, "writeback_jobs");
		add(ws, "%llu", 1 + fz_below(r, 1024));
	}
	if (fz_chance(r, 30)) {
		add_s(ws, "max_age");
		add(ws, "%llu", 1 + fz_below(r, 86400000));
	}
	snprintf(ws->w[ws->count_at], WORD, "%d", ws->n - ws->count_at - 1);
}

/* A device argument: another device, a missing one, or nonsense. */
static const char *other_device(struct fz_rng *r, const struct fz_env *env)
{
	static const char *const bad[] = {
		"/dev/nonexistent", "253:999", "0:0", "-1:3", "1:99999999", "/", "/dev",
		"/dev/null", "4294967296:0", "/dev/mapper/control",
	};
	const char *const devs[] = {
		env->ram, env->ram2, env->ssd, env->dssd, env->blank, env->small,
		env->fb_dev,
	};

	if (fz_chance(r, 25))
		return bad[fz_below(r, ARRAY_SIZE(bad))];
	return devs[fz_below(r, ARRAY_SIZE(devs))];
}

/* Returns whether the table must now be refused, whatever else it holds. */
static bool mutate(struct fz_rng *r, const struct fz_env *env, struct fz_table *t,
		   struct words *ws, bool feedbac)
{
	bool refuse = false;

	char buf[WORD];
	int at, first_opt = ws->count_at >= 0 ? ws->count_at + 1 : ws->n;
	int devs = feedbac ? 1 : 2;

	switch (fz_below(r, 15)) {
	case 0:	/* a number gone wrong */
		for (at = first_opt; at < ws->n; at++) {
			if (ws->w[at][0] >= '0' && ws->w[at][0] <= '9' && fz_chance(r, 50)) {
				odd_number(r, strtoull(ws->w[at], NULL, 10), ws->w[at]);
				break;
			}
		}
		note(t, "number");
		break;
	case 1:	/* an unknown option, or the other target's */
		snprintf(buf, WORD, "%s", fz_chance(r, 50) ?
			 (feedbac ? hims_names : feedbac_names)[fz_below(r, 7)] : "colour");
		insert_at(ws, ws->n, buf);
		if (fz_chance(r, 70))
			insert_at(ws, ws->n, "1");
		recount(r, ws);
		note(t, "unknown-option");
		refuse = true;
		break;
	case 2:	/* an option twice, maybe with another value */
		if (first_opt + 1 < ws->n) {
			at = first_opt + 2 * (int)fz_below(r, (u64)(ws->n - first_opt) / 2);
			snprintf(buf, WORD, "%s", ws->w[at]);
			insert_at(ws, ws->n, buf);
			if (at + 1 < ws->n) {
				snprintf(buf, WORD, "%s", ws->w[at + 1]);
				if (fz_chance(r, 50))
					odd_number(r, strtoull(buf, NULL, 10), buf);
				insert_at(ws, ws->n, buf);
			}
			recount(r, ws);
		}
		note(t, "duplicate");
		break;
	case 3:	/* a wrong count */
		if (ws->count_at >= 0) {
			if (fz_chance(r, 50))
				snprintf(ws->w[ws->count_at], WORD, "%lld",
					 strtoll(ws->w[ws->count_at], NULL, 10) +
					 (long long)fz_below(r, 7) - 3);
			else
				odd_number(r, 2, ws->w[ws->count_at]);
		} else {
			insert_at(ws, ws->n, "3");
		}
		note(t, "count");
		break;
	case 4:	/* a word missing (an earlier mutation may have left none) */
		if (ws->n)
			delete_at(ws, (int)fz_below(r, (u64)ws->n));
		note(t, "missing-word");
		break;
	case 5:	/* a word too many */
		insert_at(ws, (int)fz_below(r, (u64)ws->n + 1),
			  junk_words[fz_below(r, ARRAY_SIZE(junk_words))]);
		note(t, "extra-word");
		break;
	case 6:	/* the mode */
		if (!feedbac && ws->n > 2) {
			static const char *const modes[] = {
				"SYNC", "Async", "sync2", "-", "writeback", "0", "asyncc",
			};
			snprintf(ws->w[2], WORD, "%s", modes[fz_below(r, ARRAY_SIZE(modes))]);
		}
		note(t, "mode");
		break;
	case 7:	/* a device: another one, the same twice, missing, too small */
		at = (int)fz_below(r, (u64)devs);
		if (at < ws->n)
			snprintf(ws->w[at], WORD, "%s", other_device(r, env));
		note(t, "device");
		break;
	case 8:	/* the same device twice */
		if (!feedbac && ws->n > 1)
			snprintf(ws->w[0], WORD, "%s", ws->w[1]);
		note(t, "same-device");
		refuse = !feedbac;
		break;
	case 9:	/* a hims SSD as the RAM device, over a blank SSD */
		if (!feedbac && ws->n > 1) {
			snprintf(ws->w[0], WORD, "%s", fz_chance(r, 50) ? env->ssd : env->dssd);
			snprintf(ws->w[1], WORD, "%s", env->blank);
		}
		note(t, "ssd-as-ram");
		refuse = !feedbac;
		break;
	case 10:	/* the length */
		switch (fz_below(r, 6)) {
		case 0:
			t->len += HIMS_SECTORS_PER_BLOCK;
			break;
		case 1:
			t->len = t->len > 8 ? t->len - HIMS_SECTORS_PER_BLOCK : 1;
			break;
		case 2:
			t->len += 1 + fz_below(r, 7);
			break;
		case 3:
			t->len = fz_next(r) >> fz_below(r, 64);
			break;
		case 4:
			t->len = (1ULL << 63) - 8;
			break;
		default:
			t->len *= 2 + fz_below(r, 100);
		}
		if (!t->len)
			t->len = 8;
		note(t, "length");
		break;
	case 11:	/* format (a refused one must still not write) */
		if (!feedbac && ws->count_at >= 0) {
			insert_at(ws, ws->n, "format");
			if (fz_chance(r, 20))
				insert_at(ws, ws->n, "1");
			recount(r, ws);
		}
		note(t, "format");
		break;
	case 12:	/* a value missing at the end */
		if (ws->n > first_opt)
			delete_at(ws, ws->n - 1);
		note(t, "no-value");
		break;
	case 13:	/* big allocations in range */
		if (!feedbac && ws->count_at >= 0) {
			static const char *const big[] = {
				"index_entries", "1073741824", "writeback_jobs", "1024",
				"dedup", "2147483632", "ram_blocks", "2147483647",
			};
			at = 2 * (int)fz_below(r, 4);
			insert_at(ws, ws->n, big[at]);
			insert_at(ws, ws->n, big[at + 1]);
			recount(r, ws);
		}
		note(t, "big");
		break;
	default:	/* the other target's type */
		snprintf(t->type, sizeof(t->type), "%s", feedbac ? "hims" : "feedbac");
		note(t, "type");
	}
	return refuse;
}

void fz_gen_table(struct fz_rng *r, const struct fz_env *env, struct fz_table *t)
{
	struct words ws;
	int kind = (int)fz_below(r, 10), i, n, l;
	bool feedbac;

	memset(t, 0, sizeof(*t));
	kind = kind < 5 ? 0 : kind < 8 ? 1 : 2;
	feedbac = kind == 2;
	base_table(r, env, t, &ws, kind);
	if (fz_chance(r, 8)) {
		/* Entirely random words. */
		ws.n = 0;
		ws.count_at = -1;
		for (n = (int)fz_below(r, 12); n; n--) {
			char buf[WORD];

			if (fz_chance(r, 40))
				odd_number(r, 100, buf);
			else
				snprintf(buf, WORD, "%s", fz_chance(r, 30) ? other_device(r, env) :
					 junk_words[fz_below(r, ARRAY_SIZE(junk_words))]);
			add_s(&ws, buf);
		}
		note(t, "random");
	} else if (!fz_chance(r, 10)) {
		/* One mutation that makes a table invalid: it must be refused. */
		n = 1 + (int)fz_below(r, 3);
		if (mutate(r, env, t, &ws, feedbac) && n == 1)
			t->expect = FZ_REFUSE;
		while (--n)
			mutate(r, env, t, &ws, feedbac);
	} else {
		note(t, "valid");
		t->expect = FZ_ACCEPT;
	}
	for (i = 0, l = 0; i < ws.n && l < FZ_PARAMS - 1; i++)
		l += snprintf(t->params + l, FZ_PARAMS - l, "%s%s", i ? " " : "", ws.w[i]);
}

const char *const fz_cgroups[FZ_CGROUPS] = { "/", "/fz1", "/fz2" };

/* What kstrtouint(s, 10) accepts, and its value. */
static bool kstrtou32_ok(const char *s, u32 *v)
{
	u64 x = 0;

	if (*s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		x = x * 10 + (u64)(*s - '0');
		if (x > 0xffffffffULL)
			return false;
	}
	*v = (u32)x;
	return true;
}

static const char *const hims_verbs[] = {
	"flush", "pause_writeback", "resume_writeback", "clear_stats", "mode",
};

void fz_gen_message(struct fz_rng *r, bool feedbac, bool has_weight[FZ_CGROUPS],
		    struct fz_msg *m)
{
	static const char *const bad_cg[] = {
		"/nonexistent", "fz1", "999999999", "18446744073709551615", "-1", "abc",
		"/fz1/../fz2", "/fz1/x",
	};
	char a[WORD], b[WORD];
	const char *verb;
	int cg = -1, extra = 0;
	u32 w;

	memset(m, 0, sizeof(*m));
	if (fz_chance(r, 5)) {
		/* A word that is no verb. */
		odd_number(r, 1, a);
		snprintf(m->text, FZ_MSG, "%s %s", fz_chance(r, 50) ? "resume" : "FLUSHX", a);
		return;
	}
	if (!feedbac) {
		verb = hims_verbs[fz_below(r, ARRAY_SIZE(hims_verbs))];
		if (fz_chance(r, 40))
			extra = 1 + (int)fz_below(r, 2);
		if (!strcmp(verb, "mode")) {
			static const char *const modes[] = {
				"sync", "async", "SYNC", "Async", "syn", "", "writeback", "0",
			};
			int i = (int)fz_below(r, ARRAY_SIZE(modes));

			snprintf(m->text, FZ_MSG, "%s%s%s", fz_chance(r, 10) ? "MODE" : verb,
				 i == 5 && !extra ? "" : " ", modes[i]);
			m->valid = i < 4 && !extra;
		} else {
			snprintf(m->text, FZ_MSG, "%s", verb);
			m->valid = !extra;
		}
		while (extra--) {
			odd_number(r, 1, a);
			snprintf(m->text + strlen(m->text), FZ_MSG - strlen(m->text), " %s",
				 a[0] ? a : "x");
		}
		return;
	}
	switch (fz_below(r, 4)) {
	case 0:
	case 1:	/* weight <cg> <w> */
		if (fz_chance(r, 70)) {
			cg = (int)fz_below(r, FZ_CGROUPS);
			snprintf(a, WORD, "%s", fz_cgroups[cg]);
		} else {
			snprintf(a, WORD, "%s", bad_cg[fz_below(r, ARRAY_SIZE(bad_cg))]);
		}
		if (fz_chance(r, 50))
			snprintf(b, WORD, "%llu", (unsigned long long)(1 + fz_below(r, 10000)));
		else
			odd_number(r, 10000, b);
		if (!b[0])
			snprintf(b, WORD, "-");
		extra = fz_chance(r, 15);
		snprintf(m->text, FZ_MSG, "weight %s %s%s", a, b, extra ? " 5" : "");
		m->valid = cg >= 0 && !extra && kstrtou32_ok(b, &w) && w >= 1 && w <= 10000;
		if (m->valid && cg > 0)
			has_weight[cg] = true;
		break;
	case 2:	/* clear_weight <cg> */
		if (fz_chance(r, 70)) {
			cg = (int)fz_below(r, FZ_CGROUPS);
			snprintf(a, WORD, "%s", fz_cgroups[cg]);
		} else {
			snprintf(a, WORD, "%s", bad_cg[fz_below(r, ARRAY_SIZE(bad_cg))]);
		}
		extra = fz_chance(r, 15);
		snprintf(m->text, FZ_MSG, "clear_weight %s%s", a, extra ? " 1" : "");
		m->valid = cg >= 0 && !extra && (cg == 0 || has_weight[cg]);
		if (m->valid && cg > 0)
			has_weight[cg] = false;
		break;
	default:	/* clear_stats */
		extra = fz_chance(r, 30);
		snprintf(m->text, FZ_MSG, "%s%s", fz_chance(r, 20) ? "Clear_Stats" : "clear_stats",
			 extra ? " now" : "");
		m->valid = !extra;
	}
}

/* Images: a valid SSD, then damage. */

static u8 *blk(struct fz_image *img, u64 block)
{
	return img->data + block * BS;
}

/* Dedup commit record @slot, and slot @slot of metadata block @m. */
static u64 record_nr(const struct fz_image *img, u32 slot)
{
	return hims_sblock_nr(hims_dedup_record_block(&img->geo, slot));
}

static u64 meta_nr(const struct fz_image *img, u32 m, u32 slot)
{
	return hims_sblock_nr(hims_dedup_meta_block(&img->geo, m, slot));
}

static u64 dedup_fmt(const struct fz_image *img)
{
	return hims_dedup_fmt_id(img->uuid);
}

struct fill_ctx {
	u32 *content;
	u32 id;
};

static bool same_content(void *ctx, u32 phys)
{
	struct fill_ctx *c = ctx;

	return c->content[phys] == c->id;
}

/* The dedup core's commit protocol, as hims-check's unit test runs it. */
static void commit(struct fz_image *img, struct hims_dedup *s)
{
	u64 epoch;
	u32 m;

	if (hims_dedup_commit_begin(s, &epoch))
		return;
	for (m = hims_dedup_commit_next(s, 0); m != HIMS_DEDUP_NONE;
	     m = hims_dedup_commit_next(s, m + 1))
		hims_dedup_meta_encode_state(s, m, epoch, dedup_fmt(img),
					     blk(img, meta_nr(img, m,
							      hims_dedup_meta_write_slot(s, m))));
	hims_dedup_record_encode(blk(img, record_nr(img, hims_dedup_record_slot(s))),
				 &img->cfg, epoch, dedup_fmt(img));
	hims_dedup_commit_end(s, epoch, true);
}

static int populate(struct fz_image *img, struct fz_rng *r)
{
	struct hims_dedup_result res;
	struct fill_ctx c;
	struct hims_dedup s;
	u32 *content, n, l, tries;
	void *mem;
	int rounds;

	img->cfg.index_entries = 64;
	mem = calloc(1, hims_dedup_mem_bytes(&img->cfg));
	content = calloc(img->cfg.nr_phys, sizeof(u32));
	if (!mem || !content || hims_dedup_init(&s, &img->cfg, mem)) {
		free(mem);
		free(content);
		return -1;
	}
	c.content = content;
	for (rounds = 1 + (int)fz_below(r, 3); rounds; rounds--) {
		for (n = (u32)fz_below(r, 64); n; n--) {
			l = (u32)fz_below(r, img->cfg.nr_logical);
			if (fz_chance(r, 10)) {
				hims_dedup_discard(&s, l, &res);
				continue;
			}
			c.id = (u32)fz_below(r, 20);
			for (tries = 0; tries < 3; tries++) {
				hims_dedup_write(&s, l, 0x9e3779b97f4a7c15ULL * c.id, !c.id,
						 same_content, &c, &res);
				if (res.action != HIMS_DEDUP_NEED_COMMIT)
					break;
				commit(img, &s);
			}
			if (res.action == HIMS_DEDUP_WRITE)
				content[res.target] = c.id;
			if (res.action == HIMS_DEDUP_WRITE || res.action == HIMS_DEDUP_SPILL)
				hims_dedup_write_done(&s, &res);
		}
		commit(img, &s);
	}
	free(mem);
	free(content);
	return 0;
}

int fz_image_build(struct fz_image *img, u64 ram_blocks, u64 dedup_blocks,
		   u64 ssd_tier, const u8 uuid[HIMS_UUID_SIZE], struct fz_rng *r,
		   bool fill)
{
	struct hims_hints h;
	u64 b, i;
	int ret;

	memset(img, 0, sizeof(*img));
	memcpy(img->uuid, uuid, HIMS_UUID_SIZE);
	if (dedup_blocks)
		ret = hims_geometry_init_dedup(&img->geo, ram_blocks, dedup_blocks,
					       hims_dedup_spill_min(dedup_blocks, ram_blocks),
					       ssd_tier);
	else
		ret = hims_geometry_init(&img->geo, ram_blocks, ssd_tier);
	if (ret)
		return -1;
	img->blocks = img->geo.ssd_min_blocks;
	img->size = img->blocks * BS;
	/* Fresh zero pages: most of an image is never touched. */
	img->data = mmap(NULL, img->blocks * BS, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (img->data == MAP_FAILED) {
		img->data = NULL;
		return -1;
	}
	hims_sb_encode(img->data, &img->geo, uuid);
	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "fz%llu", (unsigned long long)fz_below(r, 1000));
	snprintf(h.ram, sizeof(h.ram), "%s", fz_chance(r, 50) ? "brd" : "zram");
	h.ram_size = (ram_blocks + 1) * BS;
	h.sync = fz_chance(r, 50);
	h.ram_blocks = ram_blocks;
	h.len = (hims_boundary(&img->geo) + ssd_tier) * HIMS_SECTORS_PER_BLOCK;
	if (dedup_blocks)
		snprintf(h.options, sizeof(h.options), "dedup %llu",
			 (unsigned long long)dedup_blocks);
	if (hims_hints_encode(img->data + HIMS_HINTS_OFFSET, &h))
		return -1;
	if (!dedup_blocks) {
		/* Some blocks ever written. */
		for (i = fz_below(r, 64); i; i--) {
			b = fz_below(r, ram_blocks);
			blk(img, img->geo.bitmap_start)[b / 8 % BS] |= 1 << (b % 8);
		}
		return 0;
	}
	img->cfg.nr_logical = dedup_blocks;
	img->cfg.nr_phys = ram_blocks;
	img->cfg.nr_spill = img->geo.spill_blocks;
	img->cfg.index_entries = 64;
	hims_dedup_record_encode(blk(img, record_nr(img, HIMS_DEDUP_FORMAT_SLOT)),
				 &img->cfg, 0, dedup_fmt(img));
	return fill ? populate(img, r) : 0;
}

int fz_image_random(struct fz_image *img, struct fz_rng *r)
{
	u8 uuid[HIMS_UUID_SIZE];
	u64 ram = 1 + fz_below(r, fz_chance(r, 80) ? 64 : 1100), dedup = 0;
	u32 i;

	for (i = 0; i < HIMS_UUID_SIZE; i++)
		uuid[i] = (u8)fz_next(r);
	if (fz_chance(r, 50))
		dedup = ram + fz_below(r, fz_chance(r, 80) ? 64 : 2100);
	return fz_image_build(img, ram, dedup, fz_below(r, 64), uuid, r, true);
}

void fz_image_free(struct fz_image *img)
{
	if (img->data)
		munmap(img->data, img->blocks * BS);
	img->data = NULL;
}

static void touched(struct fz_image *img, u64 block)
{
	u32 i;

	for (i = 0; i < img->nr_touched; i++)
		if (img->touched[i] == block)
			return;
	if (img->nr_touched < ARRAY_SIZE(img->touched))
		img->touched[img->nr_touched++] = block;
}

static void say(struct fz_image *img, const char *what)
{
	size_t l = strlen(img->what);

	snprintf(img->what + l, sizeof(img->what) - l, "%s%s", l ? "," : "", what);
}

/* 1 to 4 distinct bits: the same bit twice would undo itself. */
static void flip(struct fz_rng *r, u8 *p, u32 bytes)
{
	u32 n = 1 + (u32)fz_below(r, 4), bits[4], i, j;

	for (i = 0; i < n; i++) {
		do {
			bits[i] = (u32)fz_below(r, bytes * 8ULL);
			for (j = 0; j < i && bits[j] != bits[i]; j++)
				;
		} while (j < i);
		p[bits[i] / 8] ^= (u8)(1 << (bits[i] % 8));
	}
}

/* A value at an edge: zero, one, all ones, a power of two or random. */
static u64 edge(struct fz_rng *r, u64 near)
{
	switch (fz_below(r, 7)) {
	case 0:
		return 0;
	case 1:
		return ~0ULL >> fz_below(r, 64);
	case 2:
		return 1ULL << fz_below(r, 64);
	case 3:
		return near + fz_below(r, 5) - 2;
	case 4:
		return near * 2 + 1;
	case 5:
		return fz_below(r, 1 + near * 2);
	default:
		return fz_next(r);
	}
}

/* Checksum the structure again, its checksum field at @csum. */
static void reseal(void *p, size_t len, size_t csum)
{
	__le32 zero = 0, c;

	memcpy((u8 *)p + csum, &zero, 4);
	c = cpu_to_le32(hims_crc32c(0, p, len));
	memcpy((u8 *)p + csum, &c, 4);
}

static void sb_nonsense(struct fz_image *img, struct fz_rng *r)
{
	struct hims_superblock *sb = (void *)img->data;
	/* The eight u64 fields, ram_blocks to spill_blocks. */
	u8 *f = img->data + offsetof(struct hims_superblock, ram_blocks);
	int i, n = 1 + (int)fz_below(r, 3);
	__le64 v;

	while (n--) {
		i = (int)fz_below(r, 10);
		if (i < 8) {
			memcpy(&v, f + 8 * i, 8);
			v = cpu_to_le64(edge(r, le64_to_cpu(v)));
			memcpy(f + 8 * i, &v, 8);
		} else if (i == 8) {
			sb->version = cpu_to_le32((u32)edge(r, 1));
		} else {
			sb->block_size = cpu_to_le32((u32)edge(r, BS));
		}
	}
	reseal(sb, sizeof(*sb), offsetof(struct hims_superblock, checksum));
	touched(img, 0);
	say(img, "sb-nonsense");
}

static void hints_nonsense(struct fz_image *img, struct fz_rng *r)
{
	static const char *const keys[] = {
		"name", "ram", "ram_size", "mode", "ram_blocks", "len", "options", "x",
	};
	static const char *const vals[] = {
		"", "brd", "zram", "/dev/vdb", "sync", "async", "0", "1", "-1",
		"18446744073709551615", "18446744073709551616", "dedup 4294967296",
		"dedup", "a b c", "../x", "fz", "format", "ram_blocks 5",
		"99999999999999999999", "/dev/mapper/x", "\x01", "'", "$(reboot)",
	};
	u8 *area = img->data + HIMS_HINTS_OFFSET;
	char *text = (char *)area + HIMS_HINTS_HEADER;
	u32 room = HIMS_HINTS_SIZE - HIMS_HINTS_HEADER, len = 0;
	int n;

	memset(text, 0, room);
	for (n = (int)fz_below(r, 10); n; n--) {
		char num[WORD];
		const char *v = vals[fz_below(r, ARRAY_SIZE(vals))];

		if (fz_chance(r, 30)) {
			snprintf(num, WORD, "%llu", (unsigned long long)edge(r, 100));
			v = num;
		}
		len += (u32)snprintf(text + len, room - len, "%s%s%s%s",
				     keys[fz_below(r, ARRAY_SIZE(keys))],
				     fz_chance(r, 90) ? "=" : "", v,
				     fz_chance(r, 90) ? "\n" : "");
		if (len >= room - 1) {
			len = room - 1;
			break;
		}
	}
	if (fz_chance(r, 10)) {
		/* A long line, up to the end of the area. */
		memset(text + len, 'a', room - len);
		len = room;
	}
	hims_hints_frame(area, len);
	if (fz_chance(r, 25)) {
		/* A length past the area: a reader must not follow it. */
		struct hims_hints_hdr *hdr = (void *)area;

		hdr->len = cpu_to_le32((u32)edge(r, room));
	}
	touched(img, 0);
	say(img, "hints-nonsense");
}

static void record_nonsense(struct fz_image *img, struct fz_rng *r, u64 block)
{
	struct hims_dedup_record *rec = (void *)blk(img, block);
	int n = 1 + (int)fz_below(r, 3);

	if (le64_to_cpu(rec->magic) != HIMS_DEDUP_REC_MAGIC)
		hims_dedup_record_encode(rec, &img->cfg, 1, dedup_fmt(img));
	while (n--) {
		switch (fz_below(r, 7)) {
		case 0:
			rec->epoch = cpu_to_le64(edge(r, le64_to_cpu(rec->epoch)));
			break;
		case 1:
			rec->nr_logical = cpu_to_le32((u32)edge(r, img->cfg.nr_logical));
			break;
		case 2:
			rec->nr_phys = cpu_to_le32((u32)edge(r, img->cfg.nr_phys));
			break;
		case 3:
			rec->nr_spill = cpu_to_le32((u32)edge(r, img->cfg.nr_spill));
			break;
		case 4:
			rec->meta_entries = cpu_to_le32((u32)edge(r, HIMS_DEDUP_META_ENTRIES));
			break;
		case 5:
			rec->version = cpu_to_le32((u32)edge(r, 1));
			break;
		default:
			rec->fmt_id = cpu_to_le64(edge(r, dedup_fmt(img)));
		}
	}
	reseal(rec, sizeof(*rec), offsetof(struct hims_dedup_record, checksum));
	touched(img, block);
	say(img, "record-nonsense");
}

static void meta_nonsense(struct fz_image *img, struct fz_rng *r, u64 block)
{
	struct hims_dedup_meta_header *h = (void *)blk(img, block);
	__le32 *e = (__le32 *)(h + 1);
	u32 i, v, n = 1 + (u32)fz_below(r, 8);

	while (n--) {
		switch (fz_below(r, 8)) {
		case 0:
			h->epoch = cpu_to_le64(edge(r, le64_to_cpu(h->epoch)));
			break;
		case 1:
			h->kind = cpu_to_le32((u32)edge(r, 1));
			break;
		case 2:
			h->index = cpu_to_le32((u32)edge(r, 1));
			break;
		case 3:
			h->fmt_id = cpu_to_le64(edge(r, dedup_fmt(img)));
			break;
		default:
			i = (u32)fz_below(r, HIMS_DEDUP_META_ENTRIES);
			switch (fz_below(r, 5)) {
			case 0:
				v = HIMS_DEDUP_UNMAPPED;
				break;
			case 1:
				v = HIMS_DEDUP_ZERO;
				break;
			case 2:
				v = HIMS_DEDUP_SPILLED | (u32)fz_below(r, img->cfg.nr_spill + 3);
				break;
			case 3:
				v = (u32)fz_below(r, img->cfg.nr_phys + 3);
				break;
			default:
				v = (u32)fz_next(r);
			}
			e[i] = cpu_to_le32(v);
		}
	}
	h->magic = cpu_to_le32(HIMS_DEDUP_META_MAGIC);
	reseal(h, BS, offsetof(struct hims_dedup_meta_header, checksum));
	touched(img, block);
	say(img, "meta-nonsense");
}

/* A block of the metadata, other than the superblock. */
static u64 meta_area_block(struct fz_image *img, struct fz_rng *r)
{
	const struct hims_geometry *g = &img->geo;

	if (!g->dedup_blocks)
		return g->bitmap_start + fz_below(r, g->bitmap_blocks);
	if (fz_chance(r, 30))
		return record_nr(img, (u32)fz_below(r, 2));
	return meta_nr(img, (u32)fz_below(r, g->meta_blocks), (u32)fz_below(r, 2));
}

void fz_damage(struct fz_image *img, struct fz_rng *r, bool may_truncate, bool ram_header)
{
	const struct hims_geometry *g = &img->geo;
	int n = 1 + (int)fz_below(r, 2);
	u64 b;

	img->what[0] = 0;
	img->nr_touched = 0;
	if (ram_header && fz_chance(r, 20)) {
		/* A header for this SSD in any state, or garbled. */
		hims_ram_header_encode(img->ram_header, img->uuid,
				       fz_chance(r, 70) ? (u32)fz_below(r, 6) : (u32)fz_next(r));
		if (fz_chance(r, 30))
			flip(r, img->ram_header, sizeof(struct hims_ram_header));
		img->ram_header_set = true;
		say(img, "ram-header");
		if (fz_chance(r, 50))
			return;
	}
	while (n--) {
		switch (fz_below(r, may_truncate ? 10 : 9)) {
		case 0:
			flip(r, img->data, sizeof(struct hims_superblock));
			touched(img, 0);
			say(img, "sb-flip");
			break;
		case 1:
			sb_nonsense(img, r);
			break;
		case 2:
			flip(r, img->data + HIMS_HINTS_OFFSET, HIMS_HINTS_SIZE);
			touched(img, 0);
			say(img, "hints-flip");
			break;
		case 3:
			hints_nonsense(img, r);
			break;
		case 4:
		case 5:
			b = meta_area_block(img, r);
			flip(r, blk(img, b), fz_chance(r, 50) ? 64 : BS);
			touched(img, b);
			say(img, g->dedup_blocks ? "meta-flip" : "bitmap-flip");
			break;
		case 6:
			if (g->dedup_blocks) {
				record_nonsense(img, r, record_nr(img, (u32)fz_below(r, 2)));
			} else {
				b = g->bitmap_start + fz_below(r, g->bitmap_blocks);
				memset(blk(img, b), 0xff, BS);
				touched(img, b);
				say(img, "bitmap-ones");
			}
			break;
		case 7:
			if (g->dedup_blocks) {
				b = meta_nr(img, (u32)fz_below(r, g->meta_blocks),
					    (u32)fz_below(r, 2));
				meta_nonsense(img, r, b);
			} else {
				sb_nonsense(img, r);
			}
			break;
		case 8:	/* random bytes in a metadata block */
			b = meta_area_block(img, r);
			for (u32 i = 0; i < BS; i += 8) {
				u64 v = fz_next(r);

				memcpy(blk(img, b) + i, &v, 8);
			}
			touched(img, b);
			say(img, "random-block");
			break;
		default:	/* a truncation */
			img->size = fz_chance(r, 50) ? fz_below(r, img->blocks * BS) :
				fz_below(r, img->blocks) * BS;
			say(img, "truncated");
		}
	}
}
