# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Lifecycle under load (issue 11, point 3): while fio writes and verifies
# (crc32c, verify_backlog) a loop suspends/resumes, reloads with changed
# options, switches modes and flushes; at the end of each round the device
# is removed, the module unloaded and loaded again (every other time brd
# too: a restore from the SSD) and the device re-created from the same
# SSD: the whole device's checksum, the last fio job's data (a verify-only
# pass) and untouched regions must read back.  Phases: feedbac on a 20
# MB/s null_blk with two weighted cgroups (bios really held), then hims
# sync, async, async+dedup, sync+dedup.  All along, swap lives on a second
# hims device and tmpfs files fill the guest's memory and more, rewritten
# all the time, so the swap is used: checked in every round.
# Runs SOAK_MIN minutes split evenly over the phases (make soak MIN=<n>;
# make vm-test: the line below), each at least one round of two of every
# operation and a module reload.
# soak: 1
# timeout: 900
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail

MIN=${SOAK_MIN:-2}
PHASE_S=$((MIN * 60 / 5))
WIN=$((PHASE_S / 3))		# a round's window of lifecycle operations
[ $WIN -ge 8 ] || WIN=8
[ $WIN -le 60 ] || WIN=60
W=/tmp/work
HS=/dev/mapper/soak
echo "soak: $MIN min, $PHASE_S s per phase, rounds of $WIN s of operations"

now() { cut -d. -f1 /proc/uptime; }
f() { hims_field soak "$1"; }

# --- memory pressure: swap on a hims device, a tmpfs fill and a hog

# The swap device: a 32 MiB RAM tier (ram1) and 224 MiB on $AUX, async.
SWAP_LEN=$(((8191 + 57344) * 8))
swap_table() { # swap_table <mode> [format]
	local o="ram_blocks 8191${2:+ format}"
	echo "0 $SWAP_LEN hims /dev/ram1 $AUX $1 $(echo "$o" | wc -w) $o"
}
SWAP_MODE=async

# brd allocates a page at its first write, with GFP_NOIO: write every page
# before the memory is filled, as a RAM tier in use would have them.
brd_load() {
	modprobe brd rd_nr=2 rd_size=32768
	[ "$(sectors /dev/ram1)" = 65536 ] || fail "/dev/ram1 is not 32 MiB (brd in use?)"
	dd if=/dev/zero of=/dev/ram0 bs=1M count=32 2>/dev/null
	dd if=/dev/zero of=/dev/ram1 bs=1M count=32 2>/dev/null
}

swap_used() { # KiB of swap in use
	awk 'NR > 1 { u += $4 } END { print u + 0 }' /proc/swaps
}

mem_avail() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }

# Allocate <n> files of 64 MiB (0 .. n - 1) in tmpfs <dir>, with a pause
# between files.  One dd of 1.5 GiB in a single read of /dev/zero (the old
# hog: one huge anonymous allocation touched in one syscall) tripped the
# soft-lockup watchdog under TCG on a loaded host.  fallocate takes the
# pages without copying into them (reclaim zeroes them on their way to
# swap): the fill takes seconds, not a minute.
PIECE=64
fill_pieces() { # fill_pieces <dir> <n>
	local k=0
	while [ $k -lt "$2" ]; do
		fallocate -l ${PIECE}M "$1/$k" || return 1
		k=$((k + 1))
		sleep 0.1
	done
}

# umount <dir>, retried while a killed writer still holds it.
umount_wait() {
	local i=0
	until umount "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "cannot unmount $1: $(umount "$1" 2>&1)"
		sleep 0.2
	done
}

HOG='' FILLED=0 HOGGED=0
# Fill the guest's memory: tmpfs files of all that is available but 256
# MiB.  Their pages are cold, so reclaim sends them to swap.
mem_fill() {
	local n
	[ $FILLED = 0 ] || return 0
	n=$((($(mem_avail) - 256) / PIECE))
	mkdir -p $W/fill
	mount -t tmpfs -o size=$((n * PIECE + 16))m fill $W/fill
	FILLED=1
	fill_pieces $W/fill $n || fail "cannot fill $((n * PIECE)) MiB of tmpfs"
}

