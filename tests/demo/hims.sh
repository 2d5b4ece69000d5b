# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# The demo: a hims device over an SSD image, compared with the raw SSD,
# then a power cut and a second boot where the RAM tier comes back.
# boots: 2
# timeout: 600
# memory: 2G
# disks: 1G 1G
. /tests/guest/lib.sh
modprobe dm-hims
modprobe brd rd_nr=1 rd_size=262144	# 256 MiB of RAM
ram=/dev/ram0
ram_blocks=65535			# 256 MiB RAM tier (one block holds a header) ...
len=$(( (ram_blocks + 131072) * 8 ))	# ... then 512 MiB on the SSD only
table="0 $len hims $ram $SSD async 2 ram_blocks $ram_blocks"
# The disks start full of old data, as a reused SSD would: the first table
# formats it; later ones must find the superblock.
format_table="0 $len hims $ram $SSD async 3 format ram_blocks $ram_blocks"

bw() { # bw <device> <rw>: MB/s of a short 4 KiB QD32 fio run
	fio --name=demo --filename="$1" --direct=1 --ioengine=libaio --rw="$2" \
		--bs=4k --iodepth=32 --size=128M --runtime=5 --time_based \
		--output-format=terse --terse-version=3 2>/dev/null |
		awk -F';' -v rw="$2" '{ print int((rw ~ /read/ ? $7 : $48) / 1024) }'
}

case "$BOOT" in
1)
	step "boot 1: kernel $(uname -r); RAM device $ram (brd, 256 MiB), SSD $SSD"
	echo "table: $format_table"
	dmsetup create hims --table "$format_table"
	echo "status: $(dmsetup status hims)"
	step "fill the RAM tier, then compare 4 KiB QD32 random I/O with the raw SSD"
	dd if=/dev/urandom of=/dev/mapper/hims bs=1M count=128 oflag=direct 2>/dev/null
	printf '%-16s %10s %10s\n' device "read MB/s" "write MB/s"
	printf '%-16s %10s %10s\n' "raw SSD" "$(bw "$AUX" randread)" "$(bw "$AUX" randwrite)"
	printf '%-16s %10s %10s\n' "hims (async)" "$(bw /dev/mapper/hims randread)" \
		"$(bw /dev/mapper/hims randwrite)"
	echo "status: $(dmsetup status hims)"
	echo "        mode used total dirty writeback restored to-restore ram-r ram-w ssd-r ssd-w wb error"
	step "write a 64 MiB pattern (RAM tier and SSD tier), flush, then cut the power"
	dd if=/dev/urandom of=/tmp/pattern bs=1M count=32 2>/dev/null
	dd if=/tmp/pattern of=/dev/mapper/hims bs=1M seek=200 oflag=direct 2>/dev/null
	dd if=/tmp/pattern of=/dev/mapper/hims bs=1M seek=300 oflag=direct 2>/dev/null
	echo "pattern sha256: $(sha256sum < /tmp/pattern | cut -c1-16)"
	# Boot 2 compares the RAM-tier copy with the SSD-tier copy.
	dmsetup message hims 0 flush
	echo "status after flush: $(dmsetup status hims)"
	echo "cutting the power now (no sync, no clean shutdown)"
	powercut
	;;
2)
	step "boot 2: RAM is empty again; load the same table"
	dmsetup create hims --table "$table"
	echo "status right after load: $(dmsetup status hims)"
	step "read the data back while the restore runs"
	a=$(dd if=/dev/mapper/hims bs=1M skip=200 count=32 iflag=direct 2>/dev/null | sha256sum | cut -c1-16)
	b=$(dd if=/dev/mapper/hims bs=1M skip=300 count=32 iflag=direct 2>/dev/null | sha256sum | cut -c1-16)
	echo "RAM-tier copy sha256: $a"
	echo "SSD-tier copy sha256: $b"
	[ "$a" = "$b" ] || fail "the two copies differ"
	i=0
	while :; do
		# shellcheck disable=SC2046 # the status fields
		set -- $(dmsetup status hims)
		echo "restore progress: ${9}/${10} blocks"
		[ "$9" = "${10}" ] && break
		i=$((i + 1))
		[ $i -lt 600 ] || fail "restore did not finish"
		sleep 1
	done
	a2=$(dd if=/dev/mapper/hims bs=1M skip=200 count=32 iflag=direct 2>/dev/null | sha256sum | cut -c1-16)
	echo "after restore, from RAM: $a2"
	[ "$a2" = "$a" ] || fail "restored data differs"
	echo "status: $(dmsetup status hims)"
	dmsetup remove hims
	echo "data restored after the power cut"
	;;
esac
