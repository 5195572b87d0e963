#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# gfpctx: every `ok` cell of rules succeeds count out of count, in the
# context it claims, its timing figures consistent, with no report from
# the kernel; then again with free=process. The loop over the cells is
# gfpctx_cells, one process (gfpctx_cells.c says what it checks).

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

gfpctx_setup
gfpctx_cells_run -c "${GFPCTX_COUNT:-1000}" ok
