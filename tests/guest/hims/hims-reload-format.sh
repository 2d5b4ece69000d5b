# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# A reload with `format` over a live device must format only once the
# live table has stopped writing to the SSD.  Between `dmsetup reload` and
# `dmsetup resume` the old table still takes writes (a first write persists
# its bitmap block, whose in-memory copy still holds the old bits) and its
# suspend writes its dirty blocks back: none of that may land on the new
# format, or a restore of the "empty" device brings the old data back.
# timeout: 300
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=16384	# 16 MiB
# A RAM tier of the 16 MiB RAM device less its header, 16 MiB of SSD tier; writeback held off, so what is
# written stays dirty until the suspend.
table="0 65528 hims /dev/ram0 $SSD async 6 ram_blocks 4095 max_age 86400000 high_watermark 100"
dev=/dev/mapper/hrf
for p in P Q; do yes "$p-old-device" | head -c 4096 > $p; done
zero4k() { dd if=/dev/zero bs=4k count=1 2>/dev/null; }
put() { # put <file> <block>
	dd if="$1" of=$dev bs=4k seek="$2" count=1 oflag=direct conv=notrunc 2>/dev/null ||
		fail "cannot write block $2"
}
reads_zero() { # reads_zero <block> <when>
	dd if=$dev bs=4k skip="$1" count=1 iflag=direct 2>/dev/null | cmp -s - zeroes ||
		fail "$2: block $1 of the new format does not read zeroes:" \
			"$(dd if=$dev bs=4k skip="$1" count=1 iflag=direct 2>/dev/null | head -c 16)"
}
zero4k > zeroes

step "the old device: block 10 written and dirty"
dmsetup create hrf --table "${table%% 6 *} 7 ${table#* 6 } format"
put P 10
[ "$(hims_field hrf 4)" = 1 ] || fail "block 10 is not dirty: $(dmsetup status hrf)"

step "reload with format; the old table still writes block 11, then resume"
dmsetup reload hrf --table "${table%% 6 *} 7 ${table#* 6 } format"
put Q 11
dmsetup resume hrf
dmsetup remove hrf

step "a reboot: fresh RAM, the plain table, the restore"
dd if=/dev/zero of=/dev/ram0 bs=1M count=16 oflag=direct 2>/dev/null
dmsetup create hrf --table "$table"
hims_wait_restored hrf 120
[ "$(hims_field hrf 2)" = 0 ] || fail "the new format restored $(hims_field hrf 2) valid blocks"
reads_zero 10 "after the restore"
reads_zero 11 "after the restore"
dmsetup remove hrf
echo "the reload formatted after the old table stopped writing"
