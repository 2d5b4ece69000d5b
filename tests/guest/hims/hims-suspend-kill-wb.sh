# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# A suspend killed while it writes back dirty blocks to a slow SSD leaves
# writeback stopped until the device is resumed: no new copy may start
# while the device is suspended, since the next table may format or load
# the SSD meanwhile.  2000 scattered dirty blocks, one copy at a time, each
# write to the SSD delayed 300 ms (dm-delay): the suspend's drain waits,
# SIGKILL ends it; then the dirty count must not move while suspended,
# a flush message meanwhile must fail at once (it would hold the table a
# reload or removal waits for), and writeback must go on after the
# resume, the data intact.
# timeout: 600
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe dm-delay
modprobe brd rd_nr=1 rd_size=32768	# 32 MiB
leg_create ssd "$SSD"
dev=/dev/mapper/hs
len=$(( (8191 + 8192) * 8 ))
opts="ram_blocks 8191 high_watermark 90 low_watermark 80 writeback_jobs 1 max_age 86400000"
table="0 $len hims /dev/ram0 /dev/mapper/ssd async 10 $opts"
f() { hims_field hs "$1"; }
slow=
unslow() {
	[ -n "$slow" ] && leg_swap ssd "$SSD" linear
	slow=
}
at_exit unslow

step "2000 dirty blocks, every other one of the first 16 MiB; the SSD slows down"
dmsetup create hs --table "0 $len hims /dev/ram0 /dev/mapper/ssd async 11 $opts format"
fio_pattern write $dev 0 16M 7 --rw=write:4k
[ "$(f 4)" -ge 2000 ] || fail "only $(f 4) dirty blocks: $(dmsetup status hs)"
leg_swap ssd "$SSD" "delay $SSD 0 0 $SSD 0 300"
slow=1

step "the suspend writes back and waits; SIGKILL ends it"
dmsetup suspend hs &
pid=$!
wait_in_kernel $pid "the suspend wrote back 2000 blocks at 300 ms each at once"
kill_wait $pid "the suspend" unslow
wait $pid || true
dmsetup info hs | grep -q SUSPENDED || fail "the device is not suspended"

step "suspended: the copy in flight ends, and no other starts"
i=0
until [ "$(f 5)" = 0 ]; do
	[ $i -ge 100 ] && fail "writeback went on with the device suspended: copies in flight 20 s after the kill: $(dmsetup status hs)"
	i=$((i + 1))
	sleep 0.2
done
d1=$(f 4)
sleep 3
d2=$(f 4)
echo "dirty after the kill: $d1, 3 s later: $d2; in flight: $(f 5)"
[ "$d2" = "$d1" ] && [ "$(f 5)" = 0 ] ||
	fail "writeback went on with the device suspended: $d1 then $d2 dirty blocks"

step "a flush message meanwhile is refused, not held until the resume"
dmesg -c > /dev/null
if timeout 120 dmsetup message hs 0 flush 2>/dev/null; then
	fail "a flush succeeded with writeback halted"
fi
dmesg | grep -q "writeback halted by an interrupted suspend" ||
	fail "the flush was not refused for the halted writeback: $(dmesg | tail -n 3)"

step "resumed: writeback goes on; the data is intact"
dmsetup resume hs
i=0
while [ "$(f 4)" = "$d1" ]; do
	[ $i -ge 150 ] && fail "no writeback 30 s after the resume: $(dmsetup status hs)"
	i=$((i + 1))
	sleep 0.2
done
unslow
dmsetup message hs 0 flush
[ "$(f 4)" = 0 ] || fail "$(f 4) dirty blocks after a flush"
fio_pattern check $dev 0 16M 7 --rw=write:4k || fail "data changed"
dmsetup remove hs
dmsetup create hs --table "$table"
fio_pattern check $dev 0 16M 7 --rw=write:4k || fail "data changed after a reload"
dmsetup remove hs
