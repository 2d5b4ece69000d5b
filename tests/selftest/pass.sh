# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Harness self-test: runs after a panic and must still pass.
# timeout: 30
true
