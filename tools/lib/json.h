/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small JSON writer for the tools' --json output: objects and arrays,
 * members separated by ", ", and every string escaped.  Arrays of whole
 * records can put one record on a line ("[\n  {...},\n  {...}\n]").
 */
#ifndef HIMS_TOOLS_JSON_H
#define HIMS_TOOLS_JSON_H

#include <stdio.h>

#include "purec.h"

#define JSON_MAX_DEPTH	8

struct json {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH];	/* nothing written yet at this level */
	bool lines[JSON_MAX_DEPTH];	/* an array of one element per line */
};

void json_init(struct json *j, FILE *f);

/* key: the member's name inside an object, NULL inside an array or at the top. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
/* lines: one element per line, indented by two spaces. */
void json_array_begin(struct json *j, const char *key, bool lines);
void json_array_end(struct json *j);

void json_string(struct json *j, const char *key, const char *s);
void json_u64(struct json *j, const char *key, u64 v);
void json_s64(struct json *j, const char *key, s64 v);
void json_bool(struct json *j, const char *key, bool v);
/* A number given as text ("8.000"); null unless it is a JSON number. */
void json_number_text(struct json *j, const char *key, const char *text);

/* s as a JSON string: quoted, with " \ and control characters escaped. */
void json_escape(FILE *f, const char *s);

#endif /* HIMS_TOOLS_JSON_H */
