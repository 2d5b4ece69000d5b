# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Sync mode, a mirror write fails: the write returns an error, but RAM may
# hold its data, so the block must not be left "clean" with the old data
# on the SSD.  What the device read before a reboot, it reads after it
# (writeback makes the mirror RAM's copy again at the next flush).
# boots: 1
# timeout: 300
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe dm-flakey
modprobe brd rd_nr=1 rd_size=65536	# 64 MiB
len=$(( (8192 + 8192) * 8 ))
table="0 $len hims /dev/ram0 /dev/mapper/ssdleg sync 2 ram_blocks 8192"
dev=/dev/mapper/hme

fill() { # fill <octal byte> <block>
	dd if=/dev/zero bs=4k count=1 2>/dev/null | tr '\0' "\\$1" |
		dd of=$dev bs=4k seek="$2" oflag=direct 2>/dev/null
}

leg_create ssdleg $SSD
dmsetup create hme --notable
dmsetup load hme --table "$(echo "$table" | sed 's/ sync 2 / sync 3 /') format"
dmsetup resume hme
fill 101 7	# 'A'
dmsetup message hme 0 flush

step "mirror writes fail: the write of 'B' must fail"
leg_swap ssdleg $SSD "flakey $SSD 0 0 1 1 error_writes"
! fill 102 7 || fail "a write whose mirror write failed succeeded"
leg_swap ssdleg $SSD linear
before=$(dd if=$dev bs=4k skip=7 count=1 iflag=direct 2>/dev/null | md5sum)
dmsetup status hme
dmsetup message hme 0 flush || fail "flush failed with the SSD back"

step "reboot the RAM tier: a new brd, restored from the mirror"
dmsetup remove hme
rmmod brd
modprobe brd rd_nr=1 rd_size=65536
dmsetup create hme --table "$table"
hims_wait_restored hme 120
after=$(dd if=$dev bs=4k skip=7 count=1 iflag=direct 2>/dev/null | md5sum)
dd if=$dev bs=4k skip=7 count=1 iflag=direct 2>/dev/null | od -An -c | head -n 1
[ "$before" = "$after" ] || fail "block 7 changed across the reboot: RAM and mirror disagreed"
dmsetup remove hme
dmsetup remove ssdleg
echo "the mirror caught up with RAM after the failed write"
