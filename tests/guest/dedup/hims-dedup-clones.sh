# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims dedup with clones: one 16 MiB random image written at 10 offsets
# (not all MiB-aligned) of a 240 MiB logical RAM tier on a 20 MiB brd takes
# about one image of RAM (field 15 <= 1.1 x 4096) and reads back; a write to
# one clone leaves the others alone and copies one block; zeroes (dd, and
# BLKZEROOUT through util-linux's blkdiscard -z: busybox sh would run its
# own applet) take no RAM; more unique data than RAM holds spills to the
# SSD without an error; a discarded clone reads zeroes and is unmapped.  The
# offline checker agrees with the status after the removal, and the data
# survives a reload and a restore from the SSD into an empty brd.
# timeout: 600
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail
command -v hims-check > /dev/null || fail "hims-check is not in PATH (make tools; TOOLS_DIR)"
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=20480	# 20 MiB: 5119 RAM blocks
phys=5119
logical=61440				# 240 MiB, 12 x the RAM device
len=$(( (logical + 4096) * 8 ))		# and 16 MiB of SSD tier
name=hdc
dev=/dev/mapper/$name
table="0 $len hims /dev/ram0 $SSD async 2 dedup $logical"
dmsetup create $name --table "$table" || fail "cannot create the dedup device"
dmsetup table $name
dmsetup status $name
f() { hims_field $name "$1"; }

MiB=1048576
img_blocks=4096
off() { echo $(( $1 * 24 * MiB + $1 * 4096 )); }	# clone i, in bytes
sha() { sha256sum | cut -c1-64; }
region() { # region <offset bytes> <length bytes>: the device's bytes, on stdout
	dd if="$dev" bs=64k skip="$1" count="$2" iflag=direct,skip_bytes,count_bytes 2>/dev/null
}
put() { # put <file> <offset bytes>
	dd if="$1" of="$dev" bs=64k seek="$2" oflag=direct,seek_bytes conv=notrunc 2>/dev/null ||
		fail "writing $1 at byte $2 failed"
}
nonzero() { # nonzero <offset> <length>: non-zero bytes there
	region "$1" "$2" | tr -d '\0' | wc -c
}

dd if=/dev/urandom of=image bs=1M count=16 2>/dev/null
want=$(sha < image)
for i in 0 1 2 3 4 5 6 7 8 9; do
	eval "want_$i=$want"
done
check_clones() { # check_clones <when>
	for i in 0 1 2 3 4 5 6 7 8 9; do
		eval "w=\$want_$i"
		got=$(region "$(off $i)" $((16 * MiB)) | sha)
		# shellcheck disable=SC2154 # w is set by the eval
		[ "$got" = "$w" ] || fail "clone $i at byte $(off $i) differs ($1)"
	done
	echo "10 clones read back ($1)"
}

step "10 clones of a 16 MiB image"
for i in 0 1 2 3 4 5 6 7 8 9; do
	put image "$(off $i)"
	p=$(f 15)
	[ "$p" -le $((img_blocks * 11 / 10)) ] ||
		fail "after clone $i: $p RAM blocks used, more than 1.1 x $img_blocks"
done
dmsetup status $name
[ "$(f 14)" = $((10 * img_blocks)) ] || fail "mapped $(f 14), want $((10 * img_blocks))"
[ "$(f 15)" -ge $img_blocks ] || fail "$(f 15) RAM blocks hold 4096 distinct blocks?"
[ "$(f 16)" = 0 ] || fail "zero blocks $(f 16), want 0"
[ "$(f 17)" = 0 ] || fail "spilled $(f 17) with RAM to spare"
ratio=$(f 18)
[ "${ratio%%.*}" -ge 9 ] || fail "dedup ratio $ratio, want about 10"
[ "$(f 13)" = 0 ] || fail "error state $(f 13)"
echo "10 clones: mapped $(f 14), RAM blocks $(f 15), ratio $ratio, index bytes $(f 19)"
check_clones "written"

step "overwrite one block of clone 3: one more RAM block, the other clones unchanged"
p0=$(f 15)
m0=$(f 14)
dd if=/dev/urandom of=blk bs=4096 count=1 2>/dev/null
put blk $(( $(off 3) + 100 * 4096 ))
cp image image3
dd if=blk of=image3 bs=4096 seek=100 conv=notrunc 2>/dev/null
want_3=$(sha < image3)
[ "$want_3" != "$want" ] || fail "the new block is the old one?"
[ "$(f 15)" = $((p0 + 1)) ] || fail "RAM blocks $p0 -> $(f 15) for one copied block"
[ "$(f 14)" = "$m0" ] || fail "mapped $m0 -> $(f 14) for an overwrite"
check_clones "after the overwrite"

