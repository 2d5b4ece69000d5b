# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Sourced by guest tests: helpers for writing them.
# The harness runs each test with sh -e in an empty /tmp/work, with
# BOOT=<1..n> (the boot of a multi-boot test) and DM_DISABLE_UDEV=1.
# A one-boot test finds the first 16 MiB of both disks zeroed.

# shellcheck disable=SC2034 # for the tests that source this file
SSD=/dev/vda	# first test disk ("the SSD")
# shellcheck disable=SC2034 # the same
AUX=/dev/vdb	# second test disk

fail() {
	echo "FAIL: $*"
	exit 1
}

# A timing property (a latency or a share) that does not hold: fail, but on
# the debug kernel only say so.  There KASAN and lockdep multiply the CPU
# cost of every bio, most on the longer path through dm, so the guest's CPU
# rather than the device decides the timings; that run is for the
# kernel's reports, which still fail the test.
timing_fail() {
	if [ "${HIMS_KSLOW:-100}" -gt 100 ]; then
		echo "TIMING (not asserted on the debug kernel): $*"
		return 0
	fi
	fail "$@"
}

step() {
	echo "--- $*"
}

# Cut the power: the host kills the VM as soon as it reads this line,
# with no sync and no clean shutdown.  Data not yet on the disks is lost.
powercut() {
	echo "POWERCUT $TEST" > "$RESULTS"
	while :; do sleep 1; done
}

# Size of a block device in 512-byte sectors.
sectors() {
	blockdev --getsz "$1"
}

# fio write+verify of a whole device (or region) with a fixed seed.
fio_verify() {
	local dev=$1 size=$2 offset=${3:-0}
	fio --name=verify --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=16 --size="$size" \
		--offset="$offset" --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --randrepeat=1 --output-format=terse \
		--minimal > /dev/null || fail "fio verify on $dev failed"
}

# Field <k> (1-based) of a dm-hims device's status info: dmsetup prints
# "<start> <len> hims <fields...>", so field k is column k + 3.
hims_field() { # hims_field <name> <k>
	dmsetup status "$1" | awk -v k=$(($2 + 3)) '{print $k}'
}

# Wait (up to <seconds>) until a dm-hims device has restored every block it
# has to (status field 6 == field 7); fail otherwise.
hims_wait_restored() { # hims_wait_restored <name> <seconds>
	local i=0 s
	while :; do
		s=$(dmsetup status "$1") || fail "status of $1 failed"
		echo "$s" | awk '$9 != $10 {exit 1}' && return 0
		[ $i -ge $(($2 * 5)) ] && fail "$1: restore not done after $2 s: $s"
		i=$((i + 1))
		sleep 0.2
	done
}

# Wait (up to <seconds>) until field <k> of a dm-hims device's status is
# <value> (e.g. field 20 "incomplete"); fail otherwise.
hims_wait_field() { # hims_wait_field <name> <k> <value> <seconds>
	local i=0
	until [ "$(hims_field "$1" "$2")" = "$3" ]; do
		[ $i -ge $(($4 * 5)) ] &&
			fail "$1: status field $2 not '$3' after $4 s: $(dmsetup status "$1")"
		i=$((i + 1))
		sleep 0.2
	done
}

# The state in a dm-hims RAM device's header: 1 restoring, 2 complete,
# 3 dirty, 4 dirty but incomplete (dm-hims-design.rst, "RAM header").
hims_ram_state() { # hims_ram_state <ram_dev>
	dd if="$1" bs=4k count=1 iflag=direct 2>/dev/null | od -An -tu4 -j8 -N4 | tr -d ' '
}

# Wait (up to 120 s) until <pid> sleeps in the kernel (state D: also
# TASK_KILLABLE); fail with <if it ended> should it end first.
wait_in_kernel() { # wait_in_kernel <pid> <if it ended>
	local i=0
	until awk '{exit !($3 == "D")}' "/proc/$1/stat" 2>/dev/null; do
		kill -0 "$1" 2>/dev/null || fail "$2"
		[ $i -ge 600 ] && fail "pid $1 is not waiting in the kernel after 120 s"
		i=$((i + 1))
		sleep 0.2
	done
}

