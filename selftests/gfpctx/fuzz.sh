#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: seeded random and mutated writes to every control file from
# several processes (gfpctx_fuzz) end in allowed errors only, and the
# module counts exactly afterwards; jobs in every context from several
# processes while stats is read and reset keep every cell consistent, and
# the attempts add up to the counts asked for; the module still unloads,
# and the kernel log has no splat.
#
# GFPCTX_FUZZ_SEED    the seed (default: from /proc/uptime and the pid);
#                     printed, so that a failing run can be repeated
# GFPCTX_FUZZ_WRITES  writes of the fuzzer in all (default 10000)
# GFPCTX_FUZZ_PROCS   processes of the fuzzer (default 4)
# GFPCTX_CONC_SECONDS length of the read-and-reset phase (default 5)
# GFPCTX_FUZZ_AUDIT_ON=1  let the fuzzer write a valid "on" to audit too.
#                     Off by default: each "on" patches the kernel's slab
#                     tracepoints, which kills a QEMU TCG guest running
#                     kmalloc on another CPU (a stray int3 Oops; flipping
#                     tracefs events/kmem/kmalloc/enable does the same).

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

FUZZ=$DIR/gfpctx_fuzz
WRITES=${GFPCTX_FUZZ_WRITES:-10000}
PROCS=${GFPCTX_FUZZ_PROCS:-4}
CONC_SECONDS=${GFPCTX_CONC_SECONDS:-5}
WRITERS=4

# writer COUNT LOG ROUNDS: jobs of COUNT over the cells, ROUNDS times, or
# until the stop file appears when ROUNDS is 0; one "result count" line
# per job in LOG.
writer() {
	local n=0 ctx alloc gfp r

	while :; do
		while read -r ctx alloc gfp; do
			r=$(gfpctx_run "context=$ctx alloc=$alloc gfp=$gfp" \
				"count=$1 $(gfpctx_job_args "$alloc")")
			echo "${r:-none} $1 $ctx" >> "$2"
		done < "$GFPCTX_TMP/cells"
		n=$((n + 1))
		if [ "$3" -eq 0 ]; then
			[ -e "$GFPCTX_TMP/stop" ] && break
		elif [ $n -ge "$3" ]; then
			break
		fi
	done
}

# start_writers ROUNDS: $WRITERS writers in the background, writer i with
# count 10 + i; their pids in WRITER_PIDS.
start_writers() {
	local i=0

	WRITER_PIDS=
	rm -f "$GFPCTX_TMP/stop" "$GFPCTX_TMP"/writer.*
	while [ $i -lt $WRITERS ]; do
		: > "$GFPCTX_TMP/writer.$i"
		writer $((10 + i)) "$GFPCTX_TMP/writer.$i" "$1" &
		WRITER_PIDS="$WRITER_PIDS $!"
		i=$((i + 1))
	done
}

writers_running() {
	local pid

	for pid in $WRITER_PIDS; do
		kill -0 "$pid" 2>/dev/null && return 0
	done
	return 1
}

# The lines of stats file $1 whose counters do not add up (or are missing).
bad_lines() {
	awk '{
		a = ""; o = ""; f = ""
		for (i = 1; i <= NF; i++) {
			k = $i; sub(/=.*/, "", k)
			v = $i; sub(/^[^=]*=/, "", v)
			if (k == "attempts") a = v
			else if (k == "ok") o = v
			else if (k == "failed") f = v
		}
		if (a == "" || o == "" || f == "" || a + 0 != o + f) print
	}' "$1"
}

# read_stats N: stats into stats.N, its inconsistent lines added to bad.
read_stats() {
	cat "$GFPCTX_DIR/stats" > "$GFPCTX_TMP/stats.$1"
	bad_lines "$GFPCTX_TMP/stats.$1" >> "$GFPCTX_TMP/bad"
}

# The writers' results other than OK, at most 10 lines.
writer_errors() {
	cat "$GFPCTX_TMP"/writer.* | grep -v '^OK ' | head -n 10
}

