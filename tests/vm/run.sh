#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run guest tests in VMs booting one of Debian's kernels under TCG.
#
# usage: run.sh --kver <6.1|6.12|6.1-debug> [--ko DIR] [--out DIR] [--summary FILE]
#               [--shell] [--verbose] <test> ...
#
# A test is named by its script's path from the top of the tree without
# ".sh" (tests/guest/harness/smoke); the guest has the same path under /.
# Its header may say:
#   # timeout: <seconds>   per boot (default 300)
#   # boots: <n>           boots sharing the test's disks (default 1)
#   # disks: <size> ...    sizes of /dev/vda ($SSD), /dev/vdb ($AUX), ... (default 1G 1G)
#   # memory: <size>       guest RAM (default 2G)
#   # nvme: <size>         also attach an emulated NVMe drive of that size
# HIMS_SEED=<n> is exported to the tests as HIMS_SEED (make crash-soak), and
# CRASH_MODES="<mode> ..." and CRASH_POINTS=<n> as themselves (crash-replay),
# HIMS_FUZZ_N=<n> and HIMS_FUZZ_FIRST=<i> as themselves (fuzz-kernel: make fuzz N=).
# SOAK_MIN=<minutes> as SOAK_MIN to the tests with a "# soak:" line (make soak).
# BENCH_ROUNDS=<n> as BENCH_ROUNDS to the benchmarks (bench/guest).
# HIMS_EXTRA_DISK=<image> attaches one more raw image, read-only, as the last
# virtio disk (after the test's disks).
# HIMS_DISK_THROTTLE=<bytes/s>:<iops> throttles each of the test's disks in
# qemu (reads and writes together), so that an emulated "SSD" is slower
# than RAM as on real hardware (make bench-hims); the guest sees it as
# DISK_THROTTLE.
# One-boot tests share boots; a test of several boots gets its own disks and
# VM per boot.  Between boots the test either powers off cleanly or cuts the
# power (powercut in tests/guest/lib.sh), which kills qemu on the spot.
# Prints "PASS|FAIL <kver> <test>" per test; exits 1 if any failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/common.sh"

kver='' ko=- out='' summary='' shell=0 verbose=0 tests=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--ko) ko=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--summary) summary=$2; shift 2 ;;
	--shell) shell=1; shift ;;
	--verbose) verbose=1; shift ;;
	-*) die "unknown option $1" ;;
	*) tests+=("$1"); shift ;;
	esac
done
[ -n "$kver" ] || die "--kver 6.1|6.12 is required"
need_cmds qemu-system-x86_64 truncate
out=${out:-$top/build/vm/$kver}
mkdir -p "$out"
vmlinux=$("$here/kernel.sh" "$kver" vmlinux)
"$here/initramfs.sh" "$kver" "$ko" "$out/initramfs.cpio"

header() { # header <test> <key> <default>
	local v
	v=$(sed -n "s/^# $2: *//p" "$top/$1.sh" 2>/dev/null | head -n 1)
	echo "${v:-$3}"
}

size_bytes() {
	numfmt --from=iec "$1"
}

# How loaded the host is, in percent (100..400): runnable tasks (the 1-minute
# load average) per CPU.  Under TCG a guest that gets a third of the CPU it
# could use boots and runs three times as slowly, so the host's deadlines
# for a guest (to boot, between tests, the grace after a test's timeout)
# are stretched by this; the guest stretches a test's timeout itself, by
# its own measure (tests/vm/guest-init), and says so in its START line.
host_load() {
	awk -v n="$(nproc)" '{ f = int($1 * 100 / n); print (f < 100 ? 100 : (f > 400 ? 400 : f)) }' /proc/loadavg
}

# The debug kernel (KASAN, lockdep, kmemleak: tests/vm/debug-kernel.sh) runs
# its kernel code several times slower: the guest stretches each test's
# timeout by hims.kslow (percent), the host its own waits by the same.
# kasan_multi_shot: KASAN reports every bug, not only a boot's first, so a
# later test's report is not lost to an earlier one.
kslow=100 kargs=''
case "$kver" in
*-debug) kslow=${HIMS_DEBUG_SLOW:-300} kargs=" kasan_multi_shot hims.kslow=$kslow" ;;
esac

