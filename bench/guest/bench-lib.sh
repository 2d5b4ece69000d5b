# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Sourced by the hims benchmarks in the guest (after /tests/guest/lib.sh).

# wait_dev <dev>: until the block device exists (4 s at most).
wait_dev() {
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -b "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

# hims_pair <tier MiB> <ram for sync> <ssd for sync> <ram for async>
# <ssd for async>: hims-sync and hims-async, each a RAM tier of <tier MiB>
# (header block excluded) and a 256 MiB SSD tier after it, writeback only
# from the watermarks (50 %, 45 %; max_age is an hour).  Sets ram_blocks.
hims_pair() {
	local len opts
	modprobe dm-hims
	ram_blocks=$(($1 * 256 - 1))
	len=$(((ram_blocks + 65536) * 8))
	opts="6 ram_blocks $ram_blocks max_age 3600000 high_watermark 50"
	dmsetup create hims-sync --table "0 $len hims $2 $3 sync $opts" &&
		dmsetup create hims-async --table "0 $len hims $4 $5 async $opts"
}

# round_order <round>: the "label:device" words of $devs, in reverse order
# in every other round, so that a drifting host weighs on no device more.
# shellcheck disable=SC2154 # devs is the caller's
round_order() {
	local d rev=''
	if [ $(($1 % 2)) = 1 ]; then
		echo "$devs"
		return
	fi
	for d in $devs; do rev="$d $rev"; done
	echo "$rev"
}
