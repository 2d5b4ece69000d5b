// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of dm-feedbac's credit and predictor maths (feedbac-credit.c):
 * the predictor on synthetic traces (constant, step change, ramp, noisy), the
 * cost model, the grant and its corrections, and whole-scheme runs against a
 * simulated device whose speed changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include "dm-feedbac/feedbac-credit.h"
#include "dm-feedbac/feedbac-options.h"

static int failures;

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("FAIL %s:%d: %s: ", __func__, __LINE__, #cond); \
			printf(__VA_ARGS__);				\
			printf("\n");					\
			failures++;					\
		}							\
	} while (0)

/* The module's defaults, from its option table: what a table without options gets. */
#define OPT_DEF(opt)	(feedbac_options[FEEDBAC_OPT_##opt].def)

static const struct fb_predictor_params default_params = {
	.alpha = OPT_DEF(ALPHA), .alpha_min = OPT_DEF(ALPHA_MIN),
	.alpha_max = OPT_DEF(ALPHA_MAX), .min_credit = OPT_DEF(MIN_CREDIT),
};

/* What each simulated I/O costs: a 4 KiB read (8 sectors + io_cost 8). */
#define SIM_COST	16

static u64 rel_error_pm(u64 predicted, u64 actual)
{
	u64 diff = predicted > actual ? predicted - actual : actual - predicted;

	return diff * 1000 / (actual ? actual : 1);
}

/* Deterministic noise: a 64-bit LCG. */
static u64 lcg_state = 12345;

static u32 lcg_next(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (u32)(lcg_state >> 33);
}

static void test_cost_model(void)
{
	struct fb_cost_params bytes = { FB_COST_BYTES, 8, 100 };
	struct fb_cost_params ios = { FB_COST_IOS, 8, 100 };
	struct fb_cost_params mixed = { FB_COST_MIXED, 8, 200 };
	struct fb_cost_params dflt = {
		OPT_DEF(COST), OPT_DEF(IO_COST), OPT_DEF(WRITE_PCT),
	};

	CHECK(fb_bio_cost(&bytes, 8, false, true) == 8, "4k read, bytes");
	CHECK(fb_bio_cost(&bytes, 0, false, false) == 1, "flush costs 1");
	CHECK(fb_bio_cost(&bytes, 2048, true, false) == 1, "discard moves no data");
	CHECK(fb_bio_cost(&ios, 2048, false, true) == 8, "1M read, ios");
	CHECK(fb_bio_cost(&ios, 8, true, true) == 8, "4k write, ios");
	CHECK(fb_bio_cost(&mixed, 8, false, true) == 16, "4k read, mixed");
	CHECK(fb_bio_cost(&mixed, 8, true, true) == 32, "4k write, mixed x2");
	CHECK(fb_bio_cost(&dflt, 8, false, true) == SIM_COST,
	      "the simulator's I/O is a 4k read at the defaults");
}

/* Run a trace through a predictor; return the mean error (permille) after warmup. */
static u64 run_trace(struct fb_predictor *pred, const u64 *trace, int len,
		     int warmup, u64 *max_err)
{
	u64 sum = 0, err;
	int i, n = 0;

	*max_err = 0;
	for (i = 0; i < len; i++) {
		u64 predicted = pred->prediction;

		if (pred->primed && i >= warmup) {
			err = rel_error_pm(predicted, trace[i]);
			sum += err;
			n++;
			if (err > *max_err)
				*max_err = err;
		}
		fb_predictor_update(pred, trace[i]);
	}
	return n ? sum / n : 0;
}

static void test_predictor_constant(void)
{
	struct fb_predictor pred;
	u64 trace[100], max_err, mean;
	int i;

	for (i = 0; i < 100; i++)
		trace[i] = 25000;
	fb_predictor_init(&pred, &default_params);
	CHECK(pred.prediction == default_params.min_credit,
	      "starts at min_credit, got %llu",
	      (unsigned long long)pred.prediction);
	mean = run_trace(&pred, trace, 100, 1, &max_err);
	CHECK(max_err <= 1, "constant trace predicted exactly, max error %llu pm",
	      (unsigned long long)max_err);
	CHECK(mean == 0, "mean error %llu", (unsigned long long)mean);
	CHECK(pred.last_actual == 25000, "last actual");
}

/* Periods until the prediction is within 10 % of target, or -1. */
static int settle(struct fb_predictor *pred, u64 target, int periods)
{
	int i;

	for (i = 0; i < periods; i++) {
		fb_predictor_update(pred, target);
		if (rel_error_pm(pred->prediction, target) < 100)
			return i + 1;
	}
	return -1;
}

