# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims restore of a 256 MiB RAM tier after a power cut.  Boot 1 writes
# most of the RAM tier, a few scattered blocks and some SSD tier, flushes
# and cuts the power.  Boot 2 (empty brd) checks the restore counters
# (total = blocks ever written, restored <= total, never backwards, done
# eventually), reads the data while the restore runs, writes new data, a
# 512-byte partial block and a never-written block right after the load
# and checks the restorer did not overwrite them; a reload and a re-create
# in the same boot must not copy again (restored == total at once).
# Boot 3 (empty brd again) reloads and suspends/resumes the device while it
# restores and writes 512 B - 16 KiB pieces of not yet restored blocks;
# everything must still read back.
# boots: 3
# timeout: 400
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=262148	# 256 MiB + the header block
dev=/dev/mapper/hr
ram_blocks=65536
len=$(( (ram_blocks + 16384) * 8 ))	# 256 MiB RAM tier, 64 MiB SSD tier
table="0 $len hims /dev/ram0 $SSD async 2 ram_blocks $ram_blocks"

# Single 4 KiB blocks written with dd: A (partly overwritten in boot 2), B, C
# (the last RAM-tier block); D is first written in boot 2.
blk_a=58880 blk_b=61440 blk_c=65535 blk_d=64000
for p in A B C D; do yes "$p-pattern" | head -c 4096 > $p; done
yes "partial" | head -c 512 > P
cp A A2
dd if=P of=A2 bs=512 seek=2 conv=notrunc 2>/dev/null	# bytes 1024-1535
put() { # put <file> <block>
	dd if="$1" of="$dev" bs=4096 seek="$2" count=1 oflag=direct 2>/dev/null || fail "writing block $2"
}
has() { # has <file> <block> <when>
	dd if="$dev" bs=4096 skip="$2" count=1 iflag=direct 2>/dev/null | cmp -s - "$1" ||
		fail "block $2 does not hold $1 ($3)"
}
# The fio regions: W1 [0, 200M), W2 [200M, 208M) (rewritten in boot 2 as
# W2new), W3 [208M, 224M), S [256M, 272M) in the SSD tier.
w1() { fio_pattern "$1" "$dev" 0 200M 1 --rw=write --bs=1M; }
w2() { fio_pattern "$1" "$dev" 200M 8M 2 --rw=write --bs=1M; }
w2new() { fio_pattern "$1" "$dev" 200M 8M 7 --rw=write --bs=1M; }
w3() { fio_pattern "$1" "$dev" 208M 16M 3 --rw=write --bs=64k; }
# Boot 3 rewrites W3 with 512 B - 16 KiB writes at 512 B alignment: most
# start or end inside a block the restore has not copied yet.
w3u() { fio_pattern "$1" "$dev" 208M 16M 8 --bsrange=512-16k; }
s1() { fio_pattern "$1" "$dev" 256M 16M 4; }
used=$((224 * 256 + 3))	# W1-W3 and blocks A, B, C

check_all() { # check_all <when> [w3 job]
	w1 check || fail "W1 lost ($1)"
	w2new check || fail "new data at 200M overwritten ($1)"
	${2:-w3} check || fail "${2:-w3} lost ($1)"
	s1 check || fail "SSD-tier data lost ($1)"
	has A2 $blk_a "$1"
	has B $blk_b "$1"
	has C $blk_c "$1"
	has D $blk_d "$1"
	echo "all data reads back ($1)"
}

# Sample the restore counters until process <pid> ends; they must be
# numbers, restored <= total, restored never decreasing.
watch_restore() { # watch_restore <pid>
	local prev=0 r t
	while kill -0 "$1" 2>/dev/null; do
		# shellcheck disable=SC2046 # the status fields
		set -- "$1" $(dmsetup status hr | awk '{print $9, $10}')
		r=$2 t=$3
		case "$r$t" in ''|*[!0-9]*) fail "restore counters not numbers: '$r' '$t'" ;; esac
		[ "$r" -le "$t" ] || fail "restored $r > total $t"
		[ "$r" -ge "$prev" ] || fail "restored went backwards: $prev -> $r"
		if [ "$r" -lt "$t" ] && [ "$prev" -lt "$r" ]; then
			echo "restore progress: $r/$t"
		fi
		prev=$r
		sleep 0.3
	done
}

