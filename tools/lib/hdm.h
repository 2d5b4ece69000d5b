/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tools' libdevmapper calls: device info and status, create, remove,
 * rename the uuid, messages, listing; udev synchronisation.  Prefixed hdm_,
 * outside libdevmapper's own dm_ namespace.
 */
#ifndef HIMS_TOOLS_HDM_H
#define HIMS_TOOLS_HDM_H

#include "purec.h"

extern bool tool_udev;		/* run by udev: no udev synchronisation */

/* Route libdevmapper's messages through tool_err; errors only. */
void hdm_init(void);

/* A dm device: whether it exists, its dev_t, its only target. */
struct hdm_info {
	bool exists;
	unsigned int major, minor;
	int open_count;
	char type[32];		/* target type of the first target */
	u64 start, length;
	int nr_targets;
	char params[1024];	/* status or table parameters */
	char uuid[130];
};

/* what: 0 for the INFO status, 1 for the TABLE status.  0 or -1. */
int hdm_get(const char *name, int what, struct hdm_info *di);
/* Creates and resumes a device; 0 or -1, printing nothing: the caller says why. */
int hdm_create_table(const char *name, const char *uuid, u64 len,
		     const char *type, const char *params);
/*
 * Loads a table of one target into an existing device and resumes it
 * (which suspends it first and swaps the tables): cheaper than a remove
 * and a create, which add and delete a disk.
 */
int hdm_reload(const char *name, u64 len, const char *type, const char *params);
/* Suspends a device (its targets' postsuspend runs); 0 or -1. */
int hdm_suspend(const char *name);
int hdm_remove(const char *name);
int hdm_set_uuid(const char *name, const char *uuid);
int hdm_message(const char *name, const char *msg);
/* Calls fn for every dm device; stops at fn's first non-zero return. */
int hdm_for_each(int (*fn)(const char *name, void *arg), void *arg);

#endif /* HIMS_TOOLS_HDM_H */
