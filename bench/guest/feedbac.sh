# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Benchmark, not a test: the seed paper's evaluation of dm-feedbac side by
# side with no control, BFQ (io.bfq.weight) and blk-iocost (io.weight), on
# one emulated NVMe drive that the host throttles (qemu's I/O throttling,
# driven over QMP by bench/host/feedbac-report.sh) so that the device, not
# TCG, is the bottleneck.  fio randread, randwrite and randrw, 4 KiB,
# iodepth 32, direct, one job in each of four cgroups weighted 100:50:25:10,
# all four at once.  Then a dynamic run on dm-feedbac: the host halves the
# drive's speed mid-run, and dmsetup status is sampled every 100 ms.
#
# Lines for the host (bench/host/feedbac-report.sh):
#   QMPREQ iops <n> <tag>       please throttle the NVMe drive to <n> IOPS
#   INFO <text>
#   BENCH <config> <rw> <uptime> <seconds> <I/Os of g1> <g2> <g3> <g4>
#   BENCH_NA <config> <rw> <why>
#   FBSTAT <rw> <uptime> <feedbac status fields> (every 0.5 s)
#   DYN <uptime> <feedbac status fields>   (the dynamic run, every ~0.1 s)
#   DYNMARK <what> <uptime>
# timeout: 1100
# memory: 2G
# nvme: 1G
. /tests/guest/lib.sh

RUNTIME=${FB_RUNTIME:-25}	# seconds measured per phase
RAMP=${FB_RAMP:-5}		# seconds before measuring
IOPS=${FB_IOPS:-1000}		# the drive's throttled speed
DYN_BEFORE=${FB_DYN_BEFORE:-10}	# dynamic run: seconds before the slowdown
DYN_AFTER=${FB_DYN_AFTER:-12}	# ... and after it
PERIOD_MS=${FB_PERIOD_MS:-100}
IOCOST_LAT=${FB_IOCOST_LAT:-10000}	# io.cost.qos rlat/wlat, us
SIZE=512M
DEV=/dev/nvme0n1
BDEV=nvme0n1
CG=/sys/fs/cgroup
GROUP_NAMES="g1 g2 g3 g4"
# shellcheck disable=SC2034 # read through eval
W_g1=100 W_g2=50 W_g3=25 W_g4=10
W=/tmp/work

uptime_s() {
	local up rest
	read -r up rest < /proc/uptime
	echo "$up"
}

# Ask the host to throttle the drive; give it time to act.
# Written straight to the results channel, past the harness's buffered
# output; the leading newline keeps it off a line being written.
throttle() { # throttle <iops> <tag>
	printf '\nQMPREQ iops %s %s\n' "$1" "$2" > "$RESULTS"
	echo "INFO throttle $1 IOPS ($2) asked at $(uptime_s)"
	sleep 1.5
}

# Start one fio job in cgroup <g>; it waits for $W/go before starting.
fio_group() { # fio_group <g> <dev> <rw> <runtime>
	sh -c "echo \$\$ > $CG/$1/cgroup.procs || exit 1
		while [ ! -e $W/go ]; do sleep 0.05; done
		exec fio --name=$1 --filename=$2 --direct=1 --ioengine=libaio \
		--rw=$3 --bs=4k --iodepth=32 --size=$SIZE --runtime=$4 \
		--time_based --norandommap --randrepeat=0 \
		--output-format=terse --terse-version=3" > "$W/$1.out" 2>&1 &
}

# I/Os of every group on the drive so far (io.stat rios + wios, counted as
# bios are issued to the drive): "<uptime> <g1> <g2> <g3> <g4>".
iostat_snap() {
	local g line n out
	out=$(uptime_s)
	for g in $GROUP_NAMES; do
		n=0
		while read -r line; do
			case "$line" in
			"$majmin "*) n=$(echo "$line" | sed 's/.*rios=\([0-9]*\).*wios=\([0-9]*\).*/\1 + \2/') ;;
			esac
		done < "$CG/$g/io.stat"
		out="$out $((n))"
	done
	echo "$out"
}

