# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-feedbac shares a bandwidth-limited null_blk among four cgroups weighted
# 100:50:25:10: the shares come in that order; a weight changed at run time
# moves them.  Bounds are loose: TCG timing is noisy.
# timeout: 240
. /tests/guest/lib.sh

DEV=/dev/mapper/fb-shares

# Measure each group's bytes over $1 seconds; sets B_g1..B_g4.
measure() {
	dmsetup message fb-shares 0 clear_stats
	sleep "$1"
	for g in g1 g2 g3 g4; do
		eval "B_$g=\$(fb_group_bytes fb-shares \$ID_$g)"
	done
	# shellcheck disable=SC2154 # B_g1..B_g4 are set by the eval
	echo "bytes: g1=$B_g1 g2=$B_g2 g3=$B_g3 g4=$B_g4"
	dmsetup status fb-shares | cut -d' ' -f4-12
}

fb_setup
for g in g1 g2 g3 g4; do
	mkdir -p $CG/$g
	eval "ID_$g=\$(stat -c %i $CG/$g)"
done

dmsetup create fb-shares --table "0 $(sectors /dev/nullb0) feedbac /dev/nullb0 2 period_ms 50"
dmsetup message fb-shares 0 weight /g1 100
dmsetup message fb-shares 0 weight /g2 50
# shellcheck disable=SC2154 # ID_g3 is set by an eval
dmsetup message fb-shares 0 weight "$ID_g3" 25
dmsetup message fb-shares 0 weight /g4 10

step "four groups at 100:50:25:10"
for g in g1 g2 g3 g4; do
	fb_fio_in $DEV $g randread 26
done
sleep 4
measure 8
[ "$B_g1" -gt "$B_g2" ] || fail "g1 ($B_g1) should beat g2 ($B_g2)"
[ "$B_g2" -gt "$B_g3" ] || fail "g2 ($B_g2) should beat g3 ($B_g3)"
[ "$B_g3" -gt "$B_g4" ] || fail "g3 ($B_g3) should beat g4 ($B_g4)"
# Ideal g1:g4 is 10; accept anything from 3.
[ "$B_g1" -gt $((B_g4 * 3)) ] || fail "g1:g4 should be near 10:1"

step "g4 raised to 400 at run time"
dmsetup message fb-shares 0 weight /g4 400
sleep 2
measure 8
[ "$B_g4" -gt "$B_g1" ] || fail "g4 ($B_g4) should now beat g1 ($B_g1)"
[ "$B_g4" -gt $((B_g3 * 4)) ] || fail "g4 ($B_g4) should be far above g3 ($B_g3)"
wait

for g in g1 g2 g3 g4; do
	fio_ok /tmp/work/$g.out || { cat /tmp/work/$g.out; fail "fio in $g failed"; }
done
dmsetup remove fb-shares
rmdir $CG/g1 $CG/g2 $CG/g3 $CG/g4
rmmod null_blk
