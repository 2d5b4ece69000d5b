# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# The fault matrix: every kind of I/O dm-hims issues fails once, and the
# outcome is what dm-hims.rst's "Errors" table says: which bio gets the
# error, whether the device enters the error state (status field 13), and
# what the next write, flush, reload or restore does.  The RAM device and
# the SSD are dm-linear legs; a row reloads one leg so that I/O to the
# blocks it aims at fails (dm "error") or only writes to them fail
# (dm-flakey error_writes), then heals it.  Each row prints "ROW <name>
# ok"; a failing row names itself.  Rows covered by their own tests:
# restore copies with retries (hims-restore-error), a failed suspend
# during a restore (hims-error-restore), dedup data writes
# (hims-dedup-write-error), the sync mirror write across a reboot
# (hims-sync-mirror-error).
# timeout: 900
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe dm-flakey
modprobe brd rd_nr=1 rd_size=32768	# 32 MiB: 8191 RAM-tier blocks
# SSD blocks: superblock 0, bitmap 1, mirror of block b at 256 + b, the
# SSD tier's first block at 8448.  RAM device block 0 is the header, RAM
# tier block b is at 1 + b.
n=8191 mirror=256 expansion=8448
len=$(( (n + 256) * 8 ))
name=hm
dev=/dev/mapper/$name
opts="ram_blocks $n max_age 86400000"
table="0 $len hims /dev/mapper/ram /dev/mapper/ssd async 4 $opts"
leg_create ram /dev/ram0
leg_create ssd "$SSD"
f() { hims_field $name "$1"; }
ROW=setup
rfail() { fail "row $ROW: $*"; }
row() { ROW=$1; step "row $1: $2"; dmesg -c > /dev/null; }
row_ok() { echo "ROW $ROW ok: $(dmsetup status $name | cut -d' ' -f4-16)"; }
# ssd_fail <block> <blocks> error|writes; ram_fail likewise; *_heal.
ssd_fail() { leg_fail ssd "$SSD" $(($1 * 8)) $(($2 * 8)) "$3"; }
ram_fail() { leg_fail ram /dev/ram0 $(($1 * 8)) $(($2 * 8)) "$3"; }
ssd_heal() { leg_swap ssd "$SSD" linear; }
ram_heal() { leg_swap ram /dev/ram0 linear; }
for p in P Q R; do yes "$p-data" | head -c 4096 > $p; done
put() { # put <file> <block>: one direct write; its exit status
	dd if="$1" of=$dev bs=4k seek="$2" count=1 oflag=direct conv=notrunc 2>/dev/null
}
get() { # get <block>: one direct read to stdout; its exit status
	dd if=$dev bs=4k skip="$1" count=1 iflag=direct 2>/dev/null
}
has() { # has <block> <file>
	get "$1" | cmp -s - "$2" || rfail "block $1 does not read $2"
}
no_error() { [ "$(f 13)" = 0 ] || rfail "error state $(f 13): $(dmsetup status $name)"; }
logged() { dmesg | grep -q "$1" || rfail "no log line '$1'"; }
ram_state() { hims_ram_state /dev/ram0; }
# Blocks whose content a restore from the SSD must bring back.
keep() { # keep <block>...
	for b; do get "$b" | md5sum > "keep.$b" || rfail "cannot read block $b"; done
}

row superblock "the superblock write at format fails: the first resume, and the create, fail"
ssd_fail 0 1 writes
if dmsetup create $name --table "${table% 4 *} 5 $opts format" 2>/dev/null; then
	rfail "a format whose superblock write failed was accepted"
fi
dmsetup remove $name 2>/dev/null || true
logged "Cannot write the SSD superblock"
ssd_heal
dmsetup create $name --table "${table% 4 *} 5 $opts format"
no_error
row_ok

row first-write "the valid-bitmap write of a first write fails: that write fails"
ssd_fail 1 1 writes
put P 10 && rfail "a first write succeeded though its bitmap write failed"
logged "valid bitmap write failed"
[ "$(f 2)" = 0 ] || rfail "the failed first write counts as written"
no_error
ssd_heal
put P 10 || rfail "the write failed once the SSD healed"
has 10 P
[ "$(f 2)" = 1 ] || rfail "$(f 2) blocks written, not 1"
no_error
row_ok

row ram-write "a RAM write fails: that write fails, its block is dirty"
put P 20 || rfail "writing P"
dmsetup message $name 0 flush
ram_fail $((1 + 20)) 1 writes
put Q 20 && rfail "a write that RAM failed succeeded"
[ "$(f 4)" -ge 1 ] || rfail "the block of the failed write is not dirty"
no_error
ram_heal
dmsetup message $name 0 flush || rfail "flush failed once RAM healed"
[ "$(f 4)" = 0 ] || rfail "dirty blocks after the flush"
keep 20
row_ok

row ram-read "a RAM read fails: that read fails"
put P 30 || rfail "writing P"
ram_fail $((1 + 30)) 1 error
get 30 > /dev/null && rfail "a read that RAM failed succeeded"
no_error
ram_heal
has 30 P
row_ok