# Wait (up to 60 s) until every group has issued I/O since the call: fio
# takes seconds to start under TCG.
wait_all_started() {
	local base i now
	base=$(iostat_snap)
	for i in $(seq 600); do
		now=$(iostat_snap)
		echo "$base $now" | awk '{ for (i = 2; i <= 5; i++) if ($(i + 5) <= $i) exit 1 }' && return 0
		sleep 0.1
	done
	echo "INFO not every group started within 60 s: $base / $now"
}

# All four groups at once.  Once every group has issued I/O, <ramp> s pass,
# then the groups' I/Os on the drive are counted over <runtime> s, the same
# window for all; then fio is stopped.  Prints
#   BENCH <label> <rw> <uptime at start> <seconds> <ios g1> <ios g2> <ios g3> <ios g4>
# (fio's own per-job figures would cover windows that differ by fio's
# start-up time, seconds under TCG).
run_groups() { # run_groups <label> <dev> <rw> <runtime> <ramp>
	local g pids='' i s0 s1
	rm -f "$W/go"
	for g in $GROUP_NAMES; do
		fio_group "$g" "$2" "$3" $(($4 + $5 + 60))
		pids="$pids $!"
	done
	sleep 0.3
	touch "$W/go"
	wait_all_started
	sleep "$5"
	s0=$(iostat_snap)
	sleep "$4"
	s1=$(iostat_snap)
	# shellcheck disable=SC2086 # $pids is a list
	kill $pids 2>/dev/null || true
	# shellcheck disable=SC2086 # the same
	wait $pids || true
	echo "BENCH $1 $3 $(echo "$s0 $s1" | awk '{
		printf "%s %.2f", $1, $6 - $1
		for (i = 2; i <= 5; i++) printf " %d", $(i + 5) - $i
	}')"
	for g in $GROUP_NAMES; do
		grep -q '^3;' "$W/$g.out" ||
			echo "INFO $1 $3: fio in $g: $(tail -n 2 "$W/$g.out" | tr '\n' ' ')"
	done
}

# Sample dmsetup status of <dm name> every <interval> s into <file>.
# One fork (dmsetup) per sample: under TCG every process costs.
sampler() { # sampler <name> <interval> <file>
	local up rest
	while :; do
		read -r up rest < /proc/uptime
		printf '%s ' "$up" >> "$3"
		dmsetup status "$1" >> "$3" 2>/dev/null || echo >> "$3"
		sleep "$2"
	done
}

feedbac_create() {
	dmsetup create fb --table "0 $(sectors $DEV) feedbac $DEV 2 period_ms $PERIOD_MS"
	for g in $GROUP_NAMES; do
		eval "dmsetup message fb 0 weight /$g \$W_$g"
	done
}

set_sched() {
	echo "$1" > /sys/block/$BDEV/queue/scheduler
}

for i in $(seq 50); do
	[ -b $DEV ] && break
	sleep 0.2
done
[ -b $DEV ] || fail "no NVMe drive $DEV"
modprobe bfq || fail "modprobe bfq"
modprobe dm-feedbac || fail "modprobe dm-feedbac"
majmin=$(cat /sys/block/$BDEV/dev)

echo +io > $CG/cgroup.subtree_control
for g in $GROUP_NAMES; do
	mkdir -p "$CG/$g"
	eval "w=\$W_$g"
	# shellcheck disable=SC2154 # w is set by the eval
	echo "$w" > "$CG/$g/io.bfq.weight" || fail "io.bfq.weight of $g"
	echo "default $w" > "$CG/$g/io.weight" || fail "io.weight of $g"
done
echo "INFO kernel $(uname -r), $(nproc) vCPUs, fio $(fio --version), $DEV $(sectors $DEV) sectors ($majmin)," \
	"schedulers: $(cat /sys/block/$BDEV/queue/scheduler)"
echo "INFO phases: ${RAMP}s ramp + ${RUNTIME}s measured; throttle ${IOPS} IOPS; feedbac period_ms $PERIOD_MS"

