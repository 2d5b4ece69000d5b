# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims async mode across a power cut: what a flush (REQ_PREFLUSH, from
# fsync) or a FUA write (O_SYNC) made durable must read back after the cut,
# in the RAM tier, across the boundary and in the SSD tier, newest version
# included.  Writeback is held off (max_age one day, high watermark 100%)
# so only the flushes can have put RAM-tier data on the SSD; the brd RAM
# device is empty in boot 2, so the RAM tier comes back from the SSD mirror.
# boots: 2
# timeout: 300
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=65536	# 64 MiB
dev=/dev/mapper/hpa
# RAM tier 8192 blocks (32 MiB), 96 MiB of SSD tier after it.
len=$(( (8192 + 24576) * 8 ))
# The SSD starts full of old data: boot 1 formats it explicitly.
opts="ram_blocks 8192 max_age 86400000 high_watermark 100"
[ "$BOOT" = 1 ] && opts="$opts format"
# shellcheck disable=SC2086 # $opts: the option words
dmsetup create hpa --table "0 $len hims /dev/ram0 $SSD async $(echo $opts | wc -w) $opts"
dmsetup status hpa

# Flushed chunks: "name offset size seed fio-options".  ram-new overwrites
# ram-old; [12M, 16M) is never written.
chunks="ram-old 0 8M 1 --rw=randwrite
ram-new 0 8M 2 --rw=randwrite
ram-seq 8M 4M 3 --rw=write,--bs=64k
ovr 24M 4M 9 --rw=randwrite
boundary 28M 8M 4 --rw=randwrite
ssd-tier 64M 16M 5 --rw=randwrite"
# RAM-tier blocks ever written: all but [12M, 16M).
used=$((8192 - 1024))

case "$BOOT" in
1)
	echo "$chunks" | while read -r name off size seed opts; do
		# shellcheck disable=SC2046 # $opts: fio options, comma-separated
		fio_pattern write "$dev" "$off" "$size" "$seed" $(echo "$opts" | tr , ' ') --end_fsync=1 ||
			fail "writing $name failed"
		d=$(hims_field hpa 4)
		echo "chunk $name flushed (dirty now $d)"
		[ "$d" = 0 ] || fail "a flush returned with $d blocks still dirty"
	done
	# FUA: O_SYNC direct writes, no fsync: each is durable when it completes.
	fio_pattern write $dev 16M 4M 6 --sync=1 --iodepth=1 || fail "O_SYNC writes failed"
	echo "chunk fua written (dirty now $(hims_field hpa 4))"
	# Not flushed, may be lost: new data, and a new version of ovr.
	fio_pattern write $dev 20M 4M 7
	fio_pattern write $dev 24M 4M 8
	dmsetup status hpa
	[ "$(hims_field hpa 2)" = $used ] || fail "RAM-tier blocks used is not $used"
	d=$(hims_field hpa 4)
	# Nothing but a flush writes back here, so the test really cuts dirty data.
	[ "$d" = 2048 ] || fail "$d blocks dirty, expected the 2048 unflushed ones"
	echo "powercut with $d dirty blocks"
	powercut
	;;
2)
	dmsetup status hpa
	[ "$(hims_field hpa 7)" = $used ] ||
		fail "restore total $(hims_field hpa 7), expected the $used blocks ever written"
	[ "$(hims_field hpa 2)" = $used ] || fail "RAM-tier blocks used is not $used"
	# ram-old was overwritten by ram-new and ovr by unflushed data.
	check() {
		echo "$chunks" | grep -v '^ram-old \|^ovr ' | while read -r name off size seed opts; do
			# shellcheck disable=SC2046 # the same
		fio_pattern check "$dev" "$off" "$size" "$seed" $(echo "$opts" | tr , ' ') ||
				fail "flushed chunk $name lost or stale ($1)"
			echo "chunk $name ok ($1)"
		done
		fio_pattern check $dev 16M 4M 6 --sync=1 --iodepth=1 || fail "FUA chunk lost ($1)"
		echo "chunk fua ok ($1)"
		n=$(dd if=$dev bs=1M skip=12 count=4 iflag=direct 2>/dev/null | tr -d '\0' | wc -c)
		[ "$n" = 0 ] || fail "never-written [12M, 16M) is not zero ($1)"
	}
	check "during the restore"
	hims_wait_restored hpa 120
	dmsetup status hpa
	check "after the restore"
	echo "all flushed chunks survived"
	dmsetup remove hpa
	;;
esac