static void test_predictor_step(void)
{
	struct fb_predictor pred;
	u32 alpha_before, shifts;
	int i, settled;

	fb_predictor_init(&pred, &default_params);
	for (i = 0; i < 40; i++)
		fb_predictor_update(&pred, 10000);

	/*
	 * A large step (the device got 3x faster): the first period is damped
	 * as a possible outlier, the level follows within a few.
	 */
	settled = settle(&pred, 30000, 40);
	CHECK(settled >= 2 && settled <= 4, "large step up settled after %d periods",
	      settled);
	for (i = 0; i < 30; i++)
		fb_predictor_update(&pred, 30000);
	CHECK(pred.prediction == 30000, "steady after step up: %llu",
	      (unsigned long long)pred.prediction);
	settled = settle(&pred, 5000, 40);
	CHECK(settled >= 2 && settled <= 4, "large step down settled after %d periods",
	      settled);

	/* A moderate step (+30 %): alpha rises, the smoothing follows. */
	for (i = 0; i < 30; i++)	/* 5000 -> 20000 */
		fb_predictor_update(&pred, 20000);
	shifts = pred.level_shifts;
	alpha_before = pred.alpha;
	fb_predictor_update(&pred, 26000);
	CHECK(pred.alpha > alpha_before, "alpha rises with the error: %u -> %u",
	      alpha_before, pred.alpha);
	settled = settle(&pred, 26000, 40);
	CHECK(settled >= 1 && settled <= 10, "moderate step settled after %d",
	      settled);
	for (i = 0; i < 30; i++)
		fb_predictor_update(&pred, 26000);
	CHECK(rel_error_pm(pred.prediction, 26000) < 20, "steady: %llu",
	      (unsigned long long)pred.prediction);
	/* Moderate step down (-25 %). */
	settled = settle(&pred, 19500, 40);
	CHECK(settled >= 1 && settled <= 10, "moderate step down settled after %d",
	      settled);
	CHECK(pred.level_shifts == shifts, "no level shift for moderate steps: %u",
	      pred.level_shifts - shifts);
}

/*
 * A steady device with a single far-off period every 20 (a stalled period,
 * a burst of cache hits): the periods around it stay predicted; the
 * smoothing is not restarted at the outlier.
 */
static void test_predictor_outliers(void)
{
	struct fb_predictor pred;
	u64 x, sum = 0, err;
	int i, n = 0;

	fb_predictor_init(&pred, &default_params);
	for (i = 0; i < 400; i++) {
		x = 20000;
		if (i % 20 == 10)
			x = i % 40 == 10 ? 2000 : 60000;
		if (i >= 20 && i % 20 != 10) {
			err = rel_error_pm(pred.prediction, x);
			sum += err;
			n++;
		}
		fb_predictor_update(&pred, x);
	}
	CHECK(pred.level_shifts == 0, "restarts at single outliers: %u",
	      pred.level_shifts);
	CHECK(sum / n < 50, "mean error %llu pm in the periods between outliers",
	      (unsigned long long)(sum / n));
}

static void test_predictor_ramp(void)
{
	struct fb_predictor pred;
	u64 trace[200], max_err, mean;
	int i;

	/* The device speeds up by 1 % of its start speed each period, then slows. */
	for (i = 0; i < 200; i++)
		trace[i] = i < 100 ? 20000 + 200 * i : 40000 - 150 * (i - 100);
	fb_predictor_init(&pred, &default_params);
	mean = run_trace(&pred, trace, 100, 15, &max_err);
	CHECK(max_err < 20, "linear ramp followed without lag: max %llu pm",
	      (unsigned long long)max_err);
	mean = run_trace(&pred, trace + 100, 100, 15, &max_err);
	CHECK(max_err < 30, "falling ramp followed: max %llu pm, mean %llu",
	      (unsigned long long)max_err, (unsigned long long)mean);
}

