# SPDX-License-Identifier: GPL-2.0
#
# Orchestration only: the kernel build itself is driven by Kbuild
# (make -C $KDIR M=$PWD), once per kernel, in build/ko-<kver>/.
#
#   make check                 everything; ends with "N passed, N failed"
#   make modules               build the modules for every kernel in KVERS
#   make unit                  userspace unit tests (ASan + UBSan)
#   make vm-test T=<name> KVER=<6.1|6.12>   one guest test (tests/guest/[<group>/]<name>.sh)
#   make check-debug           the VM suite on a 6.1 debug kernel (KASAN, lockdep, ...)
#   make vm-shell [KVER=...]   interactive guest with our modules loaded
#   make lint                  checkpatch + sparse (C=1) + shellcheck
#   make crash-soak N=<runs> KVER=...   more crash-point replay runs (tests/crash/README)

KVERS ?= 6.1 6.12
KVER ?= 6.1
T ?= smoke

top := $(CURDIR)
BUILD ?= $(top)/build
build := $(abspath $(BUILD))
results := $(build)/check-results.txt

# Kernel sources: Kbuild, the compat header and each target's directory.
ksrc := Kbuild compat.h purec.h $(wildcard dm-*/Kbuild dm-*/*.[ch])
kfiles := $(filter %.c %.h,$(wildcard dm-*/*.[ch])) compat.h purec.h

unit_srcs := $(wildcard tests/unit/*-test.c)
unit_bins := $(patsubst tests/unit/%.c,$(build)/unit/%,$(unit_srcs))
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -I$(top) -I$(top)/tests/unit

# Guest tests are named by their path without .sh (tests/guest/<group>/<name>).
# The lifecycle soak (make soak) is not in make check: one round per phase
# would cost 1-2 minutes a phase under TCG on a loaded host, 6-10 minutes
# a kernel (estimated from the rounds of make soak MIN=10, which passes on
# 6.1 and 6.12).
guest_tests := $(sort $(filter-out tests/guest/lib tests/guest/soak/%, \
	$(basename $(wildcard tests/guest/*.sh tests/guest/*/*.sh))))
