// SPDX-License-Identifier: GPL-2.0
/* himsctl's main() as himsctl_main(), for fuzz-tools to call in a child. */
#define main himsctl_main
#include "tools/himsctl.c"