row ssd-tier "SSD-tier reads and writes fail: those bios fail"
put P $((n + 5)) || rfail "writing the SSD tier"
ssd_fail $((expansion + 5)) 1 error
put Q $((n + 5)) && rfail "an SSD-tier write succeeded on a failing SSD"
get $((n + 5)) > /dev/null && rfail "an SSD-tier read succeeded on a failing SSD"
no_error
ssd_heal
has $((n + 5)) P
dmsetup message $name 0 flush || rfail "flush failed"
row_ok

row sync-mirror "sync mode, a mirror write fails: that write fails, its block is dirty"
put P 50 || rfail "writing P"
dmsetup message $name 0 mode sync
ssd_fail $((mirror + 50)) 1 writes
put Q 50 && rfail "a sync write whose mirror write failed succeeded"
[ "$(f 4)" -ge 1 ] || rfail "the block of the failed write is not dirty"
no_error
ssd_heal
dmsetup message $name 0 mode async || rfail "mode async"
dmsetup message $name 0 flush || rfail "flush failed once the SSD healed"
keep 50
row_ok

row writeback "a writeback copy fails: error state, flushes fail, RAM still served"
put P 40 || rfail "writing P"
ssd_fail $((mirror + 40)) 1 writes
dmsetup message $name 0 flush 2>/dev/null && rfail "flush succeeded though writeback failed"
[ "$(f 13)" = -5 ] || rfail "error field $(f 13), not -5"
logged "device in error state"
put Q 41 || rfail "a RAM write failed in the error state"
has 41 Q
has 40 P
ssd_heal
dmsetup message $name 0 flush 2>/dev/null && rfail "flush succeeded in the error state"
[ "$(f 13)" = -5 ] || rfail "the error state ended without a reload"
dmsetup reload $name --table "$table"
dmsetup resume $name
no_error
[ "$(f 4)" = "$(f 2)" ] || rfail "the reload did not dirty every written block: $(dmsetup status $name)"
[ "$(ram_state)" = 3 ] || rfail "RAM header state $(ram_state) before writeback, not 3 (dirty)"
dmsetup message $name 0 flush || rfail "flush failed after the reload"
[ "$(ram_state)" = 2 ] || rfail "RAM header state $(ram_state) after the flush, not 2 (complete)"
has 40 P
has 41 Q
keep 40 41
row_ok

row ssd-flush "the SSD fails a cache flush: that flush fails, error state"
# dm-flakey fails the empty flush bios too: failing writes to the SSD's
# last block, which the device never uses, fails flushes and nothing else.
last=$(( $(sectors "$SSD") / 8 - 1 ))
dmsetup message $name 0 flush || rfail "flush failed"
ssd_fail $last 1 writes
put P 70 || rfail "writing P"
dmsetup message $name 0 flush 2>/dev/null && rfail "a flush the SSD failed succeeded"
[ "$(f 13)" = -5 ] || rfail "error field $(f 13) after a failed SSD flush, not -5"
logged "SSD flush failed"
ssd_heal
dmsetup message $name 0 flush 2>/dev/null && rfail "flush succeeded in the error state"
dmsetup reload $name --table "$table"
dmsetup resume $name
no_error
dmsetup message $name 0 flush || rfail "flush failed after the reload"
# An empty flush with nothing dirty goes straight to the SSD.
[ "$(f 4)" = 0 ] || rfail "dirty blocks after the flush"
ssd_fail $last 1 writes
dd if=/dev/null of=$dev conv=fsync 2>/dev/null && rfail "an fsync the SSD failed succeeded"
[ "$(f 13)" = -5 ] || rfail "error field $(f 13) after a failed flush bio, not -5"
ssd_heal
dmsetup reload $name --table "$table"
dmsetup resume $name
no_error
dmsetup message $name 0 flush || rfail "flush failed after the reload"
has 70 P
keep 70
row_ok

row header-load "a reload over a dirty RAM header that cannot be written"
ssd_fail $((mirror + 60)) 1 writes
put P 60 || rfail "writing P"
dmsetup message $name 0 flush 2>/dev/null && rfail "flush succeeded though writeback failed"
ssd_heal
dmsetup suspend $name
[ "$(ram_state)" = 3 ] || rfail "RAM header state $(ram_state) after a failed suspend, not 3"
ram_fail 0 1 writes
dmsetup reload $name --table "$table"
if ! dmsetup resume $name; then
	ram_heal
	dmsetup resume $name || rfail "a retried resume failed"
	[ "$(f 4)" = "$(f 2)" ] ||
		rfail "the retried load dirtied $(f 4) blocks, not the $(f 2) written"
	rfail "the load wrote the RAM header before writeback"
fi
[ "$(f 4)" = "$(f 2)" ] || rfail "the load dirtied $(f 4) blocks, not the $(f 2) written"
ram_heal
dmsetup message $name 0 flush || rfail "flush failed after the reload"
[ "$(f 4)" = 0 ] || rfail "dirty blocks after the flush: $(dmsetup status $name)"
[ "$(ram_state)" = 2 ] || rfail "RAM header state $(ram_state) after the flush, not 2"
has 60 P
keep 60
row_ok