# T=<name>: a test's file name (hims-basic), <group>/<name> or its whole name.
vm_tests = $(foreach t,$(T),$(or $(basename $(firstword $(wildcard tests/guest/$(t).sh \
	tests/guest/*/$(t).sh $(t).sh))),$(error no guest test named $(t))))

# Userspace tools (himsctl, feedbacctl) in $(build)/tools; the VM's initramfs
# copies TOOLS_DIR into /opt/hims/tools.
export TOOLS_DIR ?= $(build)/tools
TOOLS_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I$(top)
tools_common := tools/lib/hdm.c tools/lib/msg.c tools/lib/opts.c tools/lib/sysdev.c \
	tools/lib/json.c tools/lib/toolutil.c
tools_deps := $(wildcard tools/*.[ch] tools/lib/*.[ch]) dm-hims/hims-format.c dm-hims/hims-format.h purec.h purec-user.h

.PHONY: crash-soak fuzz fuzz-tools soak
.PHONY: all deps demo modules unit check check-debug vm-test vm-shell lint sparse checkpatch shellcheck clean bench-hims \
	tools dkms-install install-tools bench-feedbac

all: modules

deps:
	@tests/vm/deps.sh

# One copy of the sources per kernel: a kbuild M= tree holds one kernel's objects.
# Warnings are errors here (and so in make check), but not in the Kbuild
# files that DKMS uses: a newer compiler's new warning must not fail an install.
modules-%: deps
	@rm -rf $(build)/ko-$* && mkdir -p $(build)/ko-$*
	@cp --parents $(ksrc) $(build)/ko-$*/
	$(MAKE) -C $$(tests/vm/kernel.sh $* kdir) M=$(build)/ko-$* $(if $(C),C=$(C)) \
		KCFLAGS="$(strip $(KCFLAGS) -Werror)" modules

modules: $(addprefix modules-,$(KVERS))

# The dedup core, in the module, the unit tests and the tools.
dedup_core := dm-hims/hims-dedup.c dm-hims/hims-dedup-pool.c

# Unit tests: tests/unit/<test>.c is linked with the sources listed for it
# here (several, or none); every test needs a line.  Some tests also
# #include a .c file they test with its static functions.
unit.feedbac-credit-test  := dm-feedbac/feedbac-credit.c
unit.feedbac-options-test :=
unit.feedbac-status-test  := tools/lib/feedbac-status.c
unit.hims-check-test      := tools/hims-check.c
unit.crash-test           := tests/crash/crash-log.c tests/crash/crash-record.c \
	tests/crash/crash-block.c dm-hims/hims-format.c
unit.hims-dedup-test      := $(dedup_core) dm-hims/hims-format.c dm-hims/hims-dedup-check.c
unit.hims-format-test     := dm-hims/hims-format.c
unit.hims-hints-test      := tools/lib/hims-hints.c
unit.hims-lrw-test        := dm-hims/hims-lrw.c
unit.hims-status-test     := tools/lib/hims-status.c
unit.json-test            := tools/lib/json.c
unit.toolutil-test        := tools/lib/toolutil.c

.SECONDEXPANSION:
$(build)/unit/%-test: tests/unit/%-test.c $$(unit.$$*-test) $(wildcard dm-*/*.[ch] tools/*.[ch] \
		tools/*/*.[ch]) purec.h purec-user.h $(wildcard tests/unit/*.h)
	$(if $(filter undefined,$(origin unit.$*-test)),$(error tests/unit/$*-test.c: \
		no unit.$*-test line in the Makefile))
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(unit.$*-test)

# tools/hims-check.c without its main(); the test includes the dm-hims sources.
$(build)/unit/hims-check-test: UNIT_CFLAGS += -DHIMS_CHECK_NO_MAIN

unit: $(unit_bins)
	@fail=0; for t in $(unit_bins); do \
		if $$t > $$t.log 2>&1; then echo "PASS unit/$$(basename $$t)"; \
		else echo "FAIL unit/$$(basename $$t)"; sed 's/^/    /' $$t.log | tail -n 20; fail=1; fi; \
	done; exit $$fail

tools: $(TOOLS_DIR)/himsctl $(TOOLS_DIR)/feedbacctl $(TOOLS_DIR)/hims-check \
	$(TOOLS_DIR)/hims-replay $(TOOLS_DIR)/hims-crashwl $(TOOLS_DIR)/hims-fuzz

himsctl_srcs := tools/himsctl.c tools/himsctl-create.c tools/himsctl-status.c \
	tools/himsctl-assemble.c tools/himsctl-lvm.c tools/himsctl-ssd.c
$(TOOLS_DIR)/himsctl: $(himsctl_srcs) $(tools_deps) $(dedup_core) dm-hims/hims-dedup.h
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) -o $@ $(himsctl_srcs) tools/lib/hims-status.c tools/lib/hims-hints.c \
		tools/lib/ramdev.c dm-hims/hims-format.c $(dedup_core) \
		dm-hims/hims-dedup-check.c $(tools_common) -ldevmapper

$(TOOLS_DIR)/feedbacctl: tools/feedbacctl.c $(tools_deps)
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) -o $@ $< tools/lib/feedbac-status.c $(tools_common) -ldevmapper

$(TOOLS_DIR)/hims-check: tools/hims-check.c $(dedup_core) dm-hims/hims-dedup.h $(tools_deps)
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) -o $@ $< dm-hims/hims-format.c $(dedup_core) \
		dm-hims/hims-dedup-check.c

# The crash-replay test's programs (tests/crash/README): in TOOLS_DIR so
# that the guest has them, not installed.
crash_deps := $(wildcard tests/crash/*.[ch]) tools/lib/msg.[ch] tools/lib/toolutil.[ch] purec.h purec-user.h
# hims-replay check runs hims-check's logic (no main) and loads tables itself.
$(TOOLS_DIR)/hims-replay: $(crash_deps) $(tools_deps) $(dedup_core) dm-hims/hims-dedup.h
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) -DHIMS_CHECK_NO_MAIN -o $@ tests/crash/hims-replay.c \
		tests/crash/crash-log.c tests/crash/crash-block.c tests/crash/crash-record.c \
		tools/hims-check.c dm-hims/hims-format.c $(dedup_core) \
		dm-hims/hims-dedup-check.c tools/lib/hims-status.c tools/lib/hdm.c \
		tools/lib/msg.c tools/lib/toolutil.c -ldevmapper

$(TOOLS_DIR)/hims-crashwl: $(crash_deps) dm-hims/hims-format.c dm-hims/hims-format.h
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) -pthread -o $@ tests/crash/hims-crashwl.c tests/crash/crash-block.c \
		tests/crash/crash-record.c tests/crash/crash-log.c dm-hims/hims-format.c \
		tools/lib/hdm.c tools/lib/msg.c tools/lib/toolutil.c -ldevmapper

# The fuzzer (tests/fuzz/README).  hims-fuzz, the kernel half, in
# TOOLS_DIR so that the guest has it; fuzz-tools, the userspace half, with
# the sanitizers and himsctl's and hims-check's main() linked in.
fuzz_gen := tests/fuzz/fuzz-gen.c dm-hims/hims-format.c $(dedup_core) dm-hims/hims-dedup-check.c \
	tools/lib/hims-hints.c tools/lib/toolutil.c
fuzz_deps := $(wildcard tests/fuzz/*.[ch]) $(tools_deps) $(dedup_core) dm-hims/hims-dedup.h
$(TOOLS_DIR)/hims-fuzz: $(fuzz_deps)
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) -o $@ tests/fuzz/hims-fuzz.c $(fuzz_gen) -ldevmapper

$(build)/fuzz/fuzz-tools: $(fuzz_deps) $(himsctl_srcs)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ tests/fuzz/fuzz-tools.c tests/fuzz/fuzz-himsctl.c \
		tests/fuzz/fuzz-hims-check.c $(filter-out tools/himsctl.c,$(himsctl_srcs)) \
		tests/fuzz/fuzz-gen.c tools/lib/hims-status.c tools/lib/hims-hints.c \
		tools/lib/ramdev.c dm-hims/hims-format.c $(dedup_core) \
		dm-hims/hims-dedup-check.c $(tools_common) -ldevmapper

# make fuzz-tools: the userspace half, FUZZ_TOOLS_N cases (make check: 4000).
# make fuzz N=<cases> [SEED=] [KVER=]: N cases of each half (the kernel's
# on KVER, in one boot); each prints "<part>: cases N refused N accepted N
# failures N seed S".
FUZZ_TOOLS_N ?= 4000
SEED ?= 1
fuzz-tools: $(build)/fuzz/fuzz-tools
	$(build)/fuzz/fuzz-tools --seed $(SEED) --cases $(FUZZ_TOOLS_N)

fuzz_n = $(if $(filter file,$(origin N)),10000,$(N))
# The kernel's cases in boots of at most 20000 (a boot's timeout is for
# those), case numbers going on from boot to boot.
fuzz: deps modules-$(KVER) tools $(build)/fuzz/fuzz-tools
	$(build)/fuzz/fuzz-tools --seed $(SEED) --cases $(fuzz_n)
	@rc=0; first=0; rm -f $(build)/vm-fuzz/$(KVER)-summary.txt; \
	while [ $$first -lt $(fuzz_n) ]; do \
		n=$$(( $(fuzz_n) - first < 20000 ? $(fuzz_n) - first : 20000 )); \
		HIMS_SEED=$(SEED) HIMS_FUZZ_N=$$n HIMS_FUZZ_FIRST=$$first tests/vm/run.sh \
			--kver $(KVER) --ko $(build)/ko-$(KVER) --out $(build)/vm-fuzz/$(KVER) \
			tests/guest/fuzz/fuzz-kernel || rc=1; \
		grep -h -E 'cases [0-9]+ refused|FAIL case' $(build)/vm-fuzz/$(KVER)/boot*/results.log | \
			tee -a $(build)/vm-fuzz/$(KVER)-summary.txt; \
		first=$$((first + n)); \
	done; exit $$rc

# Installs the sources into /usr/src/hims-<version> and lets DKMS build and
# install the modules for the running kernel.
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
dkms-install:
	rm -rf $(DESTDIR)/usr/src/hims-$(DKMS_VERSION)
	mkdir -p $(DESTDIR)/usr/src/hims-$(DKMS_VERSION)
	cp --parents dkms.conf $(ksrc) $(DESTDIR)/usr/src/hims-$(DKMS_VERSION)/
	dkms add -m hims -v $(DKMS_VERSION) || true
	dkms build -m hims -v $(DKMS_VERSION)
	dkms install -m hims -v $(DKMS_VERSION)

# The tools, udev rules, systemd unit, initramfs-tools hook and man pages.
PREFIX ?= /usr
install-tools: tools
	install -D -m 755 $(TOOLS_DIR)/himsctl $(DESTDIR)$(PREFIX)/sbin/himsctl
	install -D -m 755 $(TOOLS_DIR)/feedbacctl $(DESTDIR)$(PREFIX)/sbin/feedbacctl
	install -D -m 644 udev/69-hims.rules $(DESTDIR)$(PREFIX)/lib/udev/rules.d/69-hims.rules
	install -D -m 644 udev/himsctl-assemble@.service \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/himsctl-assemble@.service
	install -D -m 755 udev/initramfs-tools/hooks/hims \
		$(DESTDIR)$(PREFIX)/share/initramfs-tools/hooks/hims
	install -D -m 644 tools/himsctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/himsctl.8
	install -D -m 644 tools/feedbacctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/feedbacctl.8

checkpatch: deps
	@tests/vm/checkpatch.sh $(kfiles) $(wildcard tests/unit/*.[ch] tools/*.[ch] tools/lib/*.[ch] \
		tests/crash/*.[ch] tests/fuzz/*.[ch])

# Both kernels: their headers differ, and so can what sparse sees.
sparse:
	@for k in $(KVERS); do $(MAKE) --no-print-directory modules-$$k C=1; done 2>&1 | \
		tee $(build)/sparse.log
	@! grep -E 'warning:|error:' $(build)/sparse.log

# Every host and guest shell script.  Guest scripts source /tests/guest/lib.sh
# by its path in the guest; -P $(top) finds it in the tree (.shellcheckrc).
shell_scripts := $(wildcard tests/*.sh tests/vm/*.sh tests/guest/*.sh tests/guest/*/*.sh \
	tests/selftest/*.sh tests/demo/*.sh bench/host/*.sh bench/guest/*.sh) \
	tests/vm/guest-init .ci/run udev/initramfs-tools/hooks/hims

shellcheck: deps
	shellcheck -P $(top) $(shell_scripts)

lint: checkpatch sparse shellcheck

vm-test: deps modules-$(KVER) tools
	tests/vm/run.sh --kver $(KVER) --ko $(build)/ko-$(KVER) --out $(build)/vm/$(KVER) $(vm_tests)

vm-shell: deps modules-$(KVER) tools
	tests/vm/run.sh --kver $(KVER) --ko $(build)/ko-$(KVER) --out $(build)/vm/$(KVER) --shell

# A benchmark, not a test: a calibration boot measures brd, then fio on brd,
# dm-linear, the SSD (qemu-throttled to 1/10 of brd), hims and other caches
# in one boot, medians of BENCH_ROUNDS (5) interleaved rounds; a container
# deploy on hims and the SSD alone in a second boot; the dedup figures in a
# third.  Writes bench/results/hims-results.md and hims-results-table2.png.
bench-hims: deps modules-$(KVER)
	BENCH_CMD="make bench-hims KVER=$(KVER)" bench/host/hims-report.sh --kver $(KVER) \
		--ko $(build)/ko-$(KVER) --out $(build)/bench/$(KVER)

# A benchmark, not a test: dm-feedbac vs no control, BFQ and blk-iocost on a
# throttled emulated NVMe drive, four weighted cgroups, and a mid-run
# slowdown; writes bench/results/feedbac-results.md and
# bench/results/feedbac-dynamic.png.
bench-feedbac: deps modules-$(KVER)
	BENCH_CMD="make bench-feedbac KVER=$(KVER)" bench/host/feedbac-report.sh --kver $(KVER) \
		--ko $(build)/ko-$(KVER) --out $(build)/bench-feedbac/$(KVER)

# Every step records PASS/FAIL lines; a failing step does not stop the others.
check: deps
	@mkdir -p $(build) && rm -f $(results)
	@$(MAKE) --no-print-directory unit > $(build)/unit.log 2>&1; \
		grep -E '^(PASS|FAIL) ' $(build)/unit.log | tee -a $(results); \
		grep -q '^FAIL ' $(build)/unit.log || ! grep -q 'Error' $(build)/unit.log || \
		{ echo "FAIL unit/build"; tail -n 30 $(build)/unit.log; echo "FAIL unit/build" >> $(results); }
	@if $(MAKE) --no-print-directory fuzz-tools > $(build)/fuzz-tools.log 2>&1; \
		then echo "PASS fuzz-tools" | tee -a $(results); \
		else echo "FAIL fuzz-tools" | tee -a $(results); tail -n 30 $(build)/fuzz-tools.log; fi
	@for k in $(KVERS); do \
		if $(MAKE) --no-print-directory modules-$$k > $(build)/modules-$$k.log 2>&1; \
		then echo "PASS build/$$k" | tee -a $(results); \
		else echo "FAIL build/$$k" | tee -a $(results); tail -n 30 $(build)/modules-$$k.log; fi; \
	done
	@if $(MAKE) --no-print-directory tools > $(build)/tools.log 2>&1; \
		then echo "PASS build/tools" | tee -a $(results); \
		else echo "FAIL build/tools" | tee -a $(results); tail -n 30 $(build)/tools.log; fi
	@if tests/dkms-test.sh $(KVERS) > $(build)/dkms.log 2>&1; \
		then echo "PASS dkms" | tee -a $(results); \
		else echo "FAIL dkms" | tee -a $(results); tail -n 30 $(build)/dkms.log; fi
	@if $(MAKE) --no-print-directory lint > $(build)/lint.log 2>&1; \
		then echo "PASS lint" | tee -a $(results); \
		else echo "FAIL lint" | tee -a $(results); tail -n 30 $(build)/lint.log; fi
	@if tests/harness-selftest.sh 6.1 > $(build)/harness-selftest.log 2>&1; \
		then echo "PASS harness-selftest" | tee -a $(results); \
		else echo "FAIL harness-selftest" | tee -a $(results); cat $(build)/harness-selftest.log; fi
	@# The kernels' VM runs go in parallel: boots and I/O waits leave CPU idle.
	@for k in $(KVERS); do \
		tests/vm/run.sh --kver $$k --ko $(build)/ko-$$k --out $(build)/vm/$$k --summary $(results) \
			$(guest_tests) > $(build)/vm-$$k.log 2>&1 & \
	done; wait; cat $(addprefix $(build)/vm-,$(addsuffix .log,$(KVERS)))
	@tests/summary.sh $(results)

# The whole VM suite on 6.1 built from Debian's source with KASAN, lockdep,
# kmemleak, UBSAN and the debug-object checks (tests/vm/debug-kernel.sh): the
# first run builds that kernel, later ones reuse it.  KVER=6.1-debug works
# with vm-test and vm-shell too.
check-debug: deps tools
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory modules-6.1-debug || exit 1; \
	echo "debug kernel and modules ready after $$(($$(date +%s) - start)) s"; \
	rm -f $(build)/check-debug-results.txt; \
	tests/vm/run.sh --kver 6.1-debug --ko $(build)/ko-6.1-debug --out $(build)/vm/6.1-debug \
		--summary $(build)/check-debug-results.txt $(guest_tests); rc=$$?; \
	echo "check-debug: $$(grep -c '^PASS' $(build)/check-debug-results.txt) passed," \
		"$$(grep -c '^FAIL' $(build)/check-debug-results.txt) failed in $$(($$(date +%s) - start)) s"; \
	exit $$rc

clean:
	rm -rf $(build)

# The crash-point replay test N more times on KVER, each with another seed
# (HIMS_SEED = SEED .. SEED + N - 1): 576 more crash points a run, or
# 16 * CRASH_POINTS with CRASH_POINTS=<n>; ends with the total of points
# checked and failed (tests/vm/crash-soak.sh).
N ?= 4
SEED ?= 1
crash-soak: deps modules-$(KVER) tools
	@tests/vm/crash-soak.sh --kver $(KVER) --ko $(build)/ko-$(KVER) \
		--out $(build)/vm-soak --runs $(N) --first $(SEED)

# The lifecycle soak (tests/guest/soak/lifecycle-soak.sh) for MIN minutes on
# KVER; make check runs it for the minutes its "# soak:" line says.
MIN ?= 10
soak: deps modules-$(KVER) tools
	SOAK_MIN=$(MIN) tests/vm/run.sh --kver $(KVER) --ko $(build)/ko-$(KVER) \
		--out $(build)/vm-soak/$(KVER)-lifecycle tests/guest/soak/lifecycle-soak

# The main job: build, boot, create a hims device, show it working, cut the
# power, boot again and show the data restored (KVER=6.12 for the other kernel).
demo: deps modules-$(KVER) tools
	@echo "=== demo on Debian's $(KVER) kernel"
	tests/vm/run.sh --kver $(KVER) --ko $(build)/ko-$(KVER) --out $(build)/vm/$(KVER) --verbose tests/demo/hims
