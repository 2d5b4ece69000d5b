#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DKMS: "dkms add" this tree's dkms.conf and "dkms build" it against the
# cached headers of each kernel (tests/vm/kernel.sh), in a private DKMS
# tree: nothing is installed on the host.  Checks both modules were built
# for the right kernel release.
# usage: dkms-test.sh [6.1|6.12]...   (default: both)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/vm/common.sh"
need_cmds dkms modinfo
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
[ -n "$ver" ] || die "no PACKAGE_VERSION in dkms.conf"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trees=(--sourcetree "$tmp/src" --dkmstree "$tmp/tree" --installtree "$tmp/install")
mkdir -p "$tmp/src/hims-$ver" "$tmp/tree" "$tmp/install"
# The same files "make dkms-install" puts into /usr/src/hims-<version>.
(cd "$top" && cp --parents dkms.conf Kbuild compat.h purec.h dm-*/Kbuild dm-*/*.[ch] \
	"$tmp/src/hims-$ver/")
dkms add -m hims -v "$ver" "${trees[@]}" > "$tmp/add.log" 2>&1 || { cat "$tmp/add.log"; die "dkms add failed"; }
fail=0
for k in "${@:-6.1 6.12}"; do
	for series in $k; do
		kdir=$("$here/vm/kernel.sh" "$series" kdir)
		krel=$("$here/vm/kernel.sh" "$series" krel)
		if ! dkms build -m hims -v "$ver" -k "$krel" --kernelsourcedir "$kdir" "${trees[@]}" \
			> "$tmp/build-$series.log" 2>&1; then
			tail -n 30 "$tmp/build-$series.log"
			tail -n 30 < "$tmp/tree/hims/$ver/build/make.log" 2>/dev/null || true
			echo "FAIL dkms build for $krel"
			fail=1
			continue
		fi
		for m in dm-hims dm-feedbac; do
			ko=$(find "$tmp/tree/hims/$ver/$krel" -name "$m.ko*" | head -n 1)
			if [ -z "$ko" ]; then
				echo "FAIL $m.ko not built for $krel"
				fail=1
			elif ! modinfo -F vermagic "$ko" | grep -q "^$krel "; then
				echo "FAIL $m.ko has vermagic '$(modinfo -F vermagic "$ko")', not $krel"
				fail=1
			else
				echo "ok $m for $krel: ${ko#"$tmp/tree/"}"
			fi
		done
	done
done
exit $fail
