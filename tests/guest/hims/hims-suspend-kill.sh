# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# A suspend that must finish the restore (writeback failed, RAM not yet
# whole) can be killed while the SSD does not answer.  The restore is
# held incomplete by ten mirror blocks that fail to read, a new write
# cannot be written back (the SSD fails writes: error state), then the
# SSD stops answering (its dm leg suspended) and the device is suspended:
# postsuspend copies from the SSD and waits.  SIGKILL must end the
# suspend while the SSD is still stuck; the RAM header then says "dirty
# but incomplete", so no table loads over it, and the device is removed
# cleanly once the SSD answers.
# timeout: 600
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=32768	# 32 MiB
# 8191 RAM-tier blocks: bitmap at SSD block 1, mirror at block 256.
bad=1000 nbad=10
bad_s=$(( (256 + bad) * 8 )) bad_n=$((nbad * 8))
leg_create ssd "$SSD"
dev=/dev/mapper/hs
len=$(( (8191 + 8192) * 8 ))
table="0 $len hims /dev/ram0 /dev/mapper/ssd async 4 ram_blocks 8191 max_age 86400000"
f() { hims_field hs "$1"; }
ram_state() { hims_ram_state /dev/ram0; }
stuck=
unstick() {
	[ -n "$stuck" ] && dmsetup resume ssd
	stuck=
}
at_exit unstick

step "the SSD holds data; RAM is lost; the restore gives up on $nbad blocks"
dmsetup create hs --table "$table"
fio_pattern write $dev 0 8M 1
dmsetup message hs 0 flush
dmsetup remove hs
rmmod brd
modprobe brd rd_nr=1 rd_size=32768
leg_fail ssd "$SSD" $bad_s $bad_n error
dmsetup create hs --table "$table"
hims_wait_field hs 20 incomplete 120

step "a new write fails to reach the SSD (error state), then the SSD hangs"
dd if=/dev/zero of=$dev bs=4k seek=5000 count=1 oflag=direct 2>/dev/null
leg_fail ssd "$SSD" $bad_s $bad_n error writes
if dmsetup message hs 0 flush 2>/dev/null; then
	fail "flush succeeded with the SSD failing writes"
fi
[ "$(f 13)" -lt 0 ] || fail "no error state: $(dmsetup status hs)"
dmsetup suspend --nolockfs ssd
stuck=1

step "suspend waits for the restore's copy; SIGKILL ends it"
dmesg -c > /dev/null
dmsetup suspend hs &
pid=$!
wait_in_kernel $pid "the suspend ended with the SSD stuck"
kill_wait $pid "the suspend" unstick
wait $pid || true
dmesg | grep -q "restore before suspend interrupted" || fail "no log of the interrupted restore"
[ "$(ram_state)" = 4 ] || fail "RAM header state $(ram_state), not 4 (dirty but incomplete)"
dmsetup info hs | grep -q SUSPENDED || fail "the device is not suspended"

step "the SSD answers again; the device goes away cleanly; no table loads over RAM"
unstick
dmsetup remove hs
leg_swap ssd "$SSD" linear
if dmsetup create hs --table "$table" 2>/dev/null; then
	fail "a table loaded over RAM that is neither whole nor behind the SSD"
fi
dmsetup remove hs 2>/dev/null || true
dd if=/dev/zero of=/dev/ram0 bs=4k count=1 oflag=direct 2>/dev/null
dmsetup create hs --table "$table"
hims_wait_restored hs 120
fio_pattern check $dev 0 8M 1 || fail "data lost"
dmsetup remove hs
dmsetup remove ssd
