# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims refuses bad tables and leaves the SSD untouched: bad devices,
# mode, options and values, lengths, sizes (each next to an accepted table
# one step away), foreign data on the SSD (random bytes, ext4) unless
# 'format' is given, a corrupt superblock, and a superblock of another
# geometry.  Bad messages fail and change nothing.
# timeout: 300
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
rmmod brd 2>/dev/null || true
modprobe brd rd_nr=1 rd_size=65536	# 64 MiB: 16384 blocks, 16383 usable
[ "$(sectors /dev/ram0)" = 131072 ] || fail "/dev/ram0 is not 64 MiB (brd in use?)"
ram=/dev/ram0
dd if=/dev/zero of=$SSD bs=1M count=8 oflag=direct 2>/dev/null

sum() { # sum <dev>: checksum of its first 8 MiB
	dd if="$1" bs=1M count=8 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1
}
ssd_sum=$(sum $SSD)
ssd_dirty() { [ "$(sum $SSD)" != "$ssd_sum" ]; }

n=0
# refuse <why> <dmesg text> <table>: the table must not load, must say why
# in the kernel log and must not write the SSD.
refuse() {
	local why=$1 text=$2 table=$3
	n=$((n + 1))
	dmesg -c > /dev/null
	if dmsetup create hj --table "$table" 2>/dev/null; then
		dmsetup remove hj
		fail "accepted ($why): $table"
	fi
	dmsetup remove hj 2>/dev/null || true
	dmesg | grep -q -- "$text" ||
		fail "refused ($why) without '$text' in the kernel log: $(dmesg | tail -n 2)"
	if ssd_dirty; then
		fail "refusing ($why) wrote the SSD"
	fi
	echo "refused: $why"
}
# accept <table>: a control, one step away from a refused table (on $AUX,
# blanked first, or on $SSD when it already holds the table's superblock).
accept() {
	dd if=/dev/zero of=$AUX bs=1M count=4 oflag=direct 2>/dev/null
	dmsetup create hj --table "$1" || fail "refused a good table: $1"
	dmsetup remove hj
}

