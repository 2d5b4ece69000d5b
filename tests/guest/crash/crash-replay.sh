# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims at replayed crash points.  The SSD leg runs under dm-log-writes,
# so every write hims sent to it, with its FLUSH/FUA flags, is in a log on
# $AUX; hims-replay rebuilds the SSD at chosen points (every flush/FUA
# entry with all before it kept, and random points where the writes since
# the last flush are a seeded random subset), starting from a snapshot of
# the SSD taken before the run.  For each point hims is loaded with the
# rebuilt SSD and a zeroed RAM device, and hims-crashwl checks every block
# against the workload's record: its last version acknowledged before the
# last sync whose mark precedes the point, or a later one; never another
# block's data, a version never written there, or the disk's pre-format
# pattern (both disks start filled with one).  With dedup, hims-check runs
# on every rebuilt SSD too.  tests/crash/README has the details.
# All points of a mode are checked by one hims-replay check process.
# Modes: see MODES below; HIMS_SEED (make crash-soak) varies the runs.
# CRASH_MODES="<mode> ..." (on the host: make vm-test T=crash-replay
# CRASH_MODES="sync dedup-sync") runs only those modes, CRASH_POINTS=<n>
# checks 2n points a mode (n flush, n random; default 36: 576 in all).
# timeout: 900
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail

# Every mode runs; a failing mode fails the test.
MODES=${CRASH_MODES:-"sync async async-wb switch dedup-async dedup-sync restore restore2"}
seed=${HIMS_SEED:-0}
PTS=${CRASH_POINTS:-36}		# flush points per mode (random as many)

modprobe dm-hims
modprobe dm-log-writes
# Small devices keep a point cheap (every point zeroes the RAM tier,
# reads every checked block once or twice and reads the SSD back).
dev_kib=4608				# the largest SSD leg below (dedup)
modprobe brd rd_nr=3 rd_size=$dev_kib	# ram0 RAM device, ram1 and ram2 replay targets
RAM=/dev/ram0 TGT=/dev/ram1 TGT2=/dev/ram2
aux_half=$(($(sectors "$AUX") / 2))
dmsetup create cr-log --table "0 $aux_half linear $AUX 0"
dmsetup create cr-log2 --table "0 $aux_half linear $AUX $aux_half"
LEG=/dev/mapper/cr-ssd
SSD_OLD=0x55d0 RAM_OLD=0x4a30
W=/tmp/work
nb=384					# checked: logical blocks [0, nb)

# geometry <mode>: the table's options, the boundary, the SSD block of
# the SSD tier and the SSD leg's length (dm-hims-design.rst: bitmap at 1,
# mirror at 256, expansion at the next 1 MiB; with dedup then the commit
# records and metadata slots at 768 and the spill area at 1024).
geometry() {
	case "$1" in
	dedup-*)	# 128 RAM blocks, 256 logical, 128 SSD-tier, 128 spill
		words="ram_blocks 128 dedup 256" boundary=256 expansion=512
		ssd_sectors=9216 ;;
	*)		# 256 RAM blocks, 128 SSD-tier blocks
		words="ram_blocks 256" boundary=256 expansion=512
		ssd_sectors=5120 ;;
	esac
	len=$((nb * 8))
	opts=$(topts)
}

# topts [word...]: the table's optional arguments, $words and these, counted.
topts() {
	# shellcheck disable=SC2086 # the words
	set -- $words "$@"
	echo "$# $*"
}

fresh_ram() {
	dd if=/dev/zero of=$RAM bs=4k count=$((dev_kib / 4)) oflag=direct 2>/dev/null
}

cmode_of() { case "$1" in sync|dedup-sync) echo sync ;; *) echo async ;; esac; }

# replay <label> <mode> <run> <record> <log> <base> <seed> [points]: every
# point checked by hims-replay check in one process (zeroed RAM device,
# hims-check's logic with dedup, load, a read during the restore at odd
# points, the wait, a read after it); appends "label points failed" to
# $W/summary and the kinds of failure to $W/kinds.
replay() {
	local label=$1 out=$W/replay-$1.out n=${8:-$PTS} dedup='' mode=$2 rec=$4 log=$5
	case "$2" in dedup-*) dedup=--dedup ;; esac
	set -- --flush "$n" --random "$n" --seed "$7" --mark-prefix crw --ram $RAM \
		--table "$(cmode_of "$2") $opts" --len "$len" $dedup --record "$4" \
		--run "$3" --blocks $nb --boundary "$boundary" --expansion "$expansion" \
		--ssd-old $SSD_OLD --ram-old $RAM_OLD --label "$1" "$5" "$6" $TGT
	echo "hims-replay check $*" > "$out.cmd"
	hims-replay check "$@" > "$out" 2>&1 || true
	# The first failures in full, then the counts and the time a point.
	grep '^\[\|^ \{4\}' "$out" | head -n 24
	grep -v '^ \{4\}\|^\[\|^FAIL' "$out" | tail -n 12
	awk -v n="$label" '/^[0-9]+ crash points, [0-9]+ failed$/ {print n, $1, $4}' "$out" >> $W/summary
	sed -n "s/^  \([^(].*\): \([0-9]*\) points$/$label: \1 (\2)/p" "$out" >> $W/kinds
	grep -q '^[0-9]* crash points' "$out" || { echo "$label 0 1" >> $W/summary; tail -n 5 "$out"; }
	# States replayed from a log with writes of unknown order may be
	# unreachable (crash_ambiguous): the run proves nothing, it fails.
	if grep '^[0-9]* plain writes logged after' "$out"; then
		echo "$label 0 1" >> $W/summary
		echo "$label: log with writes of unknown order" >> $W/kinds
	fi
	stale_evidence "$out" "$log" "$rec" "$mode"
}

