# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# A writeback error is never dropped: with the SSD failing writes (dm-flakey),
# the device enters the error state, shows it in the status and fails the
# next flush; reads and writes of RAM keep working; a reload after the SSD
# recovers writes every block back, so nothing acknowledged is lost.
# timeout: 300
. /tests/guest/lib.sh
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=32768	# 32 MiB
ssd_len=$(sectors "$SSD")
dmsetup create ssd --table "0 $ssd_len flakey $SSD 0 3600 0"
len=$(( (8191 + 8192) * 8 ))
table="0 $len hims /dev/ram0 /dev/mapper/ssd async 4 ram_blocks 8191 max_age 100000"
dmsetup create hims --table "$table"
dmsetup message hims 0 pause_writeback

step "dirty data in RAM, then the SSD starts failing writes"
fio_pattern write /dev/mapper/hims 0 16M 7
[ "$(hims_field hims 4)" -gt 0 ] || fail "no dirty blocks after async writes"
dmsetup suspend ssd
dmsetup load ssd --table "0 $ssd_len flakey $SSD 0 0 3600 1 error_writes"
dmsetup resume ssd

step "the flush must fail and the error must show"
if dmsetup message hims 0 flush 2>/dev/null; then
	fail "flush succeeded although writeback failed"
fi
err=$(hims_field hims 13)
echo "error field: $err"
[ "$err" -lt 0 ] || fail "status shows no error: $(dmsetup status hims)"
if dd if=/dev/zero of=/dev/mapper/hims bs=4k count=1 seek=100 oflag=direct,sync 2>/dev/null; then
	fail "an O_SYNC write succeeded in the error state"
fi
fio_pattern check /dev/mapper/hims 0 16M 7	# RAM still serves reads

step "the SSD recovers; a new table writes back everything"
dmsetup suspend ssd
dmsetup load ssd --table "0 $ssd_len flakey $SSD 0 3600 0"
dmsetup resume ssd
dmsetup suspend hims 2>/dev/null || true
dmsetup load hims --table "$table"
dmsetup resume hims
echo "status after reload: $(dmsetup status hims)"
[ "$(hims_field hims 13)" = 0 ] || fail "error state survived the reload"
dmsetup message hims 0 flush
[ "$(hims_field hims 4)" = 0 ] || fail "dirty blocks left after flush"
dmsetup remove hims
# Only the SSD now: drop RAM, restore, and the data must be there.
rmmod brd
modprobe brd rd_nr=1 rd_size=32768
dmsetup create hims --table "$table"
hims_wait_restored hims 120
fio_pattern check /dev/mapper/hims 0 16M 7
dmsetup remove hims
dmsetup remove ssd
