# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Benchmark, not a test: the seed paper's application test, deploying a
# container, on the throttled SSD alone and on hims (sync and async) over
# the same kind of SSD.  A deploy makes an ext4 file system on the device,
# unpacks a Debian 12 root tree onto it (from the image attached read-only
# as the last disk, HIMS_EXTRA_DISK), starts a program from it (chroot
# dpkg-query, which reads the package database), and unmounts it (the
# data reaches the device: for hims async, its RAM tier).  Devices run in
# turn, ROUNDS times, every other round in reverse order; each hims device
# is flushed before its turn.
#
# Output for bench/host/hims-report.sh:
#   DEPLOY <device> <ms to unpack and start> <ms to unmount too> <round>
#   INFO <text>
# timeout: 2400
# memory: 3G
# disks: 1G 1G 1G
. /tests/guest/lib.sh
. /bench/guest/bench-lib.sh

ROUNDS=${BENCH_ROUNDS:-5}
TIER_MB=512	# each hims RAM tier: holds the deployed tree
BRD_MB=640


ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

wait_dev /dev/vdd || fail "no image disk (vdd): run with HIMS_EXTRA_DISK=<image>"
mkdir -p /tmp/work/img /tmp/work/mnt
mount -t ext4 -o ro /dev/vdd /tmp/work/img || fail "cannot mount the image"
[ -x /tmp/work/img/usr/bin/dpkg-query ] || fail "the image has no /usr/bin/dpkg-query"
echo "INFO kernel $(uname -r); disks throttled to ${DISK_THROTTLE:-none} (bytes/s:IOPS);" \
	"tree $(du -sm /tmp/work/img | cut -f1) MiB; $ROUNDS rounds"

modprobe dm-mod
modprobe brd rd_nr=2 rd_size=$((BRD_MB * 1024))
wait_dev /dev/ram1 || fail "no brd"
hims_pair $TIER_MB /dev/ram0 /dev/vdb /dev/ram1 /dev/vdc || fail "cannot create hims"
devs="ssd:$SSD hims-sync:/dev/mapper/hims-sync hims-async:/dev/mapper/hims-async"

# deploy <device>: prints "<ms to start> <ms to unmount>".
deploy() {
	local t0 t1 t2
	t0=$(ms)
	/usr/sbin/mke2fs -q -F -t ext4 "$1" || return 1	# not busybox's applet
	mount -t ext4 "$1" /tmp/work/mnt || return 1
	(cd /tmp/work/img && tar cf - .) | (cd /tmp/work/mnt && tar xf -) || return 1
	chroot /tmp/work/mnt /usr/bin/dpkg-query -W > /tmp/work/pkgs || return 1
	t1=$(ms)
	umount /tmp/work/mnt || return 1
	t2=$(ms)
	echo "$((t1 - t0)) $((t2 - t0))"
}

round=1
while [ "$round" -le "$ROUNDS" ]; do
	order=$(round_order "$round")
	step "round $round: container deploy"
	for d in $order; do
		dmsetup message hims-sync 0 flush
		dmsetup message hims-async 0 flush
		sync
		echo 3 > /proc/sys/vm/drop_caches
		if r=$(deploy "${d#*:}"); then
			echo "DEPLOY ${d%%:*} $r $round"
		else
			echo "BENCH_NA ${d%%:*} deploy failed in round $round"
			umount /tmp/work/mnt 2> /dev/null || true
		fi
	done
	echo "INFO round $round: $(wc -l < /tmp/work/pkgs) packages listed"
	round=$((round + 1))
done

umount /tmp/work/img
for d in hims-sync hims-async; do
	echo "INFO $d status: $(dmsetup status $d)"
done
dmsetup remove_all
echo "INFO done"