case "$BOOT" in
1)
	# The SSD starts full of old data: format it explicitly.
	dmsetup create hr --table "${table% 2 ram_blocks*} 3 ram_blocks $ram_blocks format"
	w1 write
	w2 write
	w3 write
	s1 write
	put A $blk_a
	put B $blk_b
	put C $blk_c
	dmsetup message hr 0 flush
	dmsetup status hr
	[ "$(hims_field hr 2)" = $used ] || fail "RAM-tier blocks used is not $used"
	[ "$(hims_field hr 4)" = 0 ] || fail "dirty blocks after flush"
	powercut
	;;
2)
	dmesg -c > /dev/null
	dmsetup create hr --table "$table"
	s=$(dmsetup status hr)
	echo "right after create: $s"
	# shellcheck disable=SC2086 # the status fields
	set -- $s
	r=$9 t=${10}
	case "$r$t" in ''|*[!0-9]*) fail "restore counters not numbers" ;; esac
	[ "$r" -le "$t" ] || fail "restored $r > total $t"
	[ "$t" = $used ] || fail "restore total $t, expected the $used blocks ever written"
	[ "$r" = "$t" ] && echo "note: restore already finished at the first status"

	# Right away, while the restore runs: a partial write of an old block,
	# new data over old, a never-written block, and reads of old data.
	dd if=P of=$dev bs=512 seek=$((blk_a * 8 + 2)) count=1 oflag=direct 2>/dev/null ||
		fail "partial write failed"
	w2new write &
	wpid=$!
	put D $blk_d
	w1 check > /dev/null &
	vpid=$!
	watch_restore $vpid
	wait $vpid || fail "W1 did not read back during the restore"
	wait $wpid || fail "writing new data during the restore failed"
	hims_wait_restored hr 180
	dmsetup status hr
	[ "$(hims_field hr 7)" = $used ] || fail "restore total changed"
	[ "$(hims_field hr 2)" = $((used + 1)) ] || fail "RAM-tier blocks used is not $((used + 1))"
	dmesg | grep -q "RAM tier restored" || fail "no 'RAM tier restored' message"
	check_all "after the restore"

	step "reload in the same boot: no copy"
	dmesg -c > /dev/null
	dmsetup reload hr --table "$(dmsetup table hr)"
	dmsetup resume hr
	dmsetup status hr
	[ "$(hims_field hr 6)" = $((used + 1)) ] && [ "$(hims_field hr 7)" = $((used + 1)) ] ||
		fail "after a reload restored/total is not $((used + 1))/$((used + 1))"
	has A2 $blk_a "after reload"
	has D $blk_d "after reload"
	w2new check || fail "new data lost after reload"

	step "remove and create in the same boot: no copy"
	dmsetup remove hr
	dmsetup create hr --table "$table"
	dmsetup status hr
	[ "$(hims_field hr 6)" = $((used + 1)) ] && [ "$(hims_field hr 7)" = $((used + 1)) ] ||
		fail "after re-create restored/total is not $((used + 1))/$((used + 1))"
	dmesg | grep "RAM tier restored" && fail "reload or re-create copied the RAM tier again"
	check_all "after re-create"
	# Boot 3 starts from an empty RAM device again; all of it is on the SSD.
	dmsetup remove hr
	;;
3)
	dmesg -c > /dev/null
	dmsetup create hr --table "$table"
	echo "right after create: $(dmsetup status hr)"
	step "reload while restoring"
	dmsetup reload hr --table "$(dmsetup table hr)"
	dmsetup resume hr
	echo "after reload: $(dmsetup status hr)"
	put B $blk_b
	step "suspend and resume while restoring"
	dmsetup suspend hr
	echo "suspended: $(dmsetup status hr)"
	dmsetup resume hr
	step "unaligned writes while restoring"
	w3u write &
	wpid=$!
	w1 check > /dev/null &
	vpid=$!
	watch_restore $vpid
	wait $vpid || fail "W1 did not read back during the restore"
	wait $wpid || fail "unaligned writes during the restore failed"
	hims_wait_restored hr 180
	dmsetup status hr
	[ "$(hims_field hr 7)" = $((used + 1)) ] || fail "restore total is not $((used + 1))"
	check_all "after a restore interrupted by reload and suspend" w3u
	dmsetup remove hr
	;;
esac
