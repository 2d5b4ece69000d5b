# SPDX-License-Identifier: GPL-2.0
# Demo of the VM harness with in-kernel targets (dm-linear over a virtio disk).
# timeout: 300
. /tests/guest/lib.sh
step "kernel $(uname -r), $(nproc) CPUs under TCG"
step "dm-linear over $SSD"
dmsetup create demo --table "0 262144 linear $SSD 0"
dmsetup table demo
step "fio 4k random write + verify, 64 MiB"
fio_verify /dev/mapper/demo 64M
echo "verified"
dmsetup remove demo
