# SPDX-License-Identifier: GPL-2.0
# Harness self-test: runs after a panic and must still pass.
# timeout: 30
true
