#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: unload races. An open control file pins the module (its fops
# have .owner = THIS_MODULE), so rmmod while a job runs is refused as busy:
# that is the module's choice. The race tested: writers of short jobs in
# every context, restarted and killed, against modprobe and a loop of
# rmmod that wins the moment the last job's file is closed; then new opens
# against the going module. Every iteration ends with the module gone and
# no writer stuck; no splat, kmemleak clean after.
#
# Knobs: GFPCTX_RACES (100) iterations; GFPCTX_RACE_CONTEXTS (every
# available context whose kmalloc GFP_ATOMIC cell is ok);
# GFPCTX_RACE_JOB ("count=2000 timeout_ms=300"); GFPCTX_RACE_ROUNDS (1)
# jobs per writer per iteration; GFPCTX_RACE_BUDGET_S (600): iterations
# stop, and the ones left are skipped, when the budget is spent.

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

RACES=${GFPCTX_RACES:-100}
RACE_JOB=${GFPCTX_RACE_JOB:-count=2000 timeout_ms=300}
ROUNDS=${GFPCTX_RACE_ROUNDS:-1}
BUDGET_S=${GFPCTX_RACE_BUDGET_S:-600}
# The iterations are reported in up to 10 tests.
CHUNKS=10
[ "$RACES" -lt $CHUNKS ] && [ "$RACES" -gt 0 ] && CHUNKS=$RACES
# How a writer's job or open may end while the module comes and goes: an
# open of a file going away is ENOENT, of one whose module is going ENXIO
# (full_proxy_open(), fs/debugfs/file.c); once open, the file pins the
# module (.owner), so a write never sees ENODEV or EIO.
WRITER_OK='^(OK|ETIMEDOUT|EINTR|KILLED|open:ENOENT|open:ENXIO)$'

# A live, not zombie, process.
alive() {
	[ -n "$1" ] && [ -r "/proc/$1/status" ] &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# race_contexts: GFPCTX_RACE_CONTEXTS, else every available context whose
# kmalloc GFP_ATOMIC cell is ok.
race_contexts() {
	local ctx

	for ctx in ${GFPCTX_RACE_CONTEXTS:-$GFPCTX_CONTEXTS}; do
		gfpctx_ctx_available "$ctx" || continue
		[ "$(gfpctx_verdict "$ctx" kmalloc GFP_ATOMIC)" = ok ] || continue
		echo "$ctx"
	done
}

# writer CTX F JOB: up to ROUNDS jobs (JOB: count and timeout words) in CTX, one after the other; an open that
# fails is retried until the stop file exists. Each result is appended to
# F.log, the running helper's pid is in F.pid (for kill).
writer() {
	local ctx="$1" f="$2" job="$3" w=0 miss=0 r

	while [ $w -lt "$ROUNDS" ] && [ $miss -lt 300 ]; do
		"$GFPCTX_WRITE" "$GFPCTX_DIR/run" \
			"context=$ctx alloc=kmalloc gfp=GFP_ATOMIC $job\\n" \
			> "$f.out" 2>/dev/null &
		echo $! > "$f.pid"
		wait $! 2>/dev/null
		r=$(cat "$f.out")
		echo "${r:-KILLED}" >> "$f.log"
		case $r in
		open:*)
			[ -e "$GFPCTX_TMP/stop" ] && break
			miss=$((miss + 1))
			gfpctx_nap
			;;
		*)
			w=$((w + 1))
			;;
		esac
	done
}

# start_writers JOB: a writer per context.
start_writers() {
	local ctx

	writer_pids=
	for ctx in $contexts; do
		writer "$ctx" "$GFPCTX_TMP/w.$ctx" "$1" &
		writer_pids="$writer_pids $!"
	done
}

