# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# The fuzzer's kernel half (tests/fuzz/README), in one boot: hims-fuzz
# loads generated tables for both targets (mutated valid ones and random
# ones), valid tables over damaged SSDs and RAM headers (with himsctl
# probe, hims-check and himsctl assemble on some of those SSDs: the SSDs
# are made by himsctl create, so they carry assembly hints), and sends every
# message verb with bad arguments to live hims and feedbac devices while fio
# with verify runs on them.  A refused table or message must leave a
# one-line reason in the kernel log, a refused table no write on any SSD;
# the harness fails the test on any kernel warning.
# HIMS_FUZZ_N (make fuzz N=) sets the cases (default 5000: half tables, a
# fifth damaged disks, the rest messages), HIMS_FUZZ_FIRST the first case
# (make fuzz runs more than 20000 in boots of 20000), HIMS_SEED the seed.
# timeout: 1200
# memory: 2G
. /tests/guest/lib.sh
dmesg_on_fail

seed=${HIMS_SEED:-1}
n=${HIMS_FUZZ_N:-5000}
first=${HIMS_FUZZ_FIRST:-0}
n_tables=$((n / 2)) n_disk=$((n / 5))
n_msgs=$((n - n_tables - n_disk))

modprobe dm-hims
modprobe dm-feedbac
modprobe brd rd_nr=3 rd_size=4096	# 4 MiB each: ram0, ram1 for tables, ram2 live
# 8 MiB slices of the SSD (its first 16 MiB are zeroes) and of $AUX.
dmsetup create fz-ssd --table "0 16384 linear $SSD 0"
dmsetup create fz-dssd --table "0 16384 linear $SSD 16384"
dmsetup create fz-blank --table "0 8192 linear $AUX 0"
dmsetup create fz-small --table "0 8 linear $AUX 8192"
dmsetup create fz-fbdev --table "0 16384 linear $AUX 16384"
M=/dev/mapper
W=/tmp/work

# fill <dev> <blocks>: unique and repeated blocks, then a flush.
fill() {
	dd if=/dev/urandom of=$W/blk bs=4k count=1 2>/dev/null
	dd if=/dev/urandom of="$1" bs=4k count="$2" oflag=direct 2>/dev/null
	for b in 3 7 11 40 41; do
		dd if=$W/blk of="$1" bs=4k seek=$b count=1 oflag=direct 2>/dev/null
	done
	dmsetup message "${1#"$M"/}" 0 flush
}

step "format the fuzzers' SSDs with himsctl: plain, and dedup with commits; with hints"
# The hints name each SSD's RAM device, paired as hims-fuzz disk pairs them
# (ram0 with fz-ssd, ram1 with fz-dssd): the disk part assembles them.
himsctl create fz-a $M/fz-ssd --ram /dev/ram0 --ram-blocks 100 --size $(((100 + 256) * 4))K \
	--mode sync --format > /dev/null || fail "himsctl create fz-a failed"
fill $M/fz-a 60
himsctl remove fz-a --keep-ram || fail "himsctl remove fz-a failed"
himsctl create fz-b $M/fz-dssd --ram /dev/ram1 --ram-blocks 64 --size $(((200 + 128) * 4))K \
	--mode async --option dedup=200 --format > /dev/null || fail "himsctl create fz-b failed"
fill $M/fz-b 40
fill $M/fz-b 90
himsctl remove fz-b --keep-ram || fail "himsctl remove fz-b failed"
# A table over an SSD in this boot would skip the restore: zero the headers.
dd if=/dev/zero of=/dev/ram0 bs=4k count=1 2>/dev/null
dd if=/dev/zero of=/dev/ram1 bs=4k count=1 2>/dev/null

# A table naming a device number that no device has (253:999) or a target
# type that none has makes the kernel run modprobe for it, which took up
# to half a second a case here; with no modprobe path it does not try.
# The modules the tests need are loaded above.
modprobe_path=$(cat /proc/sys/kernel/modprobe)
echo > /proc/sys/kernel/modprobe

# --disk: a write that skips the slices still reaches their disks' counters.
devs="--ram /dev/ram0 --ram2 /dev/ram1 --ssd $M/fz-ssd --dssd $M/fz-dssd --disk $SSD --disk $AUX"
tdevs="--blank $M/fz-blank --small $M/fz-small --fb-dev $M/fz-fbdev"

step "the SSD comparison by batch names the case that changed an SSD"
# A byte changed behind the counters' back after case 7, in batches of 10:
# the batch's comparison fails and the rerun, one case at a time, names 7.
# shellcheck disable=SC2086 # $devs, $tdevs: options
if hims-fuzz tables --seed "$seed" --cases 12 --batch 10 --inject-write 7 $devs $tdevs \
	> $W/inject.log; then
	cat $W/inject.log; fail "a changed SSD went unnoticed"
fi
grep -q "^FAIL case 7 .*bytes changed" $W/inject.log ||
	{ cat $W/inject.log; fail "the changed SSD was not blamed on case 7"; }

step "$n_tables tables (seed $seed)"
# shellcheck disable=SC2086
hims-fuzz tables --seed "$seed" --first "$first" --cases "$n_tables" $devs $tdevs > $W/tables.log ||
	{ tail -n 30 $W/tables.log; fail "table fuzzing failed"; }
tail -n 2 $W/tables.log

step "$n_disk valid tables over damaged SSDs and RAM headers; himsctl probe, assemble, hims-check"
# shellcheck disable=SC2086
hims-fuzz disk --seed "$seed" --first "$first" --cases "$n_disk" $devs > $W/disk.log ||
	{ tail -n 30 $W/disk.log; fail "disk fuzzing failed"; }
tail -n 3 $W/disk.log

echo "$modprobe_path" > /proc/sys/kernel/modprobe

step "$n_msgs messages to live devices under fio"
dmsetup create fz-h1 --table "0 $(((500 + 512) * 8)) hims /dev/ram2 $M/fz-ssd sync 3 ram_blocks 500 format"
dmsetup create fz-h2 --table "0 $(((600 + 128) * 8)) hims /dev/ram0 $M/fz-dssd async 5 ram_blocks 300 dedup 600 format"
dmsetup create fb-1 --table "0 16384 feedbac $M/fz-fbdev"
mkdir -p /sys/fs/cgroup/fz1 /sys/fs/cgroup/fz2
# fio with verify, again and again until the messages are sent.
for d in fz-h1 fz-h2 fb-1; do
	(
		while [ ! -e $W/stop ]; do
			fio --name=v --filename=$M/$d --direct=1 --ioengine=libaio --rw=randwrite \
				--bs=4k --iodepth=8 --size=2M --verify=crc32c --verify_fatal=1 \
				--do_verify=1 --output-format=terse --minimal > /dev/null ||
				{ echo "fio on $d failed" > $W/fio-failed; exit 1; }
		done
	) &
done
hims-fuzz messages --seed "$seed" --first "$first" --cases "$n_msgs" --target fz-h1 --target fz-h2 \
	--target fb-1 > $W/msgs.log || { tail -n 30 $W/msgs.log; touch $W/stop; wait;
	fail "message fuzzing failed"; }
tail -n 2 $W/msgs.log
touch $W/stop
wait
[ ! -e $W/fio-failed ] || fail "$(cat $W/fio-failed) while messages were sent"
for d in fz-h1 fz-h2; do
	[ "$(hims_field $d 13)" = 0 ] || fail "$d entered the error state: $(dmsetup status $d)"
done
