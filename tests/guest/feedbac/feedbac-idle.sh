# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-feedbac does not idle: when the heaviest of three cgroups (100:50:50)
# stops, the other two take its share, equally.  The third group's I/O comes
# from a sub-cgroup without a weight of its own, charged to its parent.
# Each share is measured over a window of data while the groups that should
# be busy are known to be.  Bounds are loose: TCG timing is noisy.
# timeout: 200
. /tests/guest/lib.sh

DEV=/dev/mapper/fb-idle

fb_setup
fb_cgroups g1 g2 g3 g3/sub

dmsetup create fb-idle --table "0 $(sectors /dev/nullb0) feedbac /dev/nullb0 4 period_ms 50 cost bytes"
dmsetup message fb-idle 0 weight "$FB_CGP/g1" 100
dmsetup message fb-idle 0 weight "$FB_CGP/g2" 50
dmsetup message fb-idle 0 weight "$FB_CGP/g3" 50

step "three groups busy"
fb_fio_start g1 $DEV randrw
fb_fio_start g2 $DEV randrw
fb_fio_start g3/sub $DEV randrw
fb_wait_busy fb-idle g1 g2 g3
sleep 1
fb_measure fb-idle $((64 << 20)) g1 g2 g3
# shellcheck disable=SC2154 # B_g1..B_g3 and B_default are set by fb_measure
echo "bytes: g1=$B_g1 g2=$B_g2 g3=$B_g3 default=$B_default"
[ "$B_g1" -gt "$B_g2" ] && [ "$B_g1" -gt "$B_g3" ] || fail "g1 should lead"
[ "$B_default" -lt $((B_g3 / 10)) ] || fail "g3/sub was not charged to g3"
# g2 and g3 together, in bytes per second
BOTH_BUSY=$(((B_g2 + B_g3) * 1000 / MS))

step "g1 idle"
fb_fio_stop g1
sleep 1
fb_measure fb-idle $((64 << 20)) g2 g3
echo "bytes: g2=$B_g2 g3=$B_g3, g1 $(fb_group_bytes fb-idle "$(fb_id g1)")"
[ "$(fb_group_bytes fb-idle "$(fb_id g1)")" -lt $((B_g2 / 10)) ] || fail "g1 should be idle"
# Ideally twice as much as before; accept 1.4x.
IDLE=$(((B_g2 + B_g3) * 1000 / MS))
[ $IDLE -gt $((BOTH_BUSY * 14 / 10)) ] ||
	fail "g1's share did not go to the others ($BOTH_BUSY -> $IDLE bytes/s)"
[ "$B_g2" -lt $((B_g3 * 2)) ] && [ "$B_g3" -lt $((B_g2 * 2)) ] ||
	fail "g2 and g3 should share equally"

fb_fio_stop g2 g3/sub
dmsetup remove fb-idle
rmmod null_blk