static void test_predictor_noisy(void)
{
	struct fb_predictor pred;
	u64 trace[400], max_err, mean, sum = 0;
	u32 alpha_sum = 0;
	int i;

	/* +-20 % uniform noise around 50000. */
	for (i = 0; i < 400; i++)
		trace[i] = 40000 + lcg_next() % 20001;
	fb_predictor_init(&pred, &default_params);
	for (i = 0; i < 50; i++)
		fb_predictor_update(&pred, trace[i]);
	for (i = 50; i < 400; i++) {
		sum += pred.prediction;
		fb_predictor_update(&pred, trace[i]);
		alpha_sum += pred.alpha;
	}
	CHECK(rel_error_pm(sum / 350, 50000) < 50, "unbiased under noise: mean %llu",
	      (unsigned long long)(sum / 350));
	CHECK(alpha_sum / 350 < 500, "alpha lowered under noise: mean %u",
	      alpha_sum / 350);
	fb_predictor_init(&pred, &default_params);
	mean = run_trace(&pred, trace, 400, 50, &max_err);
	/* Noise of +-20 % cannot be predicted; the error must stay in its order. */
	CHECK(mean < 200, "mean error %llu pm under +-20 %% noise",
	      (unsigned long long)mean);
	CHECK(max_err < 600, "max error %llu pm", (unsigned long long)max_err);
}

static void test_predictor_limits(void)
{
	struct fb_predictor pred;
	struct fb_predictor_params fixed = default_params;
	int i;

	fb_predictor_init(&pred, &default_params);
	fb_predictor_update(&pred, 0);
	CHECK(pred.prediction == default_params.min_credit, "floor is min_credit");
	for (i = 0; i < 20; i++)
		fb_predictor_update(&pred, ~0ULL);
	CHECK(pred.prediction <= FB_CREDIT_MAX, "capped");
	for (i = 0; i < 100; i++)
		fb_predictor_update(&pred, 0);
	CHECK(pred.prediction == default_params.min_credit,
	      "falls back to the floor: %llu",
	      (unsigned long long)pred.prediction);

	/* alpha_min == alpha_max: no adaptation. */
	fixed.alpha = 300;
	fixed.alpha_min = 300;
	fixed.alpha_max = 300;
	fb_predictor_init(&pred, &fixed);
	for (i = 0; i < 30; i++)
		fb_predictor_update(&pred, i & 1 ? 1000 : 90000);
	CHECK(pred.alpha == 300, "fixed alpha stays: %u", pred.alpha);
}

static void test_window(void)
{
	struct fb_sched sched;
	struct fb_window *win = &sched.window;
	struct fb_group_credit grp = { .balance = 100, .weight = 100 };
	const u64 ms = 1000000;

	fb_sched_init(&sched, &default_params, 100 * ms, 100, 1000 * ms);
	fb_charge(&sched, &grp, 60);
	CHECK(win->issued == 60 && sched.inflight == 60 && sched.inflight_ios == 1,
	      "issued and in flight");
	CHECK(fb_window_measure(win, 100 * ms, 1100 * ms) == 0,
	      "issued is not consumed");
	fb_complete(&sched, 60, 1050 * ms);
	CHECK(sched.inflight == 0 && sched.inflight_ios == 0, "completed");
	CHECK(fb_window_measure(win, 100 * ms, 1100 * ms) == 60, "plain consumption");
	CHECK(fb_window_measure(win, 100 * ms, 1200 * ms) == 30,
	      "normalised to the period");
	/* A burst issued at once says nothing; a short window is stretched. */
	fb_charge(&sched, &grp, 60);
	CHECK(grp.balance == -20 && grp.used == 120, "ran out, balance %lld",
	      (long long)grp.balance);
	CHECK(fb_window_measure(win, 100 * ms, 1001 * ms) == 240,
	      "window at least a quarter period: %llu",
	      (unsigned long long)fb_window_measure(win, 100 * ms, 1001 * ms));
	/* Completions of unknown bios never take the credit in flight below 0. */
	fb_complete(&sched, 100, 1060 * ms);
	CHECK(sched.inflight == 0 && sched.inflight_ios == 0, "no underflow");
	/* Debt is bounded by one share (or the bio). */
	grp.balance = 1;
	grp.share = 50;
	fb_charge(&sched, &grp, 1000);
	CHECK(grp.balance == -999, "a bio may take the balance below zero: %lld",
	      (long long)grp.balance);
	fb_charge(&sched, &grp, 10);
	CHECK(grp.balance == -50, "debt bounded by the share: %lld",
	      (long long)grp.balance);
}