# SIGKILL <pid> and wait (up to 60 s) until it has ended; if it has not,
# run <unstick> (what lets it end: the test's cleanup), reap it and fail.
kill_wait() { # kill_wait <pid> <what> <unstick>
	local i=0
	kill -9 "$1"
	while kill -0 "$1" 2>/dev/null; do
		if [ $i -ge 300 ]; then
			$3
			wait "$1" || true
			fail "$2 still waits 60 s after SIGKILL (not killable)"
		fi
		i=$((i + 1))
		sleep 0.2
	done
}

# Write, or check, a deterministic pattern over [offset, offset + size):
# fio crc32c-verified blocks, seeded with <seed>.  Checking needs the same
# arguments (extra fio options included) as the write.
fio_pattern() { # fio_pattern write|check <dev> <offset> <size> <seed> [fio option...]
	local what=$1 dev=$2 off=$3 size=$4 seed=$5 only
	shift 5
	only=--do_verify=0
	[ "$what" = check ] && only=--verify_only=1
	fio --name=pattern --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=16 --offset="$off" --size="$size" \
		--randseed="$seed" --verify=crc32c --verify_fatal=1 \
		--output-format=terse --minimal "$@" $only > /dev/null
}

# at_exit <command>: run <command> <exit status> when the test exits (after
# the commands registered before it); the test's exit status is kept.
_at_exit=
at_exit() {
	_at_exit="$_at_exit $1"
	# shellcheck disable=SC2154 # _rc and _f are set inside the trap
	trap '_rc=$?; for _f in $_at_exit; do $_f $_rc; done; exit $_rc' EXIT
}

# When the test fails, show the tail of the kernel log (call once, early).
dmesg_on_fail() {
	at_exit _dmesg_tail
}
_dmesg_tail() {
	if [ "$1" != 0 ]; then
		echo "--- kernel log (tail)"
		dmesg | tail -n 25
		echo "--- failed with status $1 (see above)"
	fi
}

# --- dm-feedbac tests: cgroups and fio in them

CG=/sys/fs/cgroup
# A test's cgroups live under a cgroup named after the test, so that
# nothing an earlier test of the same boot left behind (a cgroup with the
# io controller enabled below it takes no processes: EBUSY) gets in the way.
# FB_CG is its directory, FB_CGP its path for dm-feedbac's weight message.
FB_CGP=/$(basename "${TEST:-test}")
FB_CG=$CG$FB_CGP

# A 20 MB/s null_blk (/dev/nullb0), so that the device and not the guest's
# CPU is the bottleneck; dm-feedbac; the io controller for the cgroups
# under the root.
fb_setup() {
	modprobe null_blk nr_devices=1 gb=1 memory_backed=0 mbps=20
	modprobe dm-feedbac
	echo +io > $CG/cgroup.subtree_control
}

# Make cgroups $FB_CG/<name> (a/b: b under a) with the io controller on
# for each, and remove them, after stopping what runs in them, when the
# test exits.
fb_cgroups() { # fb_cgroups <name>...
	local g
	if [ ! -d "$FB_CG" ]; then
		echo +io > $CG/cgroup.subtree_control
		mkdir "$FB_CG"
		at_exit fb_cleanup
	fi
	echo +io > "$FB_CG/cgroup.subtree_control"
	for g; do
		[ "${g%/*}" = "$g" ] || echo +io > "$FB_CG/${g%/*}/cgroup.subtree_control"
		mkdir "$FB_CG/$g"
	done
}

# The cgroup id of $FB_CG/<name>, as dm-feedbac's status shows it.
fb_id() {
	stat -c %i "$FB_CG/$1"
}

