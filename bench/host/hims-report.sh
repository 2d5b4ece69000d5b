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
#                        [--no-dedup] [--reformat]
# --no-dedup skips the dedup benchmark's boot; --reformat boots nothing and
# formats the logs an earlier run left in <out>.  BENCH_ROUNDS=<n> sets the
# rounds (default 5).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

md=$top/bench/results/hims-results.md
dedup=1 reformat=0
bench_opt() {
	case "$1" in
	--no-dedup) dedup=0; nargs=1 ;;
	--reformat) reformat=1; nargs=1 ;;
	esac
}
bench_args "$@"
out=${out:-$top/build/bench/$kver}
mkdir -p "$out"
krel=$("$top/tests/vm/kernel.sh" "$kver" krel)
if ! command -v gnuplot >/dev/null 2>&1; then
	log "installing gnuplot-nox (for the Table 2 plot)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends gnuplot-nox >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends gnuplot-nox >/dev/null; }
fi
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

# Calibration boot: raw brd's speed in this VM; the benchmark's disks are
# throttled to 1/DIVISOR of it, a real SSD's ratio against RAM.
DIVISOR=10
if [ "$reformat" = 0 ]; then
	log "calibrating: raw brd in a VM of kernel $krel"
	mkdir -p "$out/calibrate"
	"$top/tests/vm/run.sh" --kver "$kver" --ko "$ko" --out "$out/calibrate" --verbose \
		bench/guest/hims-calibrate | tee "$out/calibrate.log"
fi
read -r cal_bps cal_iops < <(sed -n 's/.*CALIB \([0-9]*\) \([0-9]*\).*/\1 \2/p' "$out/calibrate.log" | tail -n 1) ||
	die "no calibration figures (see $out/calibrate)"
[ "${cal_bps:-0}" -gt 0 ] && [ "${cal_iops:-0}" -gt 0 ] || die "no calibration figures (see $out/calibrate)"
throttle="$((cal_bps / DIVISOR)):$((cal_iops / DIVISOR))"
log "brd: $cal_bps B/s, $cal_iops IOPS; the disks are throttled to $throttle (B/s:IOPS)"

if [ "$reformat" = 0 ]; then
	log "running the benchmark VM (kernel $krel); this takes ~60 minutes under TCG"
	HIMS_DISK_THROTTLE=$throttle bench_run bench/guest/hims
	# The container deploy, in its own boot with the Debian root image.
	img=$(dedup_image)
	log "running the container deploy VM (kernel $krel, image $img)"
	mkdir -p "$out/apps"
	set +e
	HIMS_DISK_THROTTLE=$throttle HIMS_EXTRA_DISK=$img "$top/tests/vm/run.sh" --kver "$kver" \
		--ko "$ko" --out "$out/apps" --verbose bench/guest/hims-apps > "$out/apps.log" 2>&1
	arc=$?
	set -e
	[ "$arc" = 0 ] || { rc=$arc; status="FAIL (the deploy boot: run.sh exit $arc; see $out/apps)"; }
else
	start=$(date -u -r "$out/bench.log" '+%Y-%m-%d %H:%M UTC') elapsed='?' rc=0
	status="PASS (formatted again from $out/bench.log)"
fi