static void test_grant(void)
{
	struct fb_group_credit g[4] = {
		{ .weight = 100 }, { .weight = 50 }, { .weight = 25 }, { .weight = 10 },
	};
	struct fb_group_credit *v[4] = { &g[0], &g[1], &g[2], &g[3] };
	int i;

	/* Nobody active: everyone gets a share. */
	fb_grant(v, 4, 1850, 100, true);
	CHECK(g[0].balance == 1000 && g[1].balance == 500 && g[2].balance == 250 &&
	      g[3].balance == 100, "shares %lld %lld %lld %lld",
	      (long long)g[0].balance, (long long)g[1].balance,
	      (long long)g[2].balance, (long long)g[3].balance);

	/* Only groups 0 and 3 active: they split everything. */
	for (i = 0; i < 4; i++)
		g[i].balance = 0;
	g[0].activity = 1;
	g[3].backlogged = true;
	fb_grant(v, 4, 1100, 100, true);
	CHECK(g[0].balance == 1000 && g[3].balance == 100 && g[1].balance == 0 &&
	      g[2].balance == 0, "idle share goes to the others");
	CHECK(g[0].activity == 2, "activity ages");

	/* Carry-over is capped at carry_pct of the new share. */
	g[0].balance = 5000;
	g[1].balance = 300;	/* inactive: cut to nothing */
	fb_grant(v, 4, 1100, 50, true);
	CHECK(g[0].balance == 1500, "carry capped: %lld", (long long)g[0].balance);
	CHECK(g[1].balance == 0, "inactive group keeps no credit");
	g[0].balance = -70;	/* debt is carried */
	g[0].activity = 1;
	fb_grant(v, 4, 1100, 50, true);
	CHECK(g[0].balance == 930, "debt carried: %lld", (long long)g[0].balance);

	/* Tiny totals still give everyone one credit. */
	fb_grant(v, 4, 0, 100, false);
	CHECK(g[3].share == 1, "minimum share");
}

static void test_refill(void)
{
	struct fb_group_credit g[3] = {
		{ .weight = 100 }, { .weight = 100 }, { .weight = 100 },
	};
	struct fb_group_credit *v[3] = { &g[0], &g[1], &g[2] };
	struct fb_sched sched;

	fb_sched_init(&sched, &default_params, 100000000, 100, 0);
	CHECK(!fb_sched_refill(&sched, v, 3), "nobody waiting");
	g[0].backlogged = true;
	g[1].activity = 1;
	g[1].balance = 5;
	CHECK(!fb_sched_refill(&sched, v, 3), "an active group still has credit");
	g[1].balance = 0;
	/* The prediction is min_credit: 1/FB_REFILL_DIV of it may be in flight. */
	sched.inflight = default_params.min_credit / FB_REFILL_DIV + 1;
	CHECK(!fb_sched_refill(&sched, v, 3), "the device still has work");
	sched.inflight--;
	CHECK(fb_sched_refill(&sched, v, 3), "all active out: refill");
	CHECK(g[0].balance == (s64)default_params.min_credit / 2 &&
	      g[1].balance == (s64)default_params.min_credit / 2 && g[2].balance == 0,
	      "refill among active groups: %lld %lld %lld", (long long)g[0].balance,
	      (long long)g[1].balance, (long long)g[2].balance);
	CHECK(sched.refills == 1 && sched.window.refills == 1, "counted");

	/* A group that used under half its credit last period holds nobody back. */
	g[0].balance = 0;
	g[1].balance = 0;
	g[0].granted = 40;
	g[0].used = 40;
	g[1].granted = 40;
	g[1].used = 10;
	fb_grant(v, 3, 0, 100, true);
	CHECK(g[1].light && !g[0].light, "light: %d %d", g[1].light, g[0].light);
	g[0].balance = 0;
	g[1].balance = 5;
	g[1].activity = 1;
	g[1].activity = 2;
	CHECK(!fb_sched_refill(&sched, v, 3), "a quiet light group still blocks");
	g[1].activity = 1;
	CHECK(fb_sched_refill(&sched, v, 3), "a light group does not block");
	g[0].balance = 0;
	g[1].balance = 5;
	g[1].light = false;
	CHECK(!fb_sched_refill(&sched, v, 3), "a busy group with credit blocks");
}

/*
 * Weights 10000:1 and a light group deep in debt (one 1 MiB bio), the heavy
 * group issuing a little (light, so it holds no refill back): the
 * dispatch loop refills until the light group may issue.  That must take
 * a bounded number of refills, and the heavy group must not bank the
 * credit of every one of them.
 */
