# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# max_age bounds how long a block stays dirty, however often it is
# rewritten: age counts from the write that dirtied it (as in the page
# cache), not from the last one.  A block rewritten every 0.3 s with
# max_age 2 s must reach the mirror while the rewrites go on; before,
# each rewrite made it young again and it never did.
# boots: 1
# timeout: 300
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=65536	# 64 MiB
len=$(( (8192 + 8192) * 8 ))
dev=/dev/mapper/hma
dmsetup create hma --table "0 $len hims /dev/ram0 $SSD async 7 ram_blocks 8192 max_age 2000 high_watermark 100 format"

# The mirror of logical block b is SSD block 256 + b here; check it.
dd if=/dev/zero bs=4k count=1 2>/dev/null | tr '\0' 'm' | dd of=$dev bs=4k seek=1 oflag=direct 2>/dev/null
dmsetup message hma 0 flush
[ "$(dd if=$SSD bs=4k skip=257 count=1 iflag=direct 2>/dev/null | tr -d m | wc -c)" = 0 ] ||
	fail "the mirror is not where this test looks"

mirror0() {
	dd if=$SSD bs=4k skip=256 count=1 iflag=direct 2>/dev/null | tr -d '\0' | wc -c
}

# Up to 200 rewrites (60 s, 30 x max_age): a hot block's age must run out.
i=0
while [ "$(mirror0)" = 0 ]; do
	i=$((i + 1))
	[ $i -le 200 ] || fail "block 0 still not written back after $i rewrites: $(dmsetup status hma)"
	printf 'version %08d' $i | dd of=$dev bs=4k seek=0 conv=sync oflag=direct 2>/dev/null
	sleep 0.3
done
echo "written back while hot, after $i rewrites"
dmsetup remove hma