# qemu_boot <dir> <tests,comma> <boot#> <memory> <nvme-size|""> <disk>...
# Leaves results.log and console.log in <dir>; returns when qemu is gone.
qemu_boot() {
	local dir=$1 list=$2 boot=$3 mem=$4 nvme=$5
	shift 5
	local args=() i=0 d throttle=''
	[ -z "${BENCH_ROUNDS:-}" ] || [[ $BENCH_ROUNDS =~ ^[1-9][0-9]*$ ]] ||
		die "BENCH_ROUNDS must be a number of rounds, not '$BENCH_ROUNDS'"
	if [ -n "${HIMS_DISK_THROTTLE:-}" ]; then
		[[ $HIMS_DISK_THROTTLE =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] ||
			die "HIMS_DISK_THROTTLE must be <bytes/s>:<iops>, not '$HIMS_DISK_THROTTLE'"
		throttle=",throttling.bps-total=${HIMS_DISK_THROTTLE%:*},throttling.iops-total=${HIMS_DISK_THROTTLE#*:}"
	fi
	for d in "$@"; do
		args+=(-drive "file=$d,format=raw,if=none,id=d$i,cache=writeback$throttle"
		       -device "virtio-blk-pci,drive=d$i")
		i=$((i + 1))
	done
	if [ -n "${HIMS_EXTRA_DISK:-}" ]; then
		args+=(-drive "file=$HIMS_EXTRA_DISK,format=raw,if=none,id=dx,readonly=on"
		       -device "virtio-blk-pci,drive=dx")
	fi
	if [ -n "$nvme" ]; then
		[ -e "$dir/nvme.img" ] || new_image "$dir/nvme.img" "$nvme" "${fill:-zero}"
		args+=(-drive "file=$dir/nvme.img,format=raw,if=none,id=nv0,cache=writeback"
		       -device "nvme,drive=nv0,serial=himsnvme")
	fi
	local mode=run serial=(-serial "file:$dir/console.log")
	if [ "$shell" = 1 ]; then
		mode=shell
		serial=(-serial mon:stdio)
	fi
	rm -f "$dir/results.log" "$dir/console.log" "$dir/qmp.sock"
	touch "$dir/results.log"
	local extra=$kargs${HIMS_SEED:+ hims.seed=$HIMS_SEED}${CRASH_POINTS:+ hims.crash_points=$CRASH_POINTS}
	extra+=${HIMS_FUZZ_N:+ hims.fuzz_n=$HIMS_FUZZ_N}${HIMS_FUZZ_FIRST:+ hims.fuzz_first=$HIMS_FUZZ_FIRST}
	extra+=${SOAK_MIN:+ hims.soak_min=$SOAK_MIN}${BENCH_ROUNDS:+ hims.bench_rounds=$BENCH_ROUNDS}
	extra+=${HIMS_DISK_THROTTLE:+ hims.disk_throttle=$HIMS_DISK_THROTTLE}
	[ -z "${CRASH_MODES:-}" ] || extra+=" hims.crash_modes=$(echo "$CRASH_MODES" | tr -s ' ' ,)"
	local cmd=(qemu-system-x86_64 -accel tcg -machine q35 -cpu max -smp 2
		-m "$mem" -nodefaults -no-reboot -display none
		-kernel "$vmlinux" -initrd "$out/initramfs.cpio"
		-append "console=ttyS0 loglevel=4 panic=-1 no_timer_check hims.mode=$mode hims.boot=$boot hims.tests=$list$extra"
		"${serial[@]}" -serial "file:$dir/results.log"
		-qmp "unix:$dir/qmp.sock,server=on,wait=off"
		"${args[@]}")
	if [ "$shell" = 1 ]; then
		"${cmd[@]}"
		return 0
	fi
	"${cmd[@]}" &
	local qpid=$! deadline now current='' line seen=0 limit slow cs started since
	echo "$qpid" > "$dir/qemu.pid"
	started=$(date +%s)
	echo "qemu started $(date -d "@$started" +%T), host load $(host_load)%" >> "$dir/harness.log"
	# Waits for the guest: <wait_s> seconds, stretched by the host's load as
	# it is now (re-read every few seconds, so a load that rises later
	# still counts).  180 s to boot to the first test.
	local wait_s=180 load=100 polls=0
	since=$started
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 0.3
		# Only look at lines we have not seen yet.
		while IFS= read -r line; do
			seen=$((seen + 1))
			case "$line" in
			"BOOT "*)
				echo "the kernel reached init after ${line#BOOT } s of guest time," \
					"$(($(date +%s) - started)) s after qemu started; host load ${load}%" >> "$dir/harness.log"
				;;
			"START "*)
				# START <test> [<timeout in the guest, stretched> <slowdown %>
				# <the calibration loop's centiseconds>]
				read -r current limit slow cs <<<"${line#START }"
				[ -n "$limit" ] || limit=$(header "$current" timeout 300)
				since=$(date +%s)
				echo "$current started $((since - started)) s after qemu; timeout ${limit} s" \
					"(slowdown ${slow:-?}%: ${cs:-?} cs); host load ${load}%" >> "$dir/harness.log"
				;;
			"POWERCUT "*)
				kill -9 "$qpid" 2>/dev/null || true
				;;
			"["*)
				[ "$verbose" = 1 ] && printf '%s\n' "${line#*] }"
				;;
			"RESULT "*)
				current=
				since=$(date +%s) wait_s=120
				;;
			esac
		done < <(tail -n +$((seen + 1)) "$dir/results.log" | tr -d '\r')
		now=$(date +%s)
		polls=$((polls + 1))
		[ $((polls % 10)) = 1 ] && load=$(host_load)
		# The guest stretched a test's timeout itself; only the grace is ours.
		if [ -n "$current" ]; then
			deadline=$((since + limit + ${HIMS_HANG_GRACE:-60} * load * kslow / 10000))
		else
			deadline=$((since + wait_s * load * kslow / 10000))
		fi
		if [ "$now" -gt "$deadline" ]; then
			echo "HOSTTIMEOUT ${current:-boot}" >> "$dir/results.log"
			echo "host timeout after $((now - since)) s waiting for ${current:-the guest}; host load ${load}%" >> "$dir/harness.log"
			kill -9 "$qpid" 2>/dev/null || true
		fi
	done
	# The shell reports qemu's SIGKILL; that is expected here.
	{ wait "$qpid"; } 2>/dev/null || true
}

