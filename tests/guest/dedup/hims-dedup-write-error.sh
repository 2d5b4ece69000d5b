# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims dedup: a write whose data write fails keeps no new mapping.  The
# RAM device and the SSD are dm-linear legs, reloaded to dm-flakey failing
# writes.  A is written to logical block 0 and C to blocks 2 and 3 (shared);
# block 0 is discarded and flushed, so A's physical block is the next one
# reused.  Then, with RAM (sync and async) or the SSD mirror (sync) failing
# writes, B to block 1 and D to block 2 must fail, and once the leg heals
# block 1 must read zeroes (never A) and blocks 2 and 3 C: at once, after a
# flush, a reload, and a restore from the SSD into a new brd.
# timeout: 600
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail
command -v hims-check > /dev/null || fail "hims-check is not in PATH (make tools; TOOLS_DIR)"
modprobe dm-hims
rsec=8192				# 4 MiB brd: 1023 RAM blocks
ssec=$(sectors "$SSD")
logical=2048
len=$(( (logical + 256) * 8 ))
name=hdw
dev=/dev/mapper/$name
f() { hims_field $name "$1"; }

for c in A B C D; do
	head -c 4096 /dev/zero | tr '\0' "$c" > $c
done
head -c 4096 /dev/zero > Z
put() { # put <file> <block>: one direct write; its status
	dd if="$1" of=$dev bs=4096 seek="$2" count=1 oflag=direct conv=notrunc 2>/dev/null
}
is() { # is <block> <file> <when>
	dd if=$dev of=got bs=4096 skip="$1" count=1 iflag=direct 2>/dev/null ||
		fail "reading block $1 failed ($3)"
	cmp -s got "$2" && return 0
	for c in A B C D Z; do
		cmp -s got $c && fail "block $1 reads $c, expected $2 ($3)"
	done
	fail "block $1 reads neither A, B, C, D nor zeroes, expected $2 ($3)"
}
check() { # check <when>
	is 0 Z "$1"
	is 1 Z "$1"
	is 2 C "$1"
	is 3 C "$1"
	[ "$(f 13)" = 0 ] || fail "error state $(f 13) ($1)"
}
leg() { # leg <name> <sectors> <dev> linear|failing
	local t="0 $2 linear $3 0"
	[ "$4" = failing ] && t="0 $2 flakey $3 0 0 3600 1 error_writes"
	dmsetup suspend "$1"
	dmsetup load "$1" --table "$t"
	dmsetup resume "$1"
}
create() { # create <mode> [format]: no periodic commit gets in the way
	local n=4
	[ -n "$2" ] && n=5
	dmsetup create $name --table "0 $len hims /dev/mapper/ram /dev/mapper/ssd $1 $n \
dedup $logical max_age 1000000 $2" || fail "cannot load the device"
}

for run in "sync ram" "async ram" "sync ssd"; do
	mode=${run% *} failing=${run#* }
	step "$mode, $failing writes fail"
	modprobe brd rd_nr=1 rd_size=4096
	dmsetup create ram --table "0 $rsec linear /dev/ram0 0"
	dmsetup create ssd --table "0 $ssec linear $SSD 0"
	create "$mode" format
	put A 0 && put C 2 && put C 3 || fail "writing A and C failed"
	dmsetup message $name 0 flush
	blkdiscard -o 0 -l 4096 $dev || fail "discarding block 0 failed"
	dmsetup message $name 0 flush
	echo "mapped $(f 14), RAM blocks $(f 15)"
	[ "$(f 15)" = 1 ] || fail "C should be the only RAM block in use"

	if [ "$failing" = ram ]; then
		leg ram $rsec /dev/ram0 failing
	else
		leg ssd "$ssec" "$SSD" failing
	fi
	put B 1 && fail "writing B succeeded though $failing writes fail"
	put D 2 && fail "writing D succeeded though $failing writes fail"
	if [ "$failing" = ram ]; then
		leg ram $rsec /dev/ram0 linear
	else
		leg ssd "$ssec" "$SSD" linear
	fi
	dmsetup status $name
	check "after the failed writes"
	dmsetup message $name 0 flush || fail "flush failed"
	check "flushed"
	dmsetup remove $name
	out=$(hims-check /dev/mapper/ssd) || fail "hims-check: $(hims-check /dev/mapper/ssd 2>&1)"
	echo "$out"
	create "$mode"
	check "reloaded"
	dmsetup remove $name
	dmsetup remove ram
	rmmod brd
	modprobe brd rd_nr=1 rd_size=4096
	dmsetup create ram --table "0 $rsec linear /dev/ram0 0"
	create "$mode"
	hims_wait_restored $name 60
	check "restored into a new brd"

	step "$mode: the blocks take new writes"
	put B 1 && put D 2 || fail "writes after the leg healed failed"
	is 1 B "rewritten"
	is 2 D "rewritten"
	is 3 C "rewritten"
	dmsetup remove $name
	dmsetup remove ram ssd
	rmmod brd
done
