# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims with zram as the RAM device (4 KiB logical blocks, compressed
# pages): fio verify across the RAM tier, the SSD tier and the boundary in
# sync and async mode, with the default ram_blocks (the whole zram device
# minus its header block, so the boundary is not 1 MiB aligned); then the
# data must survive re-creating zram empty (a restore from the SSD mirror).
# timeout: 400
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe zram
dev=/dev/mapper/hz
zram_fresh() {
	echo 1 > /sys/block/zram0/reset
	echo 64M > /sys/block/zram0/disksize
	[ "$(sectors /dev/zram0)" = 131072 ] || fail "zram0 is not 64 MiB"
}
zram_fresh
[ "$(blockdev --getss /dev/zram0)" = 4096 ] || fail "zram0 logical block size is not 4096"
# A previous test in this boot may have left a superblock on the SSD.
dd if=/dev/zero of=$SSD bs=1M count=4 oflag=direct 2>/dev/null

# 64 MiB zram: 16384 blocks, one holds the header, so the RAM tier is 16383
# blocks, ending at 67104768 (63.996 MiB); 64 MiB of SSD tier after it.
ram_blocks=16383
len=$(( (ram_blocks + 16384) * 8 ))
boundary=$((ram_blocks * 4096))
table="0 $len hims /dev/zram0 $SSD"
first=1
for mode in sync async; do
	step "$mode"
	if [ $first = 1 ]; then
		dmsetup create hz --table "$table $mode"
		first=0
	else
		dmsetup create hz --table "$table $mode 2 max_age 100"
	fi
	dmsetup status hz
	[ "$(hims_field hz 1)" = $mode ] || fail "status mode is not $mode"
	[ "$(hims_field hz 3)" = $ram_blocks ] || fail "RAM tier is not $ram_blocks blocks"
	dmsetup table hz | grep -q " ram_blocks $ram_blocks " ||
		fail "table does not show ram_blocks $ram_blocks"
	[ "$(blockdev --getss $dev)" = 4096 ] || fail "hims does not inherit zram's 4 KiB blocks"
	fio_verify $dev 32M 0				# RAM tier
	fio_verify $dev 8M $((boundary - 4 * 1048576))	# across the boundary
	fio_verify $dev 16M 96M				# SSD tier
	dmsetup message hz 0 flush
	[ "$(hims_field hz 4)" = 0 ] || fail "dirty blocks left after flush"
	[ "$(hims_field hz 13)" = 0 ] || fail "error state: $(dmsetup status hz)"
	dmsetup remove hz
done

step "patterns, then an empty zram: restore from the SSD"
dmsetup create hz --table "$table async 4 max_age 86400000 high_watermark 100"
fio_pattern write $dev 0 48M 11 --rw=write --bs=256k
fio_pattern write $dev $((boundary - 1048576)) 2M 12	# 1 MiB each side
fio_pattern write $dev 100M 16M 13
dirty=$(hims_field hz 4)
echo "dirty before remove: $dirty"
[ "$dirty" -gt 0 ] || fail "async writes left nothing dirty (max_age and watermark ignored?)"
used=$(hims_field hz 2)
dmsetup remove hz	# writes back what is dirty
zram_fresh
dmsetup create hz --table "$table async"
dmsetup status hz
[ "$(hims_field hz 7)" = "$used" ] || fail "restore total is not the $used blocks ever written"
fio_pattern check $dev 0 48M 11 --rw=write --bs=256k || fail "RAM tier data lost (during restore)"
fio_pattern check $dev $((boundary - 1048576)) 2M 12 || fail "data across the boundary lost"
fio_pattern check $dev 100M 16M 13 || fail "SSD tier data lost"
hims_wait_restored hz 120
fio_pattern check $dev 0 48M 11 --rw=write --bs=256k || fail "RAM tier data lost (after restore)"
fio_pattern check $dev $((boundary - 1048576)) 2M 12 || fail "data across the boundary lost"
dmsetup status hz
dmsetup remove hz
echo 1 > /sys/block/zram0/reset
