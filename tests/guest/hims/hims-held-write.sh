# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# A write held for a flush must not hold the other deferred writes.  A
# write to a block a flush waits for is deferred until writeback has
# copied that block (hims-flush-overlap); it must wait on its own, not in
# the worker that runs every deferred write, or a first write elsewhere
# (deferred to persist its valid bit) waits for the whole flush.  Forty
# dirty blocks, one copy at a time, each SSD write delayed 300 ms
# (dm-delay on the SSD leg): during the flush, a write to the newest dirty
# block (copied last) is held, and a first write to a new block must
# complete while most blocks are still to copy (one delayed bitmap write
# against forty delayed copies: an order, not a time).
# timeout: 600
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=32768	# 32 MiB
modprobe dm-delay
leg_create ssdleg "$SSD"
len=$(( (8191 + 8192) * 8 ))
dmsetup create hh --table "0 $len hims /dev/ram0 /dev/mapper/ssdleg async 9 \
ram_blocks 8191 max_age 86400000 high_watermark 100 writeback_jobs 1 format"
dev=/dev/mapper/hh
dmsetup message hh 0 pause_writeback
head -c 4096 /dev/zero | tr '\0' P > pdata
put() { # put <block>
	dd if=pdata of=$dev bs=4k seek="$1" count=1 oflag=direct conv=notrunc 2>/dev/null ||
		fail "cannot write block $1"
}
for b in $(seq 0 2 78); do put "$b"; done
[ "$(hims_field hh 4)" = 40 ] || fail "40 blocks should be dirty: $(dmsetup status hh)"
leg_swap ssdleg "$SSD" "delay $SSD 0 0 $SSD 0 300"

step "flush; a write to the last block it copies; a first write elsewhere"
dmsetup message hh 0 flush &
flush_pid=$!
until [ "$(hims_field hh 5)" -gt 0 ]; do	# a copy under way: the flush runs
	kill -0 $flush_pid 2>/dev/null || fail "the flush ended before it began copying"
	sleep 0.1
done
put 78 &
held_pid=$!
sleep 1
put 200
kill -0 $held_pid 2>/dev/null || fail "the write to block 78 was not held: the test proves nothing"
# Waiting behind the held write, it would end after the last copy.
dirty=$(hims_field hh 4)
[ "$dirty" -gt 10 ] ||
	fail "the first write waited for the flush: $dirty blocks left dirty: $(dmsetup status hh)"
echo "the first write completed with $dirty blocks still to copy: $(dmsetup status hh)"
wait $flush_pid || fail "the flush failed: $(dmsetup status hh)"
wait $held_pid || fail "the held write failed"
leg_swap ssdleg "$SSD" linear
dmsetup remove hh
dmsetup remove ssdleg
