# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Harness self-test with an in-kernel target: fio write+verify through
# dm-linear over the virtio disk, at an offset so a mapping error would show.
# timeout: 300
. /tests/guest/lib.sh
dmsetup create t-linear --table "0 262144 linear $SSD 2048"
fio_verify /dev/mapper/t-linear 128M
# Read the same data straight from the disk at the mapped offset.
dd if=/dev/mapper/t-linear of=a bs=1M count=4 iflag=direct 2>/dev/null
dd if="$SSD" of=b bs=512 skip=2048 count=8192 iflag=direct 2>/dev/null
cmp a b || fail "dm-linear data is not at the mapped offset"
dmsetup remove t-linear