mem_unfill() {
	[ $FILLED = 0 ] || umount_wait $W/fill
	FILLED=0
}

# The hog: more tmpfs files, as much as is available now plus an eighth of
# the swap, then the oldest file rewritten, again and again, so that
# reclaim runs all the time.  Tmpfs, unlike a process's memory, cannot be
# freed by the OOM killer: the tmpfs's size bounds it, so nothing is killed
# (oom_check).  Swap must then be in use: checked here, and by each round.
# It runs from the feedbac phase to the end; module reloads of dm-hims
# stop it (for swapoff) and start it again.  Restarted on a filled memory,
# it would push another share of the fill to swap: up to 205 of the 256
# MiB of swap seen.
hog_start() {
	local n i=0
	n=$((($(mem_avail) + $(awk 'NR > 1 { s += $3 } END { print int(s / 8192) }' /proc/swaps)) / PIECE + 1))
	mkdir -p $W/hog
	mount -t tmpfs -o size=$((n * PIECE + 16))m hog $W/hog
	HOGGED=1
	fill_pieces $W/hog $n || fail "cannot fill $((n * PIECE)) MiB of tmpfs for the hog"
	until [ "$(swap_used)" -gt 0 ]; do
		i=$((i + 1))
		[ $i -lt 50 ] || fail "the swap on hims is not used with $((n * PIECE)) MiB more in tmpfs: $(grep -E 'MemAvailable|Shmem:' /proc/meminfo | tr -s '\n ' ' ')"
		sleep 0.2
	done
	# A session of its own, so that its process group (and the fallocate
	# in it) can be killed at once.
	# shellcheck disable=SC2016 # expanded by that shell
	setsid sh -c 'k=0
		while :; do
			rm -f "$1/$k"
			fallocate -l $2 "$1/$k" || true
			k=$(((k + 1) % $0))
			sleep 1
		done' "$n" $W/hog ${PIECE}M &
	HOG=$!
}

hog_stop() {
	if [ -n "$HOG" ]; then
		kill -KILL -- "-$HOG" 2>/dev/null || true
		wait "$HOG" 2>/dev/null || true
		HOG=
	fi
	[ $HOGGED = 0 ] || umount_wait $W/hog
	HOGGED=0
}

swap_on() { # swap_on [mkswap]
	[ -z "$1" ] || mkswap /dev/mapper/soak-swap > /dev/null
	# swapon checks the signature: after a re-create it must have survived.
	swapon /dev/mapper/soak-swap || fail "swapon on the hims device failed"
}

swap_off() { # SWAPOFF_S: the seconds it took
	local t0
	t0=$(now)
	if grep -q "^/dev/" /proc/swaps; then
		swapoff /dev/mapper/soak-swap || fail "swapoff failed"
	fi
	SWAPOFF_S=$(($(now) - t0))
}

cleanup() {
	[ -e $W/stop ] || touch $W/stop
	hog_stop || true
	mem_unfill || true
	swapoff -a 2>/dev/null || true
	# The harness fails the test on these lines, but the console shows
	# no stack traces (loglevel 4): print what follows the first one.
	dmesg | grep -E -m1 -A 45 'BUG:|WARNING:|hung task|blocked for more|soft lockup|stall' || true
}
at_exit cleanup

# --- fio: loops of verified jobs in the background

# One fio job: random writes of 4-64 KiB, 16 MiB of them over the region,
# verified as they go and at the end; the same arguments with
# --verify_only=1 check the job's data again later.
fio_job() { # fio_job <dev> <offset> <size> <seed> [fio option...]
	local dev=$1 off=$2 size=$3 seed=$4
	shift 4
	fio --name=soak --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=randwrite --bsrange=4k-64k --iodepth=16 --offset="$off" \
		--size="$size" --io_size=16M --randseed="$seed" --verify=crc32c \
		--verify_backlog=64 --verify_fatal=1 --output-format=terse "$@"
}

# Read KiB in fio's terse output (field 6): what it verified.
fio_read_kib() {
	awk -F';' '$1 == 3 { k += $6 } END { print k + 0 }' "$1"
}