# One iteration; 1 with the reason in GFPCTX_WHY. Modes, by $1 % 4:
# 0 load, writers, rmmod; 1 writers first (racing modprobe), then load;
# 2 as 0, with jobs that run to their timeout and two writers' jobs
# killed in their course; 3 rmmod at once, racing the opens.
iteration() {
	local mode=$(($1 % 4)) job="$RACE_JOB" deadline pid stuck ctx n tries

	rm -f "$GFPCTX_TMP/stop" "$GFPCTX_TMP"/w.*
	GFPCTX_WHY=
	[ $mode -eq 2 ] && job="count=100000 ${RACE_JOB#* }"
	if [ $mode -eq 1 ]; then
		start_writers "$job"
		gfpctx_nap
	fi
	if ! gfpctx_load; then
		GFPCTX_WHY="loading gfpctx failed"
	fi
	[ $mode -ne 1 ] && start_writers "$job"
	case $mode in
	0 | 1)
		gfpctx_nap
		;;
	2)
		gfpctx_nap
		gfpctx_nap
		n=0
		for ctx in $contexts; do
			[ $n -ge 2 ] && break
			pid=$(cat "$GFPCTX_TMP/w.$ctx.pid" 2>/dev/null)
			[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
			n=$((n + 1))
		done
		;;
	esac

	# rmmod until it wins.
	tries=0
	deadline=$(($(gfpctx_now_cs) + 6000))
	while gfpctx_loaded; do
		rmmod gfpctx 2>> "$GFPCTX_TMP/rmmod.err" && break
		tries=$((tries + 1))
		if [ "$(gfpctx_now_cs)" -ge $deadline ]; then
			GFPCTX_WHY="$GFPCTX_WHY rmmod refused for 60 s"
			break
		fi
	done
	rmmod_refused=$((rmmod_refused + tries))
	touch "$GFPCTX_TMP/stop"

	# Every writer ends.
	deadline=$(($(gfpctx_now_cs) + 3000))
	for pid in $writer_pids; do
		while alive "$pid" && [ "$(gfpctx_now_cs)" -lt $deadline ]; do
			gfpctx_nap
		done
	done
	stuck=
	for pid in $writer_pids; do
		alive "$pid" && stuck="$stuck $pid"
	done
	if [ -n "$stuck" ]; then
		GFPCTX_WHY="$GFPCTX_WHY writers stuck:$stuck"
		for pid in $stuck; do
			gfpctx_msg "stuck writer $pid: $(cat "/proc/$pid/stack" 2>/dev/null)"
		done
		# shellcheck disable=SC2086
		kill -KILL $stuck 2>/dev/null
	fi
	# shellcheck disable=SC2086
	wait $writer_pids 2>/dev/null

	if gfpctx_loaded || [ -e "$GFPCTX_DIR" ]; then
		GFPCTX_WHY="$GFPCTX_WHY module still there"
		gfpctx_unload_retry 30
	fi
	cat "$GFPCTX_TMP"/w.*.log > "$GFPCTX_TMP/results" 2>/dev/null
	writer_bad=$(grep -Ev "$WRITER_OK" "$GFPCTX_TMP/results" | sort -u |
		tr '\n' ' ')
	[ -n "$writer_bad" ] && GFPCTX_WHY="$GFPCTX_WHY writers got: $writer_bad"
	jobs_done=$((jobs_done + $(grep -cE '^(OK|ETIMEDOUT)$' "$GFPCTX_TMP/results")))
	jobs_killed=$((jobs_killed + $(grep -c '^KILLED$' "$GFPCTX_TMP/results")))
	opens_refused=$((opens_refused + $(grep -c '^open:' "$GFPCTX_TMP/results")))
	[ -z "$GFPCTX_WHY" ]
}

gfpctx_header
gfpctx_prepare
gfpctx_log_mark
start_mark=$GFPCTX_MARK
ktap_set_plan $((1 + 4 + CHUNKS + 2))

gfpctx_kmemleak_clear

gfpctx_load || ktap_exit_fail_msg "loading gfpctx failed"
gfpctx_snapshot_tables
contexts=$(race_contexts | tr '\n' ' ')
contexts=${contexts% }
gfpctx_msg "race contexts: $contexts"
[ -n "$contexts" ]
gfpctx_result $? "contexts to race in: $(echo "$contexts" | wc -w)"

# modprobe_r_during CTX: one try of modprobe -r (rmmod for a module
# insmod loaded) while a long job runs in CTX. Sets rc, t (cs), live (the writer still ran when modprobe -r
# returned), r (the job's result).
modprobe_r_during() {
	local pid deadline

	"$GFPCTX_WRITE" "$GFPCTX_DIR/run" \
		"context=$1 alloc=kmalloc gfp=GFP_ATOMIC size=65536 count=100000 timeout_ms=3000" \
		> "$GFPCTX_TMP/long" 2>&1 &
	pid=$!
	# The file is open (the module pinned), the job under way.
	deadline=$(($(gfpctx_now_cs) + 500))
	while [ "$(cat /sys/module/gfpctx/refcnt 2>/dev/null)" = 0 ] &&
	      [ "$(gfpctx_now_cs)" -lt $deadline ]; do
		:
	done
	t0=$(gfpctx_now_cs)
	if [ -n "$GFPCTX_INSMOD" ]; then
		# Loaded from beside the scripts: modprobe does not know it.
		rmmod gfpctx 2> "$GFPCTX_TMP/modprobe.err"
	else
		modprobe -r gfpctx 2> "$GFPCTX_TMP/modprobe.err"
	fi
	rc=$?
	t=$(($(gfpctx_now_cs) - t0))
	live=0
	alive "$pid" && live=1
	deadline=$(($(gfpctx_now_cs) + 2000))
	while alive "$pid" && [ "$(gfpctx_now_cs)" -lt $deadline ]; do
		gfpctx_nap
	done
	r=
	if alive "$pid"; then
		kill -KILL "$pid"
		r="stuck"
	fi
	wait "$pid" 2>/dev/null
	r=${r:-$(cat "$GFPCTX_TMP/long")}
}

