# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Harness self-test: a test that fails must be reported as failed.
# timeout: 30
echo "failing on purpose"
exit 1
