# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Benchmark, not a test: dm-hims dedup (table option "dedup <logical
# blocks>"), run by bench/host/hims-report.sh in its own boot with the
# image to clone attached read-only as the last disk (HIMS_EXTRA_DISK).
#
# 1. Write throughput, dedup off vs on: hims async over a 320 MiB brd + 4 KiB
#    header, same length and logical RAM tier (81920 blocks) for both, a
#    256 MiB SSD tier; a 256 MiB region prefilled once with unique data.
#    fio Seq 128 KiB Q32T1 and 4 KiB random Q32T1 writes, direct, libaio,
#    of unique data (fio's default buffers: scramble_buffers puts the offset
#    and a time stamp in every 512 bytes, so every 4 KiB block differs) and
#    of fully duplicate data (--buffer_pattern: every block alike).  Both
#    devices are flushed before every run; three rounds, the second in
#    reverse order.
# 2. Ten clones of the image (vdd): a dedup device whose logical RAM tier
#    holds 10 images and whose RAM device holds 1.2; each clone is written
#    with dd (1 MiB, O_DIRECT) from a tmpfs copy and then flushed (a
#    metadata commit); RAM use and the ratio after each; every clone's
#    sha256 checked.
# 3. Restore: flush, remove, rmmod brd, modprobe brd (empty RAM) and time
#    from dmsetup create until fields 6 == 7, for the dedup device with the
#    ten clones, and for the same RAM device without dedup (the core) with
#    as much of the clones' data as its RAM tier holds; two cuts each.
#
# Output for bench/host/hims-report.sh:
#   BENCH <device> <test> <KiB/s> <round>
#   CLONE <i> <write s> <flush s> <mapped> <phys used> <zero> <spilled> <ratio>
#   IMAGE <bytes> <blocks> <phys blocks of one clone> <sha256>
#   RESTORE <dedup|core> <logical blocks> <blocks copied> <create s> <restore s> <index bytes> <cut>
#   VERIFY <what> <ok|bad> <details>
#   INFO <text>
# timeout: 1800
# memory: 3G
# disks: 1G 1G 8G
. /tests/guest/lib.sh
dmesg_on_fail

RUNTIME=5	# seconds measured per fio run
RAMP=1
ROUNDS=3
SIZE=256M	# region written on both devices
RAM_BLOCKS=81920	# 320 MiB RAM tier; the brd has one more block (header)

