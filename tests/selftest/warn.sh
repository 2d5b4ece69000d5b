# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Harness self-test: a test that exits 0 but leaves a kernel warning in the
# log must be reported as failed.
# timeout: 30
echo "WARNING: CPU: 0 PID: 1 at harness-selftest" > /dev/kmsg
