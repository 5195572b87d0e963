#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# gfpctx: every `warns` cell is refused with EPERM without allow=warns;
# run on purpose (allow=warns, one attempt) it makes a
# CONFIG_DEBUG_ATOMIC_SLEEP kernel print exactly one "BUG: sleeping
# function called from invalid context" with a backtrace through the
# module, counted by the module itself (the `last` file). The loop over
# the cells is gfpctx_cells, one process.
#
# It provokes reports, and the first may turn lockdep off for the rest of
# the boot: it runs after the clean scripts (TEST_PROGS order).
# GFPCTX_SHARD=I/N: the I-th of every N warns cells only (gfpctx_lib.sh).

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

gfpctx_setup
case $(gfpctx_kernel debug_atomic_sleep) in
yes) ;;
no) gfpctx_skip_all "CONFIG_DEBUG_ATOMIC_SLEEP off" ;;
*) gfpctx_skip_all "cannot tell if CONFIG_DEBUG_ATOMIC_SLEEP is on" \
	"(no gfpctx/kernel file, no kernel config)" ;;
esac
gfpctx_shard_check
gfpctx_cells_run ${GFPCTX_SHARD:+-s "$GFPCTX_SHARD"} provoke
