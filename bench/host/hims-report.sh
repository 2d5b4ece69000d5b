#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the hims benchmark (bench/guest/hims.sh) in one VM and format its
# results: MB/s per device and test, ratios to raw brd and to the raw SSD,
# and the goals.  rapiddisk-cache is built from Debian's rapiddisk-dkms
# sources (apt-get download + dpkg-deb -x, never installed) for the guest
# kernel and put into the guest's initramfs.
#
# usage: hims-report.sh [--kver 6.1|6.12] --ko <dir> [--out <dir>] [--md <file>]
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

md=$top/bench/results/hims-results.md
bench_args "$@"
out=${out:-$top/build/bench/$kver}
mkdir -p "$out"
krel=$("$top/tests/vm/kernel.sh" "$kver" krel)
kdir=$("$top/tests/vm/kernel.sh" "$kver" kdir)

# rapiddisk.ko and rapiddisk-cache.ko for this kernel, built once; on failure
# the reason is kept and the guest reports the module as missing.
rd_na=
build_rapiddisk() {
	local base dir src log
	base=$(cache_dir)/rapiddisk
	dir=$base/build-$krel
	log=$base/build-$krel.log
	[ -e "$dir/.complete" ] && { echo "$dir"; return 0; }
	mkdir -p "$base"
	if ! ls "$base"/rapiddisk-dkms_*.deb >/dev/null 2>&1; then
		(cd "$base" && apt-get download rapiddisk-dkms >/dev/null 2>&1) ||
			{ rd_na="apt-get download rapiddisk-dkms failed"; return 1; }
	fi
	rm -rf "$base/src" "$dir"
	# shellcheck disable=SC2012 # Debian's file names, no odd characters
	dpkg-deb -x "$(ls "$base"/rapiddisk-dkms_*.deb | tail -n 1)" "$base/src"
	# shellcheck disable=SC2012 # the same
	src=$(ls -d "$base"/src/usr/src/rapiddisk-dkms-* | tail -n 1)
	cp -r "$src" "$dir"
	# Its Makefile's "all" wraps this same out-of-tree kbuild call.
	if ! make -C "$kdir" M="$dir" modules > "$log" 2>&1; then
		rd_na="build failed on $krel headers: $(grep -m1 -E 'error' "$log" | cut -c1-160)"
		return 1
	fi
	touch "$dir/.complete"
	echo "$dir"
}
log "building rapiddisk modules for $krel"
if rd_dir=$(build_rapiddisk); then
	export EXTRA_KO_DIRS=$rd_dir
else
	rd_na=${rd_na:-build failed}
	log "rapiddisk: $rd_na"
fi

log "running the benchmark VM (kernel $krel); this takes ~10 minutes under TCG"
bench_run bench/guest/hims

# BENCH <device> <test> <KiB/s> -> table and goals.
format() {
	awk -v rd_na="$rd_na" '
	# Best of the rounds, as CrystalDiskMark reports; every round is kept.
	$1 == "BENCH" {
		if (!(($2, $3) in kib) || $4 > kib[$2, $3]) kib[$2, $3] = $4
		runs[$2, $3] = runs[$2, $3] (runs[$2, $3] == "" ? "" : " ") sprintf("%.0f", mb($4))
		seen[$2] = 1; next }
	$1 == "BENCH_NA" && NF >= 3 && $3 ~ /^(seq|4k)-/ {
		d = $2; t = $3; $1 = $2 = $3 = ""; sub(/^ +/, ""); na[d, t] = $0; seen[d] = 1; next }
	$1 == "BENCH_NA" { d = $2; $1 = $2 = ""; sub(/^ +/, ""); dna[d] = $0; seen[d] = 1; next }
	function mb(k) { return k * 1024 / 1e6 }
	function cell(d, t) {
		if ((d, t) in kib) return sprintf("%8.1f", mb(kib[d, t]))
		if ((d, t) in na) return "n/a (" na[d, t] ")"
		return "n/a"
	}
	function ratio(d, t, ref) {
		if (!((d, t) in kib) || !((ref, t) in kib) || kib[ref, t] == 0) return "   -"
		return sprintf("%5.2fx", kib[d, t] / kib[ref, t])
	}
	function goal(what, d, t, ref, min,   r) {
		if (!((d, t) in kib) || !((ref, t) in kib) || kib[ref, t] == 0) {
			printf "- %-40s n/a (no result)\n", what
			return
		}
		r = kib[d, t] / kib[ref, t]
		printf "- %-40s %s: %.1f MB/s vs %s %.1f MB/s = %.2fx (goal >= %.2fx)\n", what,
			(r >= min ? "MET" : "NOT MET"), mb(kib[d, t]), ref, mb(kib[ref, t]), r, min
	}
	END {
		nd = split("brd ssd linear-brd hims-sync hims-async writecache rapiddisk-wt", devs, " ")
		nt = split("seq-read seq-write 4k-read 4k-write", tests, " ")
		if (!("rapiddisk-wt" in seen) && rd_na != "") dna["rapiddisk-wt"] = rd_na
		printf "| %-12s | %-9s | %8s | %7s | %7s | %-13s |\n", "device", "test", "MB/s", "vs brd", "vs SSD", "rounds (MB/s)"
		printf "|--------------|-----------|----------|---------|---------|---------------|\n"
		for (i = 1; i <= nd; i++) {
			d = devs[i]
			if (d in dna) {
				printf "| %-12s | %-9s | n/a (%s) | | | |\n", d, "all", dna[d]
				continue
			}
			for (j = 1; j <= nt; j++) {
				t = tests[j]
				printf "| %-12s | %-9s | %8s | %7s | %7s | %-13s |\n", d, t, cell(d, t),
					ratio(d, t, "brd"), ratio(d, t, "ssd"), runs[d, t]
			}
		}
		print ""
		print "Goals:"
		goal("hims sync  seq-read  >= 0.90x raw brd", "hims-sync", "seq-read", "brd", 0.90)
		goal("hims sync  4k-read   >= 0.90x raw brd", "hims-sync", "4k-read", "brd", 0.90)
		goal("hims async seq-read  >= 0.90x raw brd", "hims-async", "seq-read", "brd", 0.90)
		goal("hims async 4k-read   >= 0.90x raw brd", "hims-async", "4k-read", "brd", 0.90)
		goal("hims async seq-write >= 0.80x raw brd", "hims-async", "seq-write", "brd", 0.80)
		goal("hims async 4k-write  >= 0.80x raw brd", "hims-async", "4k-write", "brd", 0.80)
		goal("hims sync  seq-write >= 0.90x raw SSD", "hims-sync", "seq-write", "ssd", 0.90)
		goal("hims sync  4k-write  >= 0.90x raw SSD", "hims-sync", "4k-write", "ssd", 0.90)
	}' "$1"
}

