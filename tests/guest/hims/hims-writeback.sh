# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims async writeback under pressure, 1 GiB RAM tier: a flush message
# overrides pause_writeback; with writeback paused a 1 GiB dirty set stays
# dirty (dirty == blocks written); resumed, writeback brings it under the
# high watermark with at most writeback_jobs copies of 1 MiB in flight, and
# a flush message cleans everything; the data then verifies from RAM, after
# remove + create (no restore: RAM header complete) and after dropping the
# RAM device (rmmod brd), when it must come from the SSD via the restore.
# timeout: 600
# memory: 3G
# disks: 2G 1G
. /tests/guest/lib.sh
dmesg_on_fail
modprobe dm-hims
rmmod brd 2>/dev/null || true
brd() {
	modprobe brd rd_nr=1 rd_size=1048580	# 1 GiB + the header block
	[ "$(sectors /dev/ram0)" = $((1048580 * 2)) ] || fail "/dev/ram0 has the wrong size"
}
brd
dd if=/dev/zero of=$SSD bs=1M count=4 oflag=direct 2>/dev/null
dev=/dev/mapper/hw
ram_blocks=262144
len=$(( (ram_blocks + 16384) * 8 ))	# 1 GiB RAM tier, 64 MiB SSD tier
jobs=8
table="0 $len hims /dev/ram0 $SSD async 6 ram_blocks $ram_blocks writeback_jobs $jobs max_age 1000"
dmsetup create hw --table "$table"
# Four 256 MiB regions, so parts can be checked on their own.
region() { # region write|check <0-3>
	fio_pattern "$1" "$dev" $(($2 * 256))M 256M $(($2 + 1)) --rw=write --bs=1M
}

step "a flush message overrides pause_writeback"
dmsetup message hw 0 pause_writeback
[ "$(hims_field hw 12)" = paused ] || fail "field 12 does not say paused"
fio_pattern write $dev 1020M 4M 9
[ "$(hims_field hw 4)" = 1024 ] || fail "paused: $(hims_field hw 4) dirty, expected 1024"
dmsetup message hw 0 flush
[ "$(hims_field hw 4)" = 0 ] || fail "flush while paused left $(hims_field hw 4) dirty"
[ "$(hims_field hw 12)" = paused ] || fail "flush resumed writeback"

step "1 GiB dirty with writeback paused"
sleep 2	# longer than max_age: paused means no age writeback either
for r in 0 1 2 3; do region write $r; done
dmsetup status hw
[ "$(hims_field hw 4)" = $ram_blocks ] || fail "dirty $(hims_field hw 4), expected $ram_blocks"
[ "$(hims_field hw 5)" = 0 ] || fail "writeback in flight while paused"
[ "$(hims_field hw 2)" = $ram_blocks ] || fail "blocks used $(hims_field hw 2), expected $ram_blocks"

step "resume: writeback below the high watermark"
dmsetup message hw 0 resume_writeback
[ "$(hims_field hw 12)" = running ] || fail "field 12 does not say running"
high=$((ram_blocks / 2))
i=0
while :; do
	# shellcheck disable=SC2046 # the status fields
	set -- $(dmsetup status hw)
	d=$7 w=$8
	[ "$w" -le $((jobs * 256)) ] || fail "$w blocks in flight, more than $jobs jobs of 256"
	[ "$d" -le $high ] && break
	i=$((i + 1))
	[ $i -le 900 ] || fail "dirty still $d after 180 s of writeback"
	sleep 0.2
done
echo "under the high watermark: $(dmsetup status hw)"
dmsetup message hw 0 flush
dmsetup status hw
[ "$(hims_field hw 4)" = 0 ] || fail "dirty $(hims_field hw 4) after flush"
[ "$(hims_field hw 5)" = 0 ] || fail "writeback in flight after flush"
[ "$(hims_field hw 13)" = 0 ] || fail "error state"
region check 0 || fail "data wrong after writeback (from RAM)"
region check 3 || fail "data wrong after writeback (from RAM)"

step "remove and create: RAM kept, no restore"
dmsetup remove hw
dmsetup create hw --table "$table"
dmsetup status hw
[ "$(hims_field hw 6)" = $ram_blocks ] && [ "$(hims_field hw 7)" = $ram_blocks ] ||
	fail "restored/total is not $ram_blocks/$ram_blocks right after create"
for r in 0 3; do region check $r || fail "region $r wrong after re-create"; done

step "empty RAM device: everything comes from the SSD"
dmsetup remove hw
rmmod brd
brd
dmsetup create hw --table "$table"
dmsetup status hw
[ "$(hims_field hw 7)" = $ram_blocks ] || fail "restore total is not $ram_blocks"
region check 3 || fail "region 3 wrong during the restore"
hims_wait_restored hw 300
dmsetup status hw
for r in 0 1 2 3; do region check $r || fail "region $r wrong after the restore"; done
dmsetup remove hw
rmmod brd
