# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Benchmark calibration, not a test: how fast raw brd is in this VM, so
# that bench/host/hims-report.sh can throttle the benchmark's "SSD" disks to
# a real SSD's ratio against RAM.  Seq 128 KiB and 4 KiB random, Q32, read
# and write, three rounds each.
# Output: CALIB <bytes/s> <iops>, the medians of the reads' and writes'
# rounds together.
# timeout: 300
# memory: 2G
. /tests/guest/lib.sh

modprobe brd rd_nr=1 rd_size=$((512 * 1024))
fio --name=prefill --filename=/dev/ram0 --direct=1 --ioengine=libaio \
	--rw=write --bs=1M --iodepth=8 --size=256M --output-format=terse > /dev/null ||
	fail "prefill of brd failed"

# run <rw> <bs>: one 3 s run; prints "<KiB/s> <iops>" (terse v3 fields 7
# and 8 for reads, 48 and 49 for writes).
run() {
	local f=7
	case "$1" in *write) f=48 ;; esac
	fio --name=cal --filename=/dev/ram0 --direct=1 --ioengine=libaio \
		--rw="$1" --bs="$2" --iodepth=32 --size=256M --runtime=3 \
		--ramp_time=1 --time_based --randrepeat=0 \
		--output-format=terse --terse-version=3 | tail -n 1 |
		cut -d';' -f"$f,$((f + 1))" | tr ';' ' '
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: > /tmp/work/bw
: > /tmp/work/iops
for round in 1 2 3; do
	for rw in read write; do
		run $rw 128k | awk '{ print $1 * 1024 }' >> /tmp/work/bw
		run rand$rw 4k | awk '{ print $2 }' >> /tmp/work/iops
	done
	echo "round $round: $(tr '\n' ' ' < /tmp/work/bw)B/s; $(tr '\n' ' ' < /tmp/work/iops)IOPS"
done
echo "CALIB $(median < /tmp/work/bw) $(median < /tmp/work/iops)"
rmmod brd
