#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prove that the VM harness detects failures: a failing test, a kernel
# warning, a guest panic and a hung guest must each be reported as FAIL, the
# run must exit non-zero, and a good test after a panic must still PASS.
# usage: harness-selftest.sh <kver>
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kver=${1:-6.1}
log=$top/build/selftest-$kver.log
mkdir -p "$top/build"
HIMS_HANG_GRACE=15 "$top/tests/vm/run.sh" --kver "$kver" --out "$top/build/vm/selftest-$kver" \
	tests/selftest/fail tests/selftest/warn tests/selftest/panic \
	tests/selftest/pass tests/selftest/hang > "$log" 2>&1
rc=$?
bad=0
expect() { # expect <regex> <what>
	if grep -Eq "$1" "$log"; then
		echo "ok: $2"
	else
		echo "NOT DETECTED: $2"
		bad=1
	fi
}
expect "^FAIL $kver tests/selftest/fail: exit status 1" "failing test"
expect "^FAIL $kver tests/selftest/warn: kernel log: .*WARNING:" "kernel warning"
expect "^FAIL $kver tests/selftest/panic: kernel panic" "guest panic"
expect "^PASS $kver tests/selftest/pass" "test after a panic still runs"
expect "^FAIL $kver tests/selftest/hang: hung" "hung guest"
if [ "$rc" = 1 ]; then
	echo "ok: run exit status 1"
else
	echo "NOT DETECTED: run exit status $rc, want 1"
	bad=1
fi
[ "$bad" = 0 ] || { echo "--- harness output:"; cat "$log"; }
exit $bad
