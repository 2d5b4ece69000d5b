# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Harness self-test across a power cut: boot 1 writes and flushes data through
# dm-linear, writes more without a flush, then cuts the power; boot 2 reads
# the flushed data back.
# boots: 2
# timeout: 300
. /tests/guest/lib.sh
job="--name=pc --filename=/dev/mapper/t-pc --direct=1 --ioengine=libaio --rw=write
	--bs=64k --size=64M --verify=crc32c --verify_fatal=1 --randrepeat=1"
dmsetup create t-pc --table "0 262144 linear $SSD 0"
case "$BOOT" in
1)
	# shellcheck disable=SC2086 # $job is fio's options
	fio $job --do_verify=0 --end_fsync=1 > /dev/null
	echo flushed
	# Unflushed writes elsewhere are allowed to be lost.
	dd if=/dev/urandom of=/dev/mapper/t-pc bs=1M seek=100 count=8 2>/dev/null
	powercut
	;;
2)
	# shellcheck disable=SC2086 # the same
	fio $job --verify_only=1 > /dev/null || fail "flushed data lost"
	echo "flushed data survived"
	;;
esac
dmsetup remove t-pc
