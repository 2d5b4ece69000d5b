# SPDX-License-Identifier: GPL-2.0
#
# Orchestration only: the kernel build itself is driven by Kbuild
# (make -C $KDIR M=$PWD), once per kernel, in build/ko-<kver>/.
#
#   make check                 everything; ends with "N passed, N failed"
#   make modules               build the modules for every kernel in KVERS
#   make unit                  userspace unit tests (ASan + UBSan)
#   make vm-test T=<name> KVER=<6.1|6.12>   one guest test (tests/guest/<name>.sh)
#   make vm-shell [KVER=...]   interactive guest with our modules loaded
#   make lint                  checkpatch + sparse (C=1)

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

guest_tests := $(sort $(filter-out lib,$(basename $(notdir $(wildcard tests/guest/*.sh)))))

.PHONY: all deps demo modules unit check vm-test vm-shell lint sparse checkpatch clean bench-hims

all: modules

deps:
	@tests/vm/deps.sh

# One copy of the sources per kernel: a kbuild M= tree holds one kernel's objects.
modules-%: deps
	@rm -rf $(build)/ko-$* && mkdir -p $(build)/ko-$*
	@cp --parents $(ksrc) $(build)/ko-$*/
	$(MAKE) -C $$(tests/vm/kernel.sh $* kdir) M=$(build)/ko-$* $(if $(C),C=$(C)) modules

modules: $(addprefix modules-,$(KVERS))

# A unit test tests/unit/<name>-test.c is linked with dm-*/<name>.c if present.
$(build)/unit/%-test: tests/unit/%-test.c $(wildcard dm-*/*.[ch]) purec.h $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(wildcard dm-*/$*.c)

unit: $(unit_bins)
	@fail=0; for t in $(unit_bins); do \
		if $$t > $$t.log 2>&1; then echo "PASS unit/$$(basename $$t)"; \
		else echo "FAIL unit/$$(basename $$t)"; sed 's/^/    /' $$t.log | tail -n 20; fail=1; fi; \
	done; exit $$fail

checkpatch: deps
	@tests/vm/checkpatch.sh $(kfiles) $(filter-out tests/unit/kernel-shim.h,$(wildcard tests/unit/*.[ch]))

sparse:
	@$(MAKE) --no-print-directory modules-6.1 C=1 2>&1 | tee $(build)/sparse.log
	@! grep -E 'warning:|error:' $(build)/sparse.log

lint: checkpatch sparse

vm-test: deps modules-$(KVER)
	tests/vm/run.sh --kver $(KVER) --ko $(build)/ko-$(KVER) --out $(build)/vm/$(KVER) $(addprefix guest/,$(T))

vm-shell: deps modules-$(KVER)
	tests/vm/run.sh --kver $(KVER) --ko $(build)/ko-$(KVER) --out $(build)/vm/$(KVER) --shell

# A benchmark, not a test: fio on brd, the SSD, hims and other caches in one
# boot; writes bench/hims-results.md.
bench-hims: deps modules-$(KVER)
	BENCH_CMD="make bench-hims KVER=$(KVER)" tests/bench/hims-report.sh --kver $(KVER) \
		--ko $(build)/ko-$(KVER) --out $(build)/bench/$(KVER)

# Every step records PASS/FAIL lines; a failing step does not stop the others.
check: deps
	@mkdir -p $(build) && rm -f $(results)
	@$(MAKE) --no-print-directory unit > $(build)/unit.log 2>&1; \
		grep -E '^(PASS|FAIL) ' $(build)/unit.log | tee -a $(results); \
		grep -q '^FAIL ' $(build)/unit.log || ! grep -q 'Error' $(build)/unit.log || \
		{ echo "FAIL unit/build"; tail -n 30 $(build)/unit.log; echo "FAIL unit/build" >> $(results); }
	@for k in $(KVERS); do \
		if $(MAKE) --no-print-directory modules-$$k > $(build)/modules-$$k.log 2>&1; \
		then echo "PASS build/$$k" | tee -a $(results); \
		else echo "FAIL build/$$k" | tee -a $(results); tail -n 30 $(build)/modules-$$k.log; fi; \
	done
	@if $(MAKE) --no-print-directory lint > $(build)/lint.log 2>&1; \
		then echo "PASS lint" | tee -a $(results); \
		else echo "FAIL lint" | tee -a $(results); tail -n 30 $(build)/lint.log; fi
	@if tests/harness-selftest.sh 6.1 > $(build)/harness-selftest.log 2>&1; \
		then echo "PASS harness-selftest" | tee -a $(results); \
		else echo "FAIL harness-selftest" | tee -a $(results); cat $(build)/harness-selftest.log; fi
	@# The kernels' VM runs go in parallel: boots and I/O waits leave CPU idle.
	@for k in $(KVERS); do \
		tests/vm/run.sh --kver $$k --ko $(build)/ko-$$k --out $(build)/vm/$$k --summary $(results) \
			$(addprefix guest/,$(guest_tests)) > $(build)/vm-$$k.log 2>&1 & \
	done; wait; cat $(addprefix $(build)/vm-,$(addsuffix .log,$(KVERS)))
	@tests/summary.sh $(results)

clean:
	rm -rf $(build)

# The main job: build, boot, create a hims device, show it working, cut the
# power, boot again and show the data restored (KVER=6.12 for the other kernel).
demo: deps modules-$(KVER)
	@echo "=== demo on Debian's $(KVER) kernel"
	tests/vm/run.sh --kver $(KVER) --ko $(build)/ko-$(KVER) --out $(build)/vm/$(KVER) --verbose demo/hims
