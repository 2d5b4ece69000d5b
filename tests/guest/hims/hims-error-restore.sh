# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# A failed writeback while the RAM tier is still being restored, then a
# reload in the same boot, must not restore older SSD data over newer RAM
# data.  The restore is held incomplete by ten mirror blocks that fail to
# read (dm "error" in the SSD's table); new data goes to a restored block
# and to one of the ten; then the SSD fails every write (dm-flakey
# error_writes), so the suspend's writeback fails.
# 1. The SSD still reads: the suspend finishes the restore into RAM and
#    marks RAM "dirty"; the next table copies nothing, keeps both new
#    blocks and writes everything back once the SSD heals.
# 2. The ten blocks still fail to read too: neither RAM nor the SSD is
#    whole, so the next table refuses to load (reload and create), until
#    the RAM header is zeroed, which restores the SSD's data.
# 3. As 2, but the same table resumes once the SSD reads (not writes)
#    again: the restore completes, and the RAM header goes from "dirty but
#    incomplete" to "dirty", never "complete"; a reload keeps it "dirty"
#    until a flush has made the mirror current.
# timeout: 600
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=32768	# 32 MiB
# 8191 RAM-tier blocks: bitmap at SSD block 1, mirror at block 256.
bad=1000 nbad=10 newb=1005 blk_x=7800
bad_s=$(( (256 + bad) * 8 )) bad_n=$((nbad * 8))
healthy() { leg_swap ssd "$SSD" linear; }
bad_reads() { leg_fail ssd "$SSD" $bad_s $bad_n error; }
no_writes() { leg_fail ssd "$SSD" 0 0 writes writes; }
bad_all() { leg_fail ssd "$SSD" $bad_s $bad_n error writes; }
ram_state() { hims_ram_state /dev/ram0; }
leg_create ssd "$SSD"
dev=/dev/mapper/hx
len=$(( (8191 + 8192) * 8 ))
table="0 $len hims /dev/ram0 /dev/mapper/ssd async 4 ram_blocks 8191 max_age 86400000"
f() { hims_field hx "$1"; }
a() { fio_pattern "$1" $dev 0 3M 1; }	# blocks 0-767
c() { fio_pattern "$1" $dev 5M 25M 3; }	# blocks 1280-7679
for p in OLD X Y Z; do yes "$p-data" | head -c 4096 > $p; done
yes "OLD-bad" | head -c $((nbad * 4096)) > OLDBAD
cp OLDBAD BADY
dd if=Y of=BADY bs=4k seek=$((newb - bad)) conv=notrunc 2>/dev/null
put() { # put <file> <block> [<blocks>]
	dd if="$1" of=$dev bs=4k seek="$2" count="${3:-1}" oflag=direct 2>/dev/null ||
		fail "writing block $2"
}
has() { # has <file> <block> <blocks> <when>
	dd if=$dev bs=4k skip="$2" count="$3" iflag=direct 2>/dev/null | cmp -s - "$1" ||
		fail "blocks $2+$3 do not hold $1 ($4)"
}
fresh_ram() {
	rmmod brd
	modprobe brd rd_nr=1 rd_size=32768
}
# Load with the bad blocks failing to read; wait until the restore gives up.
load_incomplete() {
	fresh_ram
	bad_reads
	dmsetup create hx --table "$table"
	dmsetup message hx 0 pause_writeback
	hims_wait_field hx 20 incomplete 120
	echo "restore gave up: $(dmsetup status hx)"
}

step "the SSD holds A, C, old data in blocks $bad-$((bad + nbad - 1)) and $blk_x"
dmsetup create hx --table "$table"
a write
c write
put OLDBAD $bad $nbad
put OLD $blk_x
dmsetup message hx 0 flush
dmsetup remove hx