report=$out/report.txt
format "$out/bench.log" > "$report"
info=$(sed -n 's/^INFO //p' "$out/bench.log")

echo
echo "=== hims benchmark, kernel $krel ($status)"
cat "$report"

mkdir -p "$(dirname "$md")"
{
	echo "# hims benchmark results"
	echo
	echo "CrystalDiskMark-style fio runs (as in the seed paper): Seq 128 KiB Q32T1"
	echo "and 4 KiB random Q32T1, read and write, direct I/O, libaio, one job, on a"
	echo "256 MiB region of each device, prefilled once.  All devices exist at once"
	echo "in one VM boot and run test by test, back to back, in two rounds (the"
	echo "second in reverse order); each run has a 1 s ramp and 5 s measured.  MB/s"
	echo "is 10^6 bytes/s, the best of the rounds as CrystalDiskMark reports; the"
	echo "last column has every round."
	echo
	bench_md_run
	echo "- guest kernel: Debian $krel, qemu TCG (-accel tcg -cpu max -smp 2 -m 3G)"
	echo "- qemu: $(qemu-system-x86_64 --version | head -n 1)"
	echo "- fio: $(fio --version) (the host's binary, copied into the guest)"
	echo "- host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	echo
	echo "Devices (each disk is a 1 GiB virtio-blk sparse image, host"
	echo "cache=writeback; each brd is a separate 768 MiB brd, pages allocated on"
	echo "write): \`brd\` raw /dev/ram0; \`ssd\` raw /dev/vda; \`linear-brd\`"
	echo "dm-linear over ram0 (dm's own cost); \`hims-sync\` ram1 + vdb and"
	echo "\`hims-async\` ram2 + vdc, 320 MiB RAM tier holding the region, both"
	echo "flushed (\`dmsetup message ... flush\`) before every run, so async"
	echo "writeback (watermarks, max_age 30 s) runs only during its own write runs;"
	echo "\`writecache\` dm-writecache \`s\` mode, ram3 as cache, vdd as origin,"
	echo "under its high watermark (no writeback); \`rapiddisk-wt\` rapiddisk-cache"
	echo "write-through over a 512 MiB RapidDisk /dev/rd0 with vde as origin, built"
	echo "from Debian's rapiddisk-dkms 9.0.0 sources."
	echo
	echo "Under TCG every figure is CPU-bound emulation on a shared host: noisy,"
	echo "and not a measure of real hardware."
	echo
	cat "$report"
	echo
	echo "Guest notes:"
	echo
	echo '```'
	echo "$info"
	echo '```'
} > "$md"
echo
echo "written: $md"

# The dedup benchmark, in a second boot; appends its sections to $md.
set +e
BENCH_CMD="$cmdline" "$here/hims-dedup-report.sh" --kver "$kver" --ko "$ko" \
	--out "$out/dedup" --md "$md"
drc=$?
set -e
[ "$rc" = 0 ] && rc=$drc
exit "$rc"