# Sum of a column of the writers' logs over the OK jobs.
writer_sum() {
	cat "$GFPCTX_TMP"/writer.* | awk '$1 == "OK" { n++; s += $2 }
		END { printf "%d %d\n", n, s }'
}

gfpctx_header
gfpctx_setup
gfpctx_log_mark
ktap_set_plan 10

[ -x "$FUZZ" ] || ktap_exit_fail_msg "helper $FUZZ not built (run make)"
SEED=${GFPCTX_FUZZ_SEED:-$(( $(gfpctx_now_cs) * 100000 + $$ ))}
gfpctx_msg "seed=$SEED (GFPCTX_FUZZ_SEED=$SEED repeats this run)"
gfpctx_pick_cells > "$GFPCTX_TMP/cells"

# 1: the fuzzer.
desc="fuzzer: $WRITES writes from $PROCS processes, allowed errors only"
t0=$(gfpctx_now_cs)
audit_on=
[ "${GFPCTX_FUZZ_AUDIT_ON:-0}" = 1 ] && audit_on=-a
# shellcheck disable=SC2086
"$FUZZ" -s "$SEED" -n "$WRITES" -p "$PROCS" $audit_on > "$GFPCTX_TMP/fuzz" 2>&1
rc=$?
t=$(($(gfpctx_now_cs) - t0))
sed 's/^\([^#]\)/# \1/' "$GFPCTX_TMP/fuzz"
gfpctx_msg "fuzzer exit $rc after $((t / 100)).$((t % 100 / 10)) s"
[ $rc -eq 0 ] && grep -q "^# seed=$SEED procs=$PROCS reports=$PROCS writes=$WRITES " \
	"$GFPCTX_TMP/fuzz"
gfpctx_result $? "$desc"

# 2: the knobs back to their defaults.
desc="after fuzzing: inject off, audit off, stats reset"
r1=$(gfpctx_write "$GFPCTX_DIR/inject" 'off\n')
r2=OK
[ -e "$GFPCTX_DIR/audit" ] && r2=$(gfpctx_write "$GFPCTX_DIR/audit" 'off\n')
r3=$(gfpctx_write "$GFPCTX_DIR/stats" 'reset\n')
inject=$(cat "$GFPCTX_DIR/inject")
gfpctx_msg "inject off: $r1, audit off: $r2, stats reset: $r3; inject: $inject"
[ "$r1 $r2 $r3" = "OK OK OK" ] && [ -z "$(cat "$GFPCTX_DIR/stats")" ] &&
	case $inject in "fail_next=0 fail_every=0 "*) true ;; *) false ;; esac
gfpctx_result $? "$desc"

# 3-4: exact counts after all that, in the first available process and
# softirq contexts of the table: each one's first ok cell of an allocator
# that does not fail by design (not nolock).
for class in process softirq; do
	# shellcheck disable=SC2046 # one word
	set -- $(gfpctx_ctxs_of "$class" 1)
	cell=
	[ $# -eq 1 ] && cell=$(gfpctx_cells ok | while read -r ctx alloc gfp; do
		case $GFPCTX_NOLOCK in
		*" $alloc "*) continue ;;
		esac
		if [ "$ctx" = "$1" ]; then
			echo "$ctx $alloc $gfp"
			break
		fi
	done)
	if [ -z "$cell" ]; then
		gfpctx_test_skip "after fuzzing: a $class cell count=100 counts exactly" \
			"no available $class context with an ok cell"
		continue
	fi
	# shellcheck disable=SC2086
	set -- $cell
	desc="after fuzzing: $cell count=100 counts exactly"
	gfpctx_reset
	r=$(gfpctx_run "context=$1 alloc=$2 gfp=$3 count=100" \
		"$(gfpctx_job_args "$2")")
	if [ "$r" = OK ] && gfpctx_expect_stats "$1" "$2" "$3" jobs=1 \
		attempts=100 ok=100 failed=0 injected=0 ctx_mismatch=0; then
		ktap_test_pass "$desc"
	else
		gfpctx_msg "$cell: $r $GFPCTX_WHY"
		ktap_test_fail "$desc"
	fi
