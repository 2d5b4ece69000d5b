# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Harness self-test with dm-flakey: fio verify passes while the device is up,
# and must catch writes that dm-flakey silently drops.
# timeout: 300
. /tests/guest/lib.sh
size=131072
dmsetup create t-flakey --table "0 $size flakey $SSD 0 3600 0"
fio_verify /dev/mapper/t-flakey 64M
# Now down for an hour, dropping every write while reporting success.
dmsetup reload t-flakey --table "0 $size flakey $SSD 0 0 3600 1 drop_writes"
dmsetup resume t-flakey
if fio --name=lost --filename=/dev/mapper/t-flakey --direct=1 --rw=write \
	--bs=64k --size=16M --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--output-format=terse > /dev/null 2>&1; then
	fail "fio verify did not notice dropped writes"
fi
dmsetup remove t-flakey
