#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: injected allocation failures are counted exactly, in process and
# in atomic contexts, with the module's inject knob and with the kernel's
# fault_attr (fail_alloc/, Documentation/fault-injection); and the kernel's
# failslab and fail_page_alloc, filtered to the module's allocation site,
# make the allocators themselves return NULL, so their own failure paths
# run (a mempool's reserve, kvmalloc's fallback to vmalloc).

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

FA=$GFPCTX_DIR/fail_alloc
FAILSLAB=$GFPCTX_DEBUGFS/failslab
FAIL_PAGE=$GFPCTX_DEBUGFS/fail_page_alloc

# inject_job DESC KNOB CONTEXT ALLOC GFP COUNT WANT_FAILED [WORD...]:
# set the knob (if any), run one job, check the cell's counters: the
# failures are the module's (injected), none the allocator's. One test.
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
		failed="$want" injected="$want" alloc_failed=0 ok=$((count - want)) \
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

# kfa DIR KEY VALUE: set a file of one of the kernel's fault_attrs.
kfa() {
	echo "$3" > "$1/$2" || gfpctx_msg "cannot write $3 to $1/$2"
}

# fa KEY VALUE: set a file of the module's fault_attr.
fa() {
	kfa "$FA" "$1" "$2"
}

# site_range: "START END" of the text of gfpctx_call_alloc, the module's
# one allocation site (job.c), from /proc/kallsyms: the module's next
# symbol in address order ends it. Nothing when it cannot be read.
site_range() {
	grep '\[gfpctx\]$' /proc/kallsyms | sort | awk '
		start { print start, "0x" $1; exit }
		$3 ~ /^gfpctx_call_alloc/ && $1 !~ /^0+$/ { start = "0x" $1 }'
}

# kfa_arm DIR TIMES: fail the next TIMES calls (-1: every call), of any
# gfp and order, in any task or context, whose stack passes through the
# module's allocation site (require-start/require-end,
# lib/fault-inject.c fail_stacktrace()).
kfa_arm() {
	kfa "$1" probability 0
	kfa "$1" interval 1
	kfa "$1" space 0
	kfa "$1" verbose 0
	kfa "$1" task-filter N
	kfa "$1" ignore-gfp-wait N
	[ -e "$1/min-order" ] && kfa "$1" min-order 0
	[ -e "$1/ignore-gfp-highmem" ] && kfa "$1" ignore-gfp-highmem N
	kfa "$1" stacktrace-depth 32
	kfa "$1" require-start "$SITE_START"
	kfa "$1" require-end "$SITE_END"
	kfa "$1" times "$2"
	kfa "$1" probability 100
}

# kfa_disarm DIR: never fail again, and no filter left behind.
kfa_disarm() {
	kfa "$1" probability 0
	kfa "$1" times 1
	kfa "$1" require-start 0
	kfa "$1" require-end 18446744073709551615
}

