#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: allocation jobs under memory pressure. With most of the memory
# taken by a hog (gfpctx_hog, oom_score_adj 1000; the script and its
# helpers -1000), GFP_ATOMIC jobs in atomic contexts that hold what they
# allocate fail honestly and count every failure; GFP_KERNEL jobs in
# process contexts reclaim (or have the OOM killer take the hog) and
# succeed; nothing oopses, nothing leaks.
#
# Knobs: GFPCTX_HOG_PERCENT (3) and GFPCTX_HOG_MIB (24): the hog leaves
# MemAvailable at the larger of PERCENT of MemTotal and MIB MiB.

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

HOG=$DIR/gfpctx_hog
HOG_PERCENT=${GFPCTX_HOG_PERCENT:-3}
HOG_MIB=${GFPCTX_HOG_MIB:-24}
HOG_S=300
# The contexts, from the module's table (set after its load): the first
# softirq context and the first two hard IRQ ones for GFP_ATOMIC, the first
# three process contexts for GFP_KERNEL.
ATOMIC_CONTEXTS=
KERNEL_CONTEXTS=
# Every GFP_ATOMIC job holds (free=process) up to the module's limit,
# GFPCTX_MAX_HELD_BYTES: much more than the hog leaves available.
HELD_KB=65536
JOB_TIMEOUT=timeout_ms=60000

hog_pid=
hog_n=0
hog_starts=0
hog_lost=0
# Spare victims: hogs that hold nothing (gfpctx_hog -p 100), oom_score_adj
# 1000 too. The OOM killer takes the big hog first (its rss counts too);
# a second OOM run in the moment after the hog has left the task list and
# before its memory is back (7.3: run_kselftest.sh and sed were killed
# there) takes a spare instead of the kselftest runner.
SPARES=2
spare_pids=

meminfo_kb() {
	sed -n "s/^$1: *\([0-9]*\) kB\$/\1/p" /proc/meminfo
}

# The kernel's page size in kB (4 unless smaps says otherwise).
page_kb() {
	local kb

	kb=$(sed -n 's/^KernelPageSize: *\([0-9]*\) kB$/\1/p' /proc/self/smaps |
		head -n 1)
	echo "${kb:-4}"
}