static void test_refill_burst(void)
{
	struct fb_group_credit g[2] = { { .weight = 10000 }, { .weight = 1 } };
	struct fb_group_credit *v[2] = { &g[0], &g[1] };
	struct fb_sched sched;
	u64 cost = 2048 + 8, share;
	int refills = 0;

	fb_sched_init(&sched, &default_params, 100000000, 100, 0);
	fb_predictor_update(&sched.predictor, 20000);
	fb_grant(v, 2, sched.predictor.prediction, 100, true);
	share = g[0].share;
	g[0].activity = 1;
	g[1].activity = 1;
	fb_charge(&sched, &g[1], cost);
	fb_complete(&sched, cost, 1);
	/* The heavy group issues a little: it holds no refill back. */
	g[0].light = true;
	g[1].backlogged = true;
	while (!fb_may_dispatch(&g[1]) && refills < 100000 &&
	       fb_sched_refill(&sched, v, 2))
		refills++;
	CHECK(fb_may_dispatch(&g[1]), "light group may issue after %d refills",
	      refills);
	CHECK(refills <= 2, "refills in one loop: %d", refills);
	CHECK(g[0].balance <= (s64)(2 * share),
	      "heavy group's balance %lld, share %llu", (long long)g[0].balance,
	      (unsigned long long)share);
}

/*
 * A simulated device: a FIFO that completes `capacity` credits of I/O per
 * 1 ms tick.  Each group keeps `depth` I/Os of SIM_COST credits outstanding,
 * as fio with that iodepth would; a held I/O counts as outstanding.  With
 * issue_rate set, the issuer (the CPU) is slow too: each tick it submits at
 * most that many I/Os, taking the groups that have room in turn (a process
 * whose queue is full of held I/Os sleeps and leaves the CPU to the others).
 * A group with think set waits that many ticks after each completion before
 * it issues again (an interactive reader); one with on set issues only in
 * the first `on` ticks of every on + off.  The latency of a depth-1 group's
 * I/Os (issue, held time included, to completion) is recorded.
 */
#define SIM_GROUPS	5
#define SIM_FIFO	4096
#define SIM_PERIOD	OPT_DEF(PERIOD_MS)	/* ticks */

struct sim_group {
	struct fb_group_credit credit;
	u32 depth;
	u32 outstanding;
	u32 held;
	u32 think;		/* ticks from a completion to the next issue */
	u32 on, off;		/* bursts: issues in on ticks of every on + off */
	u64 ready;		/* the next I/O may be issued from this tick */
	u64 issued_at;		/* tick the outstanding I/O was issued (depth 1) */
	u64 lat_sum, lat_n, lat_max;
	u64 done;
};

struct sim {
	struct fb_sched sched;
	struct sim_group g[SIM_GROUPS];
	struct fb_group_credit *v[SIM_GROUPS];
	unsigned int n;
	unsigned int fifo[SIM_FIFO];
	unsigned int head, count, next;
	u64 capacity, budget, tick, busy_ticks, issue_rate, period;
};

static u64 sim_now(struct sim *s)
{
	return s->tick * 1000000ULL;
}

static void sim_dispatch(struct sim *s, unsigned int i)
{
	fb_charge(&s->sched, &s->g[i].credit, SIM_COST);
	if (s->count >= SIM_FIFO) {
		printf("sim fifo overflow\n");
		exit(2);
	}
	s->fifo[(s->head + s->count++) % SIM_FIFO] = i;
}

static void sim_dispatch_held(struct sim *s)
{
	unsigned int i;

	do {
		for (i = 0; i < s->n; i++) {
			struct sim_group *g = &s->g[i];

			while (g->held && fb_may_dispatch(&g->credit)) {
				g->held--;
				sim_dispatch(s, i);
			}
			g->credit.backlogged = g->held > 0;
		}
	} while (fb_sched_refill(&s->sched, s->v, s->n));
}

static void sim_issue(struct sim *s, unsigned int i)
{
	struct sim_group *g = &s->g[i];

	g->outstanding++;
	g->issued_at = s->tick;
	fb_sched_activate(&s->sched, s->v, s->n, &g->credit, sim_now(s));
	if (!g->held && fb_may_dispatch(&g->credit)) {
		sim_dispatch(s, i);
		return;
	}
	g->held++;
	g->credit.backlogged = true;
	if (fb_sched_refill(&s->sched, s->v, s->n))
		sim_dispatch_held(s);
}

/* Does group i issue another I/O now? */
static bool sim_wants(const struct sim *s, unsigned int i)
{
	const struct sim_group *g = &s->g[i];

	if (g->outstanding >= g->depth || s->tick < g->ready)
		return false;
	return !g->on || s->tick % (g->on + g->off) < g->on;
}

