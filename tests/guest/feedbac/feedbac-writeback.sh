# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Page cache writeback is charged to the cgroup that wrote the pages: ext4
# on dm-feedbac, a weighted cgroup writes 64 MiB through the page cache and
# sync(2) has the flusher write it back.  The flusher is a workqueue worker
# in the root cgroup, and dm hands the target a clone without the original
# bio's blkcg: before the fix all of it went to the default group and none
# to the cgroup's own.
# timeout: 300
# memory: 2G
. /tests/guest/lib.sh

MNT=/tmp/work/mnt
MIB=64

# A fast null_blk: the point is who is charged, not how fast.  Cgroup
# writeback needs the memory controller beside io.
grep -qw memory $CG/cgroup.controllers || fail "no memory controller: no cgroup writeback"
modprobe null_blk nr_devices=1 gb=1 memory_backed=1
modprobe dm-feedbac
MEMORY_WAS_ON=$(grep -cw memory $CG/cgroup.subtree_control || true)
echo "+io +memory" > $CG/cgroup.subtree_control
fb_cgroups w
echo +memory > "$FB_CG/cgroup.subtree_control"
dmsetup create fb-wb --table "0 $(sectors /dev/nullb0) feedbac /dev/nullb0"
dmsetup message fb-wb 0 weight "$FB_CGP/w" 100
/usr/sbin/mke2fs -q -F -t ext4 /dev/mapper/fb-wb	# not busybox's applet
mkdir -p $MNT
mount -t ext4 /dev/mapper/fb-wb $MNT
wb_cleanup() {
	umount $MNT
	dmsetup remove fb-wb
	rmmod null_blk
	[ "$MEMORY_WAS_ON" != 0 ] || echo -memory > $CG/cgroup.subtree_control
}
at_exit wb_cleanup
sync

step "a weighted cgroup writes $MIB MiB through the page cache; sync"
dmsetup message fb-wb 0 clear_stats
sh -c 'echo $$ > "$0/cgroup.procs" && exec dd if=/dev/zero of="$1" bs=1M count="$2" 2>&1' \
	"$FB_CG/w" $MNT/f $MIB > /tmp/work/dd.out || { cat /tmp/work/dd.out; fail "dd failed"; }
sync
dmsetup status fb-wb
W=$(fb_group_bytes fb-wb "$(fb_id w)")
D=$(fb_group_bytes fb-wb 0)
echo "moved: the cgroup's group $W bytes, the default group $D bytes"
# All of the data, whatever the journal and metadata add to the default
# group.
[ "${W:-0}" -ge $((MIB << 20)) ] ||
	fail "the cgroup's group was charged $W bytes of its $MIB MiB, the default group $D"