# fio_loop <tag> <dev> <offset> <size> [cgroup dir]: jobs with seeds 1, 2,
# ... until $W/stop exists; $W/<tag>.seed holds the last one that
# completed, $W/<tag>.kib a line of verified KiB per job, $W/<tag>.fail
# says why a job failed.
fio_loop() {
	local tag=$1 dev=$2 off=$3 size=$4 cg=$5
	rm -f "$W/$tag.seed" "$W/$tag.fail"
	(
		if [ -n "$cg" ]; then
			read -r me _ < /proc/self/stat	# this subshell
			echo "$me" > "$cg/cgroup.procs"
		fi
		k=0
		while [ ! -e $W/stop ]; do
			k=$((k + 1))
			if ! fio_job "$dev" "$off" "$size" $k > "$W/$tag.out" 2>&1 ||
			   ! fio_ok "$W/$tag.out"; then
				echo "fio job $k on $dev failed: $(grep -m1 -E 'verify|err' "$W/$tag.out")" > "$W/$tag.fail"
				cat "$W/$tag.out"
				exit 1
			fi
			echo $k > "$W/$tag.seed"
			fio_read_kib "$W/$tag.out" >> "$W/$tag.kib"
		done
	) &
	echo $! > "$W/$tag.pid"
	if [ -n "$cg" ]; then
		local i=0
		until grep -qx "$(cat "$W/$tag.pid")" "$cg/cgroup.procs"; do
			i=$((i + 1))
			[ $i -lt 100 ] || fail "fio loop $tag could not join $cg"
			sleep 0.1
		done
	fi
}

fio_alive() { # fio_alive <tag>...
	local t
	for t; do
		[ ! -e "$W/$t.fail" ] || fail "$(cat "$W/$t.fail")"
		kill -0 "$(cat "$W/$t.pid")" 2>/dev/null || fail "fio loop $t ended"
	done
}

# Stop the loops after their current job; each must have completed one.
fio_stop() { # fio_stop <tag>...
	local t
	touch $W/stop
	for t; do
		wait "$(cat "$W/$t.pid")" || fail "$(cat "$W/$t.fail" 2>/dev/null || echo "fio loop $t failed")"
		[ -s "$W/$t.seed" ] || fail "fio loop $t completed no job in $WIN s"
		JOBS=$((JOBS + $(cat "$W/$t.seed")))
	done
	rm $W/stop
}

# Verify-only pass of the last job of loop <tag>.
fio_recheck() { # fio_recheck <tag> <dev> <offset> <size>
	fio_job "$2" "$3" "$4" "$(cat "$W/$1.seed")" --verify_only=1 > "$W/$1.check" 2>&1 &&
		fio_ok "$W/$1.check" || { cat "$W/$1.check"; fail "$1: the last fio job's data is wrong after the reload"; }
	fio_read_kib "$W/$1.check" >> "$W/$1.kib"
}

