# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# dm-hims dedup commit records.  Format writes an empty commit (epoch 0):
# a formatted SSD that never committed (its table was never resumed, so
# never suspended) passes hims-check and loads, and again into a new brd.
# An SSD whose two records are both damaged is refused with a message and
# left as it was: it must not come up empty and have its metadata
# overwritten by the next commit.
# timeout: 300
. /tests/guest/lib.sh
dmesg_on_fail
command -v hims-check > /dev/null || fail "hims-check is not in PATH (make tools; TOOLS_DIR)"
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=4096	# 4 MiB: 1023 RAM blocks
logical=2048
len=$(( (logical + 256) * 8 ))
name=hdr
dev=/dev/mapper/$name
table="0 $len hims /dev/ram0 $SSD sync"
msg="hims: dedup commit records both invalid: run hims-check"
# The layout ends within the 16 MiB the harness zeroes.
ssd_sum() {
	dd if=$SSD bs=1M count=16 iflag=direct 2>/dev/null | sha256sum | cut -c1-64
}
new_brd() {
	rmmod brd
	modprobe brd rd_nr=1 rd_size=4096
}
fresh() { # fresh <when> [--strict]: format but never commit; load it twice
	# The first resume formats; the SSD as it left it, before the
	# suspend's commit, is the SSD after a power cut just then.
	dmsetup create $name --table "$table 3 dedup $logical format" ||
		fail "cannot format ($1)"
	dd if=$SSD of=formatted.img bs=1M count=16 iflag=direct 2>/dev/null ||
		fail "cannot read the formatted SSD ($1)"
	dmsetup remove $name
	dd if=formatted.img of=$SSD bs=1M oflag=direct conv=notrunc 2>/dev/null ||
		fail "cannot put the formatted SSD back ($1)"
	# shellcheck disable=SC2086 # $2: an option or nothing
	out=$(hims-check $2 $SSD) ||
		fail "hims-check on a formatted SSD ($1): $(hims-check $2 $SSD 2>&1)"
	echo "$out"
	case "$out" in
	*"no commit yet"*) ;;
	*) fail "hims-check sees a commit on a formatted SSD ($1)" ;;
	esac
	dmsetup create $name --table "$table 2 dedup $logical" ||
		fail "a formatted SSD that never committed is refused ($1)"
	[ "$(hims_field $name 14)" = 0 ] || fail "blocks mapped though none was written ($1)"
	dmsetup remove $name
	hims-check $SSD || fail "hims-check after the first commit ($1)"
	new_brd
	dmsetup create $name --table "$table 2 dedup $logical" ||
		fail "cannot load it again into a new brd ($1)"
	hims_wait_restored $name 30
	[ "$(hims_field $name 14)" = 0 ] || fail "blocks mapped though none was written ($1)"
	dmsetup remove $name
}

step "format, reload with no writes"
fresh "first format" --strict

step "write, flush, remove; then damage both commit records"
dmsetup create $name --table "$table 2 dedup $logical"
head -c 1048576 /dev/urandom > data
dd if=data of=$dev bs=1M count=1 oflag=direct 2>/dev/null || fail "write failed"
dmsetup message $name 0 flush
dmsetup remove $name
hims-check $SSD || fail "hims-check after a flush"
rec=$(himsctl probe $SSD | sed -n 's/^HIMS_DEDUP_RECORDS=//p')
[ -n "$rec" ] || fail "himsctl probe names no commit records: $(himsctl probe $SSD)"
echo "commit records at SSD blocks $rec and $((rec + 1))"
for b in $rec $((rec + 1)); do
	# The epoch field: the checksum no longer matches.
	printf 'XXXXXXXX' | dd of=$SSD bs=1 seek=$((b * 4096 + 16)) conv=notrunc,fsync 2>/dev/null
done

step "the damaged SSD is refused and left untouched"
before=$(ssd_sum)
dmesg -c > /dev/null
if dmsetup create $name --table "$table 2 dedup $logical" 2> err; then
	dmsetup status $name
	fail "a table was loaded with both commit records damaged"
fi
cat err
dmesg | grep -F "$msg" || fail "no \"$msg\" in the kernel log: $(dmesg | tail -n 5)"
new_brd
dmsetup create $name --table "$table 2 dedup $logical" 2> /dev/null &&
	fail "a table was loaded with both commit records damaged, after a reboot"
[ "$(ssd_sum)" = "$before" ] || fail "the refused loads changed the SSD"
if hims-check $SSD > out 2>&1; then
	fail "hims-check passes with both records damaged: $(cat out)"
fi
cat out
grep -q "no valid commit record" out || fail "hims-check does not say what is wrong"

step "format again: the old metadata slots are another instance's"
fresh "second format"
