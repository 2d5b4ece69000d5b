# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Harness self-test: a guest panic must fail the running test (qemu itself
# exits 0 after a panic) and the tests after it must still run.
# timeout: 60
echo c > /proc/sysrq-trigger