# What became of <test> in one boot's results: PASS, FAIL <why>, CUT, or NOTRUN.
outcome() {
	local dir=$1 t=$2 res
	res=$(tr -d '\r' < "$dir/results.log")
	if grep -q "^RESULT PASS $t\$" <<<"$res"; then
		echo PASS
	elif grep -q "^RESULT FAIL $t " <<<"$res"; then
		echo "FAIL $(grep "^RESULT FAIL $t " <<<"$res" | head -n 1 | cut -d' ' -f4-)"
	elif grep -q "^POWERCUT $t\$" <<<"$res"; then
		echo CUT
	elif grep -Eq "^START $t( |$)" <<<"$res"; then
		local why="guest died"
		grep -q "^HOSTTIMEOUT $t\$" <<<"$res" && why="hung (host timeout)"
		grep -q "Kernel panic" "$dir/console.log" 2>/dev/null &&
			why="kernel panic: $(grep -a -m1 'Kernel panic' "$dir/console.log" | tr -d '\r')"
		echo "FAIL $why"
	else
		echo NOTRUN
	fi
}

failed=0
report() { # report <test> <PASS|FAIL why> <dir>
	local t=$1 res=$2 dir=$3
	if [ "$res" = PASS ]; then
		echo "PASS $kver $t"
		if [ -n "$summary" ]; then echo "PASS $kver/$t" >> "$summary"; fi
	else
		echo "FAIL $kver $t: ${res#FAIL }"
		if [ -n "$summary" ]; then echo "FAIL $kver/$t" >> "$summary"; fi
		failed=1
		# The test's own output helps most; the log has the rest.
		tr -d '\r' < "$dir/results.log" | { grep -F "[$t] " || true; } | tail -n 20 | sed 's/^/    /'
		echo "    logs: $dir"
	fi
}

# Old data: every 64 bytes the line below, so every sector and block of a
# disk that no test wrote says so (hexdump shows "HIMS OLD DATA").  A real
# SSD is never all zeroes; a test that reads back what it never wrote (or
# what a power cut lost) must not find zeroes it could take for "nothing".
old_data_line='HIMS OLD DATA: never written in this run, left from an old use.'

new_image() { # new_image <file> <size> <zero|old>: a new disk image
	local n c=$((64 << 20)) chunk=$out/old-data.64M i
	if [ "$3" = old ]; then
		# 64 MiB of lines made once, then copied: 1-6 s per GiB.
		if [ ! -s "$chunk" ]; then
			{ yes "$old_data_line" || true; } | head -c "$c" > "$chunk.tmp"
			mv "$chunk.tmp" "$chunk"
		fi
		n=$(size_bytes "$2")
		{
			for ((i = 0; i < n / c; i++)); do cat "$chunk"; done
			head -c $((n % c)) "$chunk"
		} > "$1"
	else
		truncate -s "$2" "$1"
	fi
}

# disk_images <dir> <zero|old> <sizes...>: create missing images, print paths
disk_images() {
	local dir=$1 fill=$2 i=0 s
	shift 2
	for s in "$@"; do
		[ -e "$dir/disk$i.img" ] || new_image "$dir/disk$i.img" "$s" "$fill"
		echo "$dir/disk$i.img"
		i=$((i + 1))
	done
}

