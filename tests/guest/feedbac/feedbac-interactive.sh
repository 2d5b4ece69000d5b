# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# An interactive reader (weight 100, iodepth 1, 300 ms think time) beside a
# batch reader (weight 10, iodepth 32) on a 20 MB/s null_blk: through
# dm-feedbac the reader's p99 latency is no worse than on a raw null_blk
# with no control at all.  Between two reads the reader has gone idle; its
# read must not wait for the batch job's credit to run out or the period
# to end.
# Both pairs run at the same time, each on its own 20 MB/s null_blk: a
# stall of a loaded TCG host (the whole guest stops for a few hundred ms)
# then delays reads on both sides alike, where measured one after the
# other it decided whichever p99 it fell in.  Each interactive cgroup runs
# four such readers, so that its p99 comes from about 400 reads.  The batch
# jobs read 4 KiB blocks: under TCG they are then bound by the guest's CPU,
# not the device, and a held read shows against a raw device that is never
# full.  Only ratios are asserted, with a margin for TCG's noise.
# timeout: 300
. /tests/guest/lib.sh

RUNTIME=30	# seconds of reads: about 100 per reader

modprobe null_blk nr_devices=2 gb=1 memory_backed=0 mbps=20
modprobe dm-feedbac
fb_cgroups int batch raw-int raw-batch

dmsetup create fb-int --table "0 $(sectors /dev/nullb1) feedbac /dev/nullb1"
dmsetup message fb-int 0 weight "$FB_CGP/int" 100
dmsetup message fb-int 0 weight "$FB_CGP/batch" 10

# start_readers <group> <dev>: the interactive readers, in the background.
start_readers() {
	sh -c 'echo $$ > "$0/cgroup.procs" && exec fio --name=int \
		--filename="$1" --direct=1 --ioengine=libaio --rw=randread \
		--bs=4k --iodepth=1 --thinktime=300ms --runtime="$2" \
		--numjobs=4 --group_reporting --time_based \
		--output-format=terse' "$FB_CG/$1" "$2" $RUNTIME \
		> "/tmp/work/$1.lat" 2>&1 &
}

# percentiles <group>: sets P90 and P99 (us) of its readers' reads.
percentiles() {
	local out="/tmp/work/$1.lat"
	fio_ok "$out" || { cat "$out"; fail "the interactive fio in $1 failed"; }
	# The first percentiles of the terse line are the reads' clat.
	P90=$(tr ';' '\n' < "$out" | sed -n 's/^90\.000000%=//p' | head -n 1)
	P99=$(tr ';' '\n' < "$out" | sed -n 's/^99\.000000%=//p' | head -n 1)
	echo "$1: $(tr ';' '\n' < "$out" | grep -E '^(50|90|99)\.000000%=' | head -n 3 | tr '\n' ' ')"
	[ "${P90:-0}" -gt 0 ] && [ "${P99:-0}" -gt 0 ] || fail "no percentiles from fio in $1"
}

step "both pairs at once: raw null_blk and dm-feedbac (weights 100:10)"
fb_fio_start raw-batch /dev/nullb0 randread 4k 32
fb_fio_start batch /dev/mapper/fb-int randread 4k 32
sleep 3
start_readers raw-int /dev/nullb0
RAW_PID=$!
start_readers int /dev/mapper/fb-int
FB_PID=$!
for pid in $RAW_PID $FB_PID; do
	wait "$pid" || true	# fio_ok checks the output
done
fb_fio_stop raw-batch batch
percentiles raw-int
RAW90=$P90 RAW99=$P99
percentiles int
echo "p90 $P90 us, $((P90 * 100 / RAW90)) % of raw; p99 $P99 us, $((P99 * 100 / RAW99)) % of raw"
dmsetup status fb-int
# No worse than no control, with slack for TCG's noise and 2 ms for dm's
# own cost when the raw figure is a fraction of a millisecond.  p99 is the
# acceptance; p90 is what a read held until the batch job's credit runs out
# or the period ends shows most (8x raw).
[ "$P99" -le $((RAW99 * 3 / 2 + 2000)) ] ||
	timing_fail "interactive p99 $P99 us through dm-feedbac, $RAW99 us raw"
[ "$P90" -le $((RAW90 * 2 + 2000)) ] ||
	timing_fail "interactive p90 $P90 us through dm-feedbac, $RAW90 us raw"

dmsetup remove fb-int
rmmod null_blk
