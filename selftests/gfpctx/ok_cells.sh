#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: every `ok` cell of rules succeeds count out of count, in the
# context it claims, with no new splat in the kernel log.

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

COUNT=${GFPCTX_COUNT:-1000}

# Cells also run with free=process (kept, freed by the writer afterwards).
KEEP_CELLS="task kmalloc GFP_KERNEL
workqueue vmalloc GFP_KERNEL
timer kmalloc GFP_ATOMIC
hrtimer_soft kmem_cache GFP_NOWAIT
irq_work pages GFP_ATOMIC
shared_irq mempool GFP_ATOMIC"

# The 32 buckets of hist= add up to the successful allocations.
hist_ok() {
	local hist="$1" want="$2" sum=0 n=0 b

	for b in $(echo "$hist" | tr ',' ' '); do
		sum=$((sum + b))
		n=$((n + 1))
	done
	[ $n -eq 32 ] && [ $sum -eq "$want" ]
}

# run_cell CONTEXT ALLOC GFP [free=process]: one KTAP test.
run_cell() {
	local ctx="$1" alloc="$2" gfp="$3" free="$4" desc r line min mean max

	desc="ok_cell $ctx $alloc $gfp${free:+ $free}"
	if ! gfpctx_ctx_available "$ctx"; then
		ktap_test_skip "$desc: $(gfpctx_ctx_why "$ctx")"
		return
	fi
	if ! gfpctx_reset; then
		gfpctx_msg "stats reset failed"
		ktap_test_fail "$desc"
		return
	fi
	r=$(gfpctx_run "context=$ctx alloc=$alloc gfp=$gfp count=$COUNT" \
		"$(gfpctx_job_args "$alloc")${free:+ $free}")
	if [ "$r" != OK ]; then
		gfpctx_msg "$desc: write returned $r"
		ktap_test_fail "$desc"
		return
	fi
	if ! gfpctx_expect_stats "$ctx" "$alloc" "$gfp" jobs=1 \
		attempts="$COUNT" ok="$COUNT" failed=0 injected=0 ctx_mismatch=0
	then
		gfpctx_msg "$GFPCTX_WHY"
		ktap_test_fail "$desc"
		return
	fi
	line=$(gfpctx_stats_line "$ctx" "$alloc" "$gfp")
	min=$(gfpctx_field "$line" ns_min)
	mean=$(gfpctx_field "$line" ns_mean)
	max=$(gfpctx_field "$line" ns_max)
	if ! [ "$min" -le "$mean" ] 2>/dev/null ||
	   ! [ "$mean" -le "$max" ] 2>/dev/null; then
		gfpctx_msg "$desc: ns_min=$min ns_mean=$mean ns_max=$max"
		ktap_test_fail "$desc"
		return
	fi
	if ! hist_ok "$(gfpctx_field "$line" hist)" "$COUNT"; then
		gfpctx_msg "$desc: hist=$(gfpctx_field "$line" hist)"
		ktap_test_fail "$desc"
		return
	fi
	ktap_test_pass "$desc"
}

ktap_print_header
gfpctx_setup
gfpctx_log_mark

gfpctx_cells ok > "$GFPCTX_TMP/ok_cells"
n=$(wc -l < "$GFPCTX_TMP/ok_cells")
nkeep=$(echo "$KEEP_CELLS" | wc -l)
ktap_set_plan $((n + nkeep + 2))

# Every kernel has ok cells (GFP_ATOMIC in a task, at least): none means
# the rules file changed shape or could not be read.
[ "$n" -gt 0 ]
gfpctx_result $? "rules lists ok cells ($n)"

while read -r ctx alloc gfp; do
	run_cell "$ctx" "$alloc" "$gfp"
done < "$GFPCTX_TMP/ok_cells"

while read -r ctx alloc gfp; do
	v=$(gfpctx_verdict "$ctx" "$alloc" "$gfp")
	if [ "$v" != ok ]; then
		ktap_test_skip "ok_cell $ctx $alloc $gfp free=process: verdict $v here"
		continue
	fi
	run_cell "$ctx" "$alloc" "$gfp" free=process
done <<EOF
$KEEP_CELLS
EOF

gfpctx_test_no_splat "no splat in the kernel log after $n ok cells"

ktap_finished