len=$(( (8192 + 8192) * 8 ))	# 32 MiB RAM tier, 32 MiB SSD tier
good="0 $len hims $ram $SSD"
ssd_devno=$(cat /sys/class/block/${SSD#/dev/}/dev)	# major:minor

step "rejections on a blank SSD"
refuse "no such device" "Cannot open the RAM device" "0 $len hims /dev/nonexistent $SSD sync"
refuse "no such SSD" "Cannot open the SSD" "0 $len hims $ram /dev/vdz sync"
refuse "same device twice" "must differ" "0 $len hims $SSD $SSD sync"
refuse "too few arguments" "Invalid argument count" "0 $len hims $ram $SSD"
refuse "bad mode" "Invalid mode" "$good fast"
refuse "unknown option" "Unrecognised optional argument" "$good sync 2 colour 5"
refuse "option missing its value" "missing its value" "$good sync 1 ram_blocks"
refuse "option count beyond the arguments" "Invalid number of optional arguments" "$good sync 3 ram_blocks 8192"
refuse "trailing argument" "Too many arguments" "$good sync 2 ram_blocks 8192 extra"
refuse "non-numeric value" "Invalid optional argument value" "$good sync 2 max_age soon"
refuse "negative value" "Invalid optional argument value" "$good sync 2 high_watermark -1"
refuse "ram_blocks 0" "Invalid ram_blocks" "$good sync 2 ram_blocks 0"
refuse "ram_blocks not a number" "Invalid ram_blocks" "$good sync 2 ram_blocks 8k"
refuse "low above high watermark" "low_watermark is above" "$good sync 4 high_watermark 30 low_watermark 31"
refuse "high watermark 101" "high_watermark out of range" "$good sync 2 high_watermark 101"
refuse "low watermark 101" "low_watermark out of range" "$good sync 2 low_watermark 101"
refuse "writeback_jobs 0" "writeback_jobs out of range" "$good sync 2 writeback_jobs 0"
refuse "writeback_jobs 1025" "writeback_jobs out of range" "$good sync 2 writeback_jobs 1025"
refuse "max_age 0" "max_age out of range" "$good sync 2 max_age 0"
refuse "max_age above one day" "max_age out of range" "$good sync 2 max_age 86400001"
refuse "index_entries not a power of two" "index_entries out of range" "$good sync 2 index_entries 12"
refuse "length not a multiple of 8" "multiple of 4 KiB" "0 $((len - 4)) hims $ram $SSD sync 2 ram_blocks 8192"
refuse "ram_blocks = RAM device blocks" "exceeds the RAM device" "0 $((16384 * 8)) hims $ram $SSD sync 2 ram_blocks 16384"
refuse "ram_blocks above the length" "exceeds the device length" "0 $((4096 * 8)) hims $ram $SSD sync 2 ram_blocks 4097"
# SSD too small: ram_blocks 4096 and no SSD tier need superblock + bitmap
# (1 MiB aligned) + 16 MiB mirror = 17 MiB.
dmsetup create hj-small --table "0 $((17 * 2048 - 8)) linear $AUX 0"
dmsetup create hj-fits --table "0 $((17 * 2048)) linear $AUX 0"
dd if=/dev/zero of=$AUX bs=1M count=18 oflag=direct 2>/dev/null
refuse "SSD too small" "SSD too small" "0 $((4096 * 8)) hims $ram /dev/mapper/hj-small sync 2 ram_blocks 4096"
[ "$(dd if=$AUX bs=1M count=18 iflag=direct 2>/dev/null | tr -d '\0' | wc -c)" = 0 ] ||
	fail "refusing a small SSD wrote it"
step "controls: the tables one step away load"
accept "0 $((4096 * 8)) hims $ram /dev/mapper/hj-fits sync 2 ram_blocks 4096"
dmsetup remove hj-small
dmsetup remove hj-fits
accept "0 $((16383 * 8)) hims $ram $AUX sync 2 ram_blocks 16383"
accept "0 $((16383 * 8)) hims $ram $AUX async"
accept "0 $len hims $ram $AUX sync 8 high_watermark 100 low_watermark 100 writeback_jobs 1024 max_age 86400000"
accept "0 $len hims $ram $AUX async 6 high_watermark 0 low_watermark 0 writeback_jobs 1"
accept "0 $((4096 * 8)) hims $ram $AUX sync 2 ram_blocks 4096"
refuse "same device by number" "must differ" "0 $len hims $SSD $ssd_devno sync"

step "foreign data on the SSD"
dd if=/dev/urandom of=$SSD bs=4096 count=1 oflag=direct 2>/dev/null
ssd_sum=$(sum $SSD)
refuse "random bytes in block 0" "foreign data" "$good sync"
mkfs.ext4 -q -F $SSD > /dev/null 2>&1 || mke2fs -q -F -t ext4 $SSD
ssd_sum=$(sum $SSD)
refuse "ext4 on the SSD" "foreign data" "$good sync"
refuse "ext4 on the SSD, async" "foreign data" "$good async 2 ram_blocks 8192"
e2fsck -fn $SSD > /dev/null 2>&1 || fail "ext4 damaged by a refused table"
dmsetup create hj --table "$good sync 1 format" || fail "format refused"
dmsetup table hj | grep -q format && fail "the table shows 'format'"
ssd_dirty || fail "format did not write the SSD"
fio_verify /dev/mapper/hj 8M 28M
dmsetup remove hj

step "superblock checks"
accept "$good sync"		# same geometry: accepted without format
ssd_sum=$(sum $SSD)
refuse "other ram_blocks" "geometry" "$good sync 2 ram_blocks 4096"
refuse "other length" "geometry" "0 $((len + 8)) hims $ram $SSD sync 2 ram_blocks 8192"
refuse "other length, same RAM tier" "geometry" "0 $((len * 2)) hims $ram $SSD sync 2 ram_blocks 8192"
# Flip a byte of the superblock's uuid.
dd if=$SSD of=sb bs=4096 count=1 iflag=direct 2>/dev/null
printf 'X' | dd of=sb bs=1 seek=20 conv=notrunc 2>/dev/null
dd if=sb of=$SSD bs=4096 count=1 oflag=direct 2>/dev/null
ssd_sum=$(sum $SSD)
refuse "corrupt superblock" "checksum" "$good sync"
dmsetup create hj --table "$good sync 1 format" || fail "format over a corrupt superblock refused"
dmsetup remove hj
accept "$good async"

step "bad messages"
dmsetup create hj --table "$good async 4 max_age 86400000 high_watermark 100"
dd if=/dev/urandom of=/dev/mapper/hj bs=4096 count=16 oflag=direct 2>/dev/null
before=$(dmsetup status hj)
table=$(dmsetup table hj)
for msg in "bogus" "mode" "mode fast" "mode sync now" "flush now" "pause_writeback 1" \
	"resume_writeback 1" "clear_stats all" "FLUSHALL"; do
	# shellcheck disable=SC2086 # a message of several words
	if dmsetup message hj 0 $msg 2>/dev/null; then
		fail "message '$msg' accepted"
	fi
	[ "$(dmsetup status hj)" = "$before" ] ||
		fail "message '$msg' changed the status: $before -> $(dmsetup status hj)"
	[ "$(dmsetup table hj)" = "$table" ] || fail "message '$msg' changed the table"
	echo "refused message: $msg"
done
[ "$(hims_field hj 4)" = 16 ] || fail "dirty blocks changed"
dmsetup message hj 0 flush
[ "$(hims_field hj 4)" = 0 ] || fail "flush left dirty blocks"
dmsetup remove hj
echo "$n tables refused"
