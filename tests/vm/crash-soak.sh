#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make crash-soak: the crash-point replay test (tests/crash/README) N more
# times on one kernel, each boot with another seed (HIMS_SEED = first ..
# first + N - 1), and the total of crash points checked and failed.
#
# usage: crash-soak.sh --kver <6.1|6.12> --ko DIR --out DIR --runs N [--first S]
# CRASH_POINTS and CRASH_MODES pass through to the guest (tests/vm/run.sh).
# Prints one line a run and "crash-soak: P crash points, F failed, in R
# runs (B bad runs), S s"; exits 1 if a point or a run failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

kver='' ko='' out='' runs=4 first=1
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--ko) ko=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--first) first=$2; shift 2 ;;
	*) echo "crash-soak.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ -n "$kver" ] && [ -n "$ko" ] && [ -n "$out" ] && [ "$runs" -ge 1 ] 2>/dev/null ||
	{ echo "usage: crash-soak.sh --kver K --ko DIR --out DIR --runs N [--first S]" >&2; exit 2; }

mkdir -p "$out" || exit 1
total=0 failed=0 bad_runs=0 t0=$(date +%s)
for seed in $(seq "$first" $((first + runs - 1))); do
	dir=$out/$kver-$seed
	HIMS_SEED=$seed "$here/run.sh" --kver "$kver" --ko "$ko" --out "$dir" \
		tests/guest/crash/crash-replay > "$dir.log" 2>&1
	st=$?
	# The test's last summary line: "<P> crash points, <F> failed, in <S> s".
	line=$(sed -n 's/^\[[^]]*\] \([0-9]* crash points, [0-9]* failed, in [0-9]* s\)$/\1/p' \
		"$dir"/boot1/results.log 2>/dev/null | tail -n 1)
	if [ -z "$line" ]; then
		bad_runs=$((bad_runs + 1))
		echo "seed $seed: no summary (run status $st; see $dir.log)"
		continue
	fi
	# shellcheck disable=SC2086 # the summary's words
	set -- $line
	total=$((total + $1)) failed=$((failed + $4))
	[ "$st" = 0 ] || [ "$4" != 0 ] || bad_runs=$((bad_runs + 1))
	echo "seed $seed: $line (run status $st); so far $total points, $failed failed"
done
echo "crash-soak: $total crash points, $failed failed, in $runs runs ($bad_runs bad runs), $(($(date +%s) - t0)) s"
[ "$failed" = 0 ] && [ "$bad_runs" = 0 ]