step "zero blocks: dd of zeroes, and BLKZEROOUT over the first MiB of clone 9"
p0=$(f 15)
dd if=/dev/zero of=$dev bs=1M seek=17 count=4 oflag=direct 2>/dev/null || fail "writing zeroes"
[ "$(f 16)" = 1024 ] || fail "zero blocks $(f 16), want 1024"
[ "$(f 14)" = $((m0 + 1024)) ] || fail "mapped $(f 14), want $((m0 + 1024))"
[ "$(f 15)" = "$p0" ] || fail "zeroes took RAM blocks: $p0 -> $(f 15)"
/usr/sbin/blkdiscard -z -o "$(off 9)" -l $MiB $dev || fail "BLKZEROOUT failed"
[ "$(f 16)" = 1280 ] || fail "zero blocks $(f 16) after BLKZEROOUT, want 1280"
[ "$(f 15)" = "$p0" ] || fail "zeroing shared blocks changed RAM blocks: $p0 -> $(f 15)"
n=$(nonzero $((17 * MiB)) $((4 * MiB)))
[ "$n" = 0 ] || fail "$n non-zero bytes in the zeroes"
n=$(nonzero "$(off 9)" $MiB)
[ "$n" = 0 ] || fail "$n non-zero bytes in the zeroed MiB of clone 9"
cp image image9
dd if=/dev/zero of=image9 bs=1M count=1 conv=notrunc 2>/dev/null
# shellcheck disable=SC2034 # read by check_clones through eval
want_9=$(sha < image9)
check_clones "after the zeroes"

step "RAM full: 6 MiB of unique data spill to the SSD without an error"
dd if=/dev/urandom of=uniq bs=1M count=6 2>/dev/null
uoff=$((41 * MiB))
free=$((phys - $(f 15)))
put uniq $uoff
dmsetup status $name
s=$(f 17)
echo "$free RAM blocks were free; spilled now $s, RAM blocks $(f 15)"
[ "$s" -gt 0 ] || fail "nothing spilled though 1536 unique blocks met $free free RAM blocks"
[ "$(f 15)" -le $phys ] || fail "RAM blocks used $(f 15) > $phys"
[ "$(f 13)" = 0 ] || fail "error state $(f 13)"
uwant=$(sha < "uniq")
[ "$(region $uoff $((6 * MiB)) | sha)" = "$uwant" ] || fail "spilled data reads back wrong"
dmsetup message $name 0 flush || fail "flush failed"
[ "$(region $uoff $((6 * MiB)) | sha)" = "$uwant" ] || fail "spilled data wrong after a flush"
check_clones "after the spill"

step "discard clone 5: unmapped, reads zeroes"
m0=$(f 14)
p0=$(f 15)
/usr/sbin/blkdiscard -o "$(off 5)" -l $((16 * MiB)) $dev || fail "blkdiscard failed"
[ "$(f 14)" = $((m0 - img_blocks)) ] || fail "mapped $m0 -> $(f 14) after discarding $img_blocks"
[ "$(f 15)" = "$p0" ] || fail "discarding a shared clone freed RAM blocks: $p0 -> $(f 15)"
n=$(nonzero "$(off 5)" $((16 * MiB)))
[ "$n" = 0 ] || fail "the discarded clone has $n non-zero bytes"
# shellcheck disable=SC2034 # read by check_clones through eval
want_5=$(head -c $((16 * MiB)) /dev/zero | sha)
check_clones "after the discard"

step "flush, remove, offline check"
dmsetup message $name 0 flush || fail "flush failed"
dmsetup status $name
st="$(f 14) mapped, $(f 15) RAM blocks used, $(f 16) zero, $(f 17) spilled"
dmsetup remove $name
out=$(hims-check $SSD) || fail "hims-check: $(hims-check $SSD 2>&1)"
echo "$out"
case "$out" in
*"$st"*) ;;
*) fail "hims-check disagrees with the status ($st)" ;;
esac

step "reload in the same boot"
dmsetup create $name --table "$table"
check_clones "after the reload"
[ "$(region $uoff $((6 * MiB)) | sha)" = "$uwant" ] || fail "spilled data wrong after the reload"
dmsetup remove $name

step "restore into an empty brd"
rmmod brd
modprobe brd rd_nr=1 rd_size=20480
dmsetup create $name --table "$table"
dmsetup status $name
check_clones "during the restore"
hims_wait_restored $name 300
dmsetup status $name
check_clones "after the restore"
[ "$(region $uoff $((6 * MiB)) | sha)" = "$uwant" ] || fail "spilled data wrong after the restore"
now="$(f 14) mapped, $(f 15) RAM blocks used, $(f 16) zero, $(f 17) spilled"
[ "$now" = "$st" ] || fail "restored state ($now) is not the flushed one ($st)"
dmsetup remove $name
hims-check $SSD || fail "hims-check after the restore"
