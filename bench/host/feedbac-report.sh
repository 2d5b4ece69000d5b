#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the dm-feedbac benchmark (bench/guest/feedbac.sh) in one VM and format
# its results: each group's share and its error against the ideal share,
# Jain's fairness index on throughput/weight and the total throughput as a
# ratio to no control, per configuration and workload; the dynamic run's
# predicted vs measured credit per period and the groups' shares over time
# (bench/results/feedbac-dynamic.png, drawn with gnuplot); the goals.
#
# While the VM runs, a watcher here reads the guest's "QMPREQ iops <n> <tag>"
# lines from the results channel and throttles the NVMe drive (qemu drive id
# nv0, see tests/vm/run.sh) over QMP: block_set_io_throttle, iops-total <n>
# (0 = unthrottled).  The watcher logs what it did in <out>/qmp.log.
#
# usage: feedbac-report.sh [--kver 6.1|6.12] --ko <dir> [--out <dir>]
#                          [--md <file>] [--png <file>] [--quick]
# --quick runs bench/guest/feedbac-quick.sh (5 s phases) and writes the
# report under <out> instead of bench/results/.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

png='' quick=0
bench_opt() {
	case "$1" in
	--png) png=$2; nargs=2 ;;
	--quick) quick=1; nargs=1 ;;
	esac
}
bench_args "$@"
out=${out:-$top/build/bench-feedbac/$kver}
mkdir -p "$out"
out=$(cd "$out" && pwd)
test=bench/guest/feedbac
if [ "$quick" = 1 ]; then
	test=bench/guest/feedbac-quick
	md=${md:-$out/feedbac-results.md}
	png=${png:-$out/feedbac-dynamic.png}
fi
md=${md:-$top/bench/results/feedbac-results.md}
png=${png:-$top/bench/results/feedbac-dynamic.png}
need_cmds python3
if ! command -v gnuplot >/dev/null 2>&1; then
	log "installing gnuplot-nox (for the plot)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends gnuplot-nox >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends gnuplot-nox >/dev/null; }
fi
krel=$("$top/tests/vm/kernel.sh" "$kver" krel)

