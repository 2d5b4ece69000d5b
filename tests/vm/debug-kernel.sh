#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, once, a 6.1 kernel with the debugging options on (KASAN, lockdep,
# kmemleak, ...) from Debian's linux-source-6.1, for the VM tests.  Cached
# next to the fetched kernels in kernels/6.1-debug-<source version>: a new
# source package unpacks and builds anew; a changed config fragment or this
# script rebuilds in place (make is incremental).
#
# usage: debug-kernel.sh <kdir|krel|vmlinux|root|fetch>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

what=${1:-fetch}
frag=$here/debug-kernel.config
tarball=/usr/src/linux-source-6.1.tar.xz

src_version() {
	dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true
}

# The source package only, never a kernel image: apt-get puts the tarball in
# /usr/src and runs no hooks.
ensure_source() {
	[ -n "$(src_version)" ] && [ -e "$tarball" ] && return 0
	log "installing linux-source-6.1"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends linux-source-6.1 >/dev/null 2>&1 ||
		{ apt-get update >/dev/null &&
		  apt-get install -y --no-install-recommends linux-source-6.1 >/dev/null; } ||
		die "cannot install linux-source-6.1"
}

ensure_source
ver=$(src_version)
dir=$(cache_dir)/kernels/6.1-debug-$ver
src=$dir/linux-source-6.1
# What the built tree depends on besides the source package: the fragment,
# and this number, raised when a change here needs a rebuild.
layout=3
key=$(echo "$layout" | cat - "$frag" | sha256sum | cut -c1-16)

# Fails loudly when Kconfig dropped an option of the fragment (a missing
# dependency): a debug kernel without its checks would pass for one.
check_config() {
	local line sym bad=0
	while read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$src/.config" ||
				{ echo "debug kernel: want $line, have $(grep -E "^(# )?${line%%=*}[= ]" "$src/.config" || echo none)" >&2; bad=1; }
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			grep -qE "^$sym=" "$src/.config" &&
				{ echo "debug kernel: want $sym off, have $(grep -E "^$sym=" "$src/.config")" >&2; bad=1; }
			;;
		esac
	done < "$frag"
	return $bad
}

build() {
	local start t
	need_cmds make gcc flex bison bc xz
	[ -e /usr/include/libelf.h ] || die "debug kernel: libelf-dev is missing (make deps)"
	start=$(date +%s)
	if [ ! -e "$src/Makefile" ]; then
		log "unpacking linux-source-6.1 $ver into $dir"
		# Only one debug tree is kept: an older source version's goes.
		local old
		for old in "$(cache_dir)"/kernels/6.1-debug-*/; do
			[ "${old%/}" = "$dir" ] || rm -rf "$old" "${old%/}.lock"
		done
		# Unpacked aside, then moved: a stopped unpack leaves no half tree.
		rm -rf "$dir/unpack.tmp"
		mkdir -p "$dir/unpack.tmp"
		tar -C "$dir/unpack.tmp" -xf "$tarball"
		mv "$dir/unpack.tmp/linux-source-6.1" "$src"
		rmdir "$dir/unpack.tmp"
	fi
	log "configuring the debug kernel"
	# allnoconfig with the fragment forced: what it does not ask for is off.
	# A release name of its own keeps its modules apart from a stock kernel's.
	{ cat "$frag"; echo 'CONFIG_LOCALVERSION="-hims-debug"'; } > "$dir/allno.config"
	make -C "$src" -s KCONFIG_ALLCONFIG="$dir/allno.config" allnoconfig
	check_config || die "debug kernel: config check failed (see above)"
	log "building the debug kernel in $src (this takes long under load)"
	nice -n 19 make -C "$src" -s -j"${JOBS:-2}" bzImage modules
	rm -rf "$dir/root"
	make -C "$src" -s INSTALL_MOD_PATH="$dir/root" modules_install
	# This kernel's PVH entry resets the guest before any output (KASAN's
	# early code, not found yet): boot it through the bzImage instead.
	cp "$src/arch/x86/boot/bzImage" "$dir/bzImage"
	t=$(($(date +%s) - start))
	echo "$t" > "$dir/build-seconds"
	log "debug kernel built in ${t} s"
	echo "$key" > "$dir/.complete"
}

fetch() {
	[ "$(cat "$dir/.complete" 2>/dev/null)" = "$key" ] && return 0
	mkdir -p "$dir"
	# Two runs must not build the same tree at once.
	exec 9> "$dir.lock"
	flock 9
	[ "$(cat "$dir/.complete" 2>/dev/null)" = "$key" ] || build
	exec 9>&-
}

krel() {
	fetch
	make -C "$src" -s kernelrelease
}

case "$what" in
fetch)   fetch; echo "$dir" ;;
kdir)    fetch; echo "$src" ;;
krel)    krel ;;
vmlinux) fetch; echo "$dir/bzImage" ;;
root)    fetch; echo "$dir/root" ;;
*)       die "unknown request '$what'" ;;
esac
