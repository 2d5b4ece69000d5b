#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch one of Debian 12's kernels (image, modules, headers) into a cache with
# apt-get download + dpkg-deb -x.  Installing the packages would run initramfs
# and DKMS hooks on this host, which we neither need nor want.
#
# usage: kernel.sh <6.1|6.12|6.1-debug> <kdir|krel|vmlinux|root|fetch>
# 6.1-debug is built from Debian's source package (tests/vm/debug-kernel.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

series=${1:?usage: kernel.sh <6.1|6.12|6.1-debug> <kdir|krel|vmlinux|root|fetch>}
what=${2:-fetch}
[ "$series" = 6.1-debug ] && exec "$here/debug-kernel.sh" "$what"

# Newest version apt offers; never a hard-coded ABI number.
resolve() {
	case "$series" in
	6.1)
		local img
		img=$(apt-cache depends linux-image-amd64 2>/dev/null |
		      awk '/Depends: linux-image-6\.1\./ {print $2; exit}')
		[ -n "$img" ] || die "apt offers no linux-image-amd64 (run apt-get update?)"
		krel=${img#linux-image-}
		pkgs="$img linux-headers-$krel linux-headers-${krel%-amd64}-common linux-kbuild-6.1"
		;;
	6.12)
		local img
		img=$(apt-cache pkgnames linux-image-6.12. 2>/dev/null |
		      grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' |
		      sort -V | tail -n 1)
		[ -n "$img" ] || die "apt offers no linux-image-6.12.*+deb12-amd64-unsigned"
		krel=${img#linux-image-}
		krel=${krel%-unsigned}
		pkgs="$img linux-headers-$krel linux-headers-${krel%-amd64}-common linux-kbuild-${krel%-amd64}"
		;;
	*)
		die "unknown kernel series '$series' (want 6.1, 6.12 or 6.1-debug)"
		;;
	esac
}

# A bzImage holds the kernel as an xz stream; booting the plain ELF through its
# PVH entry skips the decompressor, which is slow under TCG.
extract_vmlinux() {
	local bz=$1 out=$2 magic tool off
	for magic in '\xfd7zXZ\x00:xz' '\x28\xb5\x2f\xfd:zstd'; do
		tool=${magic##*:}
		# shellcheck disable=SC2013 # byte offsets, one word each
		for off in $(LC_ALL=C grep -aboP "${magic%:*}" "$bz" | cut -d: -f1); do
			tail -c +$((off + 1)) "$bz" | $tool -dcq > "$out.tmp" 2>/dev/null || true
			if [ -s "$out.tmp" ] && head -c 4 "$out.tmp" | grep -q ELF; then
				mv "$out.tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	return 1
}

fetch() {
	local dir=$1 stamp=$1/.complete
	[ -e "$stamp" ] && return 0
	need_cmds apt-get dpkg-deb xz zstd
	log "fetching kernel $krel: $pkgs"
	rm -rf "$dir"
	mkdir -p "$dir/debs" "$dir/root"
	# shellcheck disable=SC2086 # $pkgs is a list of package names
	(cd "$dir/debs" && apt-get download $pkgs >/dev/null 2>&1) ||
		(apt-get update >/dev/null && cd "$dir/debs" && apt-get download $pkgs >/dev/null) ||
		die "apt-get download $pkgs failed"
	local deb
	for deb in "$dir"/debs/*.deb; do
		dpkg-deb -x "$deb" "$dir/root"
	done
	# The arch headers include the common ones by absolute path.
	sed -i "s|^include /usr/src/|include $dir/root/usr/src/|" \
		"$dir/root/usr/src/linux-headers-$krel/Makefile"
	extract_vmlinux "$dir/root/boot/vmlinuz-$krel" "$dir/vmlinux" ||
		die "cannot extract vmlinux from vmlinuz-$krel"
	# The image package leaves modules.dep to its postinst; make it here.
	depmod -b "$dir/root" "$krel"
	rm -rf "$dir/debs"
	touch "$stamp"
}

resolve
dir=$(cache_dir)/kernels/$krel
case "$what" in
fetch)   fetch "$dir"; echo "$dir" ;;
kdir)    fetch "$dir"; echo "$dir/root/usr/src/linux-headers-$krel" ;;
krel)    echo "$krel" ;;
vmlinux) fetch "$dir"; echo "$dir/vmlinux" ;;
root)    fetch "$dir"; echo "$dir/root" ;;
*)       die "unknown request '$what'" ;;
esac
