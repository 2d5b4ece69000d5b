# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# himsctl: every bad argument gets a one-line error and exit status 2,
# runtime failures exit 1; create (brd, then zram), status (human, --json,
# --export), probe, flush, mode (also in the hints), remove, and assemble
# from the hints on the SSD, with the data verified.
# timeout: 400
. /tests/guest/lib.sh
dmesg_on_fail
command -v himsctl > /dev/null || fail "himsctl is not in PATH (make tools)"

# expect <status> <command...>: the exit status, and one line on stderr for 2
expect() {
	want=$1
	shift
	rc=0
	"$@" > /tmp/work/out 2> /tmp/work/err || rc=$?
	if [ "$rc" != "$want" ]; then
		cat /tmp/work/out /tmp/work/err
		fail "'$*' exited $rc, want $want"
	fi
	if [ "$want" = 2 ] && [ "$(wc -l < /tmp/work/err)" != 1 ]; then
		cat /tmp/work/err
		fail "'$*': the error is not one line"
	fi
	return 0
}

rmmod brd 2>/dev/null || true
modprobe dm-hims

step "bad arguments: exit 2, one line"
expect 2 himsctl
expect 2 himsctl frobnicate
expect 2 himsctl create
expect 2 himsctl create fast
expect 2 himsctl create fast $SSD extra
expect 2 himsctl create a/b $SSD --ram-size 64M
expect 2 himsctl create fast $SSD
expect 2 himsctl create fast $SSD --ram-size
expect 2 himsctl create fast $SSD --ram-size 12Q
expect 2 himsctl create fast $SSD --ram-size 6K
expect 2 himsctl create fast $SSD --ram nvram --ram-size 64M
expect 2 himsctl create fast $SSD --ram-size 64M --mode fast
expect 2 himsctl create fast $SSD --ram-size 64M --option colour=blue
expect 2 himsctl create fast $SSD --ram-size 64M --option max_age
expect 2 himsctl create fast $SSD --ram-size 64M --option max_age=soon
expect 2 himsctl create fast $SSD --ram-size 64M --size 1000
expect 2 himsctl create fast $SSD --ram-size 64M --bogus
expect 2 himsctl create fast $SSD --ram /dev/nonexistent
expect 2 himsctl status --json --export fast
expect 2 himsctl status --export
expect 2 himsctl status a b
expect 2 himsctl mode fast
expect 2 himsctl mode fast fast
expect 2 himsctl flush
expect 2 himsctl remove
expect 2 himsctl wait fast --timeout soon
expect 2 himsctl probe
expect 2 himsctl assemble
expect 2 himsctl assemble --scan $SSD
expect 2 himsctl lvcreate -L 1G --ramsize 64M -n x vg0
expect 2 himsctl lvcreate --type raid1 -L 1G --ramsize 64M -n x vg0
expect 2 himsctl lvcreate --type hims -L 1G -n x vg0
expect 2 himsctl lvcreate --type hims -L 1G --ramsize 64M -n -x vg0
expect 2 himsctl lvremove vg0
expect 2 feedbacctl
expect 2 feedbacctl weight fb /a 0
expect 2 feedbacctl weight fb a 10
expect 2 feedbacctl create fb $AUX --option period_ms
expect 2 feedbacctl create fb $AUX --option cost=pages
expect 2 feedbacctl import-weights

step "runtime failures: exit 1"
expect 1 himsctl status nosuch
expect 1 himsctl flush nosuch
expect 1 himsctl remove nosuch
expect 1 himsctl probe $SSD
expect 1 himsctl assemble $SSD
expect 1 himsctl probe /dev/nonexistent
dd if=/dev/urandom of=$AUX bs=4k count=1 oflag=direct 2>/dev/null
expect 1 himsctl create foreign $AUX --ram zram --ram-size 16M
grep -q "foreign data" /tmp/work/err || fail "no reason given for a foreign SSD: $(cat /tmp/work/err)"
dd if=/dev/zero of=$AUX bs=4k count=1 oflag=direct 2>/dev/null

step "create on brd, status"
himsctl create fast $SSD --ram brd --ram-size 64M --size 256M --mode async --option max_age=500
[ -b /dev/mapper/fast ] || fail "no /dev/mapper/fast"
[ "$(sectors /dev/mapper/fast)" = 524288 ] || fail "size is not 256 MiB"
dmsetup table fast | grep -q "async 10 ram_blocks 16383 .*max_age 500" || fail "table: $(dmsetup table fast)"
dmsetup info -c --noheadings -o uuid fast | grep -q '^HIMS-' || fail "no HIMS- uuid"
himsctl status fast
himsctl status
himsctl status --json
himsctl status fast --json | grep -q '"name": "fast".*"mode": "async".*"ram_blocks": 16383' ||
	fail "json: $(himsctl status fast --json)"