# The QMP watcher: follows <out>/boot1/results.log (run.sh's one boot) and
# answers QMPREQ lines; exits when <out>/.watch-stop appears.
watcher() {
	python3 - "$out" <<'PY'
import json, os, re, socket, sys, time

out = sys.argv[1]
res, sock = out + "/boot1/results.log", out + "/boot1/qmp.sock"
log = open(out + "/qmp.log", "a", buffering=1)

def qmp(cmd, args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    f = s.makefile("rw")
    json.loads(f.readline())			# greeting
    for c, a in (("qmp_capabilities", {}), (cmd, args)):
        f.write(json.dumps({"execute": c, "arguments": a}) + "\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                break
    s.close()
    return r

seen_ino, pos = None, 0
while not os.path.exists(out + "/.watch-stop"):
    try:
        st = os.stat(res)
    except FileNotFoundError:
        time.sleep(0.1)
        continue
    if st.st_ino != seen_ino:
        seen_ino, pos = st.st_ino, 0
    with open(res, "rb") as f:
        f.seek(pos)
        data = f.read()
    nl = data.rfind(b"\n")
    if nl < 0:
        time.sleep(0.1)
        continue
    pos += nl + 1
    for raw in data[:nl].split(b"\n"):
        m = re.search(r"QMPREQ iops (\d+)(.*)", raw.decode(errors="replace"))
        if not m:
            continue
        n, tag = int(m.group(1)), m.group(2).strip()
        args = {"device": "nv0", "bps": 0, "bps_rd": 0, "bps_wr": 0,
                "iops": n, "iops_rd": 0, "iops_wr": 0}
        try:
            r = qmp("block_set_io_throttle", args)
        except Exception as e:
            r = {"error": repr(e)}
        log.write("%.3f QMP iops %d (%s): %s\n" % (time.time(), n, tag, json.dumps(r)))
    time.sleep(0.1)
PY
}

log "running the dm-feedbac benchmark VM (kernel $krel)" \
	"$([ "$quick" = 1 ] && echo '(quick)' || echo '; this takes ~13 minutes under TCG')"
rm -f "$out/.watch-stop" "$out/qmp.log" "$out/boot1/results.log"
watcher &
wpid=$!
bench_run "$test"
touch "$out/.watch-stop"
wait "$wpid" 2>/dev/null || true
rm -f "$out/.watch-stop"
echo "=== QMP actions"
cat "$out/qmp.log" 2>/dev/null || echo "(none)"

# Tables, goals and the plot's data from the guest's lines.
analyse() { # analyse <bench.log> <data dir>
	python3 - "$1" "$2" <<'PY'
import statistics as st, sys

log, dd = sys.argv[1], sys.argv[2]
GROUPS = ["g1", "g2", "g3", "g4"]
WEIGHTS = [100, 50, 25, 10]
IDEAL = [w / sum(WEIGHTS) for w in WEIGHTS]
CONFIGS = ["none", "feedbac", "bfq", "iocost"]
WORKLOADS = ["randread", "randwrite", "randrw"]

bench, na, fbstat, dyn, mark, info = {}, {}, {}, [], {}, []
for line in open(log, errors="replace"):
    w = line.split()
    if not w:
        continue
    try:
        if w[0] == "BENCH" and len(w) == 9:
            bench[w[1], w[2]] = (float(w[3]), float(w[4]), [int(x) for x in w[5:9]])
        elif w[0] == "BENCH_NA":
            na[w[1], w[2]] = " ".join(w[3:])
        elif w[0] == "FBSTAT" and len(w) > 12:
            fbstat.setdefault(w[1], []).append([float(w[2])] + [int(x) for x in w[3:]])
        elif w[0] == "DYN" and len(w) > 11:
            dyn.append([float(w[1])] + [int(x) for x in w[2:]])
        elif w[0] == "DYNMARK":
            mark[w[1]] = float(w[2])
        elif w[0] == "INFO":
            info.append(" ".join(w[1:]))
    except ValueError:
        pass	# a line mangled on the serial port

def pct(x):
    return "%.2f" % (100 * x)

def stats(ios, secs):
    tot = sum(ios)
    if tot <= 0 or secs <= 0:
        return None
    share = [x / tot for x in ios]
    err = [s - i for s, i in zip(share, IDEAL)]
    x = [r / wt for r, wt in zip(ios, WEIGHTS)]
    jain = sum(x) ** 2 / (len(x) * sum(v * v for v in x)) if any(x) else 0
    return dict(iops=tot / secs, share=share, err=err, maxerr=max(abs(e) for e in err), jain=jain)

out = []
P = out.append
res = {}
P("### Unthrottled capacity (TCG's own limit, randread, 3 s)")
P("")
P("| configuration | total IOPS |")
P("|---|---:|")
for c in ("cal-raw", "cal-feedbac", "cal-bfq"):
    if (c, "randread") in bench:
        t0, secs, ios = bench[c, "randread"]
        P("| %s | %.0f |" % (c[4:] if c != "cal-raw" else "none (raw drive)", sum(ios) / secs))
P("")
for rw in WORKLOADS:
    P("### %s, 4 KiB, iodepth 32 per group, throttled drive" % rw)
    P("")
    P("| config | " + " | ".join("%s (w %d) share %% / err pp" % (g, wt) for g, wt in zip(GROUPS, WEIGHTS))
      + " | max err pp | Jain | total IOPS | vs none |")
    P("|---|" + "---:|" * 8)
    for c in CONFIGS:
        if (c, rw) not in bench:
            P("| %s | n/a (%s) |" % (c, na.get((c, rw), "no result")) + " |" * 7)
            continue
        t0, secs, ios = bench[c, rw]
        s = stats(ios, secs)
        if not s:
            P("| %s | n/a (no I/O) |" % c + " |" * 7)
            continue
        res[c, rw] = s
        base = res.get(("none", rw))
        ratio = s["iops"] / base["iops"] if base else float("nan")
        s["ratio"] = ratio
        P("| %s | " % c + " | ".join("%s / %+.2f" % (pct(sh), 100 * e) for sh, e in zip(s["share"], s["err"]))
          + " | %.2f | %.3f | %.0f | %.3f |" % (100 * s["maxerr"], s["jain"], s["iops"], ratio))
    P("")
P("Ideal shares (100:50:25:10): " + ", ".join("%s %s %%" % (g, pct(i)) for g, i in zip(GROUPS, IDEAL))
  + ".  err = share - ideal, in percentage points; Jain's index is over"
  " throughput/weight (1 = exactly proportional).")
P("")

# Predictor error: every sample whose period count moved on shows the error
# of a new period's prediction (status field last_error, permille of the
# measured value).
def period_errors(samples, lo, hi):
    errs, shifts, refills, periods = [], 0, 0, 0
    prev = None
    for s in samples:
        if not (lo <= s[0] <= hi):
            continue
        if prev is not None and s[5] > prev[5]:
            errs.append(s[4] / 10.0)
            periods += s[5] - prev[5]
            refills += s[6] - prev[6]
            shifts += s[7] - prev[7]
        prev = s
    return errs, periods, refills, shifts

def describe(errs):
    if not errs:
        return "n/a"
    e = sorted(errs)
    return "mean %.1f %%, median %.1f %%, 90th pct %.1f %% (n = %d)" % (
        st.mean(e), st.median(e), e[int(0.9 * (len(e) - 1))], len(e))

P("### dm-feedbac's predictor in the static runs")
P("")
P("Sampled every 0.5 s within each measuring window; error = |prediction - measured| / measured of the last period.")
P("")
P("| workload | prediction error | periods | early refills | level shifts |")
P("|---|---|---:|---:|---:|")
allerr = []
for rw in WORKLOADS:
    if ("feedbac", rw) not in bench or rw not in fbstat:
        continue
    t0, secs, _ = bench["feedbac", rw]
    errs, periods, refills, shifts = period_errors(fbstat[rw], t0, t0 + secs)
    allerr += errs
    P("| %s | %s | %d | %d | %d |" % (rw, describe(errs), periods, refills, shifts))
P("")

# The dynamic run.
dynres = {}
if dyn and "slowdown" in mark:
    T0, TS = mark.get("start", dyn[0][0]), mark["slowdown"]
    TE = mark.get("end", dyn[-1][0])
    ids = {}
    def group_bytes(s):
        n, f, b = s[9], 10, {}
        for _ in range(n):
            gid, wt = s[f], s[f + 1]
            b[wt] = s[f + 3] + s[f + 5]
            f += 8
        return [b.get(wt, 0) for wt in WEIGHTS]
    # Every sample shows the prediction in force (the current period's
    # total credit) and the last period's measured value; a sample taken
    # one period after the one before also pairs a prediction with its
    # measured value.
    with open(dd + "/dyn-credit.dat", "w") as f:
        f.write("# t(s from start) prediction(current period) measured(last period) error%(last period) new-period\n")
        for a, b in zip([None] + dyn, dyn):
            new = a is not None and b[5] > a[5]
            f.write("%.2f %d %d %.1f %d\n" % (b[0] - T0, b[1], b[2], b[4] / 10.0, new))
    pairs = []
    with open(dd + "/dyn-pairs.dat", "w") as f:
        f.write("# t(s from start) predicted measured (same period)\n")
        for a, b in zip(dyn, dyn[1:]):
            if b[5] == a[5] + 1:
                pairs.append((b[0] - T0, a[1], b[2]))
                f.write("%.2f %d %d\n" % pairs[-1])
    before, _, _, _ = period_errors(dyn, T0, TS)
    after2, _, _, _ = period_errors(dyn, TS + 2, TE)
    dynres["pairs"] = len(pairs)
    iv = [b[0] - a[0] for a, b in zip(dyn, dyn[1:])]
    cum = [(s[0], group_bytes(s)) for s in dyn]
    win = []
    with open(dd + "/dyn-shares.dat", "w") as f:
        f.write("# t(s from start, window end) share g1..g4 (%) maxerr(pp) total(IOPS)\n")
        j = 0
        for i in range(len(cum)):
            t = cum[i][0]
            while j + 1 < i and cum[j + 1][0] <= t - 1.0:
                j += 1
            if t - cum[j][0] < 0.9 or t - cum[j][0] > 1.6:
                continue
            d = [x - y for x, y in zip(cum[i][1], cum[j][1])]
            tot = sum(d)
            if tot <= 0:
                continue
            sh = [x / tot for x in d]
            me = max(abs(s - i_) for s, i_ in zip(sh, IDEAL))
            win.append((t, cum[j][0], me))
            f.write("%.2f %s %.2f %.0f\n" % (t - T0, " ".join("%.2f" % (100 * s) for s in sh),
                                          100 * me, tot / 4096 / (t - cum[j][0])))
    pre = [w for w in win if w[0] <= TS]
    post = [w for w in win if w[1] >= TS]
    settle = None
    for k, w in enumerate(win):
        if w[1] < TS:
            continue
        nxt = [v for v in win if w[0] <= v[0] <= w[0] + 2.0]
        if w[0] + 2.0 <= TE and all(v[2] <= 0.03 for v in nxt):
            settle = w[0] - TS
            break
    dynres.update(settle=settle, pre=pre, post=post, before=before, after2=after2)
    P("### Dynamic run: dm-feedbac, randread, the drive's speed halved at t = %.1f s" % (TS - T0))
    P("")
    P("- status samples: %d over %.1f s, interval median %.2f s (max %.2f s): as fast as dmsetup runs"
      " under TCG; %d samples came exactly one period after the one before (prediction and its"
      " measured value paired)" % (len(dyn), TE - T0, st.median(iv) if iv else 0,
                                    max(iv) if iv else 0, len(pairs)))
    P("- prediction error before the slowdown: %s" % describe(before))
    P("- prediction error from 2 s after the slowdown: %s" % describe(after2))
    lvl_pre = [s[2] for s in dyn if s[0] < TS and s[2]]
    lvl_post = [s[2] for s in dyn if s[0] > TS + 2 and s[2]]
    if lvl_pre and lvl_post:
        P("- measured credit per period, median: %.0f before, %.0f from 2 s after (ratio %.2f)"
          % (st.median(lvl_pre), st.median(lvl_post), st.median(lvl_post) / st.median(lvl_pre)))
    if pre:
        P("- 1-s windows before the slowdown within 3 pp of the ideal shares: %d of %d; max error median %.1f pp"
          % (sum(w[2] <= 0.03 for w in pre), len(pre), 100 * st.median(w[2] for w in pre)))
    if post:
        P("- 1-s windows after the slowdown within 3 pp: %d of %d; max error median %.1f pp"
          % (sum(w[2] <= 0.03 for w in post), len(post), 100 * st.median(w[2] for w in post)))
    P("- settling (first 1-s window after the slowdown request from which every window for 2 s is"
      " within 3 pp of every ideal share): %s" % ("%.2f s after the request" % settle if settle is not None else "never within the run"))
    P("")
    with open(dd + "/dyn-marks.dat", "w") as f:
        f.write("%.2f %.2f\n" % (TS - T0, TE - T0))

# Goals.
P("### Goals")
P("")
def goal(text, ok, detail):
    P("- %s: **%s** (%s)" % (text, "MET" if ok else "NOT MET", detail))
fe = [res.get(("feedbac", rw)) for rw in WORKLOADS]
if all(fe):
    me = [100 * s["maxerr"] for s in fe]
    goal("max share error <= 3 pp (dm-feedbac, every workload)", max(me) <= 3,
         ", ".join("%s %.2f pp" % (rw, m) for rw, m in zip(WORKLOADS, me)))
    r = [s["ratio"] for s in fe]
    goal("total >= 0.97x none (dm-feedbac, every workload)", min(r) >= 0.97,
         ", ".join("%s %.3fx" % (rw, x) for rw, x in zip(WORKLOADS, r)))
else:
    P("- share error and total goals: n/a (missing dm-feedbac results)")
pe = allerr + dynres.get("before", []) + dynres.get("after2", [])
if pe:
    goal("predictor error <= 2 % (mean |prediction - measured| / measured per period)",
         st.mean(pe) <= 2.0, "mean %.1f %%, median %.1f %% over %d periods (static runs and dynamic run"
         " away from the slowdown)" % (st.mean(pe), st.median(pe), len(pe)))
else:
    P("- predictor error goal: n/a (no samples)")
if "settle" in dynres:
    s = dynres["settle"]
    goal("shares back within 3 pp of ideal <= 2 s after the slowdown", s is not None and s <= 2.0,
         "%s" % ("%.2f s" % s if s is not None else "not within the run"))
else:
    P("- settling goal: n/a (no dynamic run)")
print("\n".join(out))
PY
}

# Two panels: predicted vs measured credit per period, and the groups'
# shares over 1-s windows, the slowdown marked.
plot() { # plot <data dir> <png>
	local dd=$1 ts=0 te=0
	[ -s "$dd/dyn-credit.dat" ] || { log "no dynamic data: no plot"; return 1; }
	read -r ts te < "$dd/dyn-marks.dat"
	gnuplot <<GP
set terminal pngcairo size 1000,800 font ",10" noenhanced
set output "$2"
set multiplot layout 2,1 title "dm-feedbac, randread, 4 cgroups 100:50:25:10; the drive's speed halved at t = ${ts} s (kernel $krel)"
set xrange [0:$te]
set grid
set arrow 1 from $ts, graph 0 to $ts, graph 1 nohead lc rgb "red" lw 2 dt 2
set label 1 "slowdown" at $ts, graph 0.95 offset 0.5,0 tc rgb "red"
set ylabel "credit per period"
set key top right
set y2label "error of the last period's prediction (%)"
set y2tics
set y2range [0:200]
set ytics nomirror
plot "$dd/dyn-credit.dat" using 1:2 with steps lw 2 lc rgb "blue" title "predicted total credit (period in force)", \
     "" using 1:3 with linespoints pt 7 ps 0.6 lc rgb "dark-green" title "measured credit (last period)", \
     "$dd/dyn-pairs.dat" using 1:2 with points pt 6 ps 1.2 lc rgb "blue" title "predicted, paired with its period", \
     "" using 1:3 with points pt 4 ps 1.2 lc rgb "dark-green" title "measured, same period", \
     "$dd/dyn-credit.dat" using 1:(\$5 > 0 ? \$4 : 1/0) axes x1y2 with impulses lc rgb "gray" title "error (right axis)"
unset y2label
unset y2tics
set ytics mirror
set ylabel "share over 1-s windows (%)"
set xlabel "time since the start of sampling (s)"
set yrange [0:80]
set key top right
plot "$dd/dyn-shares.dat" using 1:2 with lines lw 2 lc rgb "#1f77b4" title "g1 (w 100)", \
     "" using 1:3 with lines lw 2 lc rgb "#ff7f0e" title "g2 (w 50)", \
     "" using 1:4 with lines lw 2 lc rgb "#2ca02c" title "g3 (w 25)", \
     "" using 1:5 with lines lw 2 lc rgb "#d62728" title "g4 (w 10)", \
     54.05 with lines dt 3 lc rgb "#1f77b4" notitle, 27.03 with lines dt 3 lc rgb "#ff7f0e" notitle, \
     13.51 with lines dt 3 lc rgb "#2ca02c" notitle, 5.41 with lines dt 3 lc rgb "#d62728" notitle
unset multiplot
GP
}

report=$out/report.txt
analyse "$out/bench.log" "$out" > "$report"
mkdir -p "$(dirname "$png")" "$(dirname "$md")"
plotted=yes
plot "$out" "$png" || plotted="no (see $out)"
info=$(sed -n 's/^INFO //p' "$out/bench.log")

echo
echo "=== dm-feedbac benchmark, kernel $krel ($status)"
cat "$report"

{
	echo "# dm-feedbac benchmark results"
	echo
	echo "The seed paper's evaluation, side by side in one VM boot on one device: fio"
	echo "randread, randwrite and randrw (50/50), 4 KiB, iodepth 32, direct I/O,"
	echo "libaio, one job in each of four cgroups weighted 100:50:25:10, all four"
	echo "running at once, under: \`none\` (no control: the raw drive, none"
	echo "scheduler), \`feedbac\` (dm-feedbac over the drive, defaults but for"
	echo "period_ms, weights by \`dmsetup message\`), \`bfq\` (BFQ on the raw drive,"
	echo "io.bfq.weight, default tunables) and \`iocost\` (blk-iocost on the raw drive,"
	echo "io.weight; linear model at the throttled speed, QoS rpct/wpct 95,"
	echo "rlat/wlat and min/max as in the INFO lines below)."
	echo
	echo "The device is an emulated NVMe drive (qemu \`nvme\`, 1 GiB sparse image,"
	echo "cache=writeback) throttled by qemu to a fixed IOPS rate (QMP"
	echo "\`block_set_io_throttle\` on drive \`nv0\`, iops-total, sent by the host"
	echo "when the guest asks), so that the drive, not TCG's CPU, is the"
	echo "bottleneck; the unthrottled capacity table shows how far TCG itself gets."
	echo "Each group's I/Os are counted on the drive (cgroup io.stat rios + wios of"
	echo "the NVMe drive) over the same window for all four groups, after a ramp."
	echo "Then a dynamic run on dm-feedbac (randread): the host halves the throttle"
	echo "mid-run; \`dmsetup status\` is sampled in the guest as often as TCG allows"
	echo "(aimed at every 100 ms)."
	echo
	bench_md_run
	echo "- guest kernel: Debian $krel, qemu TCG (-accel tcg -cpu max -smp 2 -m 2G)"
	echo "- qemu: $(qemu-system-x86_64 --version | head -n 1)"
	echo "- fio: $(fio --version) (the host's binary, copied into the guest)"
	echo "- host: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))," \
		"shared with other VMs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- plot: \`$(basename "$png")\` ($plotted)"
	echo
	echo "Under TCG on a shared host every figure is noisy: one run, as measured,"
	echo "not an average; it does not measure real NVMe hardware."
	echo
	cat "$report"
	echo
	echo "Guest notes:"
	echo
	echo '```'
	echo "$info"
	echo '```'
	echo
	echo "QMP actions (host time):"
	echo
	echo '```'
	cat "$out/qmp.log" 2>/dev/null || echo "(none)"
	echo '```'
} > "$md"
echo
echo "written: $md"
echo "plot: $png ($plotted)"
exit "$rc"
