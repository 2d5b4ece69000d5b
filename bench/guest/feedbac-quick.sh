# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# bench/guest/feedbac.sh with short phases, to try the benchmark out:
# bench/host/feedbac-report.sh --quick.
# timeout: 500
# memory: 2G
# nvme: 1G
FB_RUNTIME=5
FB_RAMP=2
FB_DYN_BEFORE=5
FB_DYN_AFTER=5
. /bench/guest/feedbac.sh
