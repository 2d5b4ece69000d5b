# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared helpers for the host side of the VM harness.

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

cache_dir() {
	local d=${HIMS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hims}
	mkdir -p "$d"
	echo "$d"
}

need_cmds() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "missing command '$c' (run tests/vm/deps.sh)"
	done
}
