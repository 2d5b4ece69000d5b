# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by the benchmark drivers (bench/host/*-report.sh): the tree's
# paths, the VM harness's helpers, the options every driver takes and one
# benchmark VM run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../../tests/vm/common.sh
. "$top/tests/vm/common.sh"

# bench_args "$@": --kver (default 6.1), --ko (required), --out and --md
# into kver, ko, out and md (set a default for md before calling); the
# command line into cmdline ($BENCH_CMD when make runs the driver).  A
# driver's own options go to bench_opt <argument>..., which it may define:
# it sets nargs to the number of arguments it took, or leaves it 0.
kver=6.1 ko='' out='' md='' nargs=0
bench_opt() { :; }
# shellcheck disable=SC2034 # md is the drivers'
bench_args() {
	cmdline="${BENCH_CMD:-${here#"$top"/}/$(basename "$0") $*}"
	while [ $# -gt 0 ]; do
		case "$1" in
		--kver) kver=$2; shift 2 ;;
		--ko) ko=$2; shift 2 ;;
		--out) out=$2; shift 2 ;;
		--md) md=$2; shift 2 ;;
		*)
			nargs=0
			bench_opt "$@"
			[ "$nargs" -gt 0 ] || die "unknown argument $1"
			shift "$nargs"
			;;
		esac
	done
	[ -n "$ko" ] || die "--ko <dir with our modules> is required"
}

# bench_run <test>: boots the VM for one guest script (bench/guest/<name>),
# its output shown and kept in $out/bench.log.  Sets start (the date),
# elapsed (seconds), rc (run.sh's exit status) and status (PASS or why not).
bench_run() {
	local t0
	start=$(date -u '+%Y-%m-%d %H:%M UTC')
	t0=$(date +%s)
	set +e
	"$top/tests/vm/run.sh" --kver "$kver" --ko "$ko" --out "$out" --verbose "$1" |
		tee "$out/bench.log"
	rc=${PIPESTATUS[0]}
	set -e
	elapsed=$(( $(date +%s) - t0 ))
	status=PASS
	[ "$rc" = 0 ] || status="FAIL (run.sh exit $rc; see $out)"
}

# The lines every results file has about its run.
bench_md_run() {
	echo "- command: \`$cmdline\`"
	echo "- status: $status, ${elapsed}s wall time"
	echo "- date: $start"
}

# --- The image of a Debian 12 root tree (the dedup clones, the container
# deploy): built once and cached in $(cache_dir)/dedup-image.

# Writes "<4 KiB blocks> <non-zero blocks> <distinct non-zero blocks>" of $1.
block_stats() {
	if ! command -v python3 > /dev/null 2>&1; then
		echo "n/a n/a n/a"
		return 0
	fi
	python3 - "$1" <<'EOF'
import hashlib, sys
zero = bytes(4096)
n = nz = 0
seen = set()
with open(sys.argv[1], 'rb') as f:
    while True:
        b = f.read(4096)
        if not b:
            break
        n += 1
        if b != zero:
            nz += 1
            seen.add(hashlib.blake2b(b, digest_size=16).digest())
print(n, nz, len(seen))
EOF
}

# A root tree: debootstrap minbase, or a slice of the host's /usr.
build_tree() { # build_tree <dir>; prints what it is
	local tree=$1 f sum=0 sz
	rm -rf "$tree"
	if command -v debootstrap > /dev/null && [ "$(id -u)" = 0 ] &&
	   debootstrap --variant=minbase bookworm "$tree" \
		"${HIMS_DEBIAN_MIRROR:-http://deb.debian.org/debian}" > "$tree.log" 2>&1; then
		rm -f "$tree"/var/cache/apt/archives/*.deb
		echo "Debian 12 root tree: debootstrap --variant=minbase bookworm, .deb archives removed"
		return 0
	fi
	log "debootstrap unavailable or failed (see $tree.log); copying part of the host's /usr"
	rm -rf "$tree"
	mkdir -p "$tree"
	find /usr/bin /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -printf '%s %p\n' | sort -k2 |
	while read -r sz f; do
		sum=$((sum + sz))
		[ $sum -gt $((180 * 1000 * 1000)) ] && break
		cp --parents -p "$f" "$tree/"
	done
	cp -a /etc "$tree/" 2>/dev/null || true
	echo "a copy of ~180 MB of the host's /usr/bin and /usr/lib/x86_64-linux-gnu, and /etc"
}

dedup_image() {
	local base img tree mib what
	base=$(cache_dir)/dedup-image
	img=$base/root.img
	mkdir -p "$base"
	if [ ! -s "$img.stats" ]; then
		tree=$base/rootfs
		log "building the image to clone in $base"
		what=$(build_tree "$tree")
		# 1.5 x the tree, in 64 MiB steps: a root file system with room.
		mib=$(du -sm "$tree" | cut -f1)
		mib=$(( (mib * 3 / 2 + 63) / 64 * 64 ))
		rm -f "$img"
		mke2fs -q -F -t ext4 -L hims-clone -U 5a17c0de-0000-4000-8000-00000000c10e \
			-E root_owner=0:0 -d "$tree" "$img" "${mib}M" > "$base/mke2fs.log" 2>&1 ||
			die "mke2fs -d failed: $(tail -n 3 "$base/mke2fs.log")"
		echo "$(block_stats "$img") $(du -sm "$tree" | cut -f1) $what" > "$img.stats"
		rm -rf "$tree"
	fi
	echo "$img"
}
