# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# A block written once and never flushed, then a power cut: after the
# restore it must read as its new data or as never written (zeroes), never
# as whatever the SSD held before `format` (another filesystem, another
# tenant).  The SSD starts full of 0xAB; async mode with writeback held
# off, so only the mirror's initial content can come back.
# boots: 2
# timeout: 300
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=65536	# 64 MiB
len=$(( (8192 + 8192) * 8 ))	# 32 MiB RAM tier, 32 MiB SSD tier
opts="ram_blocks 8192 max_age 86400000 high_watermark 100"
table() { # table [format]
	# shellcheck disable=SC2086 # $opts: words of the table
	set -- $opts "$@"
	echo "0 $len hims /dev/ram0 $SSD async $# $*"
}

# byte_values <file>: the distinct byte values in it, hex, one per line.
byte_values() {
	od -An -v -tx1 "$1" | tr -s ' ' '\n' | grep -v '^$' | sort -u
}

case "$BOOT" in
1)
	step "old data on the SSD: 64 MiB of 0xab"
	dd if=/dev/zero bs=1M count=64 2>/dev/null | tr '\0' '\253' |
		dd of=$SSD bs=1M oflag=direct 2>/dev/null
	dmsetup create hsm --table "$(table format)"
	dd if=/dev/zero bs=4k count=1 2>/dev/null | tr '\0' '\021' |
		dd of=/dev/mapper/hsm bs=4k seek=256 oflag=direct 2>/dev/null
	[ "$(hims_field hsm 4)" = 1 ] || fail "the block is not dirty: $(dmsetup status hsm)"
	powercut
	;;
2)
	dmsetup create hsm --table "$(table)"
	hims_wait_restored hsm 120
	dd if=/dev/mapper/hsm of=blk bs=4k skip=256 count=1 iflag=direct 2>/dev/null
	v=$(byte_values blk | tr '\n' ' ')
	echo "block 256 holds bytes: $v"
	case "$v" in
	"00 "|"11 ") ;;
	*) fail "block 256 holds neither its data (0x11) nor zeroes: $v" ;;
	esac
	dd if=/dev/mapper/hsm of=blk bs=4k skip=512 count=1 iflag=direct 2>/dev/null
	[ "$(byte_values blk | tr '\n' ' ')" = "00 " ] || fail "never-written block 512 is not zero"
	dmsetup remove hsm
	echo "no stale SSD data came back"
	;;
esac
