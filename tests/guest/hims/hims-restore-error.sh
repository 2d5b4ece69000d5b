# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Restore copies that fail: ten mirror blocks of the SSD fail to read
# (dm "error" target in the SSD's table).  The restore retries them one
# block at a time a bounded number of times, logs the failures, gives up
# with status field 20 "incomplete" and exactly those ten blocks still to
# restore, and keeps serving them from the SSD (reads fail, never RAM's
# empty blocks); every other block reads back.  When the SSD heals, a
# suspend and resume retries: the restore completes and all data is there.
# timeout: 600
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=32768	# 32 MiB
# 8191 RAM-tier blocks: bitmap at SSD block 1, mirror at block 256.
bad=1000 nbad=10
bad_s=$(( (256 + bad) * 8 )) bad_n=$((nbad * 8))
leg_create ssd "$SSD"
dev=/dev/mapper/he
len=$(( (8191 + 8192) * 8 ))
table="0 $len hims /dev/ram0 /dev/mapper/ssd async 4 ram_blocks 8191 max_age 86400000"
f() { hims_field he "$1"; }
a() { fio_pattern "$1" $dev 0 3M 1; }	# blocks 0-767
b() { fio_pattern "$1" $dev 3M 2M 2; }	# blocks 768-1279, the bad ones among them
c() { fio_pattern "$1" $dev 5M 25M 3; }	# blocks 1280-7679

step "write the RAM tier; drop RAM; the SSD fails reads of blocks $bad-$((bad + nbad - 1))"
dmsetup create he --table "$table"
a write
b write
c write
dmsetup message he 0 flush
dmsetup remove he
rmmod brd
modprobe brd rd_nr=1 rd_size=32768
leg_fail ssd "$SSD" $bad_s $bad_n error
dmesg -c > /dev/null

step "the restore retries, then gives up on exactly those blocks"
dmsetup create he --table "$table"
hims_wait_field he 20 incomplete 120
dmsetup status he
left=$(( $(f 7) - $(f 6) ))
[ $left = $nbad ] || fail "$left blocks left to restore, not the $nbad bad ones"
[ "$(f 21)" -gt $nbad ] || fail "status field 21 counts $(f 21) failed copies"
dmesg | grep -q "restore of blocks $bad-$bad failed" || fail "no log of the failed copies"
dmesg | grep -q "restore incomplete: $nbad blocks stay on the SSD" ||
	fail "no log of the incomplete restore"
# himsctl wait must end, and fail, rather than wait for blocks that never come.
out=$(himsctl wait he --quiet --timeout 60 2>&1) && fail "himsctl wait succeeded on an incomplete restore"
case "$out" in
*"restore incomplete: "*) ;;
*) fail "himsctl wait: $out" ;;
esac
himsctl status he | grep -q 'restore: *incomplete' || fail "himsctl status: $(himsctl status he)"
a check || fail "blocks before the bad ones lost"
c check || fail "blocks after the bad ones lost"
if dd if=$dev of=/dev/null bs=4k skip=$((bad + 3)) count=1 iflag=direct 2>/dev/null; then
	fail "a block the restore could not copy was read from RAM, not the SSD"
fi

step "the SSD heals; a resume retries and the restore completes"
leg_swap ssd "$SSD" linear
dmsetup suspend he
dmsetup resume he
hims_wait_restored he 120
dmsetup status he
[ "$(f 20)" = complete ] || fail "status field 20 is '$(f 20)', not complete"
dmesg | grep -q "RAM tier restored" || fail "no 'RAM tier restored' message"
a check || fail "A lost after the retry"
b check || fail "B lost after the retry"
c check || fail "C lost after the retry"
dmsetup remove he
dmsetup remove ssd
