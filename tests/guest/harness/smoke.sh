# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# The guest has what the tests need: dmsetup talks to dm, fio runs.
# timeout: 120
. /tests/guest/lib.sh
dmsetup version
fio --version
[ -b "$SSD" ] || fail "no $SSD"
