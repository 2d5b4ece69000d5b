/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command-line helpers shared by himsctl and feedbacctl: usage errors that
 * name the command, getopt_long with one-line errors, device names, and
 * table options given as KEY=VALUE.
 */
#ifndef HIMS_TOOLS_OPTS_H
#define HIMS_TOOLS_OPTS_H

#include <getopt.h>

#include "purec.h"

extern const char *tool_cmd;	/* the command being run ("create"), or "" */

/* "<tool>: <cmd>: <message> (see <tool> --help)", then exit EXIT_USAGE. */
void usage_err(const char *fmt, ...) __printf(1, 2) __noreturn;

/* getopt_long over a command's own arguments, with one-line errors. */
int next_opt(int argc, char **argv, const char *shortopts,
	     const struct option *longopts);
/* For commands without options: refuse any. */
void no_options(int argc, char **argv);
/* A device-mapper name we accept, or a usage error. */
void check_name(const char *name);

/* A table option: its name and its values (NULL: a number in [min, max]). */
struct opt_key {
	const char *name;
	const char * const *choices;	/* NULL-terminated */
	u64 min, max;
};

/*
 * Append KEY=VALUE, checked against keys, as "KEY VALUE" to the
 * space-separated opts (numbers in plain decimal); a usage error if the key
 * is unknown (the message ends with see), the value invalid or opts full.
 */
void opt_add_kv(char *opts, size_t len, const char *kv,
		const struct opt_key *keys, size_t nr_keys, const char *see);
/* The number of words in a space-separated option string. */
int opt_count_words(const char *opts);

#endif /* HIMS_TOOLS_OPTS_H */