# SUM: the checksum of the first <MiB> of a device, read with O_DIRECT.
sum_of() { # sum_of <dev> <MiB>
	SUM=$(dd if="$1" bs=1M count="$2" iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
	MD5_MIB=$((MD5_MIB + $2))
}

kib_total() { cat $W/*.kib 2>/dev/null | awk '{ k += $1 } END { print k + 0 }'; }

# The memory is bounded by the tmpfs sizes: no process may die of OOM.
oom_check() {
	local bad
	bad=$(dmesg | grep -E 'Killed process|Out of memory: Kill' | head -n 1)
	[ -z "$bad" ] || fail "OOM killed a process: $bad"
}

counts_reset() {
	SUSP=0 RELOAD=0 SWITCH=0 FLUSH=0 SWAPOPS=0 MODS=0 RESTORES=0 JOBS=0 MD5_MIB=0 SWAPMAX=0
	HELD_SAMPLES=0 HELD_SEEN=0 HELD_MAX=0 WEIGHTS=0 ROUNDS=0
	rm -f $W/*.kib
}

# SWAPMAX: the most swap used in the phase, RSWAP in the round.
swap_sample() {
	local u
	u=$(swap_used)
	[ "$u" -le "$SWAPMAX" ] || SWAPMAX=$u
	[ "$u" -le "$RSWAP" ] || RSWAP=$u
}

# Memory pressure must have lasted through the round's operations.
swap_check() {
	[ "$RSWAP" -gt 0 ] || fail "round $ROUNDS: the swap on hims was not used during the operations"
}

# --- dm-hims phases

DEDUP=0 MODE=sync OPTS=0
# Data device: 32 MiB RAM tier (ram0) and 32 MiB on the SSD; with dedup
# 48 MiB of logical RAM tier (more than the RAM: random data spills) and 16.
data_table() { # data_table [format]
	local o len
	if [ "$DEDUP" = 1 ]; then
		len=$(((12288 + 4096) * 8))
		o="dedup 12288"
	else
		len=$(((8191 + 8192) * 8))
		o="ram_blocks 8191"
	fi
	# Two option sets, swapped by reloads: the default writeback, and an
	# eager one (low watermarks, short max_age) that writes back all along.
	if [ $OPTS = 0 ]; then
		o="$o max_age 30000 high_watermark 50 low_watermark 45"
	else
		o="$o max_age 300 high_watermark 10 low_watermark 5"
	fi
	o="$o${1:+ format}"
	echo "0 $len hims /dev/ram0 $SSD $MODE $(echo "$o" | wc -w) $o"
}

hims_check_ok() {
	[ "$(f 13)" = 0 ] || fail "data device in the error state: $(dmsetup status soak)"
	[ "$(hims_field soak-swap 13)" = 0 ] || fail "swap device in the error state: $(dmsetup status soak-swap)"
}

# One lifecycle operation on the data device (and the swap device) by turn.
hims_op() { # hims_op <i>
	case $(($1 % 5)) in
	0)	dmsetup suspend soak
		[ "$(f 4)" = 0 ] || fail "suspended with $(f 4) dirty blocks"
		dmsetup resume soak
		SUSP=$((SUSP + 1)) ;;
	1)	OPTS=$((1 - OPTS))
		dmsetup load soak --table "$(data_table)"
		dmsetup resume soak
		dmsetup table soak | grep -Eq "max_age $(data_table | sed 's/.*max_age \([0-9]*\).*/\1/')( |$)" ||
			fail "reload did not take: $(dmsetup table soak)"
		RELOAD=$((RELOAD + 1)) ;;
	2)	if [ "$MODE" = sync ]; then MODE=async; else MODE=sync; fi
		dmsetup message soak 0 mode $MODE
		[ "$(f 1)" = $MODE ] || fail "mode is not $MODE"
		SWITCH=$((SWITCH + 1)) ;;
	3)	dmsetup message soak 0 flush
		FLUSH=$((FLUSH + 1)) ;;
	4)	if [ $SWAP_MODE = sync ]; then SWAP_MODE=async; else SWAP_MODE=sync; fi
		dmsetup message soak-swap 0 mode $SWAP_MODE
		dmsetup message soak-swap 0 flush
		SWAPOPS=$((SWAPOPS + 1)) ;;
	esac
}

# Remove both hims devices, unload dm-hims (and every other time brd, so
# that the RAM tiers are restored from the SSDs while fio runs next),
# load and re-create.
ALL_MODS=0
hims_module_reload() {
	hog_stop
	# Without the fill, swapoff has nothing to read back: it took two
	# minutes under TCG for 170 MiB, refilling takes seconds.
	mem_unfill
	swap_off
	dmsetup remove soak
	dmsetup remove soak-swap
	rmmod dm-hims
	ALL_MODS=$((ALL_MODS + 1))
	if [ $((ALL_MODS % 2)) = 0 ]; then
		rmmod brd
		brd_load
		RESTORES=$((RESTORES + 1))
	fi
	modprobe dm-hims
	dmsetup create soak-swap --table "$(swap_table $SWAP_MODE)"
	dmsetup create soak --table "$(data_table)"
	swap_on
	mem_fill
	hog_start
	MODS=$((MODS + 1))
}