# A live, not zombie, process.
alive() {
	[ -n "$1" ] && [ -r "/proc/$1/status" ] &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# hog_start: a new hog; waits for its line. 1 if it died or never said.
hog_start() {
	local deadline out

	hog_n=$((hog_n + 1))
	hog_starts=$((hog_starts + 1))
	out=$GFPCTX_TMP/hog.$hog_n
	"$HOG" -p "$HOG_PERCENT" -m "$HOG_MIB" -t "$HOG_S" > "$out" 2>&1 &
	hog_pid=$!
	deadline=$(($(gfpctx_now_cs) + (HOG_S + 60) * 100))
	while ! grep -qE '^(ready|short|error)' "$out"; do
		if ! alive "$hog_pid" || [ "$(gfpctx_now_cs)" -ge $deadline ]; then
			gfpctx_msg "hog $hog_n: died or silent: $(cat "$out")"
			return 1
		fi
		gfpctx_nap
	done
	gfpctx_msg "hog $hog_n (pid $hog_pid): $(cat "$out")"
	grep -q '^ready' "$out"
}

# hog_ensure: the hog is alive; a new one if the OOM killer took the last.
hog_ensure() {
	spares_ensure
	alive "$hog_pid" && return 0
	if [ -n "$hog_pid" ]; then
		hog_lost=$((hog_lost + 1))
		gfpctx_msg "hog $hog_n (pid $hog_pid) is gone (OOM killer); a new one"
		wait "$hog_pid" 2>/dev/null
	fi
	hog_start
}

hog_stop() {
	local pid

	for pid in $hog_pid $spare_pids; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	hog_pid=
	spare_pids=
}

# spares_ensure: SPARES spare victims alive, each ready (its line said).
spares_ensure() {
	local pid live='' n=0 out

	for pid in $spare_pids; do
		if alive "$pid"; then
			live="$live $pid"
			n=$((n + 1))
		else
			wait "$pid" 2>/dev/null
		fi
	done
	while [ $n -lt $SPARES ]; do
		out=$GFPCTX_TMP/spare.$n
		"$HOG" -p 100 -t 1 > "$out" 2>&1 &
		pid=$!
		while ! grep -qE '^(ready|short|error)' "$out"; do
			alive "$pid" || break
			gfpctx_nap
		done
		grep -q '^ready' "$out" ||
			gfpctx_msg "spare (pid $pid): $(cat "$out")"
		live="$live $pid"
		n=$((n + 1))
	done
	spare_pids=$live
}

# cell_ok CTX ALLOC GFP: the cell can run here (no test printed).
cell_ok() {
	gfpctx_ctx_available "$1" && [ "$(gfpctx_verdict "$1" "$2" "$3")" = ok ]
}

# job_ready DESC CONTEXT ALLOC GFP: may the job run here? A skip if not.
job_ready() {
	if ! gfpctx_ctx_available "$2"; then
		gfpctx_test_skip "$1" "$(gfpctx_ctx_why "$2")"
		return 1
	fi
	if [ "$(gfpctx_verdict "$2" "$3" "$4")" != ok ]; then
		gfpctx_test_skip "$1" "$2 $3 $4 is not an ok cell here"
		return 1
	fi
}

# job_check DESC CONTEXT ALLOC GFP COUNT WANT RESULT WORDS: a test on the
# job's result and its cell's counters. WANT "all": ok == count; "any":
# any split of ok and failed.
job_check() {
	local desc="$1" ctx="$2" alloc="$3" gfp="$4" count="$5" want="$6"
	local r="$7" a o f

	a=$(gfpctx_stat "$ctx" "$alloc" "$gfp" attempts)
	o=$(gfpctx_stat "$ctx" "$alloc" "$gfp" ok)
	f=$(gfpctx_stat "$ctx" "$alloc" "$gfp" failed)
	gfpctx_msg "$ctx $alloc $gfp $8 count=$count: $r attempts=$a ok=$o" \
		"failed=$f"
	if [ "$r" != OK ]; then
		ktap_test_fail "$desc: job returned $r"
		return
	fi
	set --
	[ "$want" = all ] && set -- ok="$count"
	if ! gfpctx_expect_stats "$ctx" "$alloc" "$gfp" attempts="$count" \
		injected=0 ctx_mismatch=0 "$@"; then
		gfpctx_msg "$GFPCTX_WHY"
		ktap_test_fail "$desc"
		return
	fi
	if [ "$gfp" = GFP_ATOMIC ]; then
		atomic_jobs=$((atomic_jobs + 1))
		atomic_attempts=$((atomic_attempts + a))
		atomic_failed=$((atomic_failed + f))
		[ "$f" -gt 0 ] && atomic_jobs_failing=$((atomic_jobs_failing + 1))
	fi
	ktap_test_pass "$desc"
}

# pressure_job DESC CONTEXT ALLOC GFP COUNT WANT WORD...: under the hog,
# one job; a test.
pressure_job() {
	local desc="$1" ctx="$2" alloc="$3" gfp="$4" count="$5" want="$6" r

	shift 6
	job_ready "$desc" "$ctx" "$alloc" "$gfp" || return
	if ! hog_ensure; then
		ktap_test_fail "$desc: no hog"
		return
	fi
	gfpctx_reset
	gfpctx_msg "MemAvailable $(meminfo_kb MemAvailable) kB," \
		"MemFree $(meminfo_kb MemFree) kB"
	r=$(gfpctx_run "context=$ctx alloc=$alloc gfp=$gfp count=$count" \
		"$JOB_TIMEOUT" "$@")
	job_check "$desc" "$ctx" "$alloc" "$gfp" "$count" "$want" "$r" "$*"
}

# atomic_jobs_at_once DESC ALLOC COUNT WORD...: under the hog, one
# GFP_ATOMIC job in each of ATOMIC_CONTEXTS, all at once, each holding what
# it got: together they ask for several times what is free. A test each.
atomic_jobs_at_once() {
	local desc="$1" alloc="$2" count="$3" ctx pids=

	shift 3
	if ! hog_ensure; then
		for ctx in $ATOMIC_CONTEXTS; do
			ktap_test_fail "$desc, in $ctx: no hog"
		done
		return
	fi
	gfpctx_reset
	gfpctx_msg "MemAvailable $(meminfo_kb MemAvailable) kB," \
		"MemFree $(meminfo_kb MemFree) kB"
	for ctx in $ATOMIC_CONTEXTS; do
		rm -f "$GFPCTX_TMP/job.$ctx"
		# job_ready prints (and counts) a skip: once, after the jobs.
		cell_ok "$ctx" "$alloc" GFP_ATOMIC || continue
		"$GFPCTX_WRITE" "$GFPCTX_DIR/run" \
			"context=$ctx alloc=$alloc gfp=GFP_ATOMIC count=$count $JOB_TIMEOUT $*\\n" \
			> "$GFPCTX_TMP/job.$ctx" 2>&1 &
		pids="$pids $!"
	done
	# shellcheck disable=SC2086
	wait $pids
	for ctx in $ATOMIC_CONTEXTS; do
		job_ready "$desc, in $ctx" "$ctx" "$alloc" GFP_ATOMIC || continue
		job_check "$desc, in $ctx" "$ctx" "$alloc" GFP_ATOMIC "$count" \
			any "$(cat "$GFPCTX_TMP/job.$ctx")" "$*"
	done
}

gfpctx_header
gfpctx_prepare
[ -x "$HOG" ] || gfpctx_skip_all "helper $HOG not built (run make)"
# The OOM killer is to take the hog (oom_score_adj 1000). On 6.1 it has
# taken a second task right after the hog, before the hog's memory was
# back: this script, killed (exit 137) between two tests. The script and
# the helpers it starts are no victims (OOM_SCORE_ADJ_MIN, inherited, as
# LTP's tst_enable_oom_protection() does); the hog raises its own score.
echo -1000 > "/proc/$$/oom_score_adj" ||
	ktap_exit_fail_msg "cannot set this script's oom_score_adj"
gfpctx_log_mark
start_mark=$GFPCTX_MARK

gfpctx_kmemleak_clear

gfpctx_load || ktap_exit_fail_msg "loading gfpctx failed"
gfpctx_snapshot_tables
ATOMIC_CONTEXTS="$(gfpctx_ctxs_of softirq 1)$(gfpctx_ctxs_of hardirq 2)"
KERNEL_CONTEXTS=$(gfpctx_ctxs_of process 3)
na=$(echo "$ATOMIC_CONTEXTS" | wc -w)
nk=$(echo "$KERNEL_CONTEXTS" | wc -w)
# The hog, 3 GFP_ATOMIC tests and 3 GFP_KERNEL ones per context, 5 more.
ktap_set_plan $((1 + 3 * na + 3 * nk + 5))

total=$(meminfo_kb MemTotal)
avail0=$(meminfo_kb MemAvailable)
pkb=$(page_kb)
gfpctx_msg "MemTotal ${total} kB, MemAvailable ${avail0} kB, page ${pkb} kB"

# The hog.
t0=$(gfpctx_now_cs)
spares_ensure
hog_start
gfpctx_result $? "hog takes memory until MemAvailable is at its target"
gfpctx_msg "hog ready after $((($(gfpctx_now_cs) - t0) / 100)) s," \
	"MemAvailable $(meminfo_kb MemAvailable) kB"

# GFP_ATOMIC in atomic contexts, one job in each at once, each holding up
# to the module's limit.
atomic_jobs=0
atomic_jobs_failing=0
atomic_attempts=0
atomic_failed=0
o3=$((HELD_KB / (pkb * 8)))
o0=$((HELD_KB / pkb))
k64=$((HELD_KB / 64))
atomic_jobs_at_once "GFP_ATOMIC pages order=3 x$o3 held" \
	pages $o3 order=3 free=process
atomic_jobs_at_once "GFP_ATOMIC pages order=0 x$o0 held" \
	pages $o0 order=0 free=process
atomic_jobs_at_once "GFP_ATOMIC kmalloc 64 KiB x$k64 held" \
	kmalloc $k64 size=65536 free=process
gfpctx_msg "GFP_ATOMIC under pressure: $atomic_failed of $atomic_attempts" \
	"allocations failed, in $atomic_jobs_failing of $atomic_jobs jobs" \
	"(failures are likely, not required)"

# GFP_KERNEL in process contexts: every allocation succeeds.
for ctx in $KERNEL_CONTEXTS; do
	pressure_job "GFP_KERNEL kmalloc 4096 x200, in $ctx: all succeed" \
		"$ctx" kmalloc GFP_KERNEL 200 all size=4096
	pressure_job "GFP_KERNEL pages order=0 x200, in $ctx: all succeed" \
		"$ctx" pages GFP_KERNEL 200 all order=0
done

# GFP_KERNEL holding a quarter of the free memory above the min
# watermarks (min_free_kbytes), under the hog: every allocation succeeds.
# MemAvailable is no measure here: with the hog it reads 0 while tens of
# MB are free. Not more than is free: without swap only the OOM killer
# could make room, and on 6.1 a second OOM kill right after the hog's
# took the test.
for ctx in $KERNEL_CONTEXTS; do
	hog_ensure
	quarter=$((($(meminfo_kb MemFree) - $(cat /proc/sys/vm/min_free_kbytes)) / 4 / pkb))
	[ "$quarter" -ge 1 ] || quarter=1
	pressure_job "GFP_KERNEL pages order=0 x$quarter held (1/4 of free above min), in $ctx: all succeed" \
		"$ctx" pages GFP_KERNEL "$quarter" all order=0 free=process
done

# The OOM killer, if it ran, took hogs only.
log=$(gfpctx_log_since)
oom_runs=$(echo "$log" | grep -c 'invoked oom-killer')
oom_kills=$(echo "$log" | grep -c 'Out of memory: Killed process')
oom_others=$(echo "$log" | grep 'Out of memory: Killed process' |
	grep -v '(gfpctx_hog)')
warn_allocs=$(echo "$log" | grep -c 'page allocation failure: order:')
gfpctx_msg "OOM killer invoked $oom_runs times, killed $oom_kills" \
	"(hogs lost: $hog_lost, hogs started: $hog_starts);" \
	"$warn_allocs 'page allocation failure' reports"
[ -z "$oom_others" ]
gfpctx_result $? "the OOM killer took nothing but the hog"
[ -n "$oom_others" ] && gfpctx_msg "OOM victims: $oom_others"

# The hog goes, the memory comes back.
last_hog=$hog_pid
hog_stop
sleep 1
avail1=$(meminfo_kb MemAvailable)
gfpctx_msg "hog killed: MemAvailable ${avail1} kB (${avail0} kB before)"
! alive "$last_hog" && [ $((avail1 * 100)) -ge $((avail0 * 90)) ]
gfpctx_result $? "hog killed, MemAvailable back within 10%"

# Unload.
gfpctx_unload
gfpctx_result $? "module unloads after the pressure jobs"

# kmemleak finds nothing of the module.
gfpctx_kmemleak_test "kmemleak: nothing of gfpctx"

# 'page allocation failure' and OOM reports are not splats.
GFPCTX_MARK=$start_mark
gfpctx_test_no_splat "no splat in the kernel log"

ktap_finished
