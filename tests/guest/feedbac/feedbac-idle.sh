# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-feedbac does not idle: when the heaviest of three cgroups (100:50:50)
# stops, the other two take its share, equally.  The third group's I/O comes
# from a sub-cgroup without a weight of its own, charged to its parent.
# Bounds are loose: TCG timing is noisy.
# timeout: 200
. /tests/guest/lib.sh

DEV=/dev/mapper/fb-idle

measure() {
	dmsetup message fb-idle 0 clear_stats
	sleep "$1"
	B1=$(fb_group_bytes fb-idle "$ID1")
	B2=$(fb_group_bytes fb-idle "$ID2")
	B3=$(fb_group_bytes fb-idle "$ID3")
	B0=$(fb_group_bytes fb-idle 0)
	echo "bytes: g1=$B1 g2=$B2 g3=$B3 default=$B0"
	dmsetup status fb-idle | cut -d' ' -f4-12
}

fb_setup
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
fb_fio_in $DEV g1 randrw 12
fb_fio_in $DEV g2 randrw 30
fb_fio_in $DEV g3/sub randrw 30
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
