# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims dedup across 10 power cuts per kernel, 20 per make check (raise
# "boots" for a long run).  The contract: after a cut, each block reads
# what it held at the last completed flush, or something written to
# that block since; never another block's data, never garbage.
#
# The checked region C = [0, 28 MiB) of a 36 MiB logical RAM tier on an
# 8 MiB brd (2047 RAM blocks, so RAM is full and blocks spill) is written in
# rounds of 24 extents; a block's content is a 16-digit hex value followed
# by a fixed 4080-byte text, or zeroes: values 1-48 (a pool, so most data is
# shared) or unique ones.  Round <r> of boot <b> is a deterministic function
# of (b, r) (busybox awk's srand), so it can be generated again.  After each
# round: a flush (dmsetup message, or an fsync), then the round's writes go
# to a reference copy of C on $AUX, then a marker "b r" on $AUX block 0.
# Meanwhile fio writes dedupable data (and fsyncs) to [28, 44) MiB, across
# the boundary, unchecked, to compete for RAM blocks and commits.  The power
# is cut at a random time.
#
# Each next boot: hims-check on the SSD must pass; the device is loaded and
# C is read during and after the restore; every block must equal the
# reference (the state at the marker) or the marker's next round's write;
# and the two reads must agree.  Then a flush, C becomes the reference, and
# a new workload runs until the next cut; the last boot only checks.
# Odd boots run in sync mode, even boots in async mode.
# boots: 11
# timeout: 300
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail
command -v hims-check > /dev/null || fail "hims-check is not in PATH (make tools; TOOLS_DIR)"
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=8192	# 8 MiB: 2047 RAM blocks
logical=9216				# 36 MiB
len=$(( (logical + 2048) * 8 ))		# 8 MiB of SSD tier
nb=7168					# C: blocks [0, nb)
ref_off=256				# the reference: $AUX blocks [256, 256 + nb)
last=$(sed -n 's/^# boots: //p' /tests/guest/dedup/hims-dedup-powercut.sh)
name=hdp
dev=/dev/mapper/$name
mode=sync
[ $((BOOT % 2)) = 0 ] && mode=async
table="0 $len hims /dev/ram0 $SSD $mode 2 dedup $logical"
f() { hims_field $name "$1"; }

# gen <boot> <round>: the round's extents "block count kind src" on stdout,
# their data in round.dat (block src onwards); kind P (pool), U (unique)
# or Z (zeroes).  Round 0 fills C: 1 MiB extents, P and U alternating.
gen() {
	rm -f round.dat
	awk -v B="$1" -v R="$2" -v NB=$nb -v POOL=48 '
	function emit(blk, n, kind,   i, v, p) {
		if (kind == "Z") {
			print blk, n, "Z", -1
			return
		}
		p = int(rand() * POOL)
		print blk, n, kind, src
		for (i = 0; i < n; i++) {
			if (kind == "P")
				v = 1 + (p + i) % POOL
			else	# unique, and below 2^31 (busybox awk %x)
				v = B * 50000000 + R * 20000 + src + i + 100
			printf "%016x%s", v, base > "round.dat"
		}
		src += n
	}
	BEGIN {
		srand(B * 1000 + R)
		s = "hims-dedup-powercut:"
		while (length(base) < 4080)
			base = base s length(base) ";"
		base = substr(base, 1, 4080)
		src = 0
		if (R == 0) {
			for (c = 0; c < NB / 256; c++)
				emit(c * 256, 256, c % 2 ? "U" : "P")
			exit
		}
		for (e = 0; e < 24; e++) {
			do
				c = int(rand() * NB / 16)
			while (c in used)
			used[c] = 1
			n = 1 + int(rand() * 16)
			x = rand()
			emit(c * 16 + int(rand() * (17 - n)), n, x < 0.55 ? "P" : x < 0.85 ? "U" : "Z")
		}
	}'
}

# apply <plan> <target> <block of C's block 0 in target> [dd flag]
apply() {
	while read -r blk n kind src; do
		if [ "$kind" = Z ]; then
			# shellcheck disable=SC2086 # $4, an optional dd flag, may be empty
			dd if=/dev/zero of="$2" bs=4096 seek=$((blk + $3)) count="$n" \
				conv=notrunc $4 2>/dev/null
		else
			# shellcheck disable=SC2086 # the same
			dd if=round.dat of="$2" bs=4096 skip="$src" seek=$((blk + $3)) count="$n" \
				conv=notrunc $4 2>/dev/null
		fi || return 1
	done < "$1"
}

# fsync(2) of a block device: its dirty pages, then a REQ_PREFLUSH (on the
# hims device, a commit).  blockdev --flushbufs (BLKFLSBUF) only writes
# the page cache back and sends no flush.
fsync_dev() {
	dd if=/dev/null of="$1" count=0 conv=notrunc,fsync 2>/dev/null
}

marker() { # marker <boot> <round>: durable on $AUX block 0
	echo "$1 $2" | dd of=$AUX bs=4096 count=1 conv=sync,fsync oflag=direct 2>/dev/null
}

read_c() { # read_c <file>: C as the device reads it now
	dd if=$dev of="$1" bs=1M count=$((nb / 256)) iflag=direct 2>/dev/null ||
		fail "reading C failed"
}