step "1: newer RAM data, the SSD fails writes, suspend, reload"
load_incomplete
put X $blk_x
put Y $newb
[ "$(f 4)" -ge 2 ] || fail "the new blocks are not dirty: $(dmsetup status hx)"
no_writes
dmsetup suspend hx
echo "suspended: $(dmsetup status hx)"
healthy
dmsetup reload hx --table "$table"
dmsetup resume hx
echo "reloaded: $(dmsetup status hx)"
has X $blk_x 1 "restored block rewritten before the failed suspend"
has BADY $bad $nbad "unrestored block rewritten before the failed suspend"
a check || fail "A lost after the reload"
c check || fail "C lost after the reload"
[ "$(f 6)" = "$(f 7)" ] || fail "the reload restores again: $(dmsetup status hx)"
[ "$(f 13)" = 0 ] || fail "error state after the reload"
dmsetup message hx 0 flush
[ "$(f 4)" = 0 ] || fail "dirty blocks left after flush"
dmsetup remove hx
fresh_ram
dmsetup create hx --table "$table"
hims_wait_restored hx 120
has X $blk_x 1 "restored from the SSD"
has BADY $bad $nbad "restored from the SSD"
a check || fail "A lost after a restore from the SSD"
c check || fail "C lost after a restore from the SSD"
dmsetup remove hx

step "2: as 1, but the SSD fails the restore's reads too"
load_incomplete
put Z $blk_x
bad_all
dmesg -c > /dev/null
dmsetup reload hx --table "$table"	# the old table is still live
if dmsetup resume hx 2>/dev/null; then
	fail "a table loaded over RAM that is neither complete nor behind the SSD"
fi
dmesg | grep -q "will refuse to load" || fail "suspend did not log the refusal to come"
dmesg | grep -q "RAM device holds writes the SSD lacks" || fail "resume did not log why"
dmsetup remove hx
healthy
if dmsetup create hx --table "$table" 2>/dev/null; then
	fail "create accepted RAM that is neither complete nor behind the SSD"
fi
dmsetup remove hx 2>/dev/null || true
dmesg | grep -q "hims: RAM device holds writes the SSD lacks" || fail "no table error logged"

step "zeroing the RAM header gives up RAM's data: restore from the SSD"
dd if=/dev/zero of=/dev/ram0 bs=4k count=1 oflag=direct 2>/dev/null
dmsetup create hx --table "$table"
hims_wait_restored hx 120
has X $blk_x 1 "the SSD's copy after giving up RAM"
a check || fail "A lost"
dmsetup remove hx

step "3: as 2, but this table resumes once the SSD reads again"
load_incomplete
put Z $blk_x
bad_all
dmsetup suspend hx
[ "$(ram_state)" = 4 ] || fail "RAM header state $(ram_state) after the suspend, not 4"
no_writes
dmsetup resume hx
hims_wait_field hx 20 complete 120
[ "$(ram_state)" = 3 ] || fail "RAM header state $(ram_state) once RAM is whole, not 3 (dirty): the SSD still lacks RAM's writes"

step "3: a reload keeps the header dirty until writeback made the mirror current"
dmsetup reload hx --table "$table"
dmsetup resume hx
echo "reloaded, the SSD failing writes: $(dmsetup status hx)"
[ "$(ram_state)" = 3 ] || fail "RAM header state $(ram_state) before any writeback, not 3 (dirty)"
has Z $blk_x 1 "reloaded over RAM newer than the SSD"
healthy
[ "$(ram_state)" = 3 ] || fail "RAM header state $(ram_state) before the flush, not 3 (dirty)"
if ! dmsetup message hx 0 flush 2>/dev/null; then
	# Writeback failed before the SSD healed: the error state lasts
	# until a reload.
	dmsetup reload hx --table "$table"
	dmsetup resume hx
	[ "$(ram_state)" = 3 ] || fail "RAM header state $(ram_state) before the flush, not 3 (dirty)"
	dmsetup message hx 0 flush
fi
[ "$(ram_state)" = 2 ] || fail "RAM header state $(ram_state) after the flush, not 2 (complete)"
dmsetup remove hx
fresh_ram
dmsetup create hx --table "$table"
hims_wait_restored hx 120
has Z $blk_x 1 "restored from the SSD"
a check || fail "A lost"
c check || fail "C lost"
dmsetup remove hx
dmsetup remove ssd
