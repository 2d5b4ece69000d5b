# SPDX-License-Identifier: GPL-2.0
# dm-feedbac does not idle: when the heaviest of three cgroups (100:50:50)
# stops, the other two take its share, equally.  The third group's I/O comes
# from a sub-cgroup without a weight of its own, charged to its parent.
# Bounds are loose: TCG timing is noisy.
# timeout: 200
. /tests/guest/lib.sh

CG=/sys/fs/cgroup
DEV=/dev/mapper/fb-idle

# Did fio (terse output in $1) finish without error?
fio_ok() {
	awk -F';' '$1 == 3 && $5 == 0 { ok = 1 } END { exit !ok }' "$1"
}

# Bytes (read + written) issued for group id $1 (0: default), from status.
group_bytes() {
	dmsetup status fb-idle | awk -v id="$1" '{
		n = $12; for (i = 0; i < n; i++) {
			f = 13 + 8 * i
			if ($f == id) print $(f + 3) + $(f + 5)
		}
	}'
}

# fio in cgroup $1 for $2 seconds, in the background.
fio_in() {
	sh -c "echo \$\$ > $CG/$1/cgroup.procs && exec fio --name=$(basename $1) \
		--filename=$DEV --direct=1 --ioengine=libaio --rw=randrw \
		--bs=4k --iodepth=16 --runtime=$2 --time_based \
		--output-format=terse > /tmp/work/$(basename $1).out 2>&1" &
}

measure() {
	dmsetup message fb-idle 0 clear_stats
	sleep "$1"
	B1=$(group_bytes "$ID1")
	B2=$(group_bytes "$ID2")
	B3=$(group_bytes "$ID3")
	B0=$(group_bytes 0)
	echo "bytes: g1=$B1 g2=$B2 g3=$B3 default=$B0"
	dmsetup status fb-idle | cut -d' ' -f4-12
}

modprobe null_blk nr_devices=1 gb=1 memory_backed=0 mbps=20
modprobe dm-feedbac
echo +io > $CG/cgroup.subtree_control
mkdir -p $CG/g1 $CG/g2 $CG/g3
echo +io > $CG/g3/cgroup.subtree_control
mkdir -p $CG/g3/sub
ID1=$(stat -c %i $CG/g1)
ID2=$(stat -c %i $CG/g2)
ID3=$(stat -c %i $CG/g3)

dmsetup create fb-idle --table "0 $(sectors /dev/nullb0) feedbac /dev/nullb0 4 period_ms 50 cost bytes"
dmsetup message fb-idle 0 weight /g1 100
dmsetup message fb-idle 0 weight /g2 50
dmsetup message fb-idle 0 weight /g3 50

step "three groups busy"
fio_in g1 12
fio_in g2 30
fio_in g3/sub 30
sleep 3
measure 7
[ "$B1" -gt "$B2" ] && [ "$B1" -gt "$B3" ] || fail "g1 should lead"
[ "${B0:-0}" -lt $((B3 / 10)) ] || fail "g3/sub was not charged to g3"
BOTH_BUSY=$((B2 + B3))

step "g1 idle"
sleep 5
measure 7
[ "$B1" -lt $((B2 / 10)) ] || fail "g1 should be idle"
# Ideally twice as much as before; accept 1.4x.
[ $((B2 + B3)) -gt $((BOTH_BUSY * 14 / 10)) ] ||
	fail "g1's share did not go to the others ($BOTH_BUSY -> $((B2 + B3)))"
[ "$B2" -lt $((B3 * 2)) ] && [ "$B3" -lt $((B2 * 2)) ] ||
	fail "g2 and g3 should share equally"
wait

for g in g1 g2 sub; do
	fio_ok /tmp/work/$g.out || { cat /tmp/work/$g.out; fail "fio $g failed"; }
done
dmsetup remove fb-idle
rmdir $CG/g3/sub $CG/g1 $CG/g2 $CG/g3
rmmod null_blk