# stale_evidence <out> <log> <record> <mode>: for the first block reported
# stale, the log's writes to its mirror block (with the version each one
# carries), the flushes and marks, and the record's lines for it.
stale_evidence() {
	local b m
	b=$(sed -n 's/^ *block \([0-9]*\): stale.*/\1/p' "$1" | head -n 1)
	[ -n "$b" ] && [ "$b" -lt "$boundary" ] || return 0
	case "$4" in dedup-*) return 0 ;; esac
	echo "block $b: log entries of its mirror (SSD block $((256 + b))), flushes, marks:"
	hims-replay info --block $((256 + b)) "$2" | grep -v '^entries'
	echo "block $b: record lines (line: text):"
	grep -n "^w $b \|^u [0-9]* $b \|^[sm] " "$3"
	# Every entry near the first failing point's mark: what the SSD got
	# around the sync that mark follows.
	m=$(sed -n 's/^\[.*, mark \(crw[0-9]*\)\] .*/\1/p' "$1" | head -n 1)
	[ -n "$m" ] || return 0
	echo "the log around mark $m (entry: flags@byte+len):"
	hims-replay info "$2" | awk -v m="$m" '
		{ line[NR] = $0 }
		$2 == "MARK" && $NF == m { at = NR }
		END { for (i = at - 40; at && i <= at + 40; i++) if (i in line) print line[i] }'
}

# prepare <mode> <run>: the SSD leg, patterns on it and RAM, snapshot.
prepare() {
	geometry "$1"
	! dmsetup info cr-ssd > /dev/null 2>&1 || dmsetup remove cr-ssd
	dmsetup create cr-ssd --table "0 $ssd_sectors linear $SSD 0"
	hims-crashwl fill --dev $LEG --run $SSD_OLD --blocks $((ssd_sectors / 8))
	hims-crashwl fill --dev $RAM --run $RAM_OLD --blocks $((dev_kib / 4))
	dd if=$LEG of=$W/base.img bs=1M iflag=direct 2>/dev/null
	rm -f $W/rec
}

# workload <mode> <run> <dev> <log name> [writer options]
workload() {
	local m=$1 r=$2 d=$3 l=$4
	shift 4
	hims-crashwl write --dev "$d" --run "$r" --blocks $nb --ops 900 --threads 2 \
		--seed $((seed * 100 + r % 100)) --sync-every 60 --fua 2 --record $W/rec \
		--log "$l" --hims crw "$@"
}

# end_logged <mode>: suspends crw (its drain done), removes it and cr-lw,
# and prints the log's summary.  Every SSD flush dm-hims counted (status
# field 22) must be a FLUSH entry of the log and none may reach it another
# way: the log is in completion order only while dm-hims sends one flush
# at a time (tests/crash/README).
end_logged() {
	local issued logged
	dmsetup suspend crw
	issued=$(dmsetup status crw | awk '{ print $25 }')
	dmsetup remove crw
	dmsetup remove cr-lw
	hims-replay info /dev/mapper/cr-log | tail -n 1 | tee $W/info
	logged=$(sed -n 's/.* flush \([0-9]*\) .*/\1/p' $W/info)
	[ -n "$issued" ] && [ "$issued" = "$logged" ] ||
		echo "$1: dm-hims issued ${issued:-no} SSD flushes, the log has $logged" >> $W/flushes
}

run_mode() { # run_mode <mode> <run>
	local m=$1 r=$2 extra='' wopts='' t0
	t0=$(date +%s)
	step "mode $m"
	prepare "$m" "$r"
	case "$m" in
	async-wb) extra="high_watermark 2 low_watermark 1 max_age 200 writeback_jobs 4" ;;
	dedup-*) wopts="--pool 30" ;;
	esac
	dmsetup create cr-lw --table "0 $ssd_sectors log-writes $LEG /dev/mapper/cr-log"
	# shellcheck disable=SC2086 # $extra: more option words
	dmsetup create crw --table "0 $len hims $RAM /dev/mapper/cr-lw $(cmode_of "$m") $(topts $extra format)"
	dmsetup message cr-lw 0 mark crw0	# loaded (hims-replay check: format done)
	if [ "$m" = switch ]; then
		# shellcheck disable=SC2086 # writer options
		workload "$m" "$r" /dev/mapper/crw cr-lw --at "300:dmsetup message crw 0 mode sync" \
			--at "600:dmsetup message crw 0 mode async"
	else
		# shellcheck disable=SC2086 # writer options
		workload "$m" "$r" /dev/mapper/crw cr-lw $wopts
	fi
	echo "status: $(dmsetup status crw)"
	end_logged "$m"
	replay "$m" "$m" "$r" $W/rec /dev/mapper/cr-log $W/base.img "$((seed * 1000 + r))"
	echo "mode $m: $(($(date +%s) - t0)) s"
}