# Kill what still runs in the test's cgroups and remove them (innermost
# first); the EXIT trap of fb_cgroups.
fb_cleanup() {
	local d i
	find "$FB_CG" -depth -type d 2>/dev/null | while read -r d; do
		i=0
		while [ -n "$(cat "$d/cgroup.procs")" ] && [ $i -lt 50 ]; do
			# shellcheck disable=SC2046 # process ids
			kill -9 $(cat "$d/cgroup.procs") 2>/dev/null
			sleep 0.1
			i=$((i + 1))
		done
		rmdir "$d" 2>/dev/null || echo "warning: cannot remove cgroup $d"
	done
}

# Did fio (terse output in $1) finish without error?  fio stopped by
# fb_fio_stop (SIGTERM) reports as usual, with error 0.
fio_ok() {
	awk -F';' '$1 == 3 && $5 == 0 { ok = 1 } END { exit !ok }' "$1"
}

# Bytes (read + written) dm-feedbac device <name> issued for cgroup id <id>
# (0: the default group), from its status.
fb_group_bytes() { # fb_group_bytes <name> <id>
	dmsetup status "$1" | fb_bytes_of "$2"
}

# The bytes of group <id> in a dm-feedbac status line on stdin.
fb_bytes_of() { # fb_bytes_of <id>
	awk -v id="$1" '{
		n = $12; b = 0
		for (i = 0; i < n; i++) {
			f = 13 + 8 * i
			if ($f == id) b = $(f + 3) + $(f + 5)
		}
		print b
	}'
}

# fio, <rw> of <bs> (default 64k: few enough bios that the device, not the
# guest's CPU, is the bottleneck even on a loaded TCG host) at <iodepth>
# (default 16) on <dev>, in the background in cgroup $FB_CG/<group>, until
# fb_fio_stop (or 15 minutes); its terse output goes to
# /tmp/work/<group, / as _>.out.  Returns once fio is in its cgroup; fails
# if it could not get there.
fb_fio_start() { # fb_fio_start <group> <dev> <rw> [<bs>] [<iodepth>]
	local g=$1 tag pid i=0
	tag=$(echo "$1" | tr / _)
	sh -c 'echo $$ > "$0/cgroup.procs" && exec fio --name="$1" \
		--filename="$2" --direct=1 --ioengine=libaio --rw="$3" \
		--bs="$4" --iodepth="$5" --runtime=900 --time_based \
		--output-format=terse' "$FB_CG/$g" "$tag" "$2" "$3" "${4:-64k}" \
		"${5:-16}" > "/tmp/work/$tag.out" 2>&1 &
	pid=$!
	echo "$pid" > "/tmp/work/$tag.fio"
	until grep -qx "$pid" "$FB_CG/$g/cgroup.procs"; do
		if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 300 ]; then
			cat "/tmp/work/$tag.out"
			fail "fio could not join cgroup $g"
		fi
		i=$((i + 1))
		sleep 0.1
	done
}

# Is every fio that fb_fio_start started and fb_fio_stop did not stop still
# running?  Fail if not.
fb_fio_running() {
	local f
	for f in /tmp/work/*.fio; do
		[ -e "$f" ] || continue
		kill -0 "$(cat "$f")" 2>/dev/null ||
			{ cat "${f%.fio}.out"; fail "fio in ${f##*/} ended early"; }
	done
}

# Stop the fio of each <group> and check that it ran without error.
fb_fio_stop() { # fb_fio_stop <group>...
	local g tag pid
	for g; do
		tag=$(echo "$g" | tr / _)
		pid=$(cat "/tmp/work/$tag.fio")
		rm "/tmp/work/$tag.fio"
		kill -TERM "$pid" 2>/dev/null || fail "fio in $g ended before it was stopped"
		wait "$pid" || true	# 128: stopped by the signal
		fio_ok "/tmp/work/$tag.out" || { cat "/tmp/work/$tag.out"; fail "fio in $g failed"; }
	done
}

