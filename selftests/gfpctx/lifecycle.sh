#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: load, jobs in every context, timeouts and killed writers, unload
# while jobs run, many load/run/unload cycles, and kmemleak clean after.

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

CYCLES=${GFPCTX_CYCLES:-50}
LONG="count=100000 timeout_ms=60000"

# run_cells COUNT: one job per picked cell, all from one process; 1 when
# one of them fails.
run_cells() {
	local count="$1" ctx alloc gfp r

	set --
	while read -r ctx alloc gfp; do
		gfpctx_job_words "$ctx" "$alloc" "$gfp" "count=$count"
		set -- "$@" "$GFPCTX_WORDS\\n"
	done < "$GFPCTX_TMP/cells"
	for r in $("$GFPCTX_WRITE" "$GFPCTX_DIR/run" "$@"); do
		if [ "$r" != OK ]; then
			GFPCTX_WHY="$1: $r"
			return 1
		fi
		shift
	done
}

# kill_wait PID: SIGKILL a child, wait for it; t is how long it took to go,
# in hundredths of a second.
kill_wait() {
	local t0

	kill -KILL "$1" 2>/dev/null
	t0=$(gfpctx_now_cs)
	wait "$1" 2>/dev/null
	t=$(($(gfpctx_now_cs) - t0))
}

gfpctx_header
gfpctx_prepare
gfpctx_log_mark
start_mark=$GFPCTX_MARK

gfpctx_kmemleak_clear

gfpctx_load || ktap_exit_fail_msg "loading gfpctx failed"
gfpctx_snapshot_tables
gfpctx_pick_cells > "$GFPCTX_TMP/cells"
# Long jobs in a kernel thread and in softirq context, from the tables.
kproc=$(gfpctx_kthread_ctx)
sirq=$(gfpctx_first_ok softirq kmalloc GFP_ATOMIC)
# shellcheck disable=SC2086
set -- $GFPCTX_CONTEXTS
ktap_set_plan $(($# + 9))

# A job in every context.
for ctx in $GFPCTX_CONTEXTS; do
	desc="job in context $ctx"
	if ! gfpctx_ctx_available "$ctx"; then
		gfpctx_test_skip "$desc" "$(gfpctx_ctx_why "$ctx")"
		continue
	fi
	cell=$(grep "^$ctx " "$GFPCTX_TMP/cells")
	if [ -z "$cell" ]; then
		gfpctx_test_skip "$desc" "no ok cell here"
		continue
	fi
	# shellcheck disable=SC2086
	set -- $cell
	# A nolock allocator may return NULL by design (on PREEMPT_RT it
	# does in hard IRQ and NMI): its attempts end ok or alloc_failed.
	want=ok=100
	case $GFPCTX_NOLOCK in
	*" $2 "*) want=injected=0 ;;
	esac
	gfpctx_reset
	r=$(gfpctx_run "context=$1 alloc=$2 gfp=$3 count=100" \
		"$(gfpctx_job_args "$2")")
	if [ "$r" = OK ] && gfpctx_expect_stats "$1" "$2" "$3" attempts=100 \
		"$want" ctx_mismatch=0; then
		ktap_test_pass "$desc ($2 $3)"
	else
		gfpctx_msg "$cell: $r $GFPCTX_WHY"
		ktap_test_fail "$desc ($2 $3)"
	fi
done

# timeout_ms stops a job, and nothing of it runs after the write.
desc="timeout_ms=1 stops a long job with ETIMEDOUT"
gfpctx_reset
r=$(gfpctx_run "context=$kproc alloc=kmalloc gfp=GFP_KERNEL size=64" \
	"count=100000 timeout_ms=1")
a1=$(gfpctx_stat "$kproc" kmalloc GFP_KERNEL attempts)
sleep 1
a2=$(gfpctx_stat "$kproc" kmalloc GFP_KERNEL attempts)
gfpctx_msg "ETIMEDOUT job: $r, attempts=$a1 then $a2"
if [ "$r" = ETIMEDOUT ] && [ "$a1" = "$a2" ] && [ "$a1" -lt 100000 ] &&
   { [ "$a1" -eq 0 ] || gfpctx_expect_stats "$kproc" kmalloc GFP_KERNEL; }
then
	ktap_test_pass "$desc"
else
	gfpctx_msg "$GFPCTX_WHY"
	ktap_test_fail "$desc"
fi

# a writer killed mid-job: the job ends, the module goes on.
desc="a killed writer ends its job"
gfpctx_reset
# The helper itself in the background, so that $! is the writer.
"$GFPCTX_WRITE" "$GFPCTX_DIR/run" \
	"context=task alloc=vmalloc gfp=GFP_KERNEL size=65536 $LONG" \
	> "$GFPCTX_TMP/killed" &
pid=$!
sleep 1
kill_wait $pid
a1=$(gfpctx_stat task vmalloc GFP_KERNEL attempts)
sleep 1
a2=$(gfpctx_stat task vmalloc GFP_KERNEL attempts)
r=$(gfpctx_run "context=task alloc=kmalloc gfp=GFP_KERNEL count=10")
gfpctx_msg "killed writer gone after ${t}0 ms, attempts=$a1 then $a2, next job: $r"
# The job is cut short (not run to its count), and ends within 10 s.
if [ $t -lt 1000 ] && [ "$a1" = "$a2" ] && [ "$a1" -lt 100000 ] &&
   [ "$r" = OK ]; then
	ktap_test_pass "$desc"
else
	ktap_test_fail "$desc"
fi

# A writer queued behind a long job on the module's IRQ line waits
# killably (mutex_lock_killable()): killed, it goes at once, while the
# job that holds the line still runs. The holder runs to $LONG's
# timeout, far beyond the test however slow the guest, and is killed
# after it.
desc="a writer waiting for a busy IRQ line can be killed"
if ! gfpctx_ctx_available threaded_irq; then
	gfpctx_test_skip "$desc" "$(gfpctx_ctx_why threaded_irq)"
else
	J="context=threaded_irq alloc=vmalloc gfp=GFP_KERNEL size=65536"
	"$GFPCTX_WRITE" "$GFPCTX_DIR/run" "$J $LONG" > "$GFPCTX_TMP/holder" &
	holder=$!
	sleep 1
	"$GFPCTX_WRITE" "$GFPCTX_DIR/run" "$J count=10" > "$GFPCTX_TMP/waiter" &
	waiter=$!
	sleep 1
	kill_wait $waiter
	waited=$t
	kill -0 $holder 2>/dev/null
	held=$?
	kill_wait $holder
	gfpctx_msg "killed waiter gone after ${waited}0 ms; holder alive then: $([ $held -eq 0 ] && echo yes || echo no), killed after it, gone after ${t}0 ms"
	[ "$waited" -lt 100 ] && [ $held -eq 0 ]
	gfpctx_result $? "$desc"
fi

# ipi with one CPU online: refused at once, with the reason in `last`.
desc="ipi with one CPU online: EOPNOTSUPP, why=needs-2-cpus"
cpu1=/sys/devices/system/cpu/cpu1/online
if [ ! -w "$cpu1" ] || [ "$(cat "$cpu1")" != 1 ]; then
	gfpctx_test_skip "$desc" "CPU 1 cannot be taken offline here ($cpu1)"
elif ! echo 0 > "$cpu1"; then
	gfpctx_test_skip "$desc" "writing 0 to $cpu1 failed"
else
	r=$(gfpctx_run "context=ipi alloc=kmalloc gfp=GFP_ATOMIC count=10")
	gfpctx_get "$(cat "$GFPCTX_DIR/last")" why
	echo 1 > "$cpu1" || gfpctx_msg "cannot bring CPU 1 back online"
	gfpctx_msg "ipi, CPU 1 offline: $r why=$GFPCTX_VAL"
	[ "$r why=$GFPCTX_VAL" = "EOPNOTSUPP why=needs-2-cpus" ] &&
		[ "$(cat "$cpu1")" = 1 ]
	gfpctx_result $? "$desc"
fi

# unload while jobs run. An open file of the module pins it (rmmod is
# refused as busy): retry until the jobs end (at their 3 s deadline, at
# the latest); then it must go.
desc="unload while jobs run"
SHORT="count=100000 timeout_ms=3000"
"$GFPCTX_WRITE" "$GFPCTX_DIR/run" \
	"context=$kproc alloc=vmalloc gfp=GFP_KERNEL size=65536 $SHORT" \
	> "$GFPCTX_TMP/bg1" &
bg1=$!
"$GFPCTX_WRITE" "$GFPCTX_DIR/run" \
	"context=$sirq alloc=kmalloc gfp=GFP_ATOMIC $SHORT" > "$GFPCTX_TMP/bg2" &
bg2=$!
sleep 1
gfpctx_unload_retry 120
unloaded=$?
wait $bg1 $bg2 2>/dev/null
r1=$(cat "$GFPCTX_TMP/bg1")
r2=$(cat "$GFPCTX_TMP/bg2")
gfpctx_msg "unload refused $GFPCTX_UNLOAD_TRIES times; jobs: $r1, $r2"
ok=1
[ $unloaded -eq 0 ] || ok=0
for r in "$r1" "$r2"; do
	case $r in
	# An open file pins the module (.owner): never ENODEV or EIO.
	OK | ETIMEDOUT | EINTR) ;;
	*) ok=0 ;;
	esac
