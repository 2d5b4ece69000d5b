#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The dm-hims dedup benchmark (bench/guest/hims-dedup.sh) in its own VM
# boot, with an ext4 image of a Debian 12 root tree attached read-only as
# the last disk (run.sh's HIMS_EXTRA_DISK); formats the results and appends
# them to the hims results (bench/host/hims-report.sh runs this after the
# device comparison).
#
# The image is built on the host once and cached in $(cache_dir)/dedup-image:
# debootstrap --variant=minbase bookworm (the .deb archives removed, as
# apt-get clean does), or, without debootstrap or root or a mirror, a copy of
# ~180 MB of the host's /usr/bin and /usr/lib/x86_64-linux-gnu; then
# mke2fs -t ext4 -d <tree>.  HIMS_DEDUP_IMAGE=<file> uses another image
# (a whole number of MiB).
#
# usage: hims-dedup-report.sh [--kver 6.1|6.12] --ko <dir> [--out <dir>] [--md <file>]
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

md=$top/bench/results/hims-results.md
bench_args "$@"
out=${out:-$top/build/bench/$kver/dedup}
mkdir -p "$out"
krel=$("$top/tests/vm/kernel.sh" "$kver" krel)
need_cmds mke2fs

if [ -n "${HIMS_DEDUP_IMAGE:-}" ]; then
	img=$HIMS_DEDUP_IMAGE
	stats="$(block_stats "$img") $(($(stat -c %s "$img") / 1000000)) the image $img"
else
	img=$(dedup_image)
	stats=$(cat "$img.stats")
fi
read -r st_blocks st_nonzero st_distinct st_tree_mb st_what <<<"$stats"
log "image $img: $st_blocks blocks, $st_nonzero non-zero, $st_distinct distinct non-zero"

log "running the dedup benchmark VM (kernel $krel)"
HIMS_EXTRA_DISK=$img bench_run bench/guest/hims-dedup