# Wait (up to 60 s) until every <group> (a cgroup with a weight) issues I/O
# through dm-feedbac device <name>: fio takes a while to start on a loaded
# TCG guest, and a share measured before every group is busy means nothing.
fb_wait_busy() { # fb_wait_busy <name> <group>...
	local name=$1 g st idle i=0
	shift
	dmsetup message "$name" 0 clear_stats
	while :; do
		sleep 0.5
		st=$(dmsetup status "$name")
		fb_fio_running
		idle=
		for g; do
			[ "$(echo "$st" | fb_bytes_of "$(fb_id "$g")")" -gt 0 ] || idle="$idle $g"
		done
		[ -n "$idle" ] || return 0
		i=$((i + 1))
		[ $i -lt 120 ] || fail "no I/O from$idle after 60 s"
	done
}

# Measure the bytes each <group> moves through dm-feedbac device <name>
# while the groups together move <bytes> (a window of data, not of time:
# the same statistics however slow the guest runs), taken from one status
# line.  Sets B_<group, / as _> for each, B_default for the default group,
# B_total, and MS to the window's length in milliseconds.  Every fio
# started and not stopped must run all through the window.
fb_measure() { # fb_measure <name> <bytes> <group>...
	local name=$1 want=$2 g st sum t0 t1 i=0
	shift 2
	dmsetup message "$name" 0 clear_stats
	t0=$(fb_uptime_ms)
	while :; do
		sleep 0.5
		st=$(dmsetup status "$name")
		t1=$(fb_uptime_ms)
		sum=0
		for g; do
			sum=$((sum + $(echo "$st" | fb_bytes_of "$(fb_id "$g")")))
		done
		[ "$sum" -ge "$want" ] && break
		i=$((i + 1))
		[ $i -lt 600 ] || fail "only $sum of $want bytes in 300 s"
	done
	fb_fio_running
	for g; do
		eval "B_$(echo "$g" | tr / _)=\$(echo \"\$st\" | fb_bytes_of $(fb_id "$g"))"
	done
	B_default=$(echo "$st" | fb_bytes_of 0)
	B_total=$sum
	MS=$((t1 - t0))
	echo "$(echo "$st" | cut -d' ' -f4-12); $sum bytes in $MS ms"
}

# Milliseconds since boot.
fb_uptime_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# A dm-linear "leg" over a disk, whose table a test swaps to dm-flakey or
# dm-delay under a running hims device to fail or slow its I/O.
leg_create() { # leg_create <name> <dev>
	dmsetup create "$1" --table "0 $(sectors "$2") linear $2 0"
}

leg_swap() { # leg_swap <name> <dev> linear|<target and args after "<dev> 0">
	local len
	len=$(sectors "$2")
	dmsetup suspend "$1"
	if [ "$3" = linear ]; then
		dmsetup load "$1" --table "0 $len linear $2 0"
	else
		dmsetup load "$1" --table "0 $len $3"
	fi
	dmsetup resume "$1"
}

# Reload leg <name> over <dev> so that I/O to sectors [<start>, <start> +
# <n>) goes to <inside> and the rest to <outside> (default linear), each
# one of: linear; error (every I/O fails); writes (dm-flakey error_writes:
# writes fail, reads pass).  leg_swap <name> <dev> linear heals it.
leg_fail() { # leg_fail <name> <dev> <start> <n> <inside> [<outside>]
	local len end t
	len=$(sectors "$2")
	end=$(($3 + $4))
	t=$(_leg_seg "$2" 0 "$3" "${6:-linear}"
		_leg_seg "$2" "$3" "$4" "$5"
		_leg_seg "$2" $end $((len - end)) "${6:-linear}")
	dmsetup suspend "$1"
	dmsetup load "$1" --table "$t"
	dmsetup resume "$1"
}
_leg_seg() { # _leg_seg <dev> <start> <n> linear|error|writes: one table line
	[ "$3" -gt 0 ] || return 0
	case $4 in
	linear) echo "$2 $3 linear $1 $2" ;;
	error) echo "$2 $3 error" ;;
	writes) echo "$2 $3 flakey $1 $2 0 3600 1 error_writes" ;;
	*) fail "_leg_seg: unknown kind '$4'" ;;
	esac
}
