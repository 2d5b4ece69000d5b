#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Count the PASS/FAIL lines of a make check run; exit 1 if any failed.
set -euo pipefail
file=$1
passed=$(grep -c '^PASS ' "$file" || true)
failed=$(grep -c '^FAIL ' "$file" || true)
if [ "$failed" -gt 0 ]; then
	echo "failed:"
	grep '^FAIL ' "$file" | sed 's/^FAIL /    /'
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