/* Group i's I/O completed at this tick. */
static void sim_completed(struct sim *s, unsigned int i)
{
	struct sim_group *g = &s->g[i];
	u64 lat = s->tick - g->issued_at;

	g->outstanding--;
	g->done += SIM_COST;
	g->ready = s->tick + g->think;
	if (g->depth == 1) {
		g->lat_sum += lat;
		g->lat_n++;
		g->lat_max = lat > g->lat_max ? lat : g->lat_max;
	}
	fb_complete(&s->sched, SIM_COST, sim_now(s));
}

/* A slow issuer: issue_rate I/Os a tick, round robin over the groups with room. */
static void sim_issue_limited(struct sim *s)
{
	u64 left = s->issue_rate;
	unsigned int i, idle = 0;

	while (left && idle < s->n) {
		i = s->next;
		s->next = (s->next + 1) % s->n;
		if (!sim_wants(s, i)) {
			idle++;
			continue;
		}
		idle = 0;
		sim_issue(s, i);
		left--;
	}
}

static void sim_init(struct sim *s, const u32 *weights, const u32 *depths,
		     unsigned int n, u64 capacity)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	fb_sched_init(&s->sched, &default_params, SIM_PERIOD * 1000000ULL,
		      OPT_DEF(CARRY_PCT), 0);
	s->period = SIM_PERIOD;
	s->n = n;
	s->capacity = capacity;
	for (i = 0; i < n; i++) {
		s->g[i].credit.weight = weights[i];
		s->g[i].depth = depths[i];
		s->v[i] = &s->g[i].credit;
	}
}

static void sim_run(struct sim *s, u64 ticks)
{
	u64 end = s->tick + ticks;
	unsigned int i;

	while (s->tick < end) {
		s->tick++;
		if (s->count)
			s->busy_ticks++;
		s->budget += s->capacity;
		while (s->count && s->budget >= SIM_COST) {
			i = s->fifo[s->head];
			s->head = (s->head + 1) % SIM_FIFO;
			s->count--;
			s->budget -= SIM_COST;
			sim_completed(s, i);
		}
		if (!s->count)
			s->budget = 0;	/* an idle device banks nothing */
		/* Completions may make a refill due (end_io). */
		if (fb_sched_refill(&s->sched, s->v, s->n))
			sim_dispatch_held(s);
		if (s->issue_rate)
			sim_issue_limited(s);
		else
			for (i = 0; i < s->n; i++)
				while (sim_wants(s, i))
					sim_issue(s, i);
		if (s->tick % s->period == 0) {
			fb_sched_period_end(&s->sched, s->v, s->n, sim_now(s));
			sim_dispatch_held(s);
		}
	}
}

static void sim_reset_counts(struct sim *s)
{
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		s->g[i].done = 0;
		s->g[i].lat_sum = 0;
		s->g[i].lat_n = 0;
		s->g[i].lat_max = 0;
	}
	s->busy_ticks = 0;
}

static u64 sim_total(struct sim *s)
{
	u64 total = 0;
	unsigned int i;

	for (i = 0; i < s->n; i++)
		total += s->g[i].done;
	return total;
}

/* Group i's share relative to group 0's, in percent, vs the weights'. */
static void check_ratios(struct sim *s, const char *what, u32 band_pct)
{
	unsigned int i;

	for (i = 1; i < s->n; i++) {
		u64 want = 100ULL * s->g[i].credit.weight / s->g[0].credit.weight;
		u64 got = s->g[0].done ? 100 * s->g[i].done / s->g[0].done : 0;

		CHECK(got * 100 >= want * (100 - band_pct) &&
		      got * 100 <= want * (100 + band_pct),
		      "%s: group %u got %llu %% of group 0, weights say %llu %%",
		      what, i, (unsigned long long)got, (unsigned long long)want);
		CHECK(s->g[i].done < s->g[i - 1].done, "%s: order %u", what, i);
	}
}

/* Each group's share of the total within pts percentage points of its weight's. */
static void check_shares(struct sim *s, const char *what, u32 pts)
{
	u64 total = sim_total(s), weights = 0;
	unsigned int i;

	for (i = 0; i < s->n; i++)
		weights += s->g[i].credit.weight;
	for (i = 0; i < s->n; i++) {
		/* In hundredths of a percent. */
		u64 got = total ? 10000 * s->g[i].done / total : 0;
		u64 want = 10000ULL * s->g[i].credit.weight / weights;
		u64 diff = got > want ? got - want : want - got;

		CHECK(diff <= pts * 100ULL,
		      "%s: group %u has %llu.%02llu %%, its weight %llu.%02llu %%",
		      what, i, (unsigned long long)got / 100,
		      (unsigned long long)got % 100,
		      (unsigned long long)want / 100,
		      (unsigned long long)want % 100);
	}
}

