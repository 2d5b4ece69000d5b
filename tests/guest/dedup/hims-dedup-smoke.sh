# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims dedup basics: eight copies of one 16 MiB image take one image of
# RAM and read back; zero blocks take none; the data survives a reload and a
# restore from the SSD metadata.
# timeout: 600
# memory: 2G
. /tests/guest/lib.sh
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=32768	# 32 MiB: 8191 RAM blocks
logical=65536				# 256 MiB of logical RAM tier
len=$(( (logical + 16384) * 8 ))
table="0 $len hims /dev/ram0 $SSD async 2 dedup $logical"
dmsetup create hd --table "$table"
dmsetup table hd
dev=/dev/mapper/hd
dd if=/dev/urandom of=image bs=1M count=16 2>/dev/null
want=$(sha256sum < image | cut -c1-64)
for i in 0 1 2 3 4 5 6 7; do
	dd if=image of=$dev bs=1M seek=$((i * 32)) oflag=direct conv=fsync 2>/dev/null
done
dmsetup status hd
phys=$(hims_field hd 15)
echo "8 clones of 4096 blocks: $phys physical blocks"
[ "$phys" -le 4506 ] || fail "8 clones use $phys RAM blocks, more than 1.1 images"
[ "$(hims_field hd 14)" = 32768 ] || fail "mapped $(hims_field hd 14), want 32768"
want3=$want
check() {
	for i in 0 1 2 3 4 5 6 7; do
		got=$(dd if=$dev bs=1M skip=$((i * 32)) count=16 iflag=direct 2>/dev/null |
			sha256sum | cut -c1-64)
		w=$want
		[ $i = 3 ] && w=$want3
		[ "$got" = "$w" ] || fail "clone $i differs ($1)"
	done
}
check "written"
step "overwrite one block of clone 3; the others keep theirs"
dd if=/dev/urandom of=$dev bs=4k count=1 seek=$((3 * 32 * 256 + 5)) oflag=direct 2>/dev/null
got=$(dd if=$dev bs=1M skip=96 count=16 iflag=direct 2>/dev/null | sha256sum | cut -c1-64)
[ "$got" != "$want" ] || fail "overwrite did not change clone 3"
want3=$got
for i in 0 1 2 4 5 6 7; do
	got=$(dd if=$dev bs=1M skip=$((i * 32)) count=16 iflag=direct 2>/dev/null | sha256sum | cut -c1-64)
	[ "$got" = "$want" ] || fail "clone $i changed by a write to clone 3"
done
step "zero blocks"
p0=$(hims_field hd 15)
dd if=/dev/zero of=$dev bs=1M seek=244 count=8 oflag=direct 2>/dev/null
[ "$(hims_field hd 16)" = 2048 ] || fail "zero blocks $(hims_field hd 16), want 2048"
[ "$(hims_field hd 15)" = "$p0" ] || fail "zeroes took RAM blocks"
dmsetup message hd 0 flush
dmsetup status hd
step "reload in the same boot, then a restore from the SSD"
dmsetup remove hd
dmsetup create hd --table "$table"
check "after reload"
dmsetup remove hd
rmmod brd
modprobe brd rd_nr=1 rd_size=32768
dmsetup create hd --table "$table"
dmsetup status hd
check "during the restore"
hims_wait_restored hd 300
dmsetup status hd
check "after the restore"
[ "$(hims_field hd 15)" = 4097 ] || fail "restore rebuilt $(hims_field hd 15) RAM blocks, want 4097"
dmsetup remove hd