row bitmap-load "the valid-bitmap read of a load fails: resume fails, a retry loads"
dmsetup suspend $name
ssd_fail 1 1 error
dmsetup reload $name --table "$table"
dmsetup resume $name 2>/dev/null && rfail "a load that could not read the bitmap resumed"
logged "cannot read the valid bitmap"
ssd_heal
dmsetup resume $name || rfail "the retried resume failed"
no_error
[ "$(f 4)" = 0 ] || rfail "dirty blocks after a clean reload: $(dmsetup status $name)"
has 10 P
has 30 P
row_ok

row restore "RAM lost: the RAM header write fails, then a restore copy, then a partial write's copy"
keep 10 30
dmsetup remove $name
dmsetup remove ram
rmmod brd
modprobe brd rd_nr=1 rd_size=32768
leg_create ram /dev/ram0
ram_fail 0 1 writes
ssd_fail $((mirror + 30)) 1 error
dmsetup create $name --notable
dmsetup load $name --table "$table"
dmsetup resume $name 2>/dev/null && rfail "a load that could not write the RAM header resumed"
logged "cannot write the RAM device header"
ram_heal
dmsetup resume $name || rfail "the retried resume failed"
hims_wait_field $name 20 incomplete 120
[ $(($(f 7) - $(f 6))) = 1 ] || rfail "not exactly block 30 left: $(dmsetup status $name)"
no_error
logged "restore of blocks 30-30 failed"
get 30 > /dev/null && rfail "block 30, not restored, read from RAM"
# A partial write needs the block's old content from the mirror first.
dd if=P of=$dev bs=512 seek=$((30 * 8)) count=1 oflag=direct conv=notrunc 2>/dev/null &&
	rfail "a partial write succeeded though its block could not be restored"
no_error
ssd_heal
dmsetup suspend $name
dmsetup resume $name
hims_wait_restored $name 120
[ "$(f 20)" = complete ] || rfail "restore field '$(f 20)', not complete"
for k in keep.*; do
	b=${k#keep.}
	get "$b" | md5sum | cmp -s - "$k" || rfail "block $b changed across the restore"
done
row_ok
dmsetup remove $name

# With dedup, on the same legs: 16384 logical blocks, 256 of SSD tier:
# commit records at SSD block 8704, metadata slots after them.
dlen=$(( (16384 + 256) * 8 ))
dtable="0 $dlen hims /dev/mapper/ram /dev/mapper/ssd async 6 dedup 16384 $opts"
dedup=8704
name=hd
dev=/dev/mapper/$name

row dedup-write "dedup: a data write to RAM fails: that write fails and is undone"
dmsetup create $name --table "${dtable% 6 *} 7 dedup 16384 $opts format"
put P 100 || rfail "writing P"
used=$(f 2)
ram_fail 1 $n writes
put R 101 && rfail "a write that RAM failed succeeded"
[ "$(f 2)" = "$used" ] || rfail "the undone write left $(f 2) blocks in use, not $used"
[ "$(f 15)" = "$used" ] || rfail "the undone write left $(f 15) physical blocks used, not $used"
no_error
ram_heal
[ "$(get 101 | tr -d '\0' | wc -c)" = 0 ] || rfail "block 101 does not read zeroes"
row_ok
dmsetup remove $name

row dedup-commit "dedup: a commit's metadata writes fail: error state, a reload loads the last commit"
dmsetup create $name --table "${dtable% 6 *} 7 dedup 16384 $opts format"
put P 100 || rfail "writing P"
dmsetup message $name 0 flush || rfail "the first commit failed"
ssd_fail $dedup 256 error
put Q 100 || rfail "writing Q"
put R 101 || rfail "writing R"
dmsetup message $name 0 flush 2>/dev/null && rfail "a commit succeeded though its writes failed"
[ "$(f 13)" -lt 0 ] || rfail "no error state after a failed commit"
has 100 Q
has 101 R
ssd_heal
dmsetup reload $name --table "$dtable"
dmsetup resume $name
no_error
# The last commit maps block 100 to the block Q was written over in
# place, and block 101 to nothing; R's block is free again.
has 100 Q
[ "$(get 101 | tr -d '\0' | wc -c)" = 0 ] || rfail "block 101 does not read zeroes"
[ "$(ram_state)" = 3 ] || rfail "RAM header state $(ram_state) after the reload, not 3 (dirty)"
row_ok

row dedup-load "dedup: a load cannot read the metadata: resume fails, a retry loads"
dmsetup message $name 0 flush || rfail "flush failed"
dmsetup suspend $name
ssd_fail $((dedup + 2)) 254 error
dmsetup reload $name --table "$dtable"
dmsetup resume $name 2>/dev/null && rfail "a load that could not read the metadata resumed"
logged "preresume failed"
ssd_heal
dmsetup resume $name || rfail "the retried resume failed"
no_error
has 100 Q
row_ok
dmsetup remove $name
out=$(hims-check /dev/mapper/ssd) || rfail "hims-check: $(hims-check /dev/mapper/ssd 2>&1)"
echo "$out"

dmsetup remove ram ssd
echo "every row as dm-hims.rst says"
