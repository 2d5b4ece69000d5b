# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# A "flush" or "mode sync" message waiting for writeback can be killed:
# messages hold the live table, so one stuck behind an SSD that does not
# answer (here: its dm-linear suspended) would block suspend and removal
# too.  SIGKILL must end the message (EINTR, and "mode sync" leaves the
# mode as it was) while the SSD is still stuck;
# once the SSD answers, the data is written back and reads back after a
# restore from the SSD alone.
# timeout: 300
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=32768	# 32 MiB
ssd_len=$(sectors "$SSD")
dmsetup create ssd --table "0 $ssd_len linear $SSD 0"
len=$(( (8191 + 8192) * 8 ))
table="0 $len hims /dev/ram0 /dev/mapper/ssd async 4 ram_blocks 8191 max_age 86400000"
dmsetup create hk --table "$table"
dmsetup message hk 0 pause_writeback
fio_pattern write /dev/mapper/hk 0 16M 5
[ "$(hims_field hk 4)" -gt 0 ] || fail "no dirty blocks after async writes"

stuck_ssd=
unstick() {
	[ -n "$stuck_ssd" ] && dmsetup resume ssd
	stuck_ssd=
}
# kill_message <message...>: start it, wait until its writeback is stuck in
# the SSD, SIGKILL it; it must end while the SSD is still stuck.
kill_message() {
	local pid i=0
	dmsetup message hk 0 "$@" &
	pid=$!
	while [ "$(hims_field hk 5)" = 0 ]; do
		kill -0 $pid 2>/dev/null || { unstick; fail "'$*' ended with the SSD stuck"; }
		[ $i -ge 600 ] && { unstick; fail "'$*' started no writeback in 120 s"; }
		i=$((i + 1))
		sleep 0.2
	done
	# Asleep in the kernel (D, or I for an uninterruptible idle wait).
	i=0
	until awk '{exit !($3 == "D" || $3 == "I")}' /proc/$pid/stat 2>/dev/null; do
		kill -0 $pid 2>/dev/null || { unstick; fail "'$*' ended with writeback stuck"; }
		[ $i -ge 600 ] && { unstick; fail "'$*' not waiting in the kernel after 120 s"; }
		i=$((i + 1))
		sleep 0.2
	done
	echo "'$*' waits, writeback in flight: $(hims_field hk 5) blocks"
	kill_wait $pid "'$*'" unstick
	wait $pid && fail "killed '$*' reported success"
	echo "'$*' ended after SIGKILL"
}

step "the SSD stops answering; flush waits and is killed"
dmsetup suspend --nolockfs ssd
stuck_ssd=1
kill_message flush

step "mode sync waits and is killed"
kill_message mode sync
# It reported failure, so it must not have switched.
[ "$(hims_field hk 1)" = async ] ||
	{ unstick; fail "killed 'mode sync' reported failure but switched to $(hims_field hk 1)"; }

step "the SSD answers again: everything is written back"
unstick
dmsetup message hk 0 flush
[ "$(hims_field hk 4)" = 0 ] || fail "dirty blocks left after flush"
[ "$(hims_field hk 13)" = 0 ] || fail "error state: $(dmsetup status hk)"
dmsetup remove hk
rmmod brd
modprobe brd rd_nr=1 rd_size=32768
dmsetup create hk --table "$table"
hims_wait_restored hk 120
fio_pattern check /dev/mapper/hk 0 16M 5 || fail "data lost"
dmsetup remove hk
dmsetup remove ssd