step "prefill $SIZE of $DEV (unthrottled)"
throttle 0 unthrottled
fio --name=prefill --filename=$DEV --direct=1 --ioengine=libaio --rw=write \
	--bs=1M --iodepth=8 --size=$SIZE --output-format=terse > /dev/null ||
	fail "prefill failed"

# What TCG can do without the throttle: the throttle must be well below.
step "unthrottled capacity (randread, 4 groups)"
set_sched none
run_groups cal-raw $DEV randread 3 1
feedbac_create
run_groups cal-feedbac /dev/mapper/fb randread 3 1
dmsetup remove fb
set_sched bfq
run_groups cal-bfq $DEV randread 3 1
set_sched none

throttle "$IOPS" static
for rw in randread randwrite randrw; do
	step "$rw: none"
	set_sched none
	run_groups none $DEV $rw "$RUNTIME" "$RAMP"

	step "$rw: feedbac"
	feedbac_create
	rm -f $W/fbstat
	sampler fb 0.5 $W/fbstat &
	spid=$!
	run_groups feedbac /dev/mapper/fb $rw "$RUNTIME" "$RAMP"
	kill $spid; wait $spid 2>/dev/null || true
	awk -v rw=$rw 'NF > 5 { $2 = $3 = $4 = ""; print "FBSTAT " rw " " $0 }' $W/fbstat | tr -s ' '
	dmsetup remove fb

	step "$rw: bfq"
	set_sched bfq
	run_groups bfq $DEV $rw "$RUNTIME" "$RAMP"
	set_sched none

	step "$rw: iocost"
	# Linear model at the throttled speed: a 4 KiB random I/O costs 1/IOPS s.
	echo "$majmin ctrl=user model=linear rbps=$((IOPS * 32768)) rseqiops=$IOPS rrandiops=$IOPS wbps=$((IOPS * 32768)) wseqiops=$IOPS wrandiops=$IOPS" > $CG/io.cost.model ||
		fail "io.cost.model"
	echo "$majmin enable=1 ctrl=user rpct=95.00 rlat=$IOCOST_LAT wpct=95.00 wlat=$IOCOST_LAT min=50.00 max=150.00" > $CG/io.cost.qos ||
		fail "io.cost.qos"
	run_groups iocost $DEV $rw "$RUNTIME" "$RAMP"
	echo "INFO iocost $rw: qos $(grep "^$majmin" $CG/io.cost.qos); model $(grep "^$majmin" $CG/io.cost.model)"
	echo "$majmin enable=0" > $CG/io.cost.qos
done

step "dynamic: feedbac, randread, speed halved after ${DYN_BEFORE}s"
set_sched none
feedbac_create
rm -f $W/go $W/dyn
pids=
for g in $GROUP_NAMES; do
	fio_group "$g" /dev/mapper/fb randread $((DYN_BEFORE + DYN_AFTER + 60))
	pids="$pids $!"
done
sleep 0.3
touch $W/go
wait_all_started
sleep "$RAMP"
echo "DYNMARK start $(uptime_s)"
# The sampler is a function; run it at a higher priority than fio.
sampler fb 0.1 $W/dyn &
spid=$!
renice -n -10 -p $spid > /dev/null 2>&1 || true
sleep "$DYN_BEFORE"
echo "SLOWDOWN-NOW"
echo "DYNMARK slowdown $(uptime_s)"
printf '\nQMPREQ iops %s slowdown\n' $((IOPS / 2)) > "$RESULTS"
sleep "$DYN_AFTER"
echo "DYNMARK end $(uptime_s)"
kill $spid; wait $spid 2>/dev/null || true
# shellcheck disable=SC2086 # $pids is a list
kill $pids 2>/dev/null || true
# shellcheck disable=SC2086 # the same
wait $pids || true
awk 'NF > 5 { $2 = $3 = $4 = ""; print "DYN " $0 }' $W/dyn | tr -s ' '
dmsetup remove fb
throttle 0 "done"

for g in $GROUP_NAMES; do
	rmdir "$CG/$g"
done
