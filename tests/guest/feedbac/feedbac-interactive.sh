# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# An interactive reader (weight 100, iodepth 1, 300 ms think time) beside a
# batch reader (weight 10, iodepth 32) on a 20 MB/s null_blk: through
# dm-feedbac the reader's p99 latency is no worse than on the raw device
# with no control at all, measured in the same boot with the same cgroups.
# Between two reads the reader has gone idle; its read must not wait for
# the batch job's credit to run out or the period to end.  The batch job
# reads 4 KiB blocks: under TCG it is then bound by the guest's CPU, not the
# device, and a held read shows against a raw device that is never full.
# Only ratios are asserted, with a margin for a loaded TCG host.
# timeout: 300
. /tests/guest/lib.sh

RUNTIME=30	# seconds of reads: about 100 of them

fb_setup
fb_cgroups int batch

# The reader's completion latency percentiles on <dev>, the batch job
# running: sets P90 and P99 (us).
lat_of() { # lat_of <dev>
	local out=/tmp/work/int.out
	fb_fio_start batch "$1" randread 4k 32
	sleep 3
	sh -c 'echo $$ > "$0/cgroup.procs" && exec fio --name=int \
		--filename="$1" --direct=1 --ioengine=libaio --rw=randread \
		--bs=4k --iodepth=1 --thinktime=300ms --runtime="$2" \
		--time_based --output-format=terse' "$FB_CG/int" "$1" $RUNTIME \
		> $out 2>&1 || { cat $out; fail "interactive fio failed"; }
	fb_fio_stop batch
	fio_ok $out || { cat $out; fail "interactive fio failed"; }
	# The first percentiles of the terse line are the reads' clat.
	P90=$(tr ';' '\n' < $out | sed -n 's/^90\.000000%=//p' | head -n 1)
	P99=$(tr ';' '\n' < $out | sed -n 's/^99\.000000%=//p' | head -n 1)
	echo "p50..p99: $(tr ';' '\n' < $out | grep -E '^(50|90|99)\.000000%=' | head -n 3 | tr '\n' ' ')"
	[ "${P90:-0}" -gt 0 ] && [ "${P99:-0}" -gt 0 ] || fail "no percentiles from fio"
}

step "no control: the raw null_blk"
lat_of /dev/nullb0
RAW90=$P90
RAW99=$P99

dmsetup create fb-int --table "0 $(sectors /dev/nullb0) feedbac /dev/nullb0"
dmsetup message fb-int 0 weight "$FB_CGP/int" 100
dmsetup message fb-int 0 weight "$FB_CGP/batch" 10

step "through dm-feedbac, weights 100:10"
lat_of /dev/mapper/fb-int
echo "p90 $P90 us, $((P90 * 100 / RAW90)) % of raw; p99 $P99 us, $((P99 * 100 / RAW99)) % of raw"
dmsetup status fb-int
# No worse than no control, with slack for TCG's noise.  p99 is the
# acceptance; p90, less a matter of TCG's stalls, is what a read held until
# the batch job's credit runs out or the period ends shows (8x raw).
[ "$P99" -le $((RAW99 * 3 / 2)) ] ||
	fail "interactive p99 $P99 us through dm-feedbac, $RAW99 us raw"
[ "$P90" -le $((RAW90 * 2)) ] ||
	fail "interactive p90 $P90 us through dm-feedbac, $RAW90 us raw"

dmsetup remove fb-int
rmmod null_blk
