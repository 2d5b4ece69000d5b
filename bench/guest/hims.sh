# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Benchmark, not a test: CrystalDiskMark-style fio runs (Seq 128 KiB Q32
# and 4 KiB random Q32, read and write, direct I/O, libaio, numjobs 1 and
# 2) in one boot on: raw brd, dm-linear over brd (dm's own cost), the raw
# SSD ($SSD), hims sync and async (brd + a disk), dm-writecache over brd and
# rapiddisk-cache (write-through over a RapidDisk RAM disk).  The disks are
# throttled by qemu (DISK_THROTTLE, set by bench/host/hims-report.sh from a
# calibration of brd), so the SSD is the slow leg, as on real hardware.
#
# Foreground: a region of 40 % of the hims RAM tier, under the writeback
# watermarks (and max_age long), every hims device flushed before each run:
# no writeback runs during a run.  Sustained: async writes over the whole
# RAM tier, twice the high watermark, for longer; writeback has to keep up.
#
# Every device exists at once, each over its own brd and its own disk, so
# the runs go test by test: the devices of one test run back to back, in
# turn, ROUNDS times, every other round in reverse order.  A shared TCG
# host drifts; this keeps the drift out of the ratios, and the report takes
# medians.
#
# Output for bench/host/hims-report.sh:
#   BENCH <device> <test> <numjobs> <KiB/s> <round>
#   BENCH_NA <device> <reason>
#   DIRTY <device> <test> <dirty blocks at the end> <high watermark blocks>
#   INFO <text>
# timeout: 3600
# memory: 3G
# disks: 1G 1G 1G 1G 1G
. /tests/guest/lib.sh
. /bench/guest/bench-lib.sh

ROUNDS=${BENCH_ROUNDS:-5}
RUNTIME=3	# seconds measured per foreground run
SUSTAIN=20	# seconds per sustained run
RAMP=1		# seconds before measuring
TIER_MB=320	# each hims RAM tier
FG_MB=128	# foreground region: 40 % of the tier
BRD_MB=768	# each brd; pages are allocated only when written

# One fio run; prints its bandwidth in KiB/s (terse v3: field 7 is the read
# bandwidth, field 48 the write bandwidth).  Each job has its own offset.
fio_bw() { # fio_bw <dev> <rw> <bs> <numjobs> <size MiB> <seconds>
	local field=7 line size=$(($5 / $4))
	case "$2" in *write) field=48 ;; esac
	line=$(fio --name=bench --filename="$1" --direct=1 --ioengine=libaio \
		--rw="$2" --bs="$3" --iodepth=32 --numjobs="$4" --size="${size}M" \
		--offset_increment="${size}M" --runtime="$6" --ramp_time="$RAMP" \
		--time_based --randrepeat=0 --group_reporting \
		--output-format=terse --terse-version=3 2> fio.err) || return 1
	echo "$line" | tail -n 1 | cut -d';' -f"$field"
}

prefill() { # prefill <dev> <MiB>
	fio --name=prefill --filename="$1" --direct=1 --ioengine=libaio \
		--rw=write --bs=1M --iodepth=8 --size="$2M" \
		--output-format=terse --terse-version=3 > /dev/null
}


wait_dev /dev/vde || fail "the benchmark needs five disks (vda..vde)"
echo "INFO kernel $(uname -r), $(nproc) vCPUs, fio $(fio --version);" \
	"disks throttled to ${DISK_THROTTLE:-none} (bytes/s:IOPS);" \
	"foreground ${FG_MB} MiB region, $ROUNDS rounds of ${RUNTIME}s runs" \
	"after ${RAMP}s ramp; sustained ${TIER_MB} MiB, ${SUSTAIN}s; iodepth 32"

modprobe dm-mod
modprobe brd rd_nr=4 rd_size=$((BRD_MB * 1024))
wait_dev /dev/ram3 || fail "no brd"

# label:device pairs, in run order.
devs="brd:/dev/ram0 linear-brd:/dev/mapper/lin ssd:$SSD"
dmsetup create lin --table "0 $(sectors /dev/ram0) linear /dev/ram0 0"

step "hims sync (ram1 + vdb) and async (ram2 + vdc)"
hims_pair $TIER_MB /dev/ram1 /dev/vdb /dev/ram2 /dev/vdc || fail "cannot create hims"
devs="$devs hims-sync:/dev/mapper/hims-sync hims-async:/dev/mapper/hims-async"

# dm-writecache, SSD mode, brd as the cache: 768 MiB keeps the region and
# its rewrites under the 50 % high watermark, so there is no writeback and
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
	prefill "${d#*:}" $FG_MB || fail "prefill of $d failed"
done

# Nothing dirty in either hims device before a run, so that one run's
# writeback does not spill into the next one.
settle() {
	dmsetup message hims-sync 0 flush
	dmsetup message hims-async 0 flush
}

dirty() { dmsetup status "$1" | cut -d' ' -f7; }

round=1
while [ "$round" -le "$ROUNDS" ]; do
	order=$(round_order "$round")
	for t in seq-read:read:128k seq-write:write:128k \
		 4k-read:randread:4k 4k-write:randwrite:4k; do
		rw=${t#*:}
		bs=${rw#*:}
		rw=${rw%:*}
		for nj in 1 2; do
			step "round $round: ${t%%:*}, numjobs $nj"
			for d in $order; do
				settle
				kib=$(fio_bw "${d#*:}" "$rw" "$bs" $nj $FG_MB $RUNTIME) || kib=
				if [ -n "$kib" ]; then
					echo "BENCH ${d%%:*} ${t%%:*} $nj $kib $round"
				else
					echo "BENCH_NA ${d%%:*} ${t%%:*} fio failed: $(grep -m1 -o 'error.*' fio.err)"
				fi
				case "${d%%:*}:$rw" in
				hims-async:*write)
					[ "$(dirty hims-async)" -lt $((ram_blocks / 2)) ] ||
						echo "INFO hims-async over the high watermark after ${t%%:*}: $(dirty hims-async) dirty"
					;;
				esac
			done
		done
	done
	# Sustained async writes over the whole RAM tier, beside the SSD's.
	for t in seq-write:write:128k 4k-write:randwrite:4k; do
		rw=${t#*:}
		bs=${rw#*:}
		rw=${rw%:*}
		step "round $round: sustained ${t%%:*}"
		for d in ssd:$SSD hims-async:/dev/mapper/hims-async; do
			settle
			kib=$(fio_bw "${d#*:}" "$rw" "$bs" 1 $TIER_MB $SUSTAIN) || kib=
			if [ -n "$kib" ]; then
				echo "BENCH ${d%%:*} sustained-${t%%:*} 1 $kib $round"
			else
				echo "BENCH_NA ${d%%:*} sustained-${t%%:*} fio failed: $(grep -m1 -o 'error.*' fio.err)"
			fi
		done
		echo "DIRTY hims-async sustained-${t%%:*} $(dirty hims-async) $((ram_blocks / 2))"
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
