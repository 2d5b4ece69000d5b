# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# The restore thread is created by the table load (the constructor), not
# by resume: resume runs while the device is suspended, when creating a
# thread (an allocation that may wait for reclaim, which may wait for this
# device) could deadlock.  So the thread exists right after "dmsetup load",
# before any resume, and the same thread serves every suspend and resume
# of that table, while restoring and after.
# timeout: 300
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=65536	# 64 MiB
dev=/dev/mapper/ht
len=$(( (16383 + 8192) * 8 ))
table="0 $len hims /dev/ram0 $SSD async 2 ram_blocks 16383"
# The pids of the threads named <prefix>*, one per line.
threads() { # threads <prefix>
	local p
	for p in /proc/[0-9]*; do
		case "$(cat "$p/comm" 2>/dev/null)" in
		"$1"*) echo "${p#/proc/}" ;;
		esac
	done
}

step "data on the SSD, RAM empty: the next load restores"
dmsetup create ht --table "$table"
fio_pattern write $dev 0 60M 9 --bs=1M
dmsetup message ht 0 flush
dmsetup remove ht
rmmod brd
modprobe brd rd_nr=1 rd_size=65536
[ -z "$(threads hims_rst/)" ] || fail "a restore thread outlived its table"

step "the load creates the thread, before any resume"
dmsetup create ht --notable
dmsetup load ht --table "$table"
rst=$(threads hims_rst/)
[ -n "$rst" ] || fail "no restore thread after the table load: resume would create it"
[ "$(echo "$rst" | wc -l)" = 1 ] || fail "more than one restore thread: $rst"
echo "restore thread $rst"
dmsetup resume ht
echo "resumed: $(dmsetup status ht)"
for i in 1 2 3; do
	dmsetup suspend ht
	dmsetup resume ht
	[ "$(threads hims_rst/)" = "$rst" ] || fail "suspend/resume $i changed the restore thread"
done
hims_wait_restored ht 120
dmsetup suspend ht
dmsetup resume ht
[ "$(threads hims_rst/)" = "$rst" ] || fail "the restore thread changed after the restore"
fio_pattern check $dev 0 60M 9 --bs=1M || fail "data lost"

step "a reload: the new table's thread replaces the old one"
dmsetup reload ht --table "$table"
[ "$(threads hims_rst/ | wc -l)" = 2 ] || fail "the loaded table has no restore thread"
dmsetup resume ht
new=$(threads hims_rst/)
[ -n "$new" ] && [ "$new" != "$rst" ] || fail "restore threads after the reload: '$new'"
dmsetup remove ht
[ -z "$(threads hims_rst/)" ] || fail "the restore thread outlived the device"
