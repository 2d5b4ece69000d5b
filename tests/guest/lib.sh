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

# When the test fails, show the tail of the kernel log (call once, early).
dmesg_on_fail() {
	# shellcheck disable=SC2154 # _rc is set inside the trap
	trap '_rc=$?; if [ $_rc != 0 ]; then echo "--- kernel log (tail)"; dmesg | tail -n 25; echo "--- failed with status $_rc (see above)"; fi; exit $_rc' EXIT
}

# --- dm-feedbac tests: cgroups and fio in them

CG=/sys/fs/cgroup

# A 20 MB/s null_blk (/dev/nullb0), so that the device and not the guest's
# CPU is the bottleneck; dm-feedbac; the io controller for the cgroups
# under the root.
fb_setup() {
	modprobe null_blk nr_devices=1 gb=1 memory_backed=0 mbps=20
	modprobe dm-feedbac
	echo +io > $CG/cgroup.subtree_control
}

# Did fio (terse output in $1) finish without error?
fio_ok() {
	awk -F';' '$1 == 3 && $5 == 0 { ok = 1 } END { exit !ok }' "$1"
}

# Bytes (read + written) dm-feedbac device <name> issued for cgroup id <id>
# (0: the default group), from its status.
fb_group_bytes() { # fb_group_bytes <name> <id>
	dmsetup status "$1" | awk -v id="$2" '{
		n = $12; for (i = 0; i < n; i++) {
			f = 13 + 8 * i
			if ($f == id) print $(f + 3) + $(f + 5)
		}
	}'
}

# fio 4 KiB <rw> at iodepth 16 on <dev> for <seconds>, in the background, in
# cgroup $CG/<cgroup>; its terse output goes to /tmp/work/<name>.out, <name>
# being the cgroup's last component.
fb_fio_in() { # fb_fio_in <dev> <cgroup> <rw> <seconds>
	sh -c "echo \$\$ > $CG/$2/cgroup.procs && exec fio --name=$(basename "$2") \
		--filename=$1 --direct=1 --ioengine=libaio --rw=$3 \
		--bs=4k --iodepth=16 --runtime=$4 --time_based \
		--output-format=terse > /tmp/work/$(basename "$2").out 2>&1" &
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