himsctl status --export fast > /tmp/work/export
cat /tmp/work/export
# shellcheck source=/dev/null # written by himsctl above
(. /tmp/work/export && [ "$HIMS_MODE" = async ] && [ "$HIMS_RAM_BLOCKS" = 16383 ] &&
	[ "$HIMS_RAM_DEVICE" = /dev/ram0 ] && [ "$HIMS_SSD_DEVICE" = $SSD ]) || fail "export"

step "probe: superblock and hints, shell-safe"
himsctl probe $SSD | tee /tmp/work/probe
# shellcheck source=/dev/null # written by himsctl above
(. /tmp/work/probe && [ "$HIMS_SUPERBLOCK" = 1 ] && [ "$HIMS_NAME" = fast ] &&
	[ "$HIMS_RAM" = brd ] && [ "$HIMS_RAM_SIZE" = 67108864 ] && [ "$HIMS_MODE" = async ] &&
	[ "$HIMS_OPTIONS" = "max_age 500" ] && [ "$HIMS_RAM_BLOCKS" = 16383 ] &&
	[ "$HIMS_LEN" = 524288 ] && [ -n "$HIMS_UUID" ]) || fail "probe output"
# shellcheck source=/dev/null # written by himsctl above
dmsetup info -c --noheadings -o uuid fast | grep -q "$(. /tmp/work/probe; echo "$HIMS_UUID")" ||
	fail "dm uuid is not the superblock's"

step "data, flush, mode"
expect 1 himsctl create fast $AUX --ram-size 16M
expect 1 himsctl create other $SSD --ram zram --ram-size 16M
himsctl mode fast async
himsctl status --export fast > /dev/null
dmsetup message fast 0 pause_writeback
fio_pattern write /dev/mapper/fast 0 200M 7
[ "$(hims_field fast 4)" -gt 0 ] || fail "nothing dirty with writeback paused"
himsctl flush fast
[ "$(hims_field fast 4)" = 0 ] || fail "dirty blocks after flush"
dmsetup message fast 0 resume_writeback
himsctl mode fast sync
[ "$(hims_field fast 1)" = sync ] || fail "mode not switched"
himsctl probe $SSD | grep -qx HIMS_MODE=sync || fail "hints not updated by mode"

step "remove, then assemble from the hints"
himsctl remove fast
! dmsetup info fast > /dev/null 2>&1 || fail "fast still exists"
himsctl assemble $SSD
[ "$(hims_field fast 1)" = sync ] || fail "assembled in the wrong mode"
dmsetup table fast | grep -q "max_age 500" || fail "options lost: $(dmsetup table fast)"
himsctl wait fast --timeout 120
fio_pattern check /dev/mapper/fast 0 200M 7 || fail "data lost across remove + assemble"
himsctl assemble $SSD | grep -q "already assembled as fast" || fail "second assemble"
n=$(dmsetup ls | wc -l)
himsctl assemble --scan
[ "$(dmsetup ls | wc -l)" = "$n" ] || fail "assemble --scan made another device: $(dmsetup ls)"
himsctl remove fast

step "create on zram, remove frees it"
himsctl create z $AUX --ram zram --ram-size 32M --size 128M
dev=$(himsctl status --export z | sed -n 's/^HIMS_RAM_DEVICE=//p')
echo "RAM device: $dev"
case "$dev" in /dev/zram*) ;; *) fail "not on zram: $dev" ;; esac
fio_pattern write /dev/mapper/z 0 100M 3
fio_pattern check /dev/mapper/z 0 100M 3 || fail "zram data"
himsctl remove z
[ "$(cat "/sys/block/${dev#/dev/}/disksize" 2>/dev/null || echo 0)" = 0 ] || fail "$dev not reset"

step "dedup: a 128 MiB logical RAM tier on 32 MiB of zram, remove, assemble"
himsctl create dd $AUX --ram zram --ram-size 32M --size 256M --option dedup=32768 --format
dmsetup table dd | grep -q "dedup 32768" || fail "table: $(dmsetup table dd)"
himsctl probe $AUX | grep -qx HIMS_DEDUP_BLOCKS=32768 || fail "probe: no dedup geometry"
fio_pattern write /dev/mapper/dd 0 16M 21
fio_pattern write /dev/mapper/dd 150M 16M 22
himsctl status dd
himsctl status --export dd | grep -q '^HIMS_DEDUP_BLOCKS=32768' || fail "export: no dedup"
himsctl remove dd
himsctl assemble $AUX
himsctl wait dd --timeout 120
fio_pattern check /dev/mapper/dd 0 16M 21 || fail "dedup RAM-tier data lost"
fio_pattern check /dev/mapper/dd 150M 16M 22 || fail "dedup SSD-tier data lost"
himsctl remove dd
echo "himsctl ok"