hims_phase() { # hims_phase <sync|async> <0|1: dedup>
	local end i mib sum rend t1 t2 t3 t4 t5
	MODE=$1 DEDUP=$2 OPTS=0
	counts_reset
	step "hims $MODE$([ "$DEDUP" = 0 ] || echo ' + dedup'): $PHASE_S s"
	dmsetup create soak --table "$(data_table format)"
	mib=$(($(sectors $HS) / 2048))
	fio_pattern write $HS 0 4M 101
	fio_pattern write $HS $((mib - 4))M 4M 102
	end=$(($(now) + PHASE_S))
	while [ $ROUNDS -lt 1 ] || [ "$(now)" -lt $end ]; do
		ROUNDS=$((ROUNDS + 1))
		fio_loop d $HS 4M $((mib - 8))M
		i=0 RSWAP=0
		t1=$(now)
		rend=$((t1 + WIN))
		while [ "$(now)" -lt $rend ] || [ $i -lt 10 ]; do
			fio_alive d
			hims_op $i
			hims_check_ok
			swap_sample
			i=$((i + 1))
			sleep 0.2
		done
		t2=$(now)
		swap_check
		fio_stop d
		t3=$(now)
		echo "round $ROUNDS: $(dmsetup status soak | cut -d' ' -f4-10), swap up to $RSWAP KiB, available $(mem_avail) MiB"
		sum_of $HS "$mib"
		sum=$SUM
		t4=$(now)
		hims_module_reload
		t5=$(now)
		sum_of $HS "$mib"
		[ "$SUM" = "$sum" ] || fail "device checksum changed across remove/rmmod/re-create"
		fio_recheck d $HS 4M $((mib - 8))M
		fio_pattern check $HS 0 4M 101 || fail "head region wrong after round $ROUNDS"
		fio_pattern check $HS $((mib - 4))M 4M 102 || fail "tail region wrong after round $ROUNDS"
		echo "  seconds: $i operations $((t2 - t1)), last fio job $((t3 - t2)), checksum" \
			"$((t4 - t3)), module reload $((t5 - t4)) (swapoff $SWAPOFF_S)," \
			"checks $(($(now) - t5))"
	done
	hims_check_ok
	oom_check
	[ "$SWAPMAX" -gt 0 ] || fail "the swap on hims was never used: no memory pressure"
	echo "hims $1 dedup=$DEDUP: rounds $ROUNDS, suspends $SUSP, reloads $RELOAD," \
		"mode switches $SWITCH, flushes $FLUSH, swap-device switches+flushes $SWAPOPS," \
		"module reloads $MODS ($RESTORES with brd reloaded: restores from the SSD), fio jobs $JOBS, fio verified $(($(kib_total) / 1024)) MiB," \
		"checksummed $MD5_MIB MiB, swap used up to $SWAPMAX KiB"
	dmsetup remove soak
}

# --- the run

modprobe dm-hims
brd_load
dmsetup create soak-swap --table "$(swap_table $SWAP_MODE format)"
swap_on mkswap
echo "memory: $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) KiB; swap: $(tail -n 1 /proc/swaps)"


# --- dm-feedbac phase: two weighted cgroups on a 20 MB/s null_blk (memory
# backed, so the data is kept across module reloads of dm-feedbac)

FB=/dev/mapper/soak-fb
modprobe null_blk nr_devices=1 gb=1 memory_backed=1 mbps=20
modprobe dm-feedbac
fb_cgroups g1 g2
dd if=/dev/zero of=/dev/nullb0 bs=1M count=96 oflag=direct 2>/dev/null
FB_LEN=$(sectors /dev/nullb0)
PERIOD=50 WFLIP=0
fb_table() { echo "0 $FB_LEN feedbac /dev/nullb0 2 period_ms $PERIOD"; }
fb_weights() {
	if [ $WFLIP = 0 ]; then
		dmsetup message soak-fb 0 weight "$FB_CGP/g1" 100
		dmsetup message soak-fb 0 weight "$FB_CGP/g2" 400
	else
		dmsetup message soak-fb 0 weight "$FB_CGP/g1" 400
		dmsetup message soak-fb 0 weight "$FB_CGP/g2" 100
	fi
}
held() { dmsetup status soak-fb | awk '{ print $11 }'; }
held_sample() {
	local h
	h=$(held)
	HELD_SAMPLES=$((HELD_SAMPLES + 1))
	[ "$h" = 0 ] || HELD_SEEN=$((HELD_SEEN + 1))
	[ "$h" -le "$HELD_MAX" ] || HELD_MAX=$h
}

