#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install, once, what building and the VM tests need on a Debian 12 host.
# Kernels are not installed: tests/vm/kernel.sh downloads them into a cache.
set -euo pipefail
pkgs="make gcc libc6-dev qemu-system-x86 busybox-static fio dwarves sparse kmod
	udev xz-utils zstd cpio bc libdevmapper-dev util-linux e2fsprogs
	linux-source-6.1 flex bison libelf-dev libubsan1 libasan8 lvm2 dkms debootstrap shellcheck"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # $missing is a list of package names
apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
	{ apt-get update >/dev/null && apt-get install -y --no-install-recommends $missing >/dev/null; }
