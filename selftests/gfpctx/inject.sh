#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: injected allocation failures are counted exactly, in process and
# in atomic contexts, with the module's inject knob and with the kernel's
# fault_attr (fail_alloc/, Documentation/fault-injection).

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

FA=$GFPCTX_DIR/fail_alloc

# inject_job DESC KNOB CONTEXT ALLOC GFP COUNT WANT_FAILED [WORD...]:
# set the knob (if any), run one job, check the cell's counters. One test.
inject_job() {
	local desc="$1" knob="$2" ctx="$3" alloc="$4" gfp="$5" count="$6"
	local want="$7" r before after

	shift 7
	if ! gfpctx_ctx_available "$ctx"; then
		gfpctx_test_skip "$desc" "$(gfpctx_ctx_why "$ctx")"
		return
	fi
	if [ "$(gfpctx_verdict "$ctx" "$alloc" "$gfp")" != ok ]; then
		gfpctx_test_skip "$desc" "$ctx $alloc $gfp is not an ok cell here"
		return
	fi
	gfpctx_reset
	before=$(gfpctx_inject_field injected)
	if [ -n "$knob" ]; then
		r=$(gfpctx_write "$GFPCTX_DIR/inject" "$knob\\n")
		if [ "$r" != OK ]; then
			gfpctx_msg "$desc: writing $knob to inject: $r"
			ktap_test_fail "$desc"
			return
		fi
	fi
	r=$(gfpctx_run "context=$ctx alloc=$alloc gfp=$gfp count=$count" \
		"$(gfpctx_job_args "$alloc")" "$@")
	if [ "$r" != OK ]; then
		gfpctx_msg "$desc: job returned $r"
		ktap_test_fail "$desc"
		return
	fi
	if ! gfpctx_expect_stats "$ctx" "$alloc" "$gfp" attempts="$count" \
		failed="$want" injected="$want" ok=$((count - want)) \
		ctx_mismatch=0; then
		gfpctx_msg "$GFPCTX_WHY"
		ktap_test_fail "$desc"
		return
	fi
	after=$(gfpctx_inject_field injected)
	case $knob in
	fail_next=* | fail_every=*)
		# The knob's own count moved by exactly the failures.
		if [ "$after" -ne $((before + want)) ]; then
			gfpctx_msg "$desc: inject injected=$after, want $((before + want))"
			ktap_test_fail "$desc"
			return
		fi
		;;
	esac
	ktap_test_pass "$desc"
}

# fa KEY VALUE: set a file of the module's fault_attr.
fa() {
	echo "$2" > "$FA/$1" || gfpctx_msg "cannot write $2 to $FA/$1"
}

# fa_defaults: fail_alloc/ back to never failing, quiet, no task filter.
fa_defaults() {
	fa probability 0
	fa interval 1
	fa times 1
	fa space 0
	fa verbose 0
	fa task-filter N
}

