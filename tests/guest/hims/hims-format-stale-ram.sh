# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# A format over a RAM device that still holds an earlier format's data
# must not let a block never written since read that data: not by a
# read, not through the rest of a block a partial first write leaves
# (in sync mode the mirror has zeroes there), and not as a checksum that
# changes when brd is reloaded and the RAM tier restored (how the
# lifecycle soak found it on 6.12).
# timeout: 300
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=16384	# 16 MiB: RAM header and 4095 blocks
dev=/dev/mapper/hfs
tbl() { # tbl <mode> [format]
	set -- "$1" ram_blocks 4095 ${2:+format}
	local mode=$1
	shift
	echo "0 65528 hims /dev/ram0 $SSD $mode $# $*"
}
yes OLD-FORMAT | head -c 4096 > old
dd if=/dev/zero of=zero bs=4k count=1 2>/dev/null
blk() { dd if=$dev bs=4k skip="$1" count=1 iflag=direct 2>/dev/null; }

step "format 1: blocks 10 and 11 written"
dmsetup create hfs --table "$(tbl sync format)"
for b in 10 11; do
	dd if=old of=$dev bs=4k seek=$b count=1 oflag=direct conv=notrunc 2>/dev/null ||
		fail "cannot write block $b"
done
dmsetup remove hfs

step "format 2 over the same RAM: blocks 10 and 11 never written since"
dmsetup create hfs --table "$(tbl sync format)"
blk 11 | cmp -s - zero || fail "never-written block 11 reads the old format's RAM data"
# A partial first write: RAM and mirror must agree on the rest of the block.
dd if=/dev/urandom of=$dev bs=512 seek=$((10 * 8)) count=1 oflag=direct conv=notrunc 2>/dev/null ||
	fail "cannot write block 10's first sector"
blk 10 > ram10
dmsetup remove hfs
# The mirror starts at SSD block 256 in this geometry (dm-hims-design.rst).
dd if="$SSD" bs=4k skip=$((256 + 10)) count=1 iflag=direct 2>/dev/null | cmp -s - ram10 ||
	fail "a partial first write left RAM and mirror different beyond its sector"

step "brd reloaded, the RAM tier restored: the same bytes"
dmsetup create hfs --table "$(tbl sync)"
s1=$(dd if=$dev bs=1M count=31 iflag=direct 2>/dev/null | md5sum)
dmsetup remove hfs
rmmod brd
modprobe brd rd_nr=1 rd_size=16384
dmsetup create hfs --table "$(tbl sync)"
hims_wait_restored hfs 120
s2=$(dd if=$dev bs=1M count=31 iflag=direct 2>/dev/null | md5sum)
[ "$s1" = "$s2" ] || fail "the device's checksum changed across a brd reload and restore"
dmsetup remove hfs
echo "a format leaves no earlier RAM data readable"