# kernel_job DESC ATTR TIMES CONTEXT ALLOC GFP COUNT WANT [WORD...]: arm
# the kernel's fault_attr ATTR for TIMES failures at the module's site,
# run one job, disarm; its cell has WANT real allocator failures, and
# TIMES > 0 were all used by the job (a reserve or a fallback may serve
# them). One test.
kernel_job() {
	local desc="kernel injection: $1" attr="$2" times="$3" ctx="$4"
	local alloc="$5" gfp="$6" count="$7" want="$8" r left

	shift 8
	case " $* " in
	*" size="* | *" order="*) ;;
	*) set -- "$(gfpctx_job_args "$alloc")" "$@" ;;
	esac
	kfa_arm "$attr" "$times"
	gfpctx_reset
	r=$(gfpctx_run "context=$ctx alloc=$alloc gfp=$gfp count=$count" "$@")
	left=$(cat "$attr/times")
	kfa_disarm "$attr"
	if [ "$r" != OK ]; then
		gfpctx_msg "$desc: job returned $r"
		ktap_test_fail "$desc"
	elif ! gfpctx_expect_stats "$ctx" "$alloc" "$gfp" attempts="$count" \
		failed="$want" alloc_failed="$want" injected=0 \
		ok=$((count - want)) ctx_mismatch=0; then
		gfpctx_msg "$GFPCTX_WHY"
		ktap_test_fail "$desc"
	elif [ "$times" -gt 0 ] && [ "$left" != 0 ]; then
		gfpctx_msg "$desc: ${attr##*/} times=$left after the job, want 0"
		ktap_test_fail "$desc"
	else
		ktap_test_pass "$desc"
	fi
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
ktap_set_plan $((2 * $# + 28))

# The contexts the jobs run in, from the tables: a softirq and a hard IRQ
# context whose kmalloc GFP_ATOMIC cell is ok (none in hard IRQ on
# PREEMPT_RT: its tests are skipped with the first hard IRQ context's
# name), and a process context in a kernel thread.
sirq=$(gfpctx_first_ok softirq kmalloc GFP_ATOMIC)
hirq=$(gfpctx_first_ok hardirq kmalloc GFP_ATOMIC) ||
	hirq=$(gfpctx_ctxs_of hardirq 1)
hirq=${hirq% }
kproc=$(gfpctx_kthread_ctx)

line=$(cat "$GFPCTX_DIR/inject")
[ "$line" = "fail_next=0 fail_every=0 injected=0" ]
gfpctx_result $? "inject reads fail_next=0 fail_every=0 injected=0 after load"
[ "$line" = "fail_next=0 fail_every=0 injected=0" ] || gfpctx_msg "inject: $line"

# fail_next=N: exactly N failures, the rest succeed.
inject_job "fail_next=7 $sirq kmalloc GFP_ATOMIC" fail_next=7 \
	"$sirq" kmalloc GFP_ATOMIC 100 7
log=$(gfpctx_log_since)
echo "$log" | grep -q "gfpctx: $sirq kmalloc GFP_ATOMIC size=64: allocation failed"
gfpctx_result $? "an injected failure is logged by the module"
inject_job "fail_next=7 $hirq kmalloc GFP_ATOMIC" fail_next=7 \
	"$hirq" kmalloc GFP_ATOMIC 100 7
inject_job "fail_next=7 task kmalloc GFP_KERNEL" fail_next=7 \
	task kmalloc GFP_KERNEL 100 7
inject_job "fail_next=7 $kproc kmem_cache GFP_KERNEL" fail_next=7 \
	"$kproc" kmem_cache GFP_KERNEL 100 7
[ "$(gfpctx_inject_field fail_next)" = 0 ]
gfpctx_result $? "fail_next is used up: reads 0"
# __GFP_NOFAIL is never failed on purpose, as the kernel's fault_attrs
# never fail it: no failure, and the knob is not used up.
inject_job "fail_next=7 task kmalloc GFP_KERNEL|__GFP_NOFAIL" fail_next=7 \
	task kmalloc "GFP_KERNEL|__GFP_NOFAIL" 100 0
left=$(gfpctx_inject_field fail_next)
gfpctx_write "$GFPCTX_DIR/inject" 'off\n' > /dev/null
[ "$left" = 7 ]
gfpctx_result $? "__GFP_NOFAIL leaves fail_next unused: reads 7"

# The knob fails an attempt of every allocator without calling it, with
# the first gfp the allocator takes (the nolock ones take no GFP_KERNEL).
for alloc in $GFPCTX_ALLOCS; do
	cell=$(gfpctx_cells ok | grep "^task $alloc " | head -n 1)
	gfp=${cell##* }
	inject_job "fail_next=3 task $alloc $gfp" fail_next=3 \
		task "$alloc" "$gfp" 10 3
done

# In NMI the knob is asked too (atomics only; the kernel's fault_attr
# is not, should_fail() may dump a stack).
desc="fail_next=7 nmi kmalloc_nolock __GFP_ACCOUNT"
if [ -z "$(gfpctx_verdict nmi kmalloc_nolock __GFP_ACCOUNT)" ]; then
	gfpctx_test_skip "$desc" "no kmalloc_nolock() in this kernel"
elif [ "$(gfpctx_kernel preempt_rt)" = yes ]; then
	gfpctx_test_skip "$desc" "kmalloc_nolock() fails in NMI on PREEMPT_RT by design"
else
	inject_job "$desc" fail_next=7 nmi kmalloc_nolock __GFP_ACCOUNT 100 7
fi
inject_job "fail_next=5 task kmalloc GFP_ATOMIC free=process" fail_next=5 \
	task kmalloc GFP_ATOMIC 20 5 free=process

# fail_every=N: every N-th attempt fails.
inject_job "fail_every=10 task kmalloc GFP_KERNEL" fail_every=10 \
	task kmalloc GFP_KERNEL 100 10
[ "$(gfpctx_inject_field fail_every)" = 10 ]
gfpctx_result $? "inject reads fail_every=10"
inject_job "fail_every=10 $sirq kmalloc GFP_ATOMIC" "" \
	"$sirq" kmalloc GFP_ATOMIC 100 10
inject_job "off: no failure" off task kmalloc GFP_KERNEL 100 0
[ "$(gfpctx_inject_field fail_next) $(gfpctx_inject_field fail_every)" = "0 0" ]
gfpctx_result $? "off clears fail_next and fail_every"

# The kernel's fault_attr of the module.
if [ ! -d "$FA" ]; then
	why="no $FA (CONFIG_FAULT_INJECTION_DEBUG_FS off)"
	for t in "times=5 task" "times=5 $sirq" "interval=10" \
		"task-filter=Y other task" "task-filter=Y make-it-fail" \
		"task-filter=Y $sirq" "times=1 verbose=1" "verbose=1 log"; do
		gfpctx_test_skip "fail_alloc $t" "$why"
	done
else
	fa_defaults
	fa probability 100
	fa times 5
	inject_job "fail_alloc times=5 task kmalloc GFP_KERNEL" "" \
		task kmalloc GFP_KERNEL 100 5
	fa times 5
	inject_job "fail_alloc times=5 $sirq kmalloc GFP_ATOMIC" "" \
		"$sirq" kmalloc GFP_ATOMIC 100 5
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
	inject_job "fail_alloc task-filter=Y never fails $sirq" "" \
		"$sirq" kmalloc GFP_ATOMIC 100 0
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

# The kernel's failslab and fail_page_alloc, at the module's allocation
# site only: the allocator itself returns NULL (alloc_failed), or its own
# failure path serves the call (a mempool's reserve, kvmalloc's vmalloc).
# shellcheck disable=SC2046 # two words
set -- $(site_range)
SITE_START=$1 SITE_END=$2
why=
if [ ! -d "$FAILSLAB" ] || [ ! -d "$FAIL_PAGE" ]; then
	why="no $FAILSLAB or $FAIL_PAGE (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC off)"
elif [ ! -e "$FAILSLAB/require-start" ]; then
	why="no stack trace filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER off): failures would hit the rest of the kernel"
elif [ -z "$SITE_END" ]; then
	why="gfpctx_call_alloc not in /proc/kallsyms"
fi
# shellcheck disable=SC2086
set -- $GFPCTX_ALLOCS
if [ -n "$why" ]; then
	for alloc in "$@"; do
		gfpctx_test_skip "kernel injection: task $alloc GFP_KERNEL" "$why"
	done
	for t in "$hirq kmalloc GFP_ATOMIC" "mempool GFP_ATOMIC past its reserve" \
		"kvmalloc falls back to vmalloc"; do
		gfpctx_test_skip "kernel injection: $t" "$why"
	done
else
	gfpctx_msg "allocation site: $SITE_START-$SITE_END"
	for alloc in "$@"; do
		line=$(grep "^name=$alloc " "$GFPCTX_TMP/allocs")
		gfpctx_get "$line" flags
		case ",$GFPCTX_VAL," in
		*,nolock,*)
			# should_fail_alloc_page() is skipped for ALLOC_NOLOCK
			# (prepare_alloc_pages(), mm/page_alloc.c), and
			# kmalloc_nolock() bypasses should_failslab() (mm/slub.c).
			gfpctx_test_skip "kernel injection: task $alloc" \
				"$alloc does not ask the kernel's fault injection"
			continue
			;;
		esac
		gfpctx_get "$line" sized_by
		attr=$FAILSLAB
		[ "$GFPCTX_VAL" = order ] && attr=$FAIL_PAGE
		gfpctx_get "$line" reserve
		# A reserve serves the three failed calls: no failure then.
		want=3
		[ "$GFPCTX_VAL" -gt 0 ] && want=0
		kernel_job "task $alloc GFP_KERNEL, ${attr##*/} times=3: $want NULL" \
			"$attr" 3 task "$alloc" GFP_KERNEL 10 "$want"
	done
	kernel_job "$hirq kmalloc GFP_ATOMIC, failslab times=2" \
		"$FAILSLAB" 2 "$hirq" kmalloc GFP_ATOMIC 10 2
	# Every kmalloc of the pool fails: its 4 reserved objects, then NULL.
	kernel_job "mempool GFP_ATOMIC past its reserve" \
		"$FAILSLAB" -1 task mempool GFP_ATOMIC 8 4 free=process
	# kmalloc of 8 KiB fails once: kvmalloc's vmalloc serves the call.
	kernel_job "kvmalloc falls back to vmalloc" \
		"$FAILSLAB" 1 task kvmalloc GFP_KERNEL 1 0 size=8192
fi

GFPCTX_MARK=$start_mark
gfpctx_test_no_splat "no splat in the kernel log"

ktap_finished
