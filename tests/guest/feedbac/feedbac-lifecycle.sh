# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-feedbac lifecycle: bad tables and messages are refused; the TABLE
# status reloads as is; held bios are issued by suspend, survive the removal
# of their cgroup, and are completed when the table is replaced or the
# device force-removed.
# timeout: 240
. /tests/guest/lib.sh

DEV=/dev/mapper/fb-life

held() {
	dmsetup status fb-life | awk '{ print $11 }'
}

# Wait (up to ~20 s) until some bios are held.
wait_held() {
	i=0
	while [ "$(held)" -eq 0 ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "no bio was ever held"
		sleep 0.2
	done
	echo "held: $(held)"
}

must_fail() {
	if "$@" > /dev/null 2>&1; then
		fail "should have been refused: $*"
	fi
}

# fio in cgroup $1 for $2 seconds, in the background.
fio_in() {
	sh -c "echo \$\$ > $FB_CG/$1/cgroup.procs && exec fio --name=$1 \
		--filename=$DEV --direct=1 --ioengine=libaio --rw=randread \
		--bs=4k --iodepth=8 --runtime=$2 --time_based \
		--output-format=terse > /tmp/work/$1.out 2>&1" &
}

modprobe null_blk nr_devices=1 gb=1 memory_backed=0
modprobe dm-feedbac
fb_cgroups slow fast
SECTORS=$(sectors /dev/nullb0)

step "bad tables are refused"
must_fail dmsetup create bad --table "0 $SECTORS feedbac"
must_fail dmsetup create bad --table "0 $SECTORS feedbac /dev/nonexistent"
must_fail dmsetup create bad --table "0 $SECTORS feedbac /dev/nullb0 1 period_ms"
must_fail dmsetup create bad --table "0 $SECTORS feedbac /dev/nullb0 2 period_ms 0"
must_fail dmsetup create bad --table "0 $SECTORS feedbac /dev/nullb0 2 period_ms x"
must_fail dmsetup create bad --table "0 $SECTORS feedbac /dev/nullb0 2 alpha 950"
must_fail dmsetup create bad --table "0 $SECTORS feedbac /dev/nullb0 4 alpha_min 600 alpha_max 300"
must_fail dmsetup create bad --table "0 $SECTORS feedbac /dev/nullb0 2 cost pages"
must_fail dmsetup create bad --table "0 $SECTORS feedbac /dev/nullb0 2 colour blue"
must_fail dmsetup create bad --table "0 $SECTORS feedbac /dev/nullb0 2 period_ms 50 extra"
must_fail dmsetup create bad --table "0 $SECTORS feedbac /dev/nullb0 3 period_ms 50 cost"
dmsetup remove bad 2>/dev/null || true
dmesg | grep -q "feedbac: period_ms must be 10..10000" || fail "no clear error for period_ms"
dmesg | grep -q "feedbac: Unknown optional argument" || fail "no clear error for options"

step "the TABLE status reloads as is"
dmsetup create fb-life --table "0 $SECTORS feedbac /dev/nullb0 6 period_ms 2000 cost ios write_pct 300"
table=$(dmsetup table fb-life)
echo "$table"
echo "$table" | grep -q "period_ms 2000 cost ios io_cost 8 write_pct 300" || fail "table lost options"
dmsetup load fb-life --table "$table"
dmsetup resume fb-life
[ "$(dmsetup table fb-life)" = "$table" ] || fail "table changed on reload"

step "bad messages are refused"
must_fail dmsetup message fb-life 0 weight "$FB_CGP/slow" 0
must_fail dmsetup message fb-life 0 weight "$FB_CGP/slow" 10001
must_fail dmsetup message fb-life 0 weight "$FB_CGP/slow" heavy
must_fail dmsetup message fb-life 0 weight /no/such/cgroup 100
must_fail dmsetup message fb-life 0 weight 999999999 100
must_fail dmsetup message fb-life 0 weight slow 100
must_fail dmsetup message fb-life 0 clear_weight "$FB_CGP/slow"
must_fail dmsetup message fb-life 0 weigh /slow 100
must_fail dmsetup message fb-life 0 weight "$FB_CGP/slow"
dmesg | grep -q "feedbac: weight must be 1..10000" || fail "no clear error for weights"
dmesg | grep -q "feedbac: no cgroup '/no/such/cgroup'" || fail "no clear error for paths"
dmsetup message fb-life 0 weight / 100	# the root cgroup: the default group

# A long period and a near-zero weight: once "fast" holds nearly all credit
# and stays active, "slow" gets a bio or so per period; the rest is held.
dmsetup load fb-life --table "0 $SECTORS feedbac /dev/nullb0 4 period_ms 5000 min_credit 64"
dmsetup resume fb-life
dmsetup message fb-life 0 weight "$FB_CGP/slow" 1
dmsetup message fb-life 0 weight "$FB_CGP/fast" 10000
# One read from "fast" keeps it active (with its credit) for a period or two.
poke_fast() {
	sh -c "echo \$\$ > $FB_CG/fast/cgroup.procs &&
		exec dd if=$DEV of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null"
}
# fio in "slow" for $1 seconds, then bios held.  fio takes a while to start
# on a loaded host, so "fast" is poked only once "slow" issues: both are
# then active in the same periods, whenever fio got going.
hold_some() {
	fio_in slow "$1"
	i=0
	while [ "$(fb_group_bytes fb-life "$(fb_id slow)")" = 0 ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || fail "fio in slow never issued"
		sleep 0.2
	done
	poke_fast
	wait_held
}

step "suspend issues held bios"
hold_some 30
dmsetup suspend fb-life
[ "$(held)" -eq 0 ] || fail "bios still held while suspended"
dmsetup resume fb-life
dmsetup status fb-life

step "removing a cgroup with held bios"
poke_fast
wait_held
# Move fio's processes out, remove the cgroup, then its weight (by id).
SLOW_ID=$(fb_id slow)
# shellcheck disable=SC2013 # process ids, one a line
for pid in $(cat "$FB_CG/slow/cgroup.procs"); do
	echo "$pid" > $CG/cgroup.procs
done
rmdir "$FB_CG/slow"
dmsetup message fb-life 0 clear_weight "$SLOW_ID"
dmsetup status fb-life
dmsetup message fb-life 0 weight / 10000	# let it drain
wait
fio_ok /tmp/work/slow.out || { cat /tmp/work/slow.out; fail "fio failed"; }

step "table replaced with held bios"
mkdir "$FB_CG/slow"
dmsetup message fb-life 0 weight / 100
dmsetup message fb-life 0 weight "$FB_CGP/slow" 1
hold_some 30
dmsetup load fb-life --table "0 $SECTORS linear /dev/nullb0 0"
dmsetup resume fb-life
wait
fio_ok /tmp/work/slow.out || { cat /tmp/work/slow.out; fail "fio failed"; }

step "device force-removed with held bios"
dmsetup load fb-life --table "0 $SECTORS feedbac /dev/nullb0 4 period_ms 5000 min_credit 64"
dmsetup resume fb-life
dmsetup message fb-life 0 weight "$FB_CGP/slow" 1
dmsetup message fb-life 0 weight "$FB_CGP/fast" 10000
hold_some 60
# While fio has the device open, --force swaps in an error table
# (suspending ours, which issues the held bios) and fio then fails on its
# next I/O; if fio closed it first, the device is simply removed.  Either
# way the held bios complete and fio ends.
dmsetup remove --force fb-life 2>&1 || true
swapped=0
if dmsetup info fb-life > /dev/null 2>&1; then
	dmsetup table fb-life | grep -q " error" ||
		fail "--force left the device without an error table"
	swapped=1
fi
wait
if [ $swapped = 1 ]; then
	fio_ok /tmp/work/slow.out && fail "fio should have seen I/O errors"
fi
dmsetup remove fb-life 2>/dev/null || true
! dmsetup info fb-life > /dev/null 2>&1 || fail "device still there"
rmmod dm-feedbac
rmmod null_blk
