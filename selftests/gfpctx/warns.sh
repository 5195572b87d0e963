#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: every `warns` cell, run on purpose (allow=warns), makes a
# CONFIG_DEBUG_ATOMIC_SLEEP kernel print "BUG: sleeping function called
# from invalid context" with a backtrace through the module; without
# allow=warns it is refused with EPERM.
#
# It provokes splats: run it in a boot of its own (or last). Each splat is
# declared to the log reader between gfpctx-expect begin/end markers.

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

BEGIN="gfpctx-expect: begin kind=might_sleep kind=lockdep kind=warning func=gfpctx_"
END="gfpctx-expect: end"
BUG="BUG: sleeping function called from invalid context"
FRAME_RE='gfpctx_[A-Za-z0-9_.]*\+0x[0-9a-f]+/0x[0-9a-f]+ \[gfpctx\]'
# __might_resched() reports once per second system wide (prev_jiffy):
# leave a margin.
GAP_CS=150

last_cs=0

# wait_gap: until GAP_CS after the previous provoked report.
wait_gap() {
	while [ "$(gfpctx_now_cs)" -lt $((last_cs + GAP_CS)) ]; do
		gfpctx_nap
	done
}

provoke() {
	local ctx="$1" alloc="$2" gfp="$3" desc r log bad

	desc="warns $ctx $alloc $gfp: BUG sleeping function, frame in gfpctx"
	wait_gap
	gfpctx_reset
	gfpctx_log_mark
	echo "$BEGIN" > /dev/kmsg
	r=$(gfpctx_run "context=$ctx alloc=$alloc gfp=$gfp count=1" \
		"$(gfpctx_job_args "$alloc") allow=warns")
	echo "$END" > /dev/kmsg
	last_cs=$(gfpctx_now_cs)
	log=$(gfpctx_log_since)
	if [ "$r" != OK ]; then
		gfpctx_msg "$ctx $alloc $gfp allow=warns: $r, want OK"
		ktap_test_fail "$desc"
		return
	fi
	if ! gfpctx_expect_stats "$ctx" "$alloc" "$gfp" attempts=1 \
		ctx_mismatch=0; then
		gfpctx_msg "$GFPCTX_WHY"
		ktap_test_fail "$desc"
		return
	fi
	if ! echo "$log" | grep -qF "$BUG"; then
		gfpctx_msg "$ctx $alloc $gfp: no \"$BUG\""
		ktap_test_fail "$desc"
		return
	fi
	if ! echo "$log" | grep -Eq "$FRAME_RE"; then
		gfpctx_msg "$ctx $alloc $gfp: no backtrace frame in [gfpctx]"
		ktap_test_fail "$desc"
		return
	fi
	# Only the declared kinds: no other BUG, no Oops, no KASAN.
	bad=$(echo "$log" | grep -E 'BUG:|Oops|KASAN|UBSAN' | grep -vF "$BUG")
	if [ -n "$bad" ]; then
		gfpctx_msg "$ctx $alloc $gfp: undeclared: $(echo "$bad" | head -n 1)"
		ktap_test_fail "$desc"
		return
	fi
	ktap_test_pass "$desc"
}

ktap_print_header
gfpctx_setup
case $(gfpctx_kernel debug_atomic_sleep) in
yes) ;;
no) gfpctx_skip_all "CONFIG_DEBUG_ATOMIC_SLEEP off" ;;
*) gfpctx_skip_all "cannot tell if CONFIG_DEBUG_ATOMIC_SLEEP is on" \
	"(no gfpctx/kernel file, no kernel config)" ;;
esac
gfpctx_log_mark
start_mark=$GFPCTX_MARK

gfpctx_cells warns > "$GFPCTX_TMP/warns"
n=$(wc -l < "$GFPCTX_TMP/warns")
[ "$n" -gt 0 ] || gfpctx_skip_all "no warns cell on this kernel"
ktap_set_plan $((2 * n + 1))
last_cs=$(gfpctx_now_cs)

while read -r ctx alloc gfp; do
	desc="warns $ctx $alloc $gfp without allow=warns: EPERM"
	if ! gfpctx_ctx_available "$ctx"; then
		ktap_test_skip "$desc: $(gfpctx_ctx_why "$ctx")"
		ktap_test_skip "warns $ctx $alloc $gfp: $(gfpctx_ctx_why "$ctx")"
		continue
	fi
	cat "$GFPCTX_DIR/stats" > "$GFPCTX_TMP/stats.before"
	r=$(gfpctx_run "context=$ctx alloc=$alloc gfp=$gfp count=1" \
		"$(gfpctx_job_args "$alloc")")
	cat "$GFPCTX_DIR/stats" > "$GFPCTX_TMP/stats.after"
	if [ "$r" = EPERM ] &&
	   cmp -s "$GFPCTX_TMP/stats.before" "$GFPCTX_TMP/stats.after"; then
		ktap_test_pass "$desc"
	else
		gfpctx_msg "$ctx $alloc $gfp: $r, want EPERM and stats unchanged"
		ktap_test_fail "$desc"
	fi
	provoke "$ctx" "$alloc" "$gfp"
done < "$GFPCTX_TMP/warns"

# Every splat of this run is inside a declared window.
GFPCTX_MARK=$start_mark
bad=$(gfpctx_log_since | awk -v re="$GFPCTX_SPLAT_RE" '
	/gfpctx-expect: begin/ { w = 1; next }
	/gfpctx-expect: end/ { w = 0; next }
	!w && $0 ~ re { print }')
if [ -z "$bad" ]; then
	ktap_test_pass "no splat outside the gfpctx-expect windows"
else
	echo "$bad" | head -n 20 | while IFS= read -r l; do
		gfpctx_msg "outside a window: $l"
	done
	ktap_test_fail "no splat outside the gfpctx-expect windows"
fi

ktap_finished