done
[ $ok -eq 1 ] && [ ! -e "$GFPCTX_DIR" ]
gfpctx_result $? "$desc"

# reload.
gfpctx_load && cmp -s "$GFPCTX_DIR/contexts" "$GFPCTX_TMP/contexts" &&
	[ -z "$(cat "$GFPCTX_DIR/stats")" ]
gfpctx_result $? "reload: the same contexts, empty stats"

# cycles.
i=0
GFPCTX_WHY=
while [ $i -lt "$CYCLES" ]; do
	i=$((i + 1))
	if ! gfpctx_load; then
		GFPCTX_WHY="load failed"
		break
	fi
	run_cells 10 || break
	if ! gfpctx_unload; then
		GFPCTX_WHY="unload failed"
		break
	fi
done
[ -n "$GFPCTX_WHY" ] && gfpctx_msg "cycle $i: $GFPCTX_WHY"
[ -z "$GFPCTX_WHY" ]
gfpctx_result $? "$CYCLES load, run, unload cycles"

# kmemleak, once the module ran jobs in every context and went: what
# it lost while loaded is still there to find (two scans, kmemleak reports
# an object the second time it finds it unreferenced).
gfpctx_load && run_cells 100
gfpctx_unload
gfpctx_kmemleak_test "kmemleak: after jobs in every context and unload, nothing of gfpctx"

GFPCTX_MARK=$start_mark
gfpctx_test_no_splat "no splat in the kernel log"

ktap_finished
