/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tools' main() functions, renamed (fuzz-himsctl.c, fuzz-hims-check.c)
 * so that fuzz-tools can call them in a child process.
 */
#ifndef HIMS_FUZZ_TOOLS_H
#define HIMS_FUZZ_TOOLS_H

int himsctl_main(int argc, char **argv);
int hims_check_main(int argc, char **argv);

#endif /* HIMS_FUZZ_TOOLS_H */