fb_op() { # fb_op <i>
	case $(($1 % 4)) in
	0)	dmsetup suspend soak-fb
		[ "$(held)" = 0 ] || fail "bios still held while suspended"
		dmsetup resume soak-fb
		SUSP=$((SUSP + 1)) ;;
	1)	if [ $PERIOD = 50 ]; then PERIOD=200; else PERIOD=50; fi
		dmsetup load soak-fb --table "$(fb_table)"
		dmsetup resume soak-fb
		fb_weights	# they belong to the table: a reload starts with none
		dmsetup table soak-fb | grep -q "period_ms $PERIOD " ||
			fail "reload did not take: $(dmsetup table soak-fb)"
		RELOAD=$((RELOAD + 1)) ;;
	2)	WFLIP=$((1 - WFLIP))
		fb_weights
		WEIGHTS=$((WEIGHTS + 1)) ;;
	3)	sleep 0.5 ;;	# some time to hold bios
	esac
}

counts_reset
step "feedbac: $PHASE_S s"
dmsetup create soak-fb --table "$(fb_table)"
fb_weights
fio_pattern write $FB 96M 4M 103
mem_fill
hog_start
end=$(($(now) + PHASE_S))
while [ $ROUNDS -lt 1 ] || [ "$(now)" -lt $end ]; do
	ROUNDS=$((ROUNDS + 1))
	fio_loop g1 $FB 0 48M "$FB_CG/g1"
	fio_loop g2 $FB 48M 48M "$FB_CG/g2"
	i=0 RSWAP=0
	t1=$(now)
	rend=$((t1 + WIN))
	while [ "$(now)" -lt $rend ] || [ $i -lt 8 ]; do
		fio_alive g1 g2
		held_sample
		fb_op $i
		swap_sample
		i=$((i + 1))
		sleep 0.2
	done
	t2=$(now)
	swap_check
	fio_stop g1 g2
	t3=$(now)
	sum_of $FB 100
	sum=$SUM
	echo "round $ROUNDS: $(dmsetup status soak-fb | cut -d' ' -f4-12), swap up to $RSWAP KiB, available $(mem_avail) MiB"
	# Memory stays filled: dm-feedbac's reload needs no swapoff.
	dmsetup remove soak-fb
	rmmod dm-feedbac
	modprobe dm-feedbac
	dmsetup create soak-fb --table "$(fb_table)"
	fb_weights
	MODS=$((MODS + 1))
	sum_of $FB 100
	[ "$SUM" = "$sum" ] || fail "device checksum changed across remove/rmmod/re-create"
	fio_recheck g1 $FB 0 48M
	fio_recheck g2 $FB 48M 48M
	fio_pattern check $FB 96M 4M 103 || fail "untouched region wrong after round $ROUNDS"
	echo "  seconds: $i operations $((t2 - t1)), last fio jobs $((t3 - t2)), the rest $(($(now) - t3))"
done
oom_check
[ $HELD_SEEN -gt 0 ] || fail "no bio was ever held: the cgroups did not compete"
[ "$SWAPMAX" -gt 0 ] || fail "the swap on hims was never used: no memory pressure"
echo "feedbac: rounds $ROUNDS, suspends $SUSP, reloads $RELOAD, weight changes $WEIGHTS," \
	"module reloads $MODS, fio jobs $JOBS, fio verified $(($(kib_total) / 1024)) MiB," \
	"checksummed $MD5_MIB MiB, held bios in $HELD_SEEN of $HELD_SAMPLES samples" \
	"(up to $HELD_MAX), swap used up to $SWAPMAX KiB"
dmsetup remove soak-fb
rmmod dm-feedbac
rmmod null_blk

hims_phase sync 0
hims_phase async 0
hims_phase async 1
hims_phase sync 1

step "teardown"
hog_stop
mem_unfill
swap_off
dmsetup remove soak-swap
rmmod dm-hims
