#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: the `last` file and the timing keys of a job: timing=call times
# one allocation and one free in 64 (the 1st, the 65th, ...), samples=yes
# keeps those times for the median and 99th percentile,
# timing=batch times only whole batches (the cost of timing each call is
# what `make bench` compares).

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

LAST=$GFPCTX_DIR/last

# last_is DESC KEY=VALUE...: a test, every KEY of `last` has VALUE.
last_is() {
	local desc="$1" line kv got bad=

	shift
	line=$(cat "$LAST")
	for kv in "$@"; do
		got=$(gfpctx_field "$line" "${kv%%=*}") || got="(missing)"
		[ "$got" = "${kv#*=}" ] || bad="$bad ${kv%%=*}=$got (want ${kv#*=})"
	done
	if [ -z "$bad" ]; then
		ktap_test_pass "$desc"
	else
		gfpctx_msg "last: $line"
		gfpctx_msg "$desc:$bad"
		ktap_test_fail "$desc"
	fi
}

# The least figure a median may show. Each figure is local_clock()'s
# difference less the clock's own cost, never below 0. Where the TSC was
# marked unstable (the clocksource is then not tsc; on x86 that also
# clears sched_clock_stable()), sched_clock_local() in kernel/sched/clock.c
# clamps the clock to the last tick's time plus one tick, so a call
# shorter than a tick may read a clock that stood still: 0 is a true
# figure there. With the TSC, every timed call takes time: above 0.
CLOCKSOURCE=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
LEAST=0
[ "$CLOCKSOURCE" = tsc ] && LEAST=1

# ordered DESC A B C...: a test, the `last` values of the keys are
# non-decreasing numbers, the first at least LEAST.
ordered() {
	local desc="$1" line prev=$LEAST k v ok=1

	shift
	line=$(cat "$LAST")
	for k in "$@"; do
		v=$(gfpctx_field "$line" "$k") || v=-1
		[ "$v" -ge "$prev" ] 2>/dev/null || ok=0
		prev=$v
	done
	[ $ok -eq 1 ] || gfpctx_msg "last: $line"
	gfpctx_result $((1 - ok)) "$desc"
}

gfpctx_header
gfpctx_setup
gfpctx_log_mark
ktap_set_plan 12

[ -z "$(cat "$LAST")" ]
gfpctx_result $? "last is empty after load"

J="context=task alloc=kmalloc gfp=GFP_KERNEL size=64 count=500"
r=$(gfpctx_run "$J samples=yes")
[ "$r" = OK ] || gfpctx_msg "$J samples=yes: $r"
last_is "samples=yes: one sample per 64 allocations and frees" \
	context=task alloc=kmalloc gfp=GFP_KERNEL size=64 timing=call ret=0 \
	attempts=500 ok=500 failed=0 samples=8 free_samples=8
if [ $LEAST -eq 1 ]; then
	gfpctx_msg "clocksource tsc: a median must be above 0"
else
	gfpctx_msg "clocksource ${CLOCKSOURCE:-unknown}: a median of 0 is allowed"
fi
ordered "samples=yes: $LEAST <= ns_p50 <= ns_p99" ns_p50 ns_p99
ordered "samples=yes: $LEAST <= free_ns_p50 <= free_ns_p99" free_ns_p50 free_ns_p99

hirq=$(gfpctx_first_ok hardirq kmalloc GFP_ATOMIC)
if [ -n "$hirq" ]; then
	r=$(gfpctx_run "context=$hirq alloc=kmalloc gfp=GFP_ATOMIC count=300" \
		"samples=yes free=process")
	[ "$r" = OK ] || gfpctx_msg "$hirq samples=yes free=process: $r"
	last_is "samples=yes in $hirq, freed by the writer" context="$hirq" \
		timing=call attempts=300 ok=300 samples=5 free_samples=5
else
	gfpctx_test_skip "samples=yes in hard IRQ context" \
		"no hard IRQ context may allocate here"
fi

# Injected failures are not timed: of 65 attempts the 1st and the 65th
# are timed, and the 1st fails by injection: 1 sample, 64 frees, 1 timed.
[ "$(gfpctx_write "$GFPCTX_DIR/inject" 'fail_next=1\n')" = OK ] ||
	gfpctx_msg "inject fail_next=1 refused"
sirq=$(gfpctx_first_ok softirq kmalloc GFP_ATOMIC)
r=$(gfpctx_run "context=$sirq alloc=kmalloc gfp=GFP_ATOMIC count=65 samples=yes")
[ "$r" = OK ] || gfpctx_msg "$sirq samples=yes with fail_next=1: $r"
last_is "injected failures are counted, not sampled" context="$sirq" \
	attempts=65 ok=64 failed=1 samples=1 free_samples=1

# timing=batch: no per-call timestamps, in last or in stats.
gfpctx_reset
r=$(gfpctx_run "$J timing=batch")
[ "$r" = OK ] || gfpctx_msg "$J timing=batch: $r"
last_is "timing=batch: no samples" timing=batch attempts=500 ok=500 \
	samples=0 ns_p50=0 ns_p99=0 free_samples=0
ordered "timing=batch: batches are timed" batch_ns
gfpctx_expect_stats task kmalloc GFP_KERNEL attempts=500 ok=500 ns_min=0 \
	ns_mean=0 ns_max=0 free_ns_mean=0
rc=$?
[ -z "$GFPCTX_WHY" ] || gfpctx_msg "$GFPCTX_WHY"
gfpctx_result $rc "timing=batch: stats count the job but time no call"

# A refused job leaves last as it was.
cat "$LAST" > "$GFPCTX_TMP/last.before"
r=$(gfpctx_run "$J timing=batch samples=yes")
[ "$r" = EINVAL ] && cmp -s "$GFPCTX_TMP/last.before" "$LAST"
gfpctx_result $? "a refused job (samples without per-call timing) leaves last"

# A job cut short by its deadline is recorded with its result.
kproc=$(gfpctx_kthread_ctx)
r=$(gfpctx_run "context=$kproc alloc=vmalloc gfp=GFP_KERNEL size=1048576" \
	"count=100000 timeout_ms=1")
[ "$r" = ETIMEDOUT ] || gfpctx_msg "timeout_ms=1 job: $r"
line=$(cat "$LAST")
[ "$(gfpctx_field "$line" ret)" = -110 ] &&
	[ "$(gfpctx_field "$line" attempts)" -lt 100000 ]
gfpctx_result $? "a timed-out job is recorded with ret=-110 (ETIMEDOUT)"

gfpctx_test_no_splat "no splat in the kernel log"
ktap_finished