if [ "$shell" = 1 ]; then
	dir=$out/shell
	rm -rf "$dir"
	mkdir -p "$dir"
	mapfile -t disks < <(disk_images "$dir" zero 2G 1G)
	qemu_boot "$dir" "" 1 4G 1G "${disks[@]}"
	exit 0
fi

single=() multi=()
for t in "${tests[@]}"; do
	[ -f "$top/$t.sh" ] || die "no such test: $t.sh"
	if [ "$(header "$t" boots 1)" = 1 ]; then
		single+=("$t")
	else
		multi+=("$t")
	fi
done

# One-boot tests: as many per boot as survive; a dead guest's remaining
# tests go on in a fresh boot.
round=0
while [ ${#single[@]} -gt 0 ]; do
	round=$((round + 1))
	dir=$out/boot$round
	rm -rf "$dir"
	mkdir -p "$dir"
	mem=2G nvme='' sizes=(1G 1G)
	for t in "${single[@]}"; do
		m=$(header "$t" memory 2G)
		[ "$(size_bytes "$m")" -gt "$(size_bytes "$mem")" ] && mem=$m
		n=$(header "$t" nvme "")
		[ -n "$n" ] && nvme=$n
		read -r -a ds <<<"$(header "$t" disks "1G 1G")"
		for i in "${!ds[@]}"; do
			if [ -z "${sizes[$i]:-}" ] ||
			   [ "$(size_bytes "${ds[$i]}")" -gt "$(size_bytes "${sizes[$i]}")" ]; then
				sizes[i]=${ds[$i]}
			fi
		done
	done
	mapfile -t disks < <(disk_images "$dir" zero "${sizes[@]}")
	qemu_boot "$dir" "$(IFS=,; echo "${single[*]}")" 1 "$mem" "$nvme" "${disks[@]}"
	rest=()
	for t in "${single[@]}"; do
		res=$(outcome "$dir" "$t")
		case "$res" in
		NOTRUN) rest+=("$t") ;;
		CUT) report "$t" "FAIL cut the power but declares one boot" "$dir" ;;
		*) report "$t" "$res" "$dir" ;;
		esac
	done
	rm -f "$dir"/disk*.img "$dir/nvme.img"
	if [ ${#rest[@]} -eq ${#single[@]} ]; then
		# A guest that dies before any test (TCG timing under a loaded
		# host) gets one more boot; a second such boot fails them all.
		if [ "${boot_retry:-0}" = 0 ]; then
			boot_retry=1
			log "warning: the guest started no test (see $dir/console.log); booting again"
			continue
		fi
		for t in "${rest[@]}"; do
			report "$t" "FAIL never started ($(tail -n 1 "$dir/harness.log"))" "$dir"
		done
		break
	fi
	single=("${rest[@]}")
done

for t in "${multi[@]}"; do
	boots=$(header "$t" boots 1)
	read -r -a ds <<<"$(header "$t" disks "1G 1G")"
	base=$out/$(echo "$t" | tr / _)
	rm -rf "$base"
	mkdir -p "$base"
	# Its own disks, and the power cuts: they start full of old data.
	mapfile -t disks < <(disk_images "$base" old "${ds[@]}")
	res=
	for b in $(seq 1 "$boots"); do
		dir=$base/boot$b
		mkdir -p "$dir"
		[ -e "$base/nvme.img" ] && ln -sf "$base/nvme.img" "$dir/nvme.img"
		fill=old qemu_boot "$dir" "$t" "$b" "$(header "$t" memory 2G)" "$(header "$t" nvme "")" "${disks[@]}"
		[ -e "$dir/nvme.img" ] && [ ! -e "$base/nvme.img" ] && mv "$dir/nvme.img" "$base/nvme.img"
		res=$(outcome "$dir" "$t")
		if [ "$res" = NOTRUN ]; then
			# Nothing touched the disks yet: boot once more.
			log "warning: boot $b of $t started no test (see $dir/console.log); booting again"
			qemu_boot "$dir" "$t" "$b" "$(header "$t" memory 2G)" "$(header "$t" nvme "")" "${disks[@]}"
			res=$(outcome "$dir" "$t")
		fi
		case "$res" in
		PASS|CUT) [ "$b" = "$boots" ] && [ "$res" = CUT ] && res="FAIL cut the power in its last boot" ;;
		NOTRUN) res="FAIL boot $b: never started ($(tail -n 1 "$dir/harness.log"))" ;;
		esac
		case "$res" in FAIL*) res="FAIL boot $b: ${res#FAIL }"; break ;; esac
	done
	report "$t" "$res" "$dir"
	rm -f "$base"/disk*.img "$base/nvme.img"
done
exit $failed
