# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# feedbacctl: create, status (human and --json), weight, clear-weight, and
# import-weights from io.weight (iocost) and io.bfq.weight; remove.
# timeout: 200
. /tests/guest/lib.sh
dmesg_on_fail
command -v feedbacctl > /dev/null || fail "feedbacctl is not in PATH (make tools)"
CG=/sys/fs/cgroup
modprobe dm-feedbac
modprobe bfq || true
echo +io > $CG/cgroup.subtree_control
mkdir -p $CG/c1 $CG/c2 $CG/c3
echo +io > $CG/c3/cgroup.subtree_control
mkdir -p $CG/c3/inner

step "create"
feedbacctl create fb $AUX --option period_ms=50 --option cost=bytes
dmsetup table fb | grep -q "period_ms 50 cost bytes" || fail "table: $(dmsetup table fb)"
feedbacctl status fb

step "weights from io.weight and io.bfq.weight"
echo "default 400" > $CG/c1/io.weight
echo "default 100" > $CG/c2/io.weight
[ -e $CG/c3/io.bfq.weight ] && echo 50 > $CG/c3/io.bfq.weight
[ -e $CG/c3/io.bfq.weight ] && echo "default 100" > $CG/c3/io.weight
echo "default 7" > $CG/c3/inner/io.weight
feedbacctl import-weights fb --dry-run | tee /tmp/work/dry
grep -qx "weight /c1 400" /tmp/work/dry || fail "c1 not imported"
grep -q "/c2 " /tmp/work/dry && fail "c2 (default weight) imported without --all"
grep -qx "weight /c3/inner 7" /tmp/work/dry || fail "c3/inner not imported"
feedbacctl import-weights fb --all --dry-run | grep -qx "weight /c2 100" || fail "--all"
feedbacctl import-weights fb
id1=$(stat -c %i $CG/c1)
id3=$(stat -c %i $CG/c3/inner)
dmsetup status fb
dmsetup status fb | grep -q " $id1 400 " || fail "c1's weight not set"
dmsetup status fb | grep -q " $id3 7 " || fail "c3/inner's weight not set"
if [ -e $CG/c3/io.bfq.weight ]; then
	dmsetup status fb | grep -q " $(stat -c %i $CG/c3) 50 " || fail "c3's bfq weight not set"
fi

step "weight, clear-weight, status"
feedbacctl weight fb /c2 250
dmsetup status fb | grep -q " $(stat -c %i $CG/c2) 250 " || fail "c2's weight not set"
feedbacctl status fb | tee /tmp/work/status
grep -q "^  /c1 *400 " /tmp/work/status || fail "human status does not name /c1"
feedbacctl status fb --json | grep -q "\"id\": $id1, \"weight\": 400" || fail "json"
feedbacctl status --json | grep -q '"name": "fb"' || fail "json list"
feedbacctl clear-weight fb /c2
dmsetup status fb | grep -q " $(stat -c %i $CG/c2) 250 " && fail "c2's weight not cleared"
rc=0
feedbacctl weight fb /no/such 10 2> /tmp/work/err || rc=$?
[ $rc = 1 ] || fail "weight for a missing cgroup exited $rc, want 1"
feedbacctl remove fb
! dmsetup info fb > /dev/null 2>&1 || fail "fb still exists"
rmdir $CG/c3/inner $CG/c3 $CG/c2 $CG/c1
echo "feedbacctl ok"
