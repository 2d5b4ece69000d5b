# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Benchmark, not a test: CrystalDiskMark-style fio runs (Seq 128 KiB Q32T1
# and 4 KiB random Q32T1, read and write, direct I/O, libaio, one job) in one
# boot on: raw brd, the raw SSD ($SSD), dm-linear over brd (dm's own cost),
# hims sync and async (brd + a disk), dm-writecache over brd and
# rapiddisk-cache (write-through over a RapidDisk RAM disk).
#
# Every device exists at once, each over its own brd and its own virtio disk
# (all disks are alike), so the runs can go test by test: the devices of one
# test run back to back, in turn, twice (the second time in reverse order).
# A shared TCG host drifts; this keeps the drift out of the ratios.
#
# Output for bench/host/hims-report.sh:
#   BENCH <device> <seq-read|seq-write|4k-read|4k-write> <KiB/s> <round>
#   BENCH_NA <device> <reason>
#   INFO <text>
# timeout: 1500
# memory: 3G
# disks: 1G 1G 1G 1G 1G
. /tests/guest/lib.sh

RUNTIME=5	# seconds measured per fio run
RAMP=1		# seconds before measuring
ROUNDS=2
SIZE_MB=256	# region exercised on every device, prefilled once
SIZE=${SIZE_MB}M
BRD_MB=768	# each brd; pages are allocated only when written

# One fio run; prints its bandwidth in KiB/s (terse v3: field 7 is the read
# bandwidth, field 48 the write bandwidth).
fio_bw() { # fio_bw <dev> <rw> <bs>
	local dev=$1 rw=$2 bs=$3 field=7 line
	case "$rw" in *write) field=48 ;; esac
	line=$(fio --name=bench --filename="$dev" --direct=1 --ioengine=libaio \
		--rw="$rw" --bs="$bs" --iodepth=32 --numjobs=1 --size="$SIZE" \
		--runtime="$RUNTIME" --ramp_time="$RAMP" --time_based \
		--randrepeat=0 --group_reporting \
		--output-format=terse --terse-version=3 2> fio.err) || return 1
	echo "$line" | tail -n 1 | cut -d';' -f"$field"
}

# Write the whole region once so reads hit written (allocated) blocks.
prefill() {
	fio --name=prefill --filename="$1" --direct=1 --ioengine=libaio \
		--rw=write --bs=1M --iodepth=8 --size="$SIZE" \
		--output-format=terse --terse-version=3 > /dev/null
}

wait_dev() {
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -b "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

wait_dev /dev/vde || fail "the benchmark needs five disks (vda..vde)"
echo "INFO kernel $(uname -r), $(nproc) vCPUs, fio $(fio --version);" \
	"${SIZE} region per device, prefilled; $ROUNDS rounds of ${RUNTIME}s runs" \
	"after ${RAMP}s ramp; iodepth 32, 1 job"

modprobe dm-mod
modprobe brd rd_nr=4 rd_size=$((BRD_MB * 1024))
wait_dev /dev/ram3 || fail "no brd"

# label:device pairs, in run order.
devs="brd:/dev/ram0 ssd:$SSD"

step "dm-linear over brd (the same ram0)"
dmsetup create lin --table "0 $(sectors /dev/ram0) linear /dev/ram0 0"
devs="$devs linear-brd:/dev/mapper/lin"

# hims: a 320 MiB RAM tier (header block excluded) holding the region, and
# a 256 MiB SSD tier after it.
step "hims sync (ram1 + vdb) and async (ram2 + vdc)"
modprobe dm-hims
ram_blocks=$((320 * 256 - 1))
hims_len=$(((ram_blocks + 65536) * 8))
dmsetup create hims-sync --table \
	"0 $hims_len hims /dev/ram1 /dev/vdb sync 2 ram_blocks $ram_blocks"
dmsetup create hims-async --table \
	"0 $hims_len hims /dev/ram2 /dev/vdc async 2 ram_blocks $ram_blocks"
devs="$devs hims-sync:/dev/mapper/hims-sync hims-async:/dev/mapper/hims-async"

# dm-writecache, SSD mode, brd as the cache: 768 MiB keeps the region and
# its rewrites under the 50% high watermark, so there is no writeback and
# reads of the region come from the cache.
step "dm-writecache (ram3 cache, vdd origin)"
modprobe dm-writecache
dmsetup create wc --table "0 $(sectors /dev/vdd) writecache s /dev/vdd /dev/ram3 4096 0"
devs="$devs writecache:/dev/mapper/wc"

# rapiddisk-cache, write-through (mode 0).  Its constructor accepts only a
# RapidDisk volume (/dev/rd*) as the cache.  Table:
#   <start> <len> rapiddisk-cache <disk> <rd dev> <cache sectors> <mode>
# rapiddisk's rd_size parameter says MiB but is used as 2 KiB units
# (attach_device(i, rd_size * 2048) takes bytes).
step "rapiddisk-cache write-through (rd0 cache, vde origin)"
rd_mb=512
if ! modinfo rapiddisk > /dev/null 2>&1; then
	echo "BENCH_NA rapiddisk-wt module not built"
elif ! modprobe rapiddisk rd_nr=1 rd_size=$((rd_mb * 512)) ||
     ! modprobe rapiddisk-cache || ! wait_dev /dev/rd0; then
	echo "BENCH_NA rapiddisk-wt modules failed to load"
elif ! dmsetup create rc --table \
	"0 $(sectors /dev/vde) rapiddisk-cache /dev/vde /dev/rd0 $((rd_mb * 2048)) 0"; then
	echo "BENCH_NA rapiddisk-wt dmsetup create failed: $(dmesg | grep rapiddisk | tail -n 1)"
else
	devs="$devs rapiddisk-wt:/dev/mapper/rc"
fi

step "prefill"
for d in $devs; do
	prefill "${d#*:}" || fail "prefill of $d failed"
done

# Before each run: nothing dirty in either hims device, so one run's
# writeback does not spill into the next one.
settle() {
	dmsetup message hims-sync 0 flush
	dmsetup message hims-async 0 flush
}

rev=
for d in $devs; do rev="$d $rev"; done
round=1
while [ $round -le $ROUNDS ]; do
	order=$devs
	[ $((round % 2)) = 0 ] && order=$rev
	for t in seq-read:read:128k seq-write:write:128k \
		 4k-read:randread:4k 4k-write:randwrite:4k; do
		rw=${t#*:}
		bs=${rw#*:}
		rw=${rw%:*}
		step "round $round: ${t%%:*}"
		for d in $order; do
			settle
			kib=$(fio_bw "${d#*:}" "$rw" "$bs") || kib=
			if [ -n "$kib" ]; then
				echo "BENCH ${d%%:*} ${t%%:*} $kib $round"
			else
				echo "BENCH_NA ${d%%:*} ${t%%:*} fio failed: $(grep -m1 -o 'error.*' fio.err)"
			fi
			case "$d:$rw" in
			hims-async:*:*write)
				echo "INFO hims-async round $round ${t%%:*}: dirty and under-writeback blocks at its end: $(dmsetup status hims-async | cut -d' ' -f7,8)"
				;;
			esac
		done
	done
	round=$((round + 1))
done

for d in hims-sync hims-async wc rc; do
	[ -b /dev/mapper/$d ] || continue
	echo "INFO $d status: $(dmsetup status $d | tr '\n\t' '  ')"
done
echo "INFO   (hims: mode valid ram_blocks dirty writeback restored total" \
	"ram_reads ram_writes ssd_reads ssd_writes writeback error)"
dmsetup remove_all
echo "INFO done"
