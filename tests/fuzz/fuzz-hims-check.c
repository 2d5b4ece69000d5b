// SPDX-License-Identifier: GPL-2.0
/* hims-check's main() as hims_check_main(), for fuzz-tools to call in a child. */
#define main hims_check_main
#include "tools/hims-check.c"
