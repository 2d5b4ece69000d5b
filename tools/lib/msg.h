/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages and exit codes of the tools: one line on stderr, prefixed with
 * the tool's name.
 */
#ifndef HIMS_TOOLS_MSG_H
#define HIMS_TOOLS_MSG_H

#include <stdarg.h>

#include "purec.h"

#define EXIT_RUNTIME	1	/* something failed */
#define EXIT_USAGE	2	/* bad arguments */

extern const char *tool_name;	/* "himsctl" */

/* One line on stderr, prefixed with the tool's name. */
void tool_err(const char *fmt, ...) __printf(1, 2);
void tool_verr(const char *fmt, va_list ap);
/* tool_err, then exit with EXIT_USAGE or EXIT_RUNTIME. */
void tool_usage_err(const char *fmt, ...) __printf(1, 2) __noreturn;
void tool_fail(const char *fmt, ...) __printf(1, 2) __noreturn;
/* A number argument (tu_parse_num), or a usage error naming @what. */
u64 tool_num_arg(const char *s, const char *what);

#endif /* HIMS_TOOLS_MSG_H */
