# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims device life cycle: suspend writes back dirty data (also with
# writeback paused), pause/resume shows in status field 12, clear_stats
# zeroes counters 8-11 (and they count one bio per 4 KiB I/O afterwards),
# "mode sync" drains dirty data, a switch async -> sync under fio load
# loses nothing and leaves nothing dirty, and removing a device with dirty
# data writes it back: it reads back after re-creating the device, and
# after re-creating the RAM device empty (restore from the SSD).
# Writeback is held off (max_age one day, high watermark 100%) so dirty
# data stays dirty until something writes it back on purpose.
# timeout: 400
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
fresh_ram() {
	rmmod brd 2>/dev/null || true
	modprobe brd rd_nr=1 rd_size=65536	# 64 MiB
	[ "$(sectors /dev/ram0)" = 131072 ] || fail "/dev/ram0 is not 64 MiB (brd in use?)"
}
fresh_ram
dd if=/dev/zero of=$SSD bs=1M count=4 oflag=direct 2>/dev/null
dev=/dev/mapper/hl
len=$(( (8192 + 24576) * 8 ))	# 32 MiB RAM tier, 96 MiB SSD tier
table="0 $len hims /dev/ram0 $SSD async 6 ram_blocks 8192 max_age 86400000 high_watermark 100"
f() { hims_field hl "$1"; }
late=	# failures reported at the end, so the other steps still run

dmsetup create hl --table "$table"

step "suspend writes back dirty data"
fio_pattern write $dev 0 16M 1
[ "$(f 4)" = 4096 ] || fail "dirty $(f 4), expected 4096"
dmsetup suspend hl
echo "suspended: $(dmsetup status hl)"
[ "$(f 4)" = 0 ] && [ "$(f 5)" = 0 ] || fail "suspended with dirty data: $(dmsetup status hl)"
dmsetup resume hl
fio_pattern check $dev 0 16M 1 || fail "data wrong after suspend/resume"

step "pause/resume in field 12; suspend overrides the pause"
[ "$(f 12)" = running ] || fail "field 12 is not running"
dmsetup message hl 0 pause_writeback
[ "$(f 12)" = paused ] || fail "field 12 is not paused"
fio_pattern write $dev 16M 4M 2
[ "$(f 4)" = 1024 ] || fail "dirty $(f 4), expected 1024"
dmsetup suspend hl
[ "$(f 4)" = 0 ] || fail "suspend with writeback paused left $(f 4) dirty"
dmsetup resume hl
[ "$(f 12)" = paused ] || fail "suspend/resume lost the pause"
dmsetup message hl 0 resume_writeback
[ "$(f 12)" = running ] || fail "field 12 is not running after resume_writeback"

step "clear_stats"
dd if=/dev/urandom of=$dev bs=4096 seek=$((64 * 256)) count=1 oflag=direct 2>/dev/null
dd if=$dev of=/dev/null bs=4096 skip=$((64 * 256)) count=1 iflag=direct 2>/dev/null
# shellcheck disable=SC2046 # the status fields
set -- $(dmsetup status hl)
echo "before: $*"
[ "${11}" -gt 0 ] && [ "${12}" -gt 0 ] && [ "${13}" -gt 0 ] && [ "${14}" -gt 0 ] ||
	fail "counters 8-11 not all counting: $*"
keep="$5 $6 $7 $8 $9 ${10} ${15} ${16}"
dmsetup message hl 0 clear_stats
# shellcheck disable=SC2046 # the status fields
set -- $(dmsetup status hl)
echo "after: $*"
[ "${11} ${12} ${13} ${14}" = "0 0 0 0" ] || fail "clear_stats left counters: $*"
[ "$5 $6 $7 $8 $9 ${10} ${15} ${16}" = "$keep" ] || fail "clear_stats changed other fields: $*"
dd if=$dev of=/dev/null bs=4096 skip=100 count=1 iflag=direct 2>/dev/null
dd if=/dev/urandom of=$dev bs=4096 seek=200 count=1 oflag=direct 2>/dev/null
dd if=$dev of=/dev/null bs=4096 skip=$((64 * 256)) count=1 iflag=direct 2>/dev/null
dd if=/dev/urandom of=$dev bs=4096 seek=$((64 * 256 + 1)) count=1 oflag=direct 2>/dev/null
# shellcheck disable=SC2046 # the status fields
set -- $(dmsetup status hl)
[ "${11} ${12} ${13} ${14}" = "1 1 1 1" ] ||
	fail "one 4 KiB read/write per tier should count 1 1 1 1: $*"

step "mode sync drains the dirty data"
fio_pattern write $dev 0 8M 3
[ "$(f 4)" = 2048 ] || fail "dirty $(f 4), expected 2048"
dmsetup message hl 0 mode sync
[ "$(f 1)" = sync ] || fail "mode is not sync"
[ "$(f 4)" = 0 ] || fail "mode sync returned with $(f 4) dirty"
dmsetup table hl | grep -q " sync " || fail "table does not say sync"
fio_pattern check $dev 0 8M 3 || fail "data wrong after mode sync"

step "async -> sync under load"
dmsetup message hl 0 mode async
fio_pattern write $dev 0 40M 4 --rw=write --bs=1M	# valid bits set: async writes stay in RAM
fio_pattern write $dev 0 40M 5 --rate_iops=2000 &	# ~5 s, across the boundary
load=$!
sleep 2
dmsetup message hl 0 mode sync || fail "mode sync under load failed"
echo "switched: $(dmsetup status hl)"
wait $load || fail "the load failed"
dmsetup status hl
[ "$(f 1)" = sync ] || fail "mode is not sync"
fio_pattern check $dev 0 40M 5 || fail "data lost across the mode switch"
d=$(f 4)
if [ "$d" != 0 ]; then
	late="$late; sync mode with $d blocks dirty after the load (completed writes not on the SSD)"
	echo "BAD: sync mode, load done, still $d dirty blocks"
fi

step "remove with dirty data"
dmsetup message hl 0 mode async
fio_pattern write $dev 0 16M 6
fio_pattern write $dev 30M 4M 7		# across the boundary at 32M
fio_pattern write $dev 64M 8M 8		# SSD tier
echo "before remove: $(dmsetup status hl)"
[ "$(f 4)" -ge 4096 ] || fail "dirty $(f 4), expected at least 4096"
dmsetup remove hl
dmsetup create hl --table "$table"
dmsetup status hl
[ "$(f 6)" = "$(f 7)" ] || fail "re-create in the same boot restores again"
fio_pattern check $dev 0 16M 6 || fail "data wrong after remove + create"
fio_pattern check $dev 30M 4M 7 || fail "boundary data wrong after remove + create"
dmsetup remove hl
fresh_ram
dmsetup create hl --table "$table"
dmsetup status hl
fio_pattern check $dev 0 16M 6 || fail "dirty data not written back by remove (read during restore)"
fio_pattern check $dev 30M 4M 7 || fail "boundary data not written back by remove"
fio_pattern check $dev 64M 8M 8 || fail "SSD-tier data lost"
hims_wait_restored hl 120
fio_pattern check $dev 0 16M 6 || fail "dirty data not written back by remove (after restore)"
dmsetup remove hl
rmmod brd
[ -z "$late" ] || fail "${late#; }"
