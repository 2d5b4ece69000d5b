# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims basics: create over brd, fio verify across both tiers and across
# the boundary in sync and async mode, status and table round trip.
# timeout: 600
# memory: 2G
. /tests/guest/lib.sh
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=65536	# 64 MiB
ram=/dev/ram0
# RAM tier: 8192 blocks (32 MiB) at logical [0, 32M); SSD tier 96 MiB after it.
len=$(( (8192 + 24576) * 8 ))
for mode in sync async; do
	step "$mode"
	dmsetup create hims --table "0 $len hims $ram $SSD $mode 2 ram_blocks 8192"
	dmsetup status hims
	dmsetup table hims
	fio_verify /dev/mapper/hims 24M 0
	fio_verify /dev/mapper/hims 16M 24M	# crosses the boundary at 32M
	fio_verify /dev/mapper/hims 16M 100M
	dmsetup message hims 0 flush
	dmsetup status hims
	# The table reproduces itself.
	dmsetup table hims > t1
	dmsetup reload hims --table "$(cat t1)"
	dmsetup resume hims
	dmsetup table hims > t2
	cmp t1 t2 || fail "table does not round-trip"
	dmsetup remove hims
done
