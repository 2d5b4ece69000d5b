# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-feedbac shares a bandwidth-limited null_blk among four cgroups weighted
# 100:50:25:10: the shares come in that order; a weight changed at run time
# moves them.  Each share is measured over a window of data (not of time)
# while every group is known to be busy.  Bounds are loose: TCG timing is
# noisy.
# timeout: 240
. /tests/guest/lib.sh

DEV=/dev/mapper/fb-shares
ALL="g1 g2 g3 g4"

fb_setup
# shellcheck disable=SC2086 # the group names
fb_cgroups $ALL

dmsetup create fb-shares --table "0 $(sectors /dev/nullb0) feedbac /dev/nullb0 2 period_ms 50"
dmsetup message fb-shares 0 weight "$FB_CGP/g1" 100
dmsetup message fb-shares 0 weight "$FB_CGP/g2" 50
dmsetup message fb-shares 0 weight "$(fb_id g3)" 25	# by id
dmsetup message fb-shares 0 weight "$FB_CGP/g4" 10

step "four groups at 100:50:25:10"
for g in $ALL; do
	fb_fio_start "$g" $DEV randread
done
# shellcheck disable=SC2086 # the group names
fb_wait_busy fb-shares $ALL
sleep 1
# shellcheck disable=SC2086 # the group names
fb_measure fb-shares $((96 << 20)) $ALL
# shellcheck disable=SC2154 # B_g1..B_g4 are set by fb_measure
echo "bytes: g1=$B_g1 g2=$B_g2 g3=$B_g3 g4=$B_g4"
[ "$B_g1" -gt "$B_g2" ] || fail "g1 ($B_g1) should beat g2 ($B_g2)"
[ "$B_g2" -gt "$B_g3" ] || fail "g2 ($B_g2) should beat g3 ($B_g3)"
[ "$B_g3" -gt "$B_g4" ] || fail "g3 ($B_g3) should beat g4 ($B_g4)"
# Ideal g1:g4 is 10; accept anything from 3.
[ "$B_g1" -gt $((B_g4 * 3)) ] || fail "g1:g4 should be near 10:1"

step "g4 raised to 400 at run time"
dmsetup message fb-shares 0 weight "$FB_CGP/g4" 400
sleep 1
# shellcheck disable=SC2086 # the group names
fb_measure fb-shares $((96 << 20)) $ALL
echo "bytes: g1=$B_g1 g2=$B_g2 g3=$B_g3 g4=$B_g4"
[ "$B_g4" -gt "$B_g1" ] || fail "g4 ($B_g4) should now beat g1 ($B_g1)"
[ "$B_g4" -gt $((B_g3 * 4)) ] || fail "g4 ($B_g4) should be far above g3 ($B_g3)"

# shellcheck disable=SC2086 # the group names
fb_fio_stop $ALL
dmsetup remove fb-shares
rmmod null_blk
