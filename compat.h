/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, in one place, tested by feature where the
 * kernel gives a macro to test and by version where it does not.  Code
 * outside this file uses only the names defined here.
 *
 * There are no version differences today: the targets use only interfaces
 * that 6.1 and 6.12 share, and the same source builds for both (make
 * modules).  This header is where the first one goes, so that the .c files
 * stay free of LINUX_VERSION_CODE tests; and where a kernel option decides
 * what exists.
 */
#ifndef HIMS_COMPAT_H
#define HIMS_COMPAT_H

#include <linux/version.h>
#include <linux/backing-dev.h>
#include <linux/fs.h>

/*
 * The blkcg css of the cgroup an inode's page cache is written back for,
 * or NULL; only kernels with cgroup writeback have one.  Caller holds
 * rcu_read_lock (a wb, and a css, are freed after a grace period).
 */
static inline struct cgroup_subsys_state *compat_inode_wb_blkcg(struct inode *inode)
{
#ifdef CONFIG_CGROUP_WRITEBACK
	struct bdi_writeback *wb = READ_ONCE(inode->i_wb);

	return wb ? wb->blkcg_css : NULL;
#else
	return NULL;
#endif
}

#endif /* HIMS_COMPAT_H */
