# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-feedbac stacks over other devices: over dm-linear on a virtio disk, and
# over an NVMe drive, data written through it by two weighted cgroups at once
# reads back intact, and each group is charged for its own I/O.
# timeout: 300
# nvme: 256M
. /tests/guest/lib.sh

# fio write+verify of 32M at offset $3 of $2, in cgroup $1, in the background.
verify_in() {
	sh -c "echo \$\$ > $FB_CG/$1/cgroup.procs && exec fio --name=$1 \
		--filename=$2 --direct=1 --ioengine=libaio --rw=randwrite \
		--bs=4k --iodepth=16 --size=32M --offset=$3 --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --randrepeat=1 \
		--output-format=terse > /tmp/work/$1.out 2>&1" &
}

# Two cgroups verify their own regions of $1 (dm name) at the same time.
check_device() {
	dmsetup message "$1" 0 weight "$FB_CGP/g1" 100
	dmsetup message "$1" 0 weight "$FB_CGP/g2" 25
	verify_in g1 "/dev/mapper/$1" 0
	verify_in g2 "/dev/mapper/$1" 64M
	wait
	for g in g1 g2; do
		fio_ok /tmp/work/$g.out || { cat /tmp/work/$g.out; fail "$g: fio verify on $1 failed"; }
	done
	dmsetup status "$1"
	[ "$(fb_group_bytes "$1" "$ID1")" -ge $((64 << 20)) ] || fail "g1 not charged on $1"
	[ "$(fb_group_bytes "$1" "$ID2")" -ge $((64 << 20)) ] || fail "g2 not charged on $1"
}

modprobe dm-feedbac
fb_cgroups g1 g2
ID1=$(fb_id g1)
ID2=$(fb_id g2)

step "feedbac over dm-linear"
dmsetup create fb-lower --table "0 262144 linear $SSD 2048"
dmsetup create fb-stack --table "0 262144 feedbac /dev/mapper/fb-lower 2 period_ms 20"
check_device fb-stack
# The data is where dm-linear put it.
dd if=/dev/mapper/fb-stack of=a bs=1M count=4 iflag=direct 2>/dev/null
dd if="$SSD" of=b bs=512 skip=2048 count=8192 iflag=direct 2>/dev/null
cmp a b || fail "data is not at the mapped offset"
dmsetup remove fb-stack
dmsetup remove fb-lower

step "feedbac over NVMe"
# shellcheck disable=SC2012 # device names
NVME=$(ls /dev/nvme*n1 | head -n 1)
[ -b "$NVME" ] || fail "no NVMe namespace"
dmsetup create fb-nvme --table "0 $(sectors "$NVME") feedbac $NVME"
check_device fb-nvme
dmsetup remove fb-nvme