# Blocks of <a> that differ from <b>, one per line, ascending.
diff_blocks() {
	cmp -l "$1" "$2" 2>/dev/null |
		awk '{ b = int(($1 - 1) / 4096); if (!(b in seen)) { seen[b] = 1; print b } }'
}

hdr() { # hdr <file> <block>: the block's first 16 bytes, printable
	dd if="$1" bs=4096 skip="$2" count=1 2>/dev/null | head -c 16 | tr -c '0-9a-f' '.'
}

verify() { # verify <file> <when>: every block of C is allowed
	diff_blocks "$1" ref > d0
	diff_blocks "$1" next > d1
	sort -n d0 d1 | uniq -d > bad
	echo "C ($2): $(wc -l < d0) blocks differ from the flushed state, $(wc -l < d1) from the next round's, $(wc -l < bad) from both"
	[ -s bad ] || return 0
	head -n 5 bad | while read -r b; do
		echo "block $b: holds [$(hdr "$1" "$b")], flushed [$(hdr ref "$b")], next round [$(hdr next "$b")]"
	done
	fail "$(wc -l < bad) blocks of C hold neither their flushed content nor the next round's ($2)"
}

if [ "$BOOT" = 1 ]; then
	step "boot 1: format, fill C"
	# The SSD starts full of old data: format it explicitly.
	dmsetup create $name --table "${table% 2 dedup*} 3 dedup $logical format" ||
		fail "cannot create the dedup device"
	gen 1 0 > plan
	apply plan $dev 0 oflag=direct || fail "filling C failed"
	dmsetup message $name 0 flush || fail "flush failed"
	apply plan $AUX $ref_off || fail "writing the reference failed"
	fsync_dev $AUX || fail "fsync of the reference failed"
	marker 1 0
	dmsetup status $name
	[ "$(f 17)" -gt 0 ] || fail "the fill spilled nothing"
else
	step "boot $BOOT: check what boot $((BOOT - 1)) left"
	out=$(hims-check $SSD) || fail "hims-check: $(hims-check $SSD 2>&1)"
	echo "$out"
	case "$out" in
	*"consistent: epoch"*) ;;
	*) fail "no durable commit, though boot 1 flushed" ;;
	esac
	# shellcheck disable=SC2046 # the marker's words
	set -- $(dd if="$AUX" bs=4096 count=1 iflag=direct 2>/dev/null | head -n 1)
	mb=$1 mr=$2
	[ -n "$mr" ] || fail "no marker on $AUX"
	echo "last completed flush: boot $mb round $mr"
	dd if=$AUX of=ref bs=4096 skip=$ref_off count=$nb iflag=direct 2>/dev/null
	cp ref next
	gen "$mb" $((mr + 1)) > plan
	apply plan next 0 || fail "building the next round's state failed"
	dmsetup create $name --table "$table" || fail "cannot load the dedup device"
	dmsetup status $name
	read_c cur
	verify cur "during the restore"
	hims_wait_restored $name 200
	dmsetup status $name
	read_c cur2
	verify cur2 "after the restore"
	if ! cmp cur cur2 > /dev/null; then
		b=$(diff_blocks cur cur2 | head -n 1)
		fail "C read differently during and after the restore: block $b [$(hdr cur "$b")] then [$(hdr cur2 "$b")]"
	fi
	[ "$(f 13)" = 0 ] || fail "error state $(f 13)"
	dmsetup message $name 0 flush || fail "flush failed"
	dd if=cur2 of=$AUX bs=4096 seek=$ref_off conv=notrunc,fsync oflag=direct 2>/dev/null
	marker "$BOOT" 0
	if [ "$BOOT" = "$last" ]; then
		dmsetup remove $name
		hims-check $SSD || fail "hims-check after the last removal"
		echo "$((last - 1)) power cuts survived"
		exit 0
	fi
fi

step "boot $BOOT ($mode): workload until the power cut"
t=$(head -c 2 /dev/urandom | od -An -tu2 | tr -d ' ')
t=$((3 + t % 12))
echo "cutting the power in $t s"
fio --name=noise --filename=$dev --direct=1 --ioengine=libaio --rw=randwrite --bs=4k \
	--iodepth=4 --offset=28M --size=16M --dedupe_percentage=80 --fsync=64 \
	--time_based --runtime=600 --randseed="$BOOT" --output-format=terse --minimal \
	> /dev/null 2>&1 &
(sleep $t; powercut) &
r=0
while :; do
	r=$((r + 1))
	gen "$BOOT" $r > plan
	apply plan $dev 0 oflag=direct || fail "round $r: write failed"
	if [ $((r % 2)) = 0 ]; then
		dmsetup message $name 0 flush || fail "round $r: flush failed"
	else
		fsync_dev $dev || fail "round $r: fsync failed"
	fi
	apply plan $AUX $ref_off || fail "round $r: writing the reference failed"
	fsync_dev $AUX || fail "round $r: fsync of the reference failed"
	marker "$BOOT" $r
	echo "round $r flushed: mapped $(f 14), RAM $(f 15), zero $(f 16), spilled $(f 17)"
done