# DEPLOY <device> <ms to start> <ms to unmount> <round> -> medians and
# the time saved against the SSD alone.
format_apps() {
	awk '
	$1 == "DEPLOY" { n[$2]++; s[$2, n[$2]] = $3; u[$2, n[$2]] = $4; next }
	$1 == "BENCH_NA" { na[$2] = $0; next }
	function med(a, d,   c, i, j, t, v) {
		c = n[d]
		for (i = 1; i <= c; i++) v[i] = (a == "s" ? s[d, i] : u[d, i])
		for (i = 2; i <= c; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
	}
	function saved(a, d) {
		if (!n[d] || !n["ssd"] || !med(a, "ssd")) return "-"
		return sprintf("%+.0f %%", (med(a, "ssd") - med(a, d)) * 100 / med(a, "ssd"))
	}
	END {
		print "| device     | unpack and start (s) | time saved | with unmount (s) | time saved | rounds |"
		print "|------------|----------------------|------------|------------------|------------|--------|"
		split("ssd hims-sync hims-async", devs, " ")
		for (i = 1; i <= 3; i++) {
			d = devs[i]
			if (!n[d]) { printf "| %-10s | n/a | | | | 0 |\n", d; continue }
			printf "| %-10s | %20.1f | %10s | %16.1f | %10s | %6d |\n", d, med("s", d) / 1000,
				saved("s", d), med("u", d) / 1000, saved("u", d), n[d]
		}
	}' "$1"
}

# BENCH <device> <test> <numjobs> <KiB/s> <round> -> table and goals.
format() {
	awk -v rd_na="$rd_na" -v dat="$out/table2.dat" '
	$1 == "BENCH" {
		k = $2 SUBSEP $3 SUBSEP $4
		n[k]++; v[k, n[k]] = $5
		runs[k] = runs[k] (runs[k] == "" ? "" : " ") sprintf("%.0f", mb($5))
		seen[$2] = 1; next }
	$1 == "BENCH_NA" && NF >= 3 && $3 ~ /^(sustained-)?(seq|4k)-/ {
		d = $2; t = $3; $1 = $2 = $3 = ""; sub(/^ +/, ""); na[d, t] = $0; seen[d] = 1; next }
	$1 == "BENCH_NA" { d = $2; $1 = $2 = ""; sub(/^ +/, ""); dna[d] = $0; seen[d] = 1; next }
	$1 == "DIRTY" { dirty[$2, $3] = dirty[$2, $3] (dirty[$2, $3] == "" ? "" : " ") $4; hw[$2, $3] = $5; next }
	function mb(k) { return k * 1024 / 1e6 }
	# The median of the rounds of key k (sorts them in place).
	function med(k,   i, j, t, c) {
		c = n[k]
		if (!c) return -1
		for (i = 2; i <= c; i++)
			for (j = i; j > 1 && v[k, j - 1] > v[k, j]; j--) {
				t = v[k, j]; v[k, j] = v[k, j - 1]; v[k, j - 1] = t
			}
		return c % 2 ? v[k, (c + 1) / 2] : (v[k, c / 2] + v[k, c / 2 + 1]) / 2
	}
	function lo(k) { med(k); return v[k, 1] }
	function hi(k) { med(k); return v[k, n[k]] }
	function cell(d, t, j,   k) {
		k = d SUBSEP t SUBSEP j
		if (n[k]) return sprintf("%8.1f", mb(med(k)))
		if ((d, t) in na) return "n/a (" na[d, t] ")"
		return "n/a"
	}
	function spread(d, t, j,   k, m) {
		k = d SUBSEP t SUBSEP j
		if (!n[k] || !(m = med(k))) return "-"
		return sprintf("-%.0f/+%.0f %%", (m - lo(k)) * 100 / m, (hi(k) - m) * 100 / m)
	}
	function ratio(d, t, j, ref, rj,   a, b) {
		a = med(d SUBSEP t SUBSEP j); b = med(ref SUBSEP t SUBSEP rj)
		if (a < 0 || b <= 0) return "    -"
		return sprintf("%5.2fx", a / b)
	}
	function goal(what, d, t, j, ref, rt, rj, min,   a, b, r) {
		a = med(d SUBSEP t SUBSEP j); b = med(ref SUBSEP rt SUBSEP rj)
		if (a < 0 || b <= 0) {
			printf "- %-52s n/a (no result)\n", what
			return
		}
		r = a / b
		printf "- %-52s %s: %.1f vs %.1f MB/s = %.2fx (goal >= %.2fx)\n", what,
			(r >= min ? "MET" : "NOT MET"), mb(a), mb(b), r, min
	}
	END {
		nd = split("brd linear-brd ssd hims-sync hims-async writecache rapiddisk-wt", devs, " ")
		nt = split("seq-read seq-write 4k-read 4k-write", tests, " ")
		if (!("rapiddisk-wt" in seen) && rd_na != "") dna["rapiddisk-wt"] = rd_na
		print "Foreground (hims: region under the watermarks, no writeback during a run):"
		print ""
		printf "| %-12s | %-9s | %2s | %8s | %-13s | %10s | %7s | %-24s |\n", "device", "test", "nj", "MB/s", "spread", "vs linear", "vs SSD", "rounds (MB/s)"
		printf "|--------------|-----------|----|----------|---------------|------------|---------|--------------------------|\n"
		for (i = 1; i <= nd; i++) {
			d = devs[i]
			if (d in dna) {
				printf "| %-12s | %-9s |    | n/a (%s) | | | | |\n", d, "all", dna[d]
				continue
			}
			for (t = 1; t <= nt; t++)
				for (j = 1; j <= 2; j++)
					printf "| %-12s | %-9s | %2d | %8s | %-13s | %10s | %7s | %-24s |\n", d, tests[t], j,
						cell(d, tests[t], j), spread(d, tests[t], j),
						ratio(d, tests[t], j, "linear-brd", j), ratio(d, tests[t], j, "ssd", j),
						runs[d SUBSEP tests[t] SUBSEP j]
		}
		print ""
		print "Sustained (numjobs 1, the whole 320 MiB RAM tier, twice the high watermark):"
		print ""
		printf "| %-12s | %-19s | %8s | %-13s | %7s | %-24s |\n", "device", "test", "MB/s", "spread", "vs SSD", "rounds (MB/s)"
		printf "|--------------|---------------------|----------|---------------|---------|--------------------------|\n"
		split("ssd hims-async", sd, " ")
		for (i = 1; i <= 2; i++)
			for (t = 2; t <= 4; t += 2) {
				tt = "sustained-" tests[t]
				printf "| %-12s | %-19s | %8s | %-13s | %7s | %-24s |\n", sd[i], tt, cell(sd[i], tt, 1),
					spread(sd[i], tt, 1), ratio(sd[i], tt, 1, "ssd", 1), runs[sd[i] SUBSEP tt SUBSEP 1]
			}
		# Table 2 of the seed paper: hims against the SSD alone, Q32T1.
		print ""
		print "Table 2 of the seed paper (CrystalDiskMark Q32T1, numjobs 1): hims against the throttled SSD alone:"
		print ""
		printf "| %-9s | %9s | %9s | %10s | %9s | %10s |\n", "test", "SSD MB/s", "sync MB/s", "sync / SSD", "async MB/s", "async / SSD"
		printf "|-----------|-----------|-----------|------------|------------|-------------|\n"
		printf "# test ssd hims-sync hims-async (MB/s, medians)\n" > dat
		for (t = 1; t <= nt; t++) {
			a = med("ssd" SUBSEP tests[t] SUBSEP 1)
			b = med("hims-sync" SUBSEP tests[t] SUBSEP 1)
			c = med("hims-async" SUBSEP tests[t] SUBSEP 1)
			printf "| %-9s | %9.1f | %9.1f | %10s | %10.1f | %11s |\n", tests[t], mb(a), mb(b),
				ratio("hims-sync", tests[t], 1, "ssd", 1), mb(c), ratio("hims-async", tests[t], 1, "ssd", 1)
			printf "%s %.1f %.1f %.1f\n", tests[t], mb(a), mb(b), mb(c) > dat
		}
		close(dat)
		print ""
		print "Goals:"
		goal("async seq-write (fg) >= 0.95x dm-linear over brd", "hims-async", "seq-write", 1, "linear-brd", "seq-write", 1, 0.95)
		goal("async 4k-write (fg)  >= 0.95x dm-linear over brd", "hims-async", "4k-write", 1, "linear-brd", "4k-write", 1, 0.95)
		goal("sync  seq-read       >= 0.98x dm-linear over brd", "hims-sync", "seq-read", 1, "linear-brd", "seq-read", 1, 0.98)
		goal("sync  4k-read        >= 0.98x dm-linear over brd", "hims-sync", "4k-read", 1, "linear-brd", "4k-read", 1, 0.98)
		goal("async seq-read       >= 0.98x dm-linear over brd", "hims-async", "seq-read", 1, "linear-brd", "seq-read", 1, 0.98)
		goal("async 4k-read        >= 0.98x dm-linear over brd", "hims-async", "4k-read", 1, "linear-brd", "4k-read", 1, 0.98)
		goal("async sustained seq-write >= 0.90x the SSD", "hims-async", "sustained-seq-write", 1, "ssd", "sustained-seq-write", 1, 0.90)
		goal("async sustained 4k-write  >= 0.90x the SSD", "hims-async", "sustained-4k-write", 1, "ssd", "sustained-4k-write", 1, 0.90)
		goal("sync  seq-write      >= 0.90x the SSD", "hims-sync", "seq-write", 1, "ssd", "seq-write", 1, 0.90)
		goal("sync  4k-write       >= 0.90x the SSD", "hims-sync", "4k-write", 1, "ssd", "4k-write", 1, 0.90)
		for (t = 1; t <= nt; t++) {
			goal("async " tests[t] " numjobs 2 >= 1.6x numjobs 1", "hims-async", tests[t], 2, "hims-async", tests[t], 1, 1.6)
			if (tests[t] ~ /read/)
				goal("sync  " tests[t] " numjobs 2 >= 1.6x numjobs 1", "hims-sync", tests[t], 2, "hims-sync", tests[t], 1, 1.6)
		}
		for (t = 2; t <= 4; t += 2) {
			k = "hims-async" SUBSEP "sustained-" tests[t]
			if (k in dirty)
				printf "- async sustained-%s: dirty blocks at the end of each round %s (high watermark %d)\n",
					tests[t], dirty[k], hw[k]
		}
	}' "$1"
}

report=$out/report.txt
format "$out/bench.log" > "$report"
if [ -s "$out/apps.log" ]; then
	{
		echo
		echo "Container deploy (the seed paper's application test; medians of the rounds, s):"
		echo
		format_apps "$out/apps.log"
		echo
		sed -n 's/^INFO /- /p' "$out/apps.log" | grep -v 'status:' | head -n 3
	} >> "$report"
fi
png=${md%.md}-table2.png
if command -v gnuplot > /dev/null 2>&1 && [ -s "$out/table2.dat" ]; then
	gnuplot <<-EOF || log "gnuplot failed: no $png"
		set terminal png size 800,480
		set output '$png'
		set title "hims vs the throttled SSD alone (CrystalDiskMark Q32T1, kernel $krel, TCG)"
		set ylabel 'MB/s (median of rounds)'
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		set key top right
		set yrange [0:*]
		set grid ytics
		plot '$out/table2.dat' using 2:xtic(1) title 'SSD alone', \
		     '' using 3 title 'hims sync', '' using 4 title 'hims async'
	EOF
fi
info=$(sed -n 's/^INFO //p' "$out/bench.log")

echo
echo "=== hims benchmark, kernel $krel ($status)"
cat "$report"

mkdir -p "$(dirname "$md")"
{
	echo "# hims benchmark results"
	echo
	echo "CrystalDiskMark-style fio runs (as in the seed paper): Seq 128 KiB Q32"
	echo "and 4 KiB random Q32, read and write, direct I/O, libaio, numjobs 1 and 2"
	echo "(nj), on a 128 MiB region of each device, prefilled once.  The"
	echo "virtio disks are throttled by qemu to 1/$DIVISOR of raw brd's speed measured"
	echo "in a calibration boot just before ($cal_bps B/s and $cal_iops IOPS:"
	echo "throttle $throttle B/s:IOPS), so that the SSD, not the emulated CPU, is"
	echo "the slow leg.  All devices exist at once in one VM boot and run test by"
	echo "test, back to back, in interleaved rounds (every other one in reverse"
	echo "order); each run has a 1 s ramp and 3 s measured (sustained: 20 s).  MB/s"
	echo "is 10^6 bytes/s, the median of the rounds; the spread is the lowest and"
	echo "highest round against it; the last column has every round."
	echo
	bench_md_run
	echo "- guest kernel: Debian $krel, qemu TCG (-accel tcg -cpu max -smp 2 -m 3G)"
	echo "- qemu: $(qemu-system-x86_64 --version | head -n 1)"
	echo "- fio: $(fio --version) (the host's binary, copied into the guest)"
	echo "- host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	echo
	echo "Devices (each disk is a 1 GiB virtio-blk sparse image, host"
	echo "cache=writeback, throttled; each brd is a separate 768 MiB brd, pages"
	echo "allocated on write): \`brd\` raw /dev/ram0; \`linear-brd\` dm-linear over"
	echo "ram0 (dm's own cost); \`ssd\` raw /dev/vda; \`hims-sync\` ram1 + vdb and"
	echo "\`hims-async\` ram2 + vdc, 320 MiB RAM tier, watermarks 50/45 %, max_age"
	echo "an hour, both flushed (\`dmsetup message ... flush\`) before every run:"
	echo "in the foreground runs the region stays under the watermarks and no"
	echo "writeback runs; the sustained runs write the whole tier;"
	echo "\`writecache\` dm-writecache \`s\` mode, ram3 as cache, vdd as origin,"
	echo "under its high watermark (no writeback); \`rapiddisk-wt\` rapiddisk-cache"
	echo "write-through over a 512 MiB RapidDisk /dev/rd0 with vde as origin, built"
	echo "from Debian's rapiddisk-dkms sources."
	echo
	echo "Under TCG the RAM figures are CPU-bound emulation on a shared host:"
	echo "noisy, and not a measure of real hardware; the SSD's are qemu's throttle."
	echo
	cat "$report"
	echo
	[ -e "$png" ] && echo "![Table 2: hims vs the SSD alone]($(basename "$png"))" && echo
	echo "Guest notes:"
	echo
	echo '```'
	echo "$info"
	echo '```'
} > "$md"
echo
echo "written: $md"

[ "$dedup" = 1 ] && [ "$reformat" = 0 ] || exit "$rc"
# The dedup benchmark, in a second boot; appends its sections to $md.
set +e
BENCH_CMD="$cmdline" "$here/hims-dedup-report.sh" --kver "$kver" --ko "$ko" \
	--out "$out/dedup" --md "$md"
drc=$?
set -e
[ "$rc" = 0 ] && rc=$drc
exit "$rc"
