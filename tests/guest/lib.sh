# SPDX-License-Identifier: GPL-2.0
# Sourced by guest tests: helpers for writing them.
# The harness runs each test with sh -e in an empty /tmp/work, with
# BOOT=<1..n> (the boot of a multi-boot test) and DM_DISABLE_UDEV=1.

SSD=/dev/vdb	# first test disk ("the SSD")
AUX=/dev/vdc	# second test disk

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
