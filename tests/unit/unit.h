/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal check macros for the userspace unit tests.
 *
 * A failed check prints file:line and the failing expression and is counted;
 * unit_result() then makes main() return non-zero.  Checks are expressions
 * that yield whether they passed, so a loop can stop at its first failure.
 */
#ifndef HIMS_UNIT_H
#define HIMS_UNIT_H

#include <stdio.h>
#include <stdlib.h>

#include "purec.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define UNIT_MAX_FAILURES	50

static unsigned long unit_checks;
static unsigned long unit_failures;

static inline void unit_failed(void)
{
	if (++unit_failures >= UNIT_MAX_FAILURES) {
		fprintf(stderr, "too many failures, giving up\n");
		exit(1);
	}
}

static inline bool unit_check(bool ok, const char *file, int line,
			      const char *expr)
{
	unit_checks++;
	if (!ok) {
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
		unit_failed();
	}
	return ok;
}

static inline bool unit_check_eq(u64 a, u64 b, const char *file, int line,
				 const char *ea, const char *eb)
{
	unit_checks++;
	if (a != b) {
		fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (0x%llx != 0x%llx)\n",
			file, line, ea, eb, (unsigned long long)a,
			(unsigned long long)b);
		unit_failed();
	}
	return a == b;
}

/* Both yield true when the check passed. */
#define CHECK(cond)	unit_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b)	unit_check_eq((u64)(a), (u64)(b), __FILE__, __LINE__, #a, #b)

/* What main() returns: 0 when every check passed. */
static inline int unit_result(const char *name)
{
	printf("%s: %lu checks, %lu failed\n", name, unit_checks, unit_failures);
	return unit_failures ? 1 : 0;
}

/* A small deterministic PRNG (splitmix64) so that runs are reproducible. */
static inline u64 unit_rand(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for tests; n must not be 0. */
static inline u64 unit_rand_below(u64 *state, u64 n)
{
	return unit_rand(state) % n;
}

#endif /* HIMS_UNIT_H */