/*
 * The benchmark's case: four greedy groups at iodepth 32 on a drive that
 * does one I/O per ms, about a period's worth of I/O queued: the shares
 * land within 3 points of the weights and the prediction on the device.
 */
static void test_sim_slow_device(void)
{
	static struct sim s;
	const u32 weights[4] = { 100, 50, 25, 10 };
	const u32 depths[4] = { 32, 32, 32, 32 };

	sim_init(&s, weights, depths, 4, SIM_COST);
	sim_run(&s, 5000);
	sim_reset_counts(&s);
	sim_run(&s, 20000);
	check_shares(&s, "1 I/O per ms", 3);
	CHECK(sim_total(&s) * 100 >= 16ULL * 20000 * 97, "device kept busy: %llu",
	      (unsigned long long)sim_total(&s));
	CHECK(rel_error_pm(s.sched.predictor.prediction, 16ULL * SIM_PERIOD) < 50,
	      "prediction %llu vs capacity %llu",
	      (unsigned long long)s.sched.predictor.prediction,
	      16ULL * SIM_PERIOD);

	/* Halved: the prediction follows, the shares hold. */
	s.capacity = SIM_COST / 2;
	sim_run(&s, 3000);
	sim_reset_counts(&s);
	sim_run(&s, 20000);
	check_shares(&s, "1 I/O per 2 ms", 3);
	CHECK(rel_error_pm(s.sched.predictor.prediction, 8ULL * SIM_PERIOD) < 50,
	      "prediction %llu after the slowdown",
	      (unsigned long long)s.sched.predictor.prediction);
}

/*
 * The CPU, not the device, is the bottleneck (TCG): the device completes
 * everything at once, the issuer submits 4 I/Os a ms in turn for whichever
 * groups have room.  Credit must still hold the light-weight groups back
 * (their processes sleep on held I/O), not hand out refills until every
 * group issues as much as the others.
 */
static void test_sim_cpu_bound(void)
{
	static struct sim s;
	const u32 weights[4] = { 100, 50, 25, 10 };
	const u32 depths[4] = { 16, 16, 16, 16 };

	sim_init(&s, weights, depths, 4, 1000000);
	s.issue_rate = 4;
	s.period = 50;
	fb_sched_init(&s.sched, &default_params, 50 * 1000000ULL, 100, 0);
	sim_run(&s, 5000);
	sim_reset_counts(&s);
	sim_run(&s, 20000);
	check_shares(&s, "issuer-bound", 3);
	CHECK(sim_total(&s) * 100 >= 4ULL * SIM_COST * 20000 * 95,
	      "issuer kept busy: %llu", (unsigned long long)sim_total(&s));
}

static void test_sim_shares(void)
{
	static struct sim s;
	const u32 weights[4] = { 100, 50, 25, 10 };
	const u32 depths[4] = { 32, 32, 32, 32 };
	u64 total, period_capacity;

	sim_init(&s, weights, depths, 4, 320);
	sim_run(&s, 3000);
	sim_reset_counts(&s);
	sim_run(&s, 10000);
	check_ratios(&s, "constant device", 10);
	total = sim_total(&s);
	CHECK(total * 100 >= 320ULL * 10000 * 95, "device kept busy: %llu of %llu",
	      (unsigned long long)total, 320ULL * 10000);
	period_capacity = 320ULL * SIM_PERIOD;
	CHECK(rel_error_pm(s.sched.predictor.prediction, period_capacity) < 150,
	      "prediction %llu vs capacity %llu",
	      (unsigned long long)s.sched.predictor.prediction,
	      (unsigned long long)period_capacity);

	/* The device halves its speed (garbage collection): shares hold. */
	s.capacity = 160;
	sim_run(&s, 3000);
	CHECK(rel_error_pm(s.sched.predictor.prediction, 160ULL * SIM_PERIOD) < 150,
	      "prediction follows the slowdown: %llu",
	      (unsigned long long)s.sched.predictor.prediction);
	sim_reset_counts(&s);
	sim_run(&s, 10000);
	check_ratios(&s, "slow device", 10);
	CHECK(sim_total(&s) * 100 >= 160ULL * 10000 * 95, "busy after slowdown");

	/* And speeds up four times. */
	s.capacity = 640;
	sim_run(&s, 3000);
	sim_reset_counts(&s);
	sim_run(&s, 10000);
	check_ratios(&s, "fast device", 10);
	CHECK(sim_total(&s) * 100 >= 640ULL * 10000 * 90, "busy after speedup: %llu",
	      (unsigned long long)sim_total(&s));
}