wait_dev() {
	for i in $(seq 1 50); do
		[ -b "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

# Seconds since boot, with centiseconds.
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# fio_bw <dev> <rw> <bs> [fio option...]: write bandwidth in KiB/s (terse v3
# field 48).
fio_bw() {
	local dev=$1 rw=$2 bs=$3 line
	shift 3
	line=$(fio --name=bench --filename="$dev" --direct=1 --ioengine=libaio \
		--rw="$rw" --bs="$bs" --iodepth=32 --numjobs=1 --size="$SIZE" \
		--runtime="$RUNTIME" --ramp_time="$RAMP" --time_based \
		--randrepeat=0 --group_reporting "$@" \
		--output-format=terse --terse-version=3 2> fio.err) || return 1
	echo "$line" | tail -n 1 | cut -d';' -f48
}

wait_dev /dev/vdd || fail "no image disk (vdd): run with HIMS_EXTRA_DISK=<image>"
img=/dev/vdd
img_bytes=$(blockdev --getsize64 $img)
[ $((img_bytes % 1048576)) = 0 ] || fail "the image is not a whole number of MiB"
img_mib=$((img_bytes / 1048576))
img_blocks=$((img_bytes / 4096))
echo "INFO kernel $(uname -r), $(nproc) vCPUs, $(fio --version); image $img_mib MiB"

modprobe dm-mod
modprobe dm-hims

###########################################################################
step "1. write throughput, dedup off vs on"
modprobe brd rd_nr=2 rd_size=$(((RAM_BLOCKS + 1) * 4))
wait_dev /dev/ram1 || fail "no brd"
len=$(((RAM_BLOCKS + 65536) * 8))
dmsetup create hims-async --table \
	"0 $len hims /dev/ram0 /dev/vda async 2 ram_blocks $RAM_BLOCKS"
dmsetup create hims-dedup --table \
	"0 $len hims /dev/ram1 /dev/vdb async 2 dedup $RAM_BLOCKS"
echo "INFO tables: $(dmsetup table hims-async | tr '\n' ' ')/ $(dmsetup table hims-dedup | tr '\n' ' ')"
devs="hims-async hims-dedup"
for d in $devs; do
	fio --name=prefill --filename="/dev/mapper/$d" --direct=1 --ioengine=libaio \
		--rw=write --bs=1M --iodepth=8 --size=$SIZE \
		--output-format=terse --terse-version=3 > /dev/null ||
		fail "prefill of $d failed"
done
settle() {
	local s
	for s in $devs; do
		dmsetup message "$s" 0 flush || fail "flush of $s failed"
	done
}
settle
echo "INFO hims-dedup after the prefill: mapped $(hims_field hims-dedup 14), RAM blocks $(hims_field hims-dedup 15)"

rev=
for d in $devs; do rev="$d $rev"; done
round=1
while [ $round -le $ROUNDS ]; do
	order=$devs
	[ $((round % 2)) = 0 ] && order=$rev
	for t in seq-write-uniq:write:128k 4k-write-uniq:randwrite:4k \
		 seq-write-dup:write:128k 4k-write-dup:randwrite:4k; do
		name=${t%%:*}
		rw=${t#*:}
		bs=${rw#*:}
		rw=${rw%:*}
		opt=--scramble_buffers=1
		case $name in *-dup) opt=--buffer_pattern=0x5a17c0de ;; esac
		step "round $round: $name"
		for d in $order; do
			settle
			kib=$(fio_bw "/dev/mapper/$d" "$rw" "$bs" "$opt") || kib=
			if [ -n "$kib" ]; then
				echo "BENCH $d $name $kib $round"
			else
				echo "BENCH_NA $d $name fio failed: $(grep -m1 -o 'error.*' fio.err)"
			fi
			if [ "$d" = hims-dedup ]; then
				echo "INFO hims-dedup round $round $name: RAM blocks $(hims_field "$d" 15), ratio $(hims_field "$d" 18), spilled $(hims_field "$d" 17), dirty $(hims_field "$d" 4)"
			fi
		done
	done
	round=$((round + 1))
done
for d in $devs; do
	echo "INFO $d status: $(dmsetup status "$d" | tr '\n' ' ')"
	[ "$(hims_field "$d" 13)" = 0 ] || fail "$d is in the error state"
done
dmsetup remove hims-async
dmsetup remove hims-dedup
rmmod brd

###########################################################################
step "2. ten clones of a $img_mib MiB image"
cp $img image || fail "cannot copy the image to tmpfs"
want=$(sha256sum < image | cut -c1-64)
phys_mib=$((img_mib * 12 / 10))		# RAM tier: 1.2 images
phys=$((phys_mib * 256))
logical=$((img_blocks * 10 + 256))	# 10 images and 1 MiB
tier=256				# and 1 MiB on the SSD only
len=$(((logical + tier) * 8))
name=clones
dev=/dev/mapper/$name
table="0 $len hims /dev/ram0 /dev/vdc async 2 dedup $logical"
modprobe brd rd_nr=1 rd_size=$(((phys + 1) * 4))
wait_dev /dev/ram0 || fail "no brd"
dmsetup create $name --table "$table" || fail "cannot create the dedup device"
echo "INFO clones table: $(dmsetup table $name)"
f() { hims_field $name "$1"; }
t_all=$(now)
for i in 0 1 2 3 4 5 6 7 8 9; do
	t0=$(now)
	dd if=image of=$dev bs=1M seek=$((i * img_mib)) oflag=direct 2> dd.err ||
		fail "clone $i: $(cat dd.err)"
	tw=$(since "$t0")
	t0=$(now)
	dmsetup message $name 0 flush || fail "flush after clone $i failed"
	tf=$(since "$t0")
	echo "CLONE $i $tw $tf $(f 14) $(f 15) $(f 16) $(f 17) $(f 18)"
	[ $i = 0 ] && one=$(f 15)
done
echo "INFO ten clones written and flushed in $(since "$t_all") s"
echo "IMAGE $img_bytes $img_blocks $one $want"
dmsetup status $name
[ "$(f 13)" = 0 ] || fail "error state $(f 13)"

check_clones() { # check_clones <when>
	local i got bad=
	for i in 0 1 2 3 4 5 6 7 8 9; do
		# Through a tmpfs file: a pipe into busybox sha256sum is 7x slower.
		dd if=$dev of=clone bs=1M skip=$((i * img_mib)) count=$img_mib iflag=direct \
			2>/dev/null || fail "reading clone $i failed"
		got=$(sha256sum < clone | cut -c1-64)
		[ "$got" = "$want" ] || bad="$bad $i"
	done
	rm -f clone
	if [ -z "$bad" ]; then
		echo "VERIFY $1 ok all 10 clones match sha256 $want"
	else
		echo "VERIFY $1 bad clones$bad differ from sha256 $want"
		fail "clones$bad differ ($1)"
	fi
}
t0=$(now)
check_clones written
echo "INFO sha256 of the 10 clones read back in $(since "$t0") s"

###########################################################################
step "3. restore into an empty brd: dedup on"
# restore_time <name> <table> <brd KiB>: power-cut the RAM (remove, rmmod,
# modprobe) and time the restore: sets copied, t_create and t_restore.
restore_time() {
	local n=$1 tb=$2 kb=$3 t0 i=0
	dmsetup message "$n" 0 flush || fail "flush of $n failed"
	dmsetup remove "$n"
	rmmod brd
	modprobe brd rd_nr=1 rd_size="$kb"
	wait_dev /dev/ram0 || fail "no brd"
	t0=$(now)
	dmsetup create "$n" --table "$tb" || fail "cannot load $n again"
	t_create=$(since "$t0")
	while ! dmsetup status "$n" | awk '$9 != $10 {exit 1}'; do
		i=$((i + 1))
		[ $i -gt 12000 ] && fail "$n: restore not done after 20 min: $(dmsetup status "$n")"
		sleep 0.1
	done
	t_restore=$(since "$t0")
	copied=$(hims_field "$n" 7)
}
for k in 1 2; do
	restore_time $name "$table" $(((phys + 1) * 4))
	echo "RESTORE dedup $(f 14) $copied $t_create $t_restore $(f 19) $k"
	dmsetup status $name
done
t0=$(now)
check_clones restored
echo "INFO sha256 of the 10 clones after the restore in $(since "$t0") s"
dmsetup remove $name
rmmod brd

step "3b. restore into an empty brd: dedup off (core), same RAM device"
modprobe brd rd_nr=1 rd_size=$(((phys + 1) * 4))
wait_dev /dev/ram0 || fail "no brd"
len=$(((phys + 65536) * 8))
table="0 $len hims /dev/ram0 /dev/vda async 3 ram_blocks $phys format"
dmsetup create core --table "$table" || fail "cannot create the core device"
table="0 $len hims /dev/ram0 /dev/vda async 2 ram_blocks $phys"
# The RAM tier, filled with the clones' data in order (1.2 images).
done_mib=0
while [ $done_mib -lt $phys_mib ]; do
	n=$((phys_mib - done_mib))
	[ $n -gt $img_mib ] && n=$img_mib
	dd if=image of=/dev/mapper/core bs=1M seek=$done_mib count=$n oflag=direct \
		2> dd.err || fail "core fill: $(cat dd.err)"
	done_mib=$((done_mib + n))
done
echo "INFO core before the cut: $(dmsetup status core)"
for k in 1 2; do
	restore_time core "$table" $(((phys + 1) * 4))
	echo "RESTORE core $(hims_field core 2) $copied $t_create $t_restore 0 $k"
	dmsetup status core
done
dd if=/dev/mapper/core of=clone bs=1M count=$img_mib iflag=direct 2>/dev/null ||
	fail "reading the core device failed"
got=$(sha256sum < clone | cut -c1-64)
if [ "$got" = "$want" ]; then
	echo "VERIFY core-restored ok the first image matches"
else
	echo "VERIFY core-restored bad the first image differs"
	fail "core restore: the first image differs"
fi
dmsetup remove core
echo "INFO done"
