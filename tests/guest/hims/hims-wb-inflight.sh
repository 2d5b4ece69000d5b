# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Writeback never copies a block while a write is landing in it (the SSD
# could get a byte mix of two versions): a write to a block whose copy is
# in flight waits for the copy to end.  The SSD leg delays writes by 10 s
# so the copy is in flight for that long; a rewrite of the block issued
# meanwhile must not complete before the copy does.
# boots: 1
# timeout: 300
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe dm-delay
modprobe brd rd_nr=1 rd_size=65536	# 64 MiB
len=$(( (8192 + 8192) * 8 ))
dev=/dev/mapper/hwi

leg_create ssdleg $SSD
dmsetup create hwi --table "0 $len hims /dev/ram0 /dev/mapper/ssdleg async 5 ram_blocks 8192 max_age 86400000 format"
dd if=/dev/zero bs=4k count=1 2>/dev/null | tr '\0' 'a' | dd of=$dev bs=4k seek=5 oflag=direct 2>/dev/null
[ "$(hims_field hwi 4)" = 1 ] || fail "block 5 is not dirty"
leg_swap ssdleg $SSD "delay $SSD 0 0 $SSD 0 10000"
dmsetup message hwi 0 flush &
flusher=$!
i=0
while [ "$(hims_field hwi 5)" != 1 ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "block 5's writeback never started: $(dmsetup status hwi)"
	sleep 0.1
done
step "copy in flight: rewrite the block"
dd if=/dev/zero bs=4k count=1 2>/dev/null | tr '\0' 'b' | dd of=$dev bs=4k seek=5 oflag=direct 2>/dev/null
s=$(dmsetup status hwi)
echo "after the rewrite: $s"
[ "$(echo "$s" | awk '{print $8}')" = 0 ] ||
	fail "the rewrite completed while its block was being copied to the SSD"
wait $flusher || fail "flush failed"
leg_swap ssdleg $SSD linear
dmsetup message hwi 0 flush
dmsetup remove hwi
dmsetup remove ssdleg
echo "the rewrite waited for the copy"
