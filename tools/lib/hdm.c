// SPDX-License-Identifier: GPL-2.0
/*
 * The tools' libdevmapper calls: device info and status, create, remove,
 * rename the uuid, messages, listing; udev synchronisation.
 */
#include <libdevmapper.h>
#include <stdio.h>

#include "hdm.h"
#include "msg.h"

bool tool_udev;
/* libdevmapper's errors unprinted: the caller reports the failure itself. */
static bool hdm_quiet;

#define HDM_LOG_LEVEL_MASK	7
#define HDM_LOG_ERR		3

static void hdm_log(int level, const char *file, int line, int dm_errno_or_class,
		    const char *f, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	if ((level & HDM_LOG_LEVEL_MASK) > HDM_LOG_ERR || hdm_quiet)
		return;
	va_start(ap, f);
	tool_verr(f, ap);
	va_end(ap);
}

void hdm_init(void)
{
	dm_log_with_errno_init(hdm_log);
}

/* Udev synchronisation, unless run by udev itself (which would deadlock). */
static int set_cookie(struct dm_task *dmt, u32 *cookie)
{
	*cookie = 0;
	if (tool_udev)
		return 1;
	return dm_task_set_cookie(dmt, cookie, 0);
}

static void wait_cookie(u32 cookie)
{
	if (!tool_udev && cookie)
		dm_udev_wait(cookie);
}

int hdm_get(const char *name, int what, struct hdm_info *di)
{
	struct dm_task *dmt;
	struct dm_info info;
	uint64_t start, length;	/* libdevmapper's type */
	char *type, *params;
	const char *uuid;
	void *next = NULL;
	int r = -1;

	memset(di, 0, sizeof(*di));
	/* INFO says "no such device" quietly; STATUS and TABLE log an error. */
	dmt = dm_task_create(DM_DEVICE_INFO);
	if (!dmt)
		return -1;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &info)) {
		dm_task_destroy(dmt);
		return -1;
	}
	dm_task_destroy(dmt);
	if (!info.exists)
		return 0;
	dmt = dm_task_create(what ? DM_DEVICE_TABLE : DM_DEVICE_STATUS);
	if (!dmt)
		return -1;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &info))
		goto out;
	r = 0;
	if (!info.exists)
		goto out;
	di->exists = true;
	di->major = info.major;
	di->minor = info.minor;
	di->open_count = info.open_count;
	uuid = dm_task_get_uuid(dmt);
	if (uuid)
		snprintf(di->uuid, sizeof(di->uuid), "%s", uuid);
	do {
		next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
		if (!type)
			break;
		if (!di->nr_targets++) {
			snprintf(di->type, sizeof(di->type), "%s", type);
			snprintf(di->params, sizeof(di->params), "%s", params ? params : "");
			di->start = start;
			di->length = length;
		}
	} while (next);
out:
	dm_task_destroy(dmt);
	return r;
}

int hdm_create_table(const char *name, const char *uuid, u64 len,
		     const char *type, const char *params)
{
	struct dm_task *dmt;
	u32 cookie = 0;
	int r = -1;

	dmt = dm_task_create(DM_DEVICE_CREATE);
	if (!dmt)
		return -1;
	/*
	 * A table the kernel refuses makes libdevmapper log "reload (or
	 * resume) ioctl ... failed: <errno>", a second line after the
	 * caller's, which points to the kernel log, where the reason is.
	 */
	hdm_quiet = true;
	if (dm_task_set_name(dmt, name) && (!uuid || dm_task_set_uuid(dmt, uuid)) &&
	    dm_task_add_target(dmt, 0, len, type, params) &&
	    set_cookie(dmt, &cookie) && dm_task_run(dmt))
		r = 0;
	hdm_quiet = false;
	wait_cookie(cookie);
	dm_task_destroy(dmt);
	return r;
}

static int simple_task(int op, const char *name, const char *newuuid, bool retry);

int hdm_reload(const char *name, u64 len, const char *type, const char *params)
{
	struct dm_task *dmt;
	int r = -1;

	dmt = dm_task_create(DM_DEVICE_RELOAD);
	if (!dmt)
		return -1;
	if (dm_task_set_name(dmt, name) &&
	    dm_task_add_target(dmt, 0, len, type, params) && dm_task_run(dmt))
		r = 0;
	dm_task_destroy(dmt);
	return r ? r : simple_task(DM_DEVICE_RESUME, name, NULL, false);
}

int hdm_suspend(const char *name)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_SUSPEND);
	int r = -1;

	if (!dmt)
		return -1;
	if (dm_task_set_name(dmt, name) && dm_task_run(dmt))
		r = 0;
	dm_task_destroy(dmt);
	return r;
}

static int simple_task(int op, const char *name, const char *newuuid, bool retry)
{
	struct dm_task *dmt;
	u32 cookie = 0;
	int r = -1;

	dmt = dm_task_create(op);
	if (!dmt)
		return -1;
	if (!dm_task_set_name(dmt, name))
		goto out;
	if (newuuid && !dm_task_set_newuuid(dmt, newuuid))
		goto out;
	if (retry)
		dm_task_retry_remove(dmt);
	if (set_cookie(dmt, &cookie) && dm_task_run(dmt))
		r = 0;
	wait_cookie(cookie);
out:
	dm_task_destroy(dmt);
	return r;
}

int hdm_remove(const char *name)
{
	return simple_task(DM_DEVICE_REMOVE, name, NULL, true);
}

int hdm_set_uuid(const char *name, const char *uuid)
{
	return simple_task(DM_DEVICE_RENAME, name, uuid, false);
}

int hdm_message(const char *name, const char *msg)
{
	struct dm_task *dmt;
	int r = -1;

	dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	if (!dmt)
		return -1;
	if (dm_task_set_name(dmt, name) && dm_task_set_sector(dmt, 0) &&
	    dm_task_set_message(dmt, msg) && dm_task_run(dmt))
		r = 0;
	dm_task_destroy(dmt);
	return r;
}

int hdm_for_each(int (*fn)(const char *name, void *arg), void *arg)
{
	struct dm_task *dmt;
	struct dm_names *names;
	unsigned int next = 0;
	int r = 0;

	dmt = dm_task_create(DM_DEVICE_LIST);
	if (!dmt)
		return -1;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -1;
	}
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			names = (struct dm_names *)((char *)names + next);
			r = fn(names->name, arg);
			if (r)
				break;
			next = names->next;
		} while (next);
	}
	dm_task_destroy(dmt);
	return r;
}
