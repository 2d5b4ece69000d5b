// SPDX-License-Identifier: GPL-2.0
/*
 * Messages and exit codes shared by himsctl and feedbacctl.
 */
#include <stdio.h>
#include <stdlib.h>

#include "msg.h"
#include "toolutil.h"

const char *tool_name = "tool";

void tool_verr(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", tool_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void tool_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_verr(fmt, ap);
	va_end(ap);
}

void tool_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_verr(fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

void tool_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_verr(fmt, ap);
	va_end(ap);
	exit(EXIT_RUNTIME);
}

u64 tool_num_arg(const char *s, const char *what)
{
	u64 v;

	if (tu_parse_num(s, &v))
		tool_usage_err("%s: not a number: '%s'", what, s);
	return v;
}