# restore: a clean run, then a reboot (zeroed RAM) whose restore runs
# while the workload writes; the SSD leg is logged from the load on.
# restore2: points of that log, each loaded again under a second log with
# more writes during that restore, and replayed at that log's points.
run_restore() { # run_restore <run> <with restore2: 0|1>
	local r=$1 t0 p
	t0=$(date +%s)
	step "mode restore"
	prepare async "$r"
	dmsetup create crw --table "0 $len hims $RAM $LEG async $(topts format)"
	workload restore "$r" /dev/mapper/crw ''
	dmsetup remove crw
	dd if=$LEG of=$W/base.img bs=1M iflag=direct 2>/dev/null
	echo b >> $W/rec
	fresh_ram
	dmsetup create cr-lw --table "0 $ssd_sectors log-writes $LEG /dev/mapper/cr-log"
	dmsetup create crw --table "0 $len hims $RAM /dev/mapper/cr-lw async $opts"
	dmsetup message cr-lw 0 mark crw0
	workload restore "$((r + 1))" /dev/mapper/crw cr-lw --run "$r"
	end_logged restore
	replay restore restore "$r" $W/rec /dev/mapper/cr-log $W/base.img "$((seed * 1000 + r))"
	echo "mode restore: $(($(date +%s) - t0)) s"
	[ "$2" = 1 ] || return 0

	t0=$(date +%s)
	step "mode restore2"
	cp $W/rec $W/rec1
	for p in 3 $((PTS + 5)) $((PTS + 17)); do
		# The first crash: point p of the restore log, onto ram2.
		hims-replay run --flush "$PTS" --random "$PTS" --seed "$((seed * 1000 + r))" \
			--mark-prefix crw --only "$p" /dev/mapper/cr-log $W/base.img $TGT2 > $W/p.out
		mark=$(sed -n 's/.*, mark \(.*\)$/\1/p' $W/p.out)
		dd if=$TGT2 of=$W/base2.img bs=4k count=$((ssd_sectors / 8)) iflag=direct 2>/dev/null
		# Its restore, logged, with a check that records what it reads.
		fresh_ram
		dmsetup create cr-lw --table "0 $ssd_sectors log-writes $TGT2 /dev/mapper/cr-log2"
		dmsetup create crw --table "0 $len hims $RAM /dev/mapper/cr-lw async $opts"
		dmsetup message cr-lw 0 mark crw0
		hims-crashwl check --dev /dev/mapper/crw --run "$r" --blocks $nb --record $W/rec1 \
			--mark "$mark" --boundary $boundary --expansion $expansion --ssd-old $SSD_OLD \
			--ram-old $RAM_OLD --baseline $W/rec ||
			echo "[restore2 first crash at point $p, mark $mark] failed the check (above)"
		workload restore2 "$((r + 2 + p))" /dev/mapper/crw cr-lw --run "$r" --ops 300
		dmsetup remove crw
		dmsetup remove cr-lw
		replay "restore2-$p" restore2 "$r" $W/rec /dev/mapper/cr-log2 $W/base2.img \
			"$((seed * 1000 + r + p))" $((PTS / 3))
	done
	echo "mode restore2: $(($(date +%s) - t0)) s"
}

t_start=$(date +%s)
: > $W/summary
: > $W/kinds
: > $W/flushes
i=0
for m in $MODES; do
	i=$((i + 1))
	run=$((0x1000 + seed * 64 + i * 4))
	case "$m" in
	restore) run_restore "$run" "$(echo " $MODES " | grep -c ' restore2 ')" ;;
	restore2) ;;
	*) run_mode "$m" "$run" ;;
	esac
done

step "summary"
total=0 bad=0
while read -r n p f; do
	echo "$n: $p crash points, $f failed"
	total=$((total + p)) bad=$((bad + f))
done < $W/summary
echo "$total crash points, $bad failed, in $(($(date +%s) - t_start)) s"
[ ! -s $W/kinds ] || { echo "failed points by kind:"; sed 's/^/  /' $W/kinds; }
[ ! -s $W/flushes ] && echo "every SSD flush of dm-hims is in its log, and no other" ||
	{ cat $W/flushes; fail "the logs' flushes are not dm-hims's own"; }
[ "$bad" = 0 ] || fail "$bad of $total crash points broke the crash contract: $(awk '$3 > 0 {printf "%s ", $1}' $W/summary)"
