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