# 2-5: modprobe -r while a long job runs, one per class: refused at once
# (the module is in use), the job goes on to its end.
for class in process process-atomic softirq hardirq; do
	desc="modprobe -r during a $class job returns at once, busy"
	ctx=
	for c in $contexts; do
		if grep -q "^name=$c class=$class " "$GFPCTX_TMP/contexts"; then
			ctx=$c
			break
		fi
	done
	if [ -z "$ctx" ]; then
		gfpctx_test_skip "$desc" "no $class context to race in"
		continue
	fi
	try=0
	while [ $try -lt 3 ]; do
		try=$((try + 1))
		gfpctx_loaded || gfpctx_load
		modprobe_r_during "$ctx"
		gfpctx_msg "$ctx: modprobe -r rc=$rc after ${t}0 ms, writer" \
			"running after it: $live ($(cat "$GFPCTX_TMP/modprobe.err"));" \
			"job: $r"
		# Conclusive when the job still ran as modprobe -r returned.
		[ $live -eq 1 ] && break
	done
	if [ "$live" -eq 1 ] && [ "$rc" -ne 0 ] && [ "$t" -lt 500 ] && gfpctx_loaded &&
	   { [ "$r" = ETIMEDOUT ] || [ "$r" = OK ]; }; then
		ktap_test_pass "$desc ($ctx)"
	else
		ktap_test_fail "$desc ($ctx)"
	fi
done
gfpctx_unload

# The iterations, in CHUNKS tests.
rmmod_refused=0
jobs_done=0
jobs_killed=0
opens_refused=0
done_n=0
failed_n=0
per=$(((RACES + CHUNKS - 1) / CHUNKS))
t_start=$(gfpctx_now_cs)
budget_end=$((t_start + BUDGET_S * 100))
: > "$GFPCTX_TMP/rmmod.err"
for chunk in $(seq 1 "$CHUNKS"); do
	first=$(((chunk - 1) * per + 1))
	last=$((chunk * per))
	[ $last -gt "$RACES" ] && last=$RACES
	desc="unload races, iterations $first-$last"
	if [ "$first" -gt "$last" ]; then
		gfpctx_test_skip "$desc" "none (GFPCTX_RACES=$RACES)"
		continue
	fi
	if [ "$(gfpctx_now_cs)" -ge $budget_end ]; then
		gfpctx_test_skip "$desc" "time budget of $BUDGET_S s spent"
		continue
	fi
	bad=0
	i=$first
	while [ "$i" -le "$last" ]; do
		if ! iteration $i; then
			bad=$((bad + 1))
			gfpctx_msg "iteration $i:$GFPCTX_WHY"
		fi
		i=$((i + 1))
		[ "$(gfpctx_now_cs)" -ge $budget_end ] && break
	done
	done_n=$((done_n + i - first))
	failed_n=$((failed_n + bad))
	gfpctx_msg "after iteration $((i - 1)): $(($(gfpctx_now_cs) - t_start))" \
		"cs, rmmod refused $rmmod_refused times"
	if [ "$i" -le "$last" ]; then
		gfpctx_msg "time budget of $BUDGET_S s spent after iteration $((i - 1))"
		desc="unload races, iterations $first-$((i - 1)) of $first-$last"
	fi
	[ $bad -eq 0 ]
	gfpctx_result $? "$desc"
done
t=$(($(gfpctx_now_cs) - t_start))
eagain=$(grep -c 'Resource temporarily unavailable' "$GFPCTX_TMP/rmmod.err")
ebusy=$(grep -c 'Device or resource busy' "$GFPCTX_TMP/rmmod.err")
other=$(grep -Evc 'Resource temporarily unavailable|Device or resource busy' \
	"$GFPCTX_TMP/rmmod.err")
gfpctx_msg "races: $done_n iterations of $RACES in $((t / 100)) s" \
	"($failed_n failed), jobs $RACE_JOB, $ROUNDS per writer;" \
	"rmmod refused $rmmod_refused times (EAGAIN/in use $eagain," \
	"EBUSY $ebusy, other lines $other); jobs done $jobs_done," \
	"writers killed $jobs_killed, opens refused $opens_refused"
grep -Ev 'Resource temporarily unavailable|Device or resource busy' \
	"$GFPCTX_TMP/rmmod.err" | sort | uniq -c | head -n 5 |
	while IFS= read -r l; do gfpctx_msg "rmmod: $l"; done

# kmemleak, the module gone.
gfpctx_kmemleak_test "kmemleak: nothing of gfpctx"

GFPCTX_MARK=$start_mark
gfpctx_test_no_splat "no splat in the kernel log"

ktap_finished