gfpctx_header
gfpctx_setup
gfpctx_log_mark
start_mark=$GFPCTX_MARK
# shellcheck disable=SC2086
set -- $GFPCTX_ALLOCS
ktap_set_plan $(($# + 22))

hirq=$(gfpctx_hardirq_ctx) || hirq=hrtimer_hard

line=$(cat "$GFPCTX_DIR/inject")
[ "$line" = "fail_next=0 fail_every=0 injected=0" ]
gfpctx_result $? "inject reads fail_next=0 fail_every=0 injected=0 after load"
[ "$line" = "fail_next=0 fail_every=0 injected=0" ] || gfpctx_msg "inject: $line"

# fail_next=N: exactly N failures, the rest succeed.
inject_job "fail_next=7 timer kmalloc GFP_ATOMIC" fail_next=7 \
	timer kmalloc GFP_ATOMIC 100 7
log=$(gfpctx_log_since)
echo "$log" | grep -q 'gfpctx: timer kmalloc GFP_ATOMIC size=64: allocation failed'
gfpctx_result $? "an injected failure is logged by the module"
inject_job "fail_next=7 $hirq kmalloc GFP_ATOMIC" fail_next=7 \
	"$hirq" kmalloc GFP_ATOMIC 100 7
inject_job "fail_next=7 task kmalloc GFP_KERNEL" fail_next=7 \
	task kmalloc GFP_KERNEL 100 7
inject_job "fail_next=7 workqueue kmem_cache GFP_KERNEL" fail_next=7 \
	workqueue kmem_cache GFP_KERNEL 100 7
[ "$(gfpctx_inject_field fail_next)" = 0 ]
gfpctx_result $? "fail_next is used up: reads 0"

# Every allocator handles a NULL.
for alloc in $GFPCTX_ALLOCS; do
	inject_job "fail_next=3 task $alloc GFP_KERNEL" fail_next=3 \
		task "$alloc" GFP_KERNEL 10 3
done
inject_job "fail_next=5 task kmalloc GFP_ATOMIC free=process" fail_next=5 \
	task kmalloc GFP_ATOMIC 20 5 free=process

# fail_every=N: every N-th attempt fails.
inject_job "fail_every=10 task kmalloc GFP_KERNEL" fail_every=10 \
	task kmalloc GFP_KERNEL 100 10
[ "$(gfpctx_inject_field fail_every)" = 10 ]
gfpctx_result $? "inject reads fail_every=10"
inject_job "fail_every=10 timer kmalloc GFP_ATOMIC" "" \
	timer kmalloc GFP_ATOMIC 100 10
inject_job "off: no failure" off task kmalloc GFP_KERNEL 100 0
[ "$(gfpctx_inject_field fail_next) $(gfpctx_inject_field fail_every)" = "0 0" ]
gfpctx_result $? "off clears fail_next and fail_every"

# The kernel's fault_attr of the module.
if [ ! -d "$FA" ]; then
	why="no $FA (CONFIG_FAULT_INJECTION_DEBUG_FS off)"
	for t in "times=5 task" "times=5 timer" "interval=10" \
		"task-filter=Y other task" "task-filter=Y make-it-fail" \
		"task-filter=Y timer" "times=1 verbose=1" "verbose=1 log"; do
		gfpctx_test_skip "fail_alloc $t" "$why"
	done
else
	fa_defaults
	fa probability 100
	fa times 5
	inject_job "fail_alloc times=5 task kmalloc GFP_KERNEL" "" \
		task kmalloc GFP_KERNEL 100 5
	fa times 5
	inject_job "fail_alloc times=5 timer kmalloc GFP_ATOMIC" "" \
		timer kmalloc GFP_ATOMIC 100 5
	fa times -1
	fa interval 10
	inject_job "fail_alloc interval=10 task kmalloc GFP_KERNEL" "" \
		task kmalloc GFP_KERNEL 100 10
	fa interval 1
	fa times 5
	fa task-filter Y
	inject_job "fail_alloc task-filter=Y, writer without make-it-fail" "" \
		task kmalloc GFP_KERNEL 100 0
	echo 1 > /proc/$$/make-it-fail
	inject_job "fail_alloc task-filter=Y, writer with make-it-fail" "" \
		task kmalloc GFP_KERNEL 100 5
	fa times 5
	inject_job "fail_alloc task-filter=Y never fails a timer" "" \
		timer kmalloc GFP_ATOMIC 100 0
	echo 0 > /proc/$$/make-it-fail
	fa task-filter N
	fa times 1
	fa verbose 1
	gfpctx_log_mark
	inject_job "fail_alloc times=1 verbose=1" "" \
		task kmalloc GFP_KERNEL 10 1
	gfpctx_log_since | grep -A1 'FAULT_INJECTION: forcing a failure' |
		grep -q 'name fail_alloc'
	gfpctx_result $? "fail_alloc verbose=1 logs FAULT_INJECTION name fail_alloc"
	fa_defaults
fi

GFPCTX_MARK=$start_mark
gfpctx_test_no_splat "no splat in the kernel log"

ktap_finished