done

ncells=$(wc -l < "$GFPCTX_TMP/cells")
gfpctx_msg "concurrency over $ncells cells: $(tr '\n' ',' < "$GFPCTX_TMP/cells")"

# 5-6: phase A, jobs from $WRITERS processes while stats is read and reset
# in a loop.
: > "$GFPCTX_TMP/bad"
start_writers 0
t0=$(gfpctx_now_cs)
reads=0
resets=0
while [ $(($(gfpctx_now_cs) - t0)) -lt $((CONC_SECONDS * 100)) ]; do
	read_stats a
	reads=$((reads + 1))
	gfpctx_reset && resets=$((resets + 1))
done
touch "$GFPCTX_TMP/stop"
# shellcheck disable=SC2086
wait $WRITER_PIDS
# shellcheck disable=SC2046
set -- $(writer_sum)
gfpctx_msg "phase A: $1 jobs OK, $reads reads and $resets resets of stats in ${CONC_SECONDS} s"
errs=$(writer_errors)
[ -z "$errs" ] && [ "$1" -gt 0 ] && [ "$resets" -eq "$reads" ]
rc=$?
[ -n "$errs" ] && echo "$errs" | while IFS= read -r l; do
	gfpctx_msg "job result: $l"
done
gfpctx_result $rc "concurrent jobs in every context succeed while stats is reset"
if [ -s "$GFPCTX_TMP/bad" ]; then
	head -n 5 "$GFPCTX_TMP/bad" | while IFS= read -r l; do
		gfpctx_msg "inconsistent: $l"
	done
	ktap_test_fail "stats read during jobs and resets: attempts == ok + failed"
else
	ktap_test_pass "stats read during jobs and resets: attempts == ok + failed"
fi

# 7-8: phase B, jobs from $WRITERS processes while stats is read, no reset:
# the attempts add up to the counts written.
: > "$GFPCTX_TMP/bad"
gfpctx_reset
start_writers 2
reads=0
while writers_running; do
	read_stats b
	reads=$((reads + 1))
done
# shellcheck disable=SC2086
wait $WRITER_PIDS
read_stats final
# shellcheck disable=SC2046
set -- $(writer_sum)
jobs_ok=$1
counts=$2
# shellcheck disable=SC2046
set -- $(awk '{
		for (i = 1; i <= NF; i++) {
			k = $i; sub(/=.*/, "", k)
			v = $i; sub(/^[^=]*=/, "", v)
			if (k == "jobs") j += v
			else if (k == "attempts") a += v
			else if (k == "ctx_mismatch") m += v
		}
	} END { printf "%d %d %d\n", j, a, m }' "$GFPCTX_TMP/stats.final")
gfpctx_msg "phase B: $jobs_ok jobs OK asking $counts attempts; stats: jobs=$1 attempts=$2 ctx_mismatch=$3, read $reads times"
errs=$(writer_errors)
[ -n "$errs" ] && echo "$errs" | while IFS= read -r l; do
	gfpctx_msg "job result: $l"
done
if [ -s "$GFPCTX_TMP/bad" ]; then
	head -n 5 "$GFPCTX_TMP/bad" | while IFS= read -r l; do
		gfpctx_msg "inconsistent: $l"
	done
	ktap_test_fail "stats read during concurrent jobs: attempts == ok + failed"
else
	ktap_test_pass "stats read during concurrent jobs: attempts == ok + failed"
fi
[ -z "$errs" ] && [ "$jobs_ok" -eq $((WRITERS * 2 * ncells)) ] &&
	[ "$1" -eq "$jobs_ok" ] && [ "$2" -eq "$counts" ] && [ "$3" -eq 0 ]
gfpctx_result $? "concurrent jobs: the sum of counts equals the sum of attempts"

# 9: unload.
gfpctx_unload_retry 30
gfpctx_result $? "the module unloads after fuzzing"

# 10
gfpctx_test_no_splat "no splat in the kernel log (seed=$SEED)"

ktap_finished