format() {
	awk -v nonzero="$st_nonzero" -v distinct="$st_distinct" '
	function mb(k) { return k * 1024 / 1e6 }
	function mib(blocks) { return blocks * 4096 / 1048576 }
	$1 == "BENCH" {
		if (!(($2, $3) in kib) || $4 > kib[$2, $3]) kib[$2, $3] = $4
		r[$2, $3, $5] = $4
		runs[$2, $3] = runs[$2, $3] (runs[$2, $3] == "" ? "" : " ") sprintf("%.0f", mb($4))
		next }
	$1 == "BENCH_NA" { d = $2; t = $3; $1 = $2 = $3 = ""; sub(/^ +/, ""); na[d, t] = $0; next }
	$1 == "CLONE" { nc++; c[$2] = $0; next }
	$1 == "IMAGE" { img_bytes = $2; img_blocks = $3; one = $4; next }
	$1 == "RESTORE" { nrs[$2]++; rs[$2, nrs[$2]] = $0; next }
	$1 == "VERIFY" { v = $0; sub(/^VERIFY /, "", v); verify = verify "- " v "\n"; next }
	function cell(d, t) {
		if ((d, t) in kib) return sprintf("%7.1f", mb(kib[d, t]))
		if ((d, t) in na) return "n/a (" na[d, t] ")"
		return "n/a"
	}
	function ratio(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "-" }
	# Ratio of a to b in each round, to show the spread.
	function rounds(da, ta, db, tb,   i, s) {
		s = ""
		for (i = 1; i <= 3; i++)
			if ((da, ta, i) in r && (db, tb, i) in r && r[db, tb, i] > 0)
				s = s (s == "" ? "" : " ") sprintf("%.2f", r[da, ta, i] / r[db, tb, i])
		return s
	}
	function goal(what, da, ta, db, tb, min,   q) {
		if (!((da, ta) in kib) || !((db, tb) in kib) || kib[db, tb] == 0) {
			printf "- %-46s n/a (no result)\n", what
			return
		}
		q = kib[da, ta] / kib[db, tb]
		printf "- %-46s %s: %.1f vs %.1f MB/s = %.2fx (goal >= %.2fx; per round %s)\n", what,
			(q >= min ? "MET" : "NOT MET"), mb(kib[da, ta]), mb(kib[db, tb]), q, min,
			rounds(da, ta, db, tb)
	}
	END {
		print "### Write throughput, dedup off vs on"
		print ""
		printf "| %-14s | %13s | %12s | %6s | %-15s | %-15s |\n", "test", "off MB/s", "on MB/s", "on/off", "rounds off", "rounds on"
		print "|----------------|---------------|--------------|--------|-----------------|-----------------|"
		nt = split("seq-write-uniq 4k-write-uniq seq-write-dup 4k-write-dup", ts, " ")
		for (j = 1; j <= nt; j++) {
			t = ts[j]
			printf "| %-14s | %13s | %12s | %6s | %-15s | %-15s |\n", t, cell("hims-async", t),
				cell("hims-dedup", t), ratio(kib["hims-dedup", t], kib["hims-async", t]),
				runs["hims-async", t], runs["hims-dedup", t]
		}
		print ""
		print "### Ten clones of the image"
		print ""
		if (img_blocks == "") { print "n/a (no result)"; exit }
		printf "| clone | write s | MB/s  | flush s | mapped | RAM blocks (MiB)  | zero   | spilled | ratio  |\n"
		print "|-------|---------|-------|---------|--------|-------------------|--------|---------|--------|"
		tw = tf = 0
		for (i = 0; i < nc; i++) {
			split(c[i], f, " ")
			tw += f[3]; tf += f[4]
			printf "| %5d | %7.2f | %5.0f | %7.2f | %6d | %7d (%7.1f) | %6d | %7d | %6s |\n", f[2], f[3],
				(f[3] > 0 ? img_bytes / f[3] / 1e6 : 0), f[4], f[5], f[6], mib(f[6]), f[7], f[8], f[9]
			last = f[6]; ratio10 = f[9]
		}
		printf "| total | %7.2f | %5.0f | %7.2f |        |                   |        |         |        |\n",
			tw, (tw > 0 ? nc * img_bytes / tw / 1e6 : 0), tf
		print ""
		printf "- image: %.0f MiB, %d blocks; %s non-zero (%.1f MiB), %s distinct non-zero (host count)\n",
			img_bytes / 1048576, img_blocks, nonzero, (nonzero ~ /^[0-9]+$/ ? mib(nonzero) : 0), distinct
		printf "- RAM after 1 clone: %d blocks (%.1f MiB); after %d clones: %d blocks (%.1f MiB); dedup ratio %s\n",
			one, mib(one), nc, last, mib(last), ratio10
		printf "- without dedup the %d clones would take %d RAM-tier blocks (%.1f MiB): %.2fx the RAM used\n",
			nc, nc * img_blocks, mib(nc * img_blocks), (last > 0 ? nc * img_blocks / last : 0)
		print ""
		print "### Restore into an empty RAM device"
		print ""
		printf "| %-8s | %-27s | %-26s | %6s | %9s | %11s | %12s |\n", "tier", "logical data held", "blocks copied", "load s", "restore s", "copied MB/s", "logical MB/s"
		print "|----------|-----------------------------|----------------------------|--------|-----------|-------------|--------------|"
		for (k = 1; k <= 2; k++) {
			kind = (k == 1 ? "dedup" : "core")
			if (!(kind in nrs)) { printf "| %-8s | n/a | | | | | |\n", kind; continue }
			for (n = 1; n <= nrs[kind]; n++) {
				split(rs[kind, n], f, " ")
				lg[kind] = f[3]; cp[kind] = f[4]
				if (!(kind in tr) || f[6] < tr[kind]) tr[kind] = f[6]
				printf "| %-8s | %6d blocks (%7.1f MiB) | %6d blocks (%6.1f MiB) | %6.2f | %9.2f | %11.1f | %12.1f |\n",
					kind " #" n, f[3], mib(f[3]), f[4], mib(f[4]), f[5], f[6],
					(f[6] > 0 ? f[4] * 4096 / f[6] / 1e6 : 0), (f[6] > 0 ? f[3] * 4096 / f[6] / 1e6 : 0)
			}
		}
		print ""
		if (("dedup" in tr) && ("core" in tr) && cp["core"] > 0) {
			est = tr["core"] * lg["dedup"] / cp["core"]
			printf "- best of the cuts: dedup restored %.1f MiB of logical data by copying %d unique blocks in\n", mib(lg["dedup"]), cp["dedup"]
			printf "  %.2f s; the core restored %.1f MiB (every block written, zero blocks too) in %.2f s.  At the\n", tr["dedup"], mib(lg["core"]), tr["core"]
			printf "  core'"'"'s rate the same %d clones without dedup would take about %.1f s (extrapolated:\n", nc, est
			printf "  %.1fx the dedup restore), and %.1f MiB of RAM, which this guest does not have.\n",
				(tr["dedup"] > 0 ? est / tr["dedup"] : 0), mib(nc * img_blocks)
		}
		print ""
		print "Checks:"
		print ""
		printf "%s", verify
		print ""
		print "Goals:"
		print ""
		if (last != "" && one > 0) {
			q1 = last / one
			q2 = (nonzero ~ /^[0-9]+$/ && nonzero > 0) ? last / nonzero : q1
			q = q1 > q2 ? q1 : q2
			printf "- %-46s %s: %d blocks (%.1f MiB) = %.3fx one clone (%d blocks), %.3fx the image'"'"'s non-zero blocks (%s) (goal <= 1.10x)\n",
				"ten clones hold <= 1.1x one image of RAM", (q <= 1.10 ? "MET" : "NOT MET"),
				last, mib(last), q1, one, q2, nonzero
		} else {
			printf "- %-46s n/a (no result)\n", "ten clones hold <= 1.1x one image of RAM"
		}
		goal("dedup-on seq-write unique >= 0.80x dedup-off", "hims-dedup", "seq-write-uniq", "hims-async", "seq-write-uniq", 0.80)
		goal("dedup-on 4k-write  unique >= 0.80x dedup-off", "hims-dedup", "4k-write-uniq", "hims-async", "4k-write-uniq", 0.80)
		goal("dedup-on seq-write duplicate >= unique", "hims-dedup", "seq-write-dup", "hims-dedup", "seq-write-uniq", 1.00)
		goal("dedup-on 4k-write  duplicate >= unique", "hims-dedup", "4k-write-dup", "hims-dedup", "4k-write-uniq", 1.00)
	}' "$1"
}

report=$out/report.txt
format "$out/bench.log" > "$report"
info=$(sed -n 's/^INFO //p' "$out/bench.log")

echo
echo "=== hims dedup benchmark, kernel $krel ($status)"
cat "$report"

mkdir -p "$(dirname "$md")"
{
	echo
	echo "## dm-hims dedup"
	echo
	echo "A second VM boot (bench/guest/hims-dedup.sh), same qemu settings, with the"
	echo "image to clone attached read-only as the last virtio disk."
	echo
	bench_md_run
	echo "- guest kernel: Debian $krel; host load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
	echo "- image: ext4 made on the host with \`mke2fs -t ext4 -d\`, $(( st_blocks * 4 / 1024 )) MiB, from $st_tree_mb MB of files: $st_what"
	echo
	echo "Write throughput: hims async over a 320 MiB brd (+ its 4 KiB header) and"
	echo "its own 1 GiB virtio disk, without and with \`dedup 81920\` (the same"
	echo "length and the same 81920-block logical RAM tier), a 256 MiB region"
	echo "prefilled with unique data; fio 128 KiB sequential and 4 KiB random"
	echo "writes, QD32, one job, direct, 1 s ramp + 5 s, three rounds (the second in"
	echo "reverse order, the third as the first), both devices flushed (with dedup: a metadata commit)"
	echo "before every run.  Unique data is fio's default buffers (scramble_buffers:"
	echo "offset and time in every 512 bytes, so every 4 KiB block differs); fully"
	echo "duplicate data is \`--buffer_pattern=0x5a17c0de\` (every block alike).  MB/s is"
	echo "10^6 bytes/s, the best of the rounds; the rounds columns list each."
	echo
	echo "Clones: a dedup device with a RAM device of 1.2 images, a logical RAM"
	echo "tier of 10 images + 1 MiB (\`dedup\`), async; each clone written by"
	echo "\`dd bs=1M oflag=direct\` from a tmpfs copy of the image at the next image"
	echo "offset, then \`dmsetup message ... flush\` (a commit), timed apart; RAM"
	echo "blocks = status field 15, zero = 16, spilled = 17, ratio = 18.  Restore:"
	echo "flush, remove, \`rmmod brd\`, \`modprobe brd\` (empty RAM), then the time from"
	echo "\`dmsetup create\` until status fields 6 == 7 (polled every 0.1 s), for the"
	echo "dedup device and for the same RAM device without dedup (the core), which"
	echo "holds as much of the clones' data as its RAM tier does (1.2 images); two"
	echo "cuts each (#1, #2); load s is the \`dmsetup create\` (with dedup: reading the"
	echo "metadata), included in restore s."
	echo
	echo "Under TCG on a shared, loaded host every figure is CPU-bound emulation"
	echo "and noisy (runs of the same test can differ several-fold: see the rounds"
	echo "columns and the per-round ratios); nothing here measures real"
	echo "hardware."
	echo
	cat "$report"
	echo
	echo "Guest notes:"
	echo
	echo '```'
	echo "$info"
	echo '```'
} >> "$md"
echo
echo "appended to: $md"
exit "$rc"
