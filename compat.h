/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, in one place, tested by feature where the
 * kernel gives a macro to test and by version where it does not.  Code
 * outside this file uses only the names defined here.
 *
 * There are none today: the targets use only interfaces that 6.1 and 6.12
 * share, and the same source builds for both (make modules).  This header
 * is where the first difference goes, so that the .c files stay free of
 * LINUX_VERSION_CODE tests.
 */
#ifndef HIMS_COMPAT_H
#define HIMS_COMPAT_H

#include <linux/version.h>

#endif /* HIMS_COMPAT_H */
