/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, in one place, tested by feature where the
 * kernel gives a macro to test and by version where it does not.  Code
 * outside this file uses only the names defined here.
 */
#ifndef HIMS_COMPAT_H
#define HIMS_COMPAT_H

#include <linux/version.h>

#endif /* HIMS_COMPAT_H */
