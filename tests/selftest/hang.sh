# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Harness self-test: a task stuck in D state (a read from a suspended dm
# device) cannot be killed by the guest's timeout; the host must time out.
# timeout: 5
. /tests/guest/lib.sh
dmsetup create selftest-hang --table "0 $(sectors "$SSD") linear $SSD 0"
dmsetup suspend selftest-hang
dd if=/dev/mapper/selftest-hang of=/dev/null bs=4k count=1 iflag=direct
