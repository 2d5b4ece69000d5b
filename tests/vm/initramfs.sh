#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest's initramfs as two cpio archives the kernel unpacks in turn:
# a cached base (busybox, host programs and their libraries, kernel modules)
# and a small overlay with this tree's modules, init and tests, rebuilt each run.
#
# usage: initramfs.sh <6.1|6.12|6.1-debug> <dir-with-our-.ko-files|-> <out.cpio>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/common.sh"

series=$1 ourko=$2 out=$3
krel=$("$here/kernel.sh" "$series" krel)
kroot=$("$here/kernel.sh" "$series" root)
need_cmds cpio busybox depmod modprobe ldd sha256sum

list() { grep -v '^[[:space:]]*\(#\|$\)' "$1"; }

base_key() {
	{
		echo "$krel"
		# A rebuilt debug kernel keeps its release name; depmod's time is new.
		stat -c %Y "$kroot/lib/modules/$krel/modules.dep"
		cat "$here/initramfs.sh" "$here/guest-binaries" "$here/guest-modules"
		list "$here/guest-binaries" | xargs sha256sum
		sha256sum "$(command -v busybox)"
	} | sha256sum | cut -c1-16
}

copy_with_libs() {
	local root=$1 bin=$2 lib
	mkdir -p "$root$(dirname "$bin")"
	cp -L "$bin" "$root$bin"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

build_base() {
	local cpio=$1 root
	root=$(mktemp -d)
	trap 'rm -rf "$root"' RETURN
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib64,lib/modules/"$krel",etc,proc,sys,dev,tmp,run,mnt,root,var/tmp}
	cp "$(command -v busybox)" "$root/bin/busybox"
	local b
	for b in $(list "$here/guest-binaries"); do
		copy_with_libs "$root" "$b"
	done
	for b in modprobe insmod rmmod lsmod modinfo depmod; do
		ln -sf /usr/bin/kmod "$root/usr/sbin/$b"
	done
	ln -sf /usr/bin/udevadm "$root/usr/sbin/systemd-udevd"
	ln -sf mke2fs "$root/usr/sbin/mkfs.ext4"

	# Modules and their dependencies, decompressed so the guest needs no xz.
	local mod path rel
	for mod in $(list "$here/guest-modules"); do
		modprobe -d "$kroot" -S "$krel" --show-depends "$mod" |
			awk '$1 == "insmod" {print $2}'
	done | sort -u | while read -r path; do
		rel=${path#"$kroot"}
		mkdir -p "$root$(dirname "$rel")"
		case "$path" in
		*.xz)  xz -dc "$path" > "$root${rel%.xz}" ;;
		*.zst) zstd -qdc "$path" > "$root${rel%.zst}" ;;
		*)     cp "$path" "$root$rel" ;;
		esac
	done
	cp "$kroot/lib/modules/$krel"/modules.{order,builtin,builtin.modinfo} \
		"$root/lib/modules/$krel/" 2>/dev/null || true
	depmod -b "$root" "$krel"
	echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
	echo "root:x:0:" > "$root/etc/group"
	# Several runs may build the same base at once: publish atomically.
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$cpio.tmp.$$"
	mv "$cpio.tmp.$$" "$cpio"
}

build_overlay() {
	local cpio=$1 root
	root=$(mktemp -d)
	trap 'rm -rf "$root"' RETURN
	mkdir -p "$root/lib/modules/$krel/extra" "$root/tests" "$root/bench" "$root/opt/hims"
	install -m 755 "$here/guest-init" "$root/init"
	# The guest scripts, at their paths from the top of the tree.
	cp -r "$top/tests/guest" "$top/tests/selftest" "$top/tests/demo" "$root/tests/"
	cp -r "$top/bench/guest" "$root/bench/"
	if [ "$ourko" != - ] && [ -d "$ourko" ]; then
		find "$ourko" -name '*.ko' -exec cp {} "$root/lib/modules/$krel/extra/" \;
	fi
	# EXTRA_KO_DIRS: more directories of .ko files (e.g. the benchmark's).
	for d in ${EXTRA_KO_DIRS:-}; do
		find "$d" -name '*.ko' -exec cp {} "$root/lib/modules/$krel/extra/" \;
	done
	# TOOLS_DIR: the built tools (the Makefile passes $(BUILD)/tools).
	tools=${TOOLS_DIR:-$top/build/tools}
	if [ -d "$tools" ]; then
		mkdir -p "$root/opt/hims/tools"
		cp -r "$tools/." "$root/opt/hims/tools/"
	fi
	cp -r "$top/udev" "$root/opt/hims/"
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$cpio"
}

base=$(cache_dir)/initramfs/base-$krel-$(base_key).cpio
mkdir -p "$(dirname "$base")"
[ -s "$base" ] || { log "building initramfs base for $krel"; build_base "$base"; }
build_overlay "$out.overlay"
cat "$base" "$out.overlay" > "$out"
rm -f "$out.overlay"