static void test_sim_idle_group(void)
{
	static struct sim s;
	const u32 weights[3] = { 100, 50, 50 };
	const u32 depths[3] = { 32, 32, 32 };

	sim_init(&s, weights, depths, 3, 320);
	sim_run(&s, 3000);
	/* Group 0 (the heaviest) goes idle: the others take everything, 1:1. */
	s.g[0].depth = 0;
	sim_run(&s, 1000);
	sim_reset_counts(&s);
	sim_run(&s, 10000);
	CHECK(s.g[0].done == 0, "idle");
	CHECK(sim_total(&s) * 100 >= 320ULL * 10000 * 95,
	      "idle group's share used by the others: %llu",
	      (unsigned long long)sim_total(&s));
	CHECK(s.g[1].done * 100 >= s.g[2].done * 90 &&
	      s.g[1].done * 100 <= s.g[2].done * 110, "1:1 between the rest");

	/* It comes back and gets its share again. */
	s.g[0].depth = 32;
	sim_run(&s, 2000);
	sim_reset_counts(&s);
	sim_run(&s, 10000);
	CHECK(s.g[0].done * 100 >= s.g[1].done * 180 &&
	      s.g[0].done * 100 <= s.g[1].done * 220, "2:1 again: %llu vs %llu",
	      (unsigned long long)s.g[0].done, (unsigned long long)s.g[1].done);
}

static void test_sim_light_group(void)
{
	static struct sim s;
	const u32 weights[2] = { 100, 100 };
	const u32 depths[2] = { 32, 1 };

	/*
	 * A group that cannot use its share (one I/O at a time) must not drag
	 * the prediction down until the busy group starves.
	 */
	sim_init(&s, weights, depths, 2, 320);
	sim_run(&s, 5000);
	sim_reset_counts(&s);
	sim_run(&s, 10000);
	CHECK(s.g[0].done * 100 >= 320ULL * 10000 * 45,
	      "busy group gets at least its half: %llu (light %llu, prediction %llu, refills %llu, light %d bal %lld inflight %llu)",
	      (unsigned long long)s.g[0].done, (unsigned long long)s.g[1].done,
	      (unsigned long long)s.sched.predictor.prediction,
	      (unsigned long long)s.sched.refills, s.g[1].credit.light,
	      (long long)s.g[1].credit.balance, (unsigned long long)s.sched.inflight);
}

/*
 * A weight-100 reader at iodepth 1 with 250 ms think time beside a weight-10
 * batch job at iodepth 32, on a 20 MB/s device (80 credits of 4 KiB reads a
 * ms).  The reader has gone idle between its reads; its read must go out at
 * once, so that it waits at most what it would wait with no control at
 * all: behind the batch job's queue in the device.
 */
static void test_sim_interactive(void)
{
	static struct sim s;
	const u32 weights[2] = { 100, 10 };
	const u32 depths[2] = { 1, 32 };
	const u64 capacity = 80;
	u64 fifo_ticks = ((u64)depths[1] + 1) * SIM_COST / capacity + 1;

	sim_init(&s, weights, depths, 2, capacity);
	s.g[0].think = 250;
	sim_run(&s, 3000);
	sim_reset_counts(&s);
	sim_run(&s, 30000);
	CHECK(s.g[0].lat_n >= 90, "reads: %llu", (unsigned long long)s.g[0].lat_n);
	CHECK(s.g[0].lat_max <= fifo_ticks,
	      "reader waits no longer than behind the queue (%llu ms): max %llu ms, mean %llu ms",
	      (unsigned long long)fifo_ticks, (unsigned long long)s.g[0].lat_max,
	      (unsigned long long)(s.g[0].lat_sum / (s.g[0].lat_n ? s.g[0].lat_n : 1)));
}

int main(void)
{
	test_cost_model();
	test_predictor_constant();
	test_predictor_step();
	test_predictor_outliers();
	test_predictor_ramp();
	test_predictor_noisy();
	test_predictor_limits();
	test_window();
	test_grant();
	test_refill();
	test_refill_burst();
	test_sim_shares();
	test_sim_slow_device();
	test_sim_cpu_bound();
	test_sim_idle_group();
	test_sim_light_group();
	test_sim_interactive();
	if (failures) {
		printf("%d check(s) failed\n", failures);
		return 1;
	}
	printf("all feedbac-credit checks passed\n");
	return 0;
}
