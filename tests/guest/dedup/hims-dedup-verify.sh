# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims dedup under fio, sync and async: fio's dedupe_percentage=50 and
# =90 random writes over the logical RAM tier and across the boundary into
# the SSD tier, 1 KiB writes (read-modify-write of 4 KiB blocks), and
# unique data beyond the RAM device (spill).  fio's verify headers would
# make every block unique, so each job runs twice with the same seed: on
# the hims device and on $AUX (fio's buffers are a function of the seed),
# and the two must read the same, after the writes, a flush, a reload and a
# restore into an empty brd.  The 50% job must take at most 60% of its
# blocks in RAM, the 90% job 15%; hims-check must pass after each mode.
# timeout: 900
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail
command -v hims-check > /dev/null || fail "hims-check is not in PATH (make tools; TOOLS_DIR)"
modprobe dm-hims
MiB=1048576
# shellcheck disable=SC2034 # documents the geometry
phys=4095				# brd of 16 MiB less the header block
logical=16384				# 64 MiB logical RAM tier
len=$(( (logical + 8192) * 8 ))		# and 32 MiB of SSD tier
name=hdv
dev=/dev/mapper/$name
f() { hims_field $name "$1"; }

# Jobs: "name offset size seed fio-options", in MiB.
jobs="d50 0 16 11 --dedupe_percentage=50
d90 24 16 12 --dedupe_percentage=90
cross 56 16 13 --dedupe_percentage=70
small 44 2 14 --dedupe_percentage=50,--bs=1k
uniq 46 8 15 --dedupe_percentage=0"

job() { # job <file> <offset MiB> <size MiB> <seed> <options,>
	# shellcheck disable=SC2046 # $5: fio options, comma-separated
	fio --name=dd --filename="$1" --direct=1 --ioengine=libaio --rw=randwrite \
		--bs=4k --iodepth=8 --offset=$(($2 * MiB)) --size=$(($3 * MiB)) \
		--randseed="$4" --randrepeat=1 $(echo "$5" | tr , ' ') \
		--output-format=terse --minimal > /dev/null
}
sum() { # sum <device> <offset MiB> <size MiB>
	dd if="$1" bs=1M skip="$2" count="$3" iflag=direct 2>/dev/null | sha256sum | cut -c1-64
}
# The first differing 4 KiB block of a region, for the failure message.
first_diff() { # first_diff <offset MiB> <size MiB>
	local m b
	for m in $(seq "$1" $(($1 + $2 - 1))); do
		[ "$(sum "$dev" "$m" 1)" = "$(sum "$AUX" "$m" 1)" ] && continue
		for b in $(seq 0 255); do
			a=$(dd if=$dev bs=4096 skip=$((m * 256 + b)) count=1 iflag=direct 2>/dev/null | sha256sum)
			x=$(dd if=$AUX bs=4096 skip=$((m * 256 + b)) count=1 iflag=direct 2>/dev/null | sha256sum)
			if [ "$a" != "$x" ]; then
				echo "block $((m * 256 + b)) (byte $(((m * 256 + b) * 4096))):"
				dd if=$dev bs=4096 skip=$((m * 256 + b)) count=1 iflag=direct 2>/dev/null |
					od -Ax -tx1 | head -n 4
				echo "expected:"
				dd if=$AUX bs=4096 skip=$((m * 256 + b)) count=1 iflag=direct 2>/dev/null |
					od -Ax -tx1 | head -n 4
				return
			fi
		done
	done
}
compare() { # compare <when>
	echo "$jobs" | while read -r j off size seed opts; do
		[ "$(sum $dev "$off" "$size")" = "$(sum $AUX "$off" "$size")" ] && continue
		first_diff "$off" "$size"
		fail "job $j [$off, $((off + size))) MiB reads wrong ($1)"
	done
	# Never written: [16, 24) and [40, 44) MiB.
	n=$(dd if=$dev bs=1M skip=16 count=8 iflag=direct 2>/dev/null | tr -d '\0' | wc -c)
	[ "$n" = 0 ] || fail "never-written [16, 24) MiB has $n non-zero bytes ($1)"
	echo "all jobs read back ($1)"
}

# The reference on $AUX: its head is zeroed, the rest may hold old data.
dd if=/dev/zero of=$AUX bs=1M count=80 oflag=direct 2>/dev/null
echo "$jobs" | while read -r j off size seed opts; do
	job $AUX "$off" "$size" "$seed" "$opts" || fail "fio $j on $AUX failed"
done

for mode in sync async; do
	step "mode $mode"
	rmmod brd 2>/dev/null || true
	modprobe brd rd_nr=1 rd_size=16384
	# A new superblock (and metadata instance) per mode.
	dd if=/dev/zero of=$SSD bs=4k count=1 oflag=direct 2>/dev/null
	table="0 $len hims /dev/ram0 $SSD $mode 2 dedup $logical"
	dmsetup create $name --table "$table" || fail "cannot create the dedup device"
	dmsetup status $name
	echo "$jobs" | while read -r j off size seed opts; do
		m0=$(f 14)
		p0=$(f 15)
		job $dev "$off" "$size" "$seed" "$opts" || fail "fio $j on $dev failed ($mode)"
		m=$(( $(f 14) - m0 ))
		p=$(( $(f 15) - p0 ))
		echo "job $j: +$m mapped, +$p RAM blocks, spilled $(f 17)"
		case $j in
		d50) [ $((p * 100)) -le $((m * 60)) ] ||
			fail "dedupe 50%: $p RAM blocks for $m mapped, more than 60%" ;;
		d90) [ $((p * 100)) -le $((m * 15)) ] ||
			fail "dedupe 90%: $p RAM blocks for $m mapped, more than 15%" ;;
		esac
	done
	dmsetup status $name
	[ "$(f 17)" -gt 0 ] || fail "nothing spilled: the test meant to fill RAM"
	[ "$(f 13)" = 0 ] || fail "error state $(f 13)"
	compare "$mode, written"
	dmsetup message $name 0 flush || fail "flush failed"
	compare "$mode, flushed"
	st="$(f 14) mapped, $(f 15) RAM blocks used, $(f 16) zero, $(f 17) spilled"
	dmsetup remove $name
	out=$(hims-check $SSD) || fail "hims-check ($mode): $(hims-check $SSD 2>&1)"
	echo "$out"
	case "$out" in
	*"$st"*) ;;
	*) fail "hims-check disagrees with the status ($st)" ;;
	esac
	dmsetup create $name --table "$table"
	compare "$mode, reloaded"
	dmsetup remove $name
	rmmod brd
	modprobe brd rd_nr=1 rd_size=16384
	dmsetup create $name --table "$table"
	compare "$mode, during the restore"
	hims_wait_restored $name 300
	compare "$mode, restored"
	now="$(f 14) mapped, $(f 15) RAM blocks used, $(f 16) zero, $(f 17) spilled"
	[ "$now" = "$st" ] || fail "restored state ($now) is not the flushed one ($st)"
	dmsetup remove $name
done
