# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# "himsctl lvcreate --type hims" on a real VG (lvm2 from Debian): a tagged
# LV for the SSD side with hims stacked on it as <vg>-<lv>; data verified;
# boot-time assembly ("assemble --scan") finds the deactivated LV by its tag
# and rebuilds the device; "himsctl lvremove" removes both.
# timeout: 400
# disks: 1G 1G
. /tests/guest/lib.sh
dmesg_on_fail
command -v himsctl > /dev/null || fail "himsctl is not in PATH (make tools)"
command -v lvm > /dev/null || fail "no lvm in the guest (tests/vm/guest-binaries)"
# No udev in the guest: lvm manages the device nodes itself.
mkdir -p /etc/lvm /run/lock/lvm
cat > /etc/lvm/lvm.conf <<'CONF'
devices {
	obtain_device_list_from_udev = 0
	use_devicesfile = 0
	external_device_info_source = "none"
}
activation {
	udev_sync = 0
	udev_rules = 0
	monitoring = 0
}
backup {
	backup = 0
	archive = 0
}
CONF
rmmod brd 2>/dev/null || true
modprobe dm-hims

step "a VG on both disks"
lvm pvcreate -y -ff $SSD $AUX
lvm vgcreate vg0 $SSD $AUX

step "himsctl lvcreate --type hims -L 512M --ramsize 64M -n fast vg0"
himsctl lvcreate --type hims -L 512M --ramsize 64M -n fast --mode async vg0
[ -b /dev/mapper/vg0-fast ] || fail "no /dev/mapper/vg0-fast"
[ "$(sectors /dev/mapper/vg0-fast)" = 1048576 ] || fail "vg0-fast is not 512 MiB"
lvm lvs -o lv_name,lv_size,lv_tags vg0
lvm lvs --noheadings -o lv_tags vg0/fast_hims_ssd | grep -qw hims || fail "SSD LV not tagged"
himsctl status vg0-fast
himsctl probe /dev/mapper/vg0-fast_hims_ssd | grep -qx HIMS_NAME=vg0-fast || fail "hints"
fio_pattern write /dev/mapper/vg0-fast 0 400M 5
himsctl flush vg0-fast

step "boot-time assembly: the LV found by its tag"
himsctl remove vg0-fast
lvm lvchange -an vg0/fast_hims_ssd
[ ! -e /dev/mapper/vg0-fast_hims_ssd ] || fail "LV still active"
rmmod brd	# RAM is empty after a reboot
himsctl assemble --scan
[ -b /dev/mapper/vg0-fast ] || fail "assemble --scan did not rebuild vg0-fast"
himsctl wait vg0-fast --timeout 200
fio_pattern check /dev/mapper/vg0-fast 0 400M 5 || fail "data lost"
[ "$(hims_field vg0-fast 1)" = async ] || fail "mode lost"

step "himsctl lvremove vg0/fast"
himsctl lvremove vg0/fast
! dmsetup info vg0-fast > /dev/null 2>&1 || fail "vg0-fast still exists"
! lvm lvs vg0/fast_hims_ssd > /dev/null 2>&1 || fail "the SSD LV still exists"
lvm vgremove -y vg0
lvm pvremove -y $SSD $AUX
echo "lvm ok"
