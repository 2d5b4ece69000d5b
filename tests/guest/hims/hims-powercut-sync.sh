# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims sync mode across a power cut: every write that completed must read
# back after the cut, with no flush at all: in the RAM tier (newest version
# of overwritten blocks), across the boundary and in the SSD tier.  Then the
# same for writes made after switching an async device to sync under load
# ("mode sync"): once the switch returned, completed writes are durable.
# Writeback is held off (max_age one day, high watermark 100%) so nothing
# but the sync write path can have put that data on the SSD.
# boots: 2
# timeout: 300
# memory: 2G
. /tests/guest/lib.sh
dmsetup_opts="6 ram_blocks 8192 max_age 86400000 high_watermark 100"
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=65536	# 64 MiB
dev=/dev/mapper/hps
# RAM tier 8192 blocks (32 MiB), 96 MiB of SSD tier after it.
len=$(( (8192 + 24576) * 8 ))

case "$BOOT" in
1)
	# The SSD starts full of old data: format it explicitly.
	dmsetup create hps --table "0 $len hims /dev/ram0 $SSD sync 7 ${dmsetup_opts#6 } format"
	step "sync writes, no flush"
	fio_pattern write $dev 0 8M 1
	fio_pattern write $dev 0 8M 2		# overwrites: 2 must survive
	fio_pattern write $dev 8M 4M 3 --rw=write --bs=128k
	fio_pattern write $dev 28M 8M 4		# across the boundary at 32M
	fio_pattern write $dev 64M 16M 5	# SSD tier
	dmsetup status hps
	[ "$(hims_field hps 4)" = 0 ] || fail "sync writes left dirty blocks"

	step "async, then mode sync under load"
	fio_pattern write $dev 16M 8M 6 --rw=write --bs=1M	# valid bits set: async writes stay in RAM
	dmsetup message hps 0 mode async
	fio_pattern write $dev 16M 8M 6 --time_based --runtime=8 --norandommap --randrepeat=0 \
		--verify=0 > /dev/null &
	load=$!
	sleep 3
	dmsetup message hps 0 mode sync || fail "mode sync failed"
	echo "switched: $(dmsetup status hps)"
	wait $load || fail "load failed"
	# Every write from now on completes in sync mode.
	fio_pattern write $dev 16M 8M 7
	dmsetup status hps
	echo "dirty blocks in sync mode: $(hims_field hps 4)"
	sleep 1
	powercut
	;;
2)
	dmsetup create hps --table "0 $len hims /dev/ram0 $SSD sync $dmsetup_opts"
	dmsetup status hps
	check() {
		fio_pattern check $dev 0 8M 2 || fail "RAM-tier data lost or stale ($1)"
		fio_pattern check $dev 8M 4M 3 --rw=write --bs=128k || fail "sequential RAM-tier data lost ($1)"
		fio_pattern check $dev 28M 8M 4 || fail "data across the boundary lost ($1)"
		fio_pattern check $dev 64M 16M 5 || fail "SSD-tier data lost ($1)"
		fio_pattern check $dev 16M 8M 7 ||
			fail "writes completed after 'mode sync' lost ($1)"
		echo "all completed writes read back ($1)"
	}
	check "during the restore"
	hims_wait_restored hps 120
	check "after the restore"
	dmsetup remove hps
	;;
esac
