# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# Boot-time assembly by udev: boot 1 creates a hims device with himsctl,
# fills it (RAM tier and SSD tier), flushes and cuts the power; boot 2 runs
# systemd-udevd with nothing but our rules, triggers the block devices, and
# the device must appear by itself, restore in the background and hold the
# data.
# boots: 2
# timeout: 400
# disks: 1G 1G
. /tests/guest/lib.sh
dmesg_on_fail
command -v himsctl > /dev/null || fail "himsctl is not in PATH (make tools)"
case "$BOOT" in
1)
	# The SSD starts full of old data: --format.
	himsctl create boot $SSD --ram brd --ram-size 128M --size 512M --mode async --format
	fio_pattern write /dev/mapper/boot 0 120M 11
	fio_pattern write /dev/mapper/boot 300M 64M 12
	himsctl flush boot
	himsctl status boot
	powercut
	;;
2)
	[ ! -e /dev/mapper/boot ] || fail "boot exists before udev ran"
	ln -sf /opt/hims/tools/himsctl /usr/sbin/himsctl
	mkdir -p /etc/udev/rules.d /run/udev
	cp /opt/hims/udev/*.rules /etc/udev/rules.d/
	step "udevd with our rules only: $(ls /etc/udev/rules.d)"
	systemd-udevd --daemon
	udevadm trigger --action=add --subsystem-match=block
	udevadm settle --timeout=60
	i=0
	while [ ! -b /dev/mapper/boot ]; do
		i=$((i + 1))
		[ $i -lt 50 ] || fail "/dev/mapper/boot did not appear"
		sleep 0.2
	done
	echo "appeared: $(dmsetup table boot)"
	himsctl status boot
	udevadm info --query=property --name=$SSD | grep '^HIMS_' || fail "udev did not import the probe"
	fio_pattern check /dev/mapper/boot 0 120M 11 || fail "RAM-tier data lost"
	fio_pattern check /dev/mapper/boot 300M 64M 12 || fail "SSD-tier data lost"
	himsctl wait boot --timeout 200
	fio_pattern check /dev/mapper/boot 0 120M 11 || fail "RAM-tier data wrong after restore"
	[ "$(hims_field boot 2)" -gt 0 ] || fail "nothing was in use"
	udevadm control --exit
	himsctl remove boot
	echo "assembled by udev, data verified"
	;;
esac
