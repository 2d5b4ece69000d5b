# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# A flush is not starved by overlapping writes to one block.  Writeback
# never copies a block with a write in flight, so writes to one block that
# overlap without a pause could hold a flush of that block for as long as
# they come.  New writes to a block a flush waits for must wait for its
# copy instead: the flush completes while the writes still go on.  RAM
# writes take 500 ms (dm-delay on the RAM leg); two fio jobs, the second
# started 250 ms after the first, keep 16 writes each of block 5 in
# flight (randwrite over a 4 KiB region, so fio never waits for a pass
# to end), so the block always has writes in flight.
# timeout: 600
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=32768	# 32 MiB
modprobe dm-delay
leg_create ramleg /dev/ram0
len=$(( (8191 + 8192) * 8 ))
dmsetup create hf --table "0 $len hims /dev/mapper/ramleg $SSD async 5 \
ram_blocks 8191 max_age 86400000 format"
dev=/dev/mapper/hf
dmsetup message hf 0 pause_writeback
head -c 4096 /dev/zero | tr '\0' P > pdata
dd if=pdata of=$dev bs=4k seek=5 count=1 oflag=direct conv=notrunc 2>/dev/null
leg_swap ramleg /dev/ram0 "delay /dev/ram0 0 0 /dev/ram0 0 500"

step "two fio jobs keep 16 writes each of block 5 in flight"
fio --filename=$dev --direct=1 --ioengine=libaio --rw=randwrite --norandommap \
	--randrepeat=0 --bs=4k --offset=20k --size=4k --io_size=100g --iodepth=16 \
	--time_based --runtime=240 --output-format=terse \
	--name=a --name=b --startdelay=250ms > fio.out 2>&1 &
wpid=$!
stop_writer() { kill "$wpid" 2>/dev/null || true; wait "$wpid" 2>/dev/null || true; }
at_exit stop_writer
i=0
until [ "$(hims_field hf 9)" -gt 100 ]; do
	kill -0 $wpid 2>/dev/null || { cat fio.out; fail "fio ended early"; }
	[ $i -ge 600 ] && fail "only $(hims_field hf 9) writes in 120 s"
	i=$((i + 1))
	sleep 0.2
done
[ "$(hims_field hf 4)" = 1 ] || fail "block 5 is not the one dirty block: $(dmsetup status hf)"

step "flush while the writes go on"
dmsetup message hf 0 flush &
flush_pid=$!
while kill -0 $flush_pid 2>/dev/null; do
	kill -0 $wpid 2>/dev/null ||
		fail "the flush waited until the overlapping writes stopped"
	sleep 0.2
done
wait $flush_pid || fail "the flush failed: $(dmsetup status hf)"
kill -0 $wpid 2>/dev/null || fail "the writes ended during the flush"
echo "flushed with writes going on: $(dmsetup status hf)"
stop_writer
leg_swap ramleg /dev/ram0 linear
dmsetup remove hf
dmsetup remove ramleg
