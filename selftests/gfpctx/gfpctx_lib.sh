#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# Helpers shared by the gfpctx kselftest scripts; sourced, never run.
# The script that sources it sets DIR to its own directory first.
#
# Interface of the module: Documentation/gfpctx.rst (debugfs
# /sys/kernel/debug/gfpctx/: contexts, rules, run, stats, inject, kernel,
# fail_alloc/).

ksft_skip=4

GFPCTX_DEBUGFS=/sys/kernel/debug
GFPCTX_DIR=$GFPCTX_DEBUGFS/gfpctx
DIR=${DIR:?set DIR before sourcing gfpctx_lib.sh}
GFPCTX_WRITE=$DIR/gfpctx_write
GFPCTX_KO=$DIR/module/gfpctx.ko
GFPCTX_INSMOD=
GFPCTX_TMP=
GFPCTX_LOADED_BY_US=0
GFPCTX_MARK=0
GFPCTX_WHY=
GFPCTX_WORDS=
GFPCTX_VAL=
GFPCTX_UNAVAILABLE=" "
GFPCTX_BY_ORDER=" "
GFPCTX_NOLOCK=" "

# The module's tables, in table order: read from its contexts, allocs
# and gfps files by gfpctx_snapshot_tables (never written down here).
GFPCTX_CONTEXTS=
GFPCTX_ALLOCS=
GFPCTX_GFPS=

# Kernel log lines that are never expected in a clean run.
GFPCTX_SPLAT_RE='BUG:|WARNING:|Oops|general protection fault|kernel BUG at|'\
'INFO: task .* blocked for more than|rcu: INFO|soft lockup|hard LOCKUP|'\
'inconsistent lock state|possible circular locking|possible recursive locking|'\
'suspicious RCU usage|KASAN|UBSAN:|kmemleak: [0-9]+ new suspected|'\
'Bad page|list_add corruption|list_del corruption|Kernel panic'

KTAP_HELPERS=${KTAP_HELPERS:-$DIR/../kselftest/ktap_helpers.sh}
if [ -e "$KTAP_HELPERS" ]; then
	# shellcheck source=/dev/null
	. "$KTAP_HELPERS"
else
	echo "TAP version 13"
	echo "1..0 # SKIP $KTAP_HELPERS not found"
	exit $ksft_skip
fi

GFPCTX_HEADER=0

# gfpctx_header: the KTAP header, once (a script whose KTAP a C helper
# prints calls it only on its way out).
gfpctx_header() {
	[ "$GFPCTX_HEADER" = 1 ] && return
	GFPCTX_HEADER=1
	ktap_print_header
}

gfpctx_skip_all() {
	gfpctx_header
	ktap_skip_all "$*"
	exit $ksft_skip
}

# gfpctx_test_skip DESCRIPTION REASON: `ok N DESCRIPTION # SKIP REASON`,
# as Documentation/dev-tools/ktap.rst writes a skip (ktap_test_skip of
# ktap_helpers.sh takes no reason).
gfpctx_test_skip() {
	__ktap_test ok "$1" "SKIP $2"
	KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
}

# GFPCTX_SHARD=I/N (set per boot by the host runner): a script that
# provokes reports takes the I-th of every N cells, from 1, so that N
# boots share them (__might_resched() reports once a second per kernel).
# gfpctx_shard_check ends the script, Bail out!, on a malformed value.
gfpctx_shard_check() {
	[ -z "$GFPCTX_SHARD" ] && return 0
	if ! echo "$GFPCTX_SHARD" | grep -Eq '^[1-9][0-9]*/[1-9][0-9]*$' ||
	   [ "${GFPCTX_SHARD%/*}" -gt "${GFPCTX_SHARD#*/}" ]; then
		gfpctx_header
		ktap_exit_fail_msg "GFPCTX_SHARD=$GFPCTX_SHARD: want I/N, 1 <= I <= N"
	fi
}

# gfpctx_shard: the lines of stdin that are the shard's, every line
# without GFPCTX_SHARD.
gfpctx_shard() {
	awk -v i="${GFPCTX_SHARD%/*}" -v n="${GFPCTX_SHARD#*/}" \
		'n == "" || (NR - 1) % n == i - 1'
}

# gfpctx_cells_run ARGS...: after gfpctx_setup, the KTAP of gfpctx_cells;
# the script exits with its status.
gfpctx_cells_run() {
	local rc

	"$DIR/gfpctx_cells" "$@"
	rc=$?
	exit $rc
}

gfpctx_msg() {
	# ktap_print_msg leaves its arguments unquoted: keep globs out.
	echo "# $*"
}

# A pass/fail test on the status of the last command.
gfpctx_result() {
	if [ "$1" -eq 0 ]; then
		ktap_test_pass "$2"
	else
		ktap_test_fail "$2"
	fi
}

# ---------------------------------------------------------------- module --

gfpctx_loaded() {
	grep -q '^gfpctx ' /proc/modules 2>/dev/null
}

# gfpctx_modprobe_finds: whether modprobe finds gfpctx in /lib/modules.
gfpctx_modprobe_finds() {
	# kmod's modprobe knows -n; busybox's does not: look at modules.dep.
	modprobe -q -n gfpctx 2>/dev/null && return 0
	grep -Eq '(^|/)gfpctx\.ko' "/lib/modules/$(uname -r)/modules.dep" \
		2>/dev/null
}

# gfpctx_have_module: whether the module can be loaded (or is), and how:
# GFPCTX_INSMOD is empty for modprobe, else the gfpctx.ko the target
# built and installed beside the scripts (TEST_GEN_MODS_DIR), for insmod.
gfpctx_have_module() {
	GFPCTX_INSMOD=
	gfpctx_modprobe_finds && return 0
	if [ -f "$GFPCTX_KO" ]; then
		GFPCTX_INSMOD=$GFPCTX_KO
		return 0
	fi
	gfpctx_loaded
}

# gfpctx_load: a fresh instance of the module.
gfpctx_load() {
	local i=0

	if gfpctx_loaded; then
		gfpctx_unload || return 1
	fi
	if [ -n "$GFPCTX_INSMOD" ]; then
		insmod "$GFPCTX_INSMOD" || return 1
	else
		modprobe gfpctx || return 1
	fi
	GFPCTX_LOADED_BY_US=1
	while [ ! -e "$GFPCTX_DIR/run" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && return 1
		sleep 0.1 2>/dev/null || sleep 1
	done
}

gfpctx_unload() {
	gfpctx_loaded || return 0
	modprobe -r gfpctx 2>/dev/null || rmmod gfpctx 2>/dev/null
	! gfpctx_loaded
}

# gfpctx_unload_retry SECONDS: unload, retrying while the module is busy.
# Sets GFPCTX_UNLOAD_TRIES to the number of failed attempts.
gfpctx_unload_retry() {
	local deadline

	deadline=$(($(gfpctx_now_cs) + $1 * 100))
	GFPCTX_UNLOAD_TRIES=0
	while ! gfpctx_unload; do
		GFPCTX_UNLOAD_TRIES=$((GFPCTX_UNLOAD_TRIES + 1))
		[ "$(gfpctx_now_cs)" -ge $deadline ] && return 1
		gfpctx_nap
	done
}

gfpctx_cleanup() {
	local pids

	pids=$(jobs -p 2>/dev/null)
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill $pids 2>/dev/null && wait 2>/dev/null
	[ "$GFPCTX_LOADED_BY_US" = 1 ] && gfpctx_unload_retry 60
	[ -n "$GFPCTX_TMP" ] && rm -rf "$GFPCTX_TMP"
}

# gfpctx_prepare: the checks every script starts with, after its KTAP
# header. Skips the whole script (exit 4) when the test cannot run here.
gfpctx_prepare() {
	[ "$(id -u)" -eq 0 ] || gfpctx_skip_all "not root"
	[ -x "$GFPCTX_WRITE" ] ||
		gfpctx_skip_all "helper $GFPCTX_WRITE not built (run make)"
	if ! grep -q " $GFPCTX_DEBUGFS debugfs " /proc/mounts; then
		mount -t debugfs none "$GFPCTX_DEBUGFS" 2>/dev/null ||
			gfpctx_skip_all "debugfs not mounted, cannot mount it"
	fi
	gfpctx_have_module || gfpctx_skip_all "gfpctx module not found:" \
		"modprobe cannot find gfpctx and $GFPCTX_KO is missing"
	[ -n "$GFPCTX_INSMOD" ] && gfpctx_msg "module: $GFPCTX_INSMOD"
	GFPCTX_TMP=$(mktemp -d) || gfpctx_skip_all "mktemp -d failed"
	trap gfpctx_cleanup EXIT
	if sleep 0.1 2>/dev/null; then
		GFPCTX_NAP=0.1
	else
		GFPCTX_NAP=1
	fi
	gfpctx_kmsg_start || gfpctx_skip_all "cannot follow /dev/kmsg"
}

# gfpctx_setup: gfpctx_prepare, then a fresh instance of the module.
gfpctx_setup() {
	gfpctx_prepare
	gfpctx_load || { gfpctx_header; ktap_exit_fail_msg "loading gfpctx failed"; }
	gfpctx_snapshot_tables
}

# gfpctx_names FILE: the name= words of a table file, on one line.
gfpctx_names() {
	awk "$GFPCTX_AWK_WORDS"'{ words(); if ("name" in w) print w["name"] }' \
		"$1" | tr '\n' ' '
}

# An awk function for the module's key=value lines: words() fills the
# array w with the current record's words by key (w["name"], w["flags"],
# ...), whatever their order; a word without "=" is left out. Prepend it
# to an awk program: awk "$GFPCTX_AWK_WORDS"'{ words(); ... }'.
# shellcheck disable=SC2016 # awk's $i, not the shell's
GFPCTX_AWK_WORDS='function words(i, k) {
	split("", w)
	for (i = 1; i <= NF; i++)
		if ((k = index($i, "=")) > 1)
			w[substr($i, 1, k - 1)] = substr($i, k + 1)
}
'

# gfpctx_names_with FILE KEY VALUE: " name name ... " of the lines of a
# table file (contexts, allocs, gfps) whose KEY is VALUE, in file order.
gfpctx_names_with() {
	echo " $(awk -v k="$2" -v v="$3" "$GFPCTX_AWK_WORDS"'
		{ words(); if (w[k] == v) print w["name"] }' "$1" | tr '\n' ' ')"
}

# gfpctx_allocs_flagged FLAG: " alloc alloc ... " of the allocators whose
# flags= (a comma separated list) in the allocs copy has FLAG.
gfpctx_allocs_flagged() {
	echo " $(awk -v f="$1" "$GFPCTX_AWK_WORDS"'
		{ words(); if (index("," w["flags"] ",", "," f ",")) print w["name"] }' \
		"$GFPCTX_TMP/allocs" | tr '\n' ' ')"
}

# Copies of contexts, rules, allocs and gfps, read once per load.
# GFPCTX_CONTEXTS, GFPCTX_ALLOCS, GFPCTX_GFPS: the names, in table order;
# GFPCTX_UNAVAILABLE: the unavailable contexts; GFPCTX_BY_ORDER: the
# allocators a job sizes with order= (the others take size=);
# GFPCTX_NOLOCK: the allocators flagged nolock (may return NULL by design);
# GFPCTX_AUDITED: the allocators flagged audited (audit mode sees them).
gfpctx_snapshot_tables() {
	local t

	for t in contexts rules allocs gfps; do
		cat "$GFPCTX_DIR/$t" > "$GFPCTX_TMP/$t"
	done
	# shellcheck disable=SC2034 # read by the scripts
	GFPCTX_CONTEXTS=$(gfpctx_names "$GFPCTX_TMP/contexts")
	# shellcheck disable=SC2034
	GFPCTX_ALLOCS=$(gfpctx_names "$GFPCTX_TMP/allocs")
	# shellcheck disable=SC2034
	GFPCTX_GFPS=$(gfpctx_names "$GFPCTX_TMP/gfps")
	GFPCTX_UNAVAILABLE=$(gfpctx_names_with "$GFPCTX_TMP/contexts" available no)
	GFPCTX_BY_ORDER=$(gfpctx_allocs_flagged order)
	# shellcheck disable=SC2034 # read by lifecycle.sh and contexts.sh
	GFPCTX_NOLOCK=$(gfpctx_allocs_flagged nolock)
	# shellcheck disable=SC2034 # read by audit.sh
	GFPCTX_AUDITED=$(gfpctx_allocs_flagged audited)
}

gfpctx_nap() {
	sleep "$GFPCTX_NAP"
}

# Uptime in centiseconds.
gfpctx_now_cs() {
	local up s f

	read -r up _ < /proc/uptime
	s=${up%%.*}
	f=${up#*.}
	f=${f%"${f#??}"}
	f=${f#0}
	echo $((s * 100 + ${f:-0}))
}

# ------------------------------------------------------------- debugfs --

# gfpctx_write FILE DATA...: one write(2); prints OK or the errno name.
gfpctx_write() {
	"$GFPCTX_WRITE" "$@"
}

# gfpctx_run WORD...: one job, written as `echo` would; prints the result.
gfpctx_run() {
	"$GFPCTX_WRITE" "$GFPCTX_DIR/run" "$*\\n"
}

gfpctx_reset() {
	[ "$("$GFPCTX_WRITE" "$GFPCTX_DIR/stats" 'reset\n')" = OK ]
}

# gfpctx_get LINE KEY: the value of KEY= in LINE into GFPCTX_VAL (status
# 1 if absent). No subshell: under TCG a process costs tens of ms.
gfpctx_get() {
	local w

	for w in $1; do
		case $w in
		"$2="*)
			GFPCTX_VAL=${w#*=}
			return 0
			;;
		esac
	done
	GFPCTX_VAL=
	return 1
}

# gfpctx_field LINE KEY: the value of KEY= in LINE (status 1 if absent).
gfpctx_field() {
	gfpctx_get "$1" "$2" || return 1
	echo "$GFPCTX_VAL"
}

# gfpctx_stats_line CONTEXT ALLOC GFP: the cell's line of stats.
gfpctx_stats_line() {
	grep "^context=$1 alloc=$2 gfp=$3 " "$GFPCTX_DIR/stats"
}

# gfpctx_stat CONTEXT ALLOC GFP KEY: one counter of a cell (0 if the cell
# has no line: it has not run since the last reset).
gfpctx_stat() {
	local line

	line=$(gfpctx_stats_line "$1" "$2" "$3") || {
		echo 0
		return
	}
	gfpctx_field "$line" "$4" || echo "missing"
}

# gfpctx_expect_stats CONTEXT ALLOC GFP KEY=VALUE...: every KEY has VALUE
# and the invariants hold (attempts == ok + failed, failed == injected +
# alloc_failed).
# On a mismatch, returns 1 with the reason in GFPCTX_WHY.
gfpctx_expect_stats() {
	local ctx="$1" alloc="$2" gfp="$3" line kv key want a o f i af

	shift 3
	GFPCTX_WHY=
	line=$(gfpctx_stats_line "$ctx" "$alloc" "$gfp")
	if [ -z "$line" ]; then
		GFPCTX_WHY="no stats line for $ctx $alloc $gfp"
		return 1
	fi
	if [ "$(echo "$line" | wc -l)" -ne 1 ]; then
		GFPCTX_WHY="several stats lines for $ctx $alloc $gfp"
		return 1
	fi
	for kv in "$@"; do
		key=${kv%%=*}
		want=${kv#*=}
		gfpctx_get "$line" "$key" || GFPCTX_VAL="(missing)"
		[ "$GFPCTX_VAL" = "$want" ] ||
			GFPCTX_WHY="$GFPCTX_WHY $key=$GFPCTX_VAL (want $want)"
	done
	gfpctx_get "$line" attempts
	a=$GFPCTX_VAL
	gfpctx_get "$line" ok
	o=$GFPCTX_VAL
	gfpctx_get "$line" failed
	f=$GFPCTX_VAL
	gfpctx_get "$line" injected
	i=$GFPCTX_VAL
	gfpctx_get "$line" alloc_failed
	af=$GFPCTX_VAL
	if [ -n "$a" ] && [ -n "$o" ] && [ -n "$f" ] && [ -n "$i" ] &&
	   [ -n "$af" ]; then
		[ "$a" -eq $((o + f)) ] ||
			GFPCTX_WHY="$GFPCTX_WHY attempts!=ok+failed"
		[ "$f" -eq $((i + af)) ] ||
			GFPCTX_WHY="$GFPCTX_WHY failed!=injected+alloc_failed"
	else
		GFPCTX_WHY="$GFPCTX_WHY counters missing"
	fi
	[ -z "$GFPCTX_WHY" ] && return 0
	GFPCTX_WHY="$ctx $alloc $gfp:$GFPCTX_WHY"
	return 1
}

# gfpctx_inject_field KEY: a value of the inject file.
gfpctx_inject_field() {
	gfpctx_field "$(cat "$GFPCTX_DIR/inject")" "$1"
}

# --------------------------------------------------------------- tables --

# gfpctx_ctx_field CONTEXT KEY: from the contexts snapshot.
gfpctx_ctx_field() {
	gfpctx_field "$(grep "^name=$1 " "$GFPCTX_TMP/contexts")" "$2"
}

# gfpctx_alloc_field ALLOC KEY: from the allocs snapshot.
gfpctx_alloc_field() {
	gfpctx_field "$(grep "^name=$1 " "$GFPCTX_TMP/allocs")" "$2"
}

gfpctx_ctx_available() {
	case $GFPCTX_UNAVAILABLE in
	*" $1 "*) return 1 ;;
	esac
}

# Why a context is unavailable, for a skip reason.
gfpctx_ctx_why() {
	echo "context $1 unavailable: $(gfpctx_ctx_field "$1" reason)"
}

# gfpctx_verdict CONTEXT ALLOC GFP: the cell's verdict from rules.
gfpctx_verdict() {
	gfpctx_field "$(grep "^context=$1 class=[a-z-]* alloc=$2 gfp=$3 " \
		"$GFPCTX_TMP/rules")" verdict
}

# gfpctx_cells VERDICT [largest]: "context alloc gfp" per line, rules
# order; with largest, "context alloc gfp largest" (the largest size= or
# order= of a job of the cell).
gfpctx_cells() {
	local out='\1 \2 \3'

	[ "${2:-}" = largest ] && out='\1 \2 \3 \4'
	sed -n "s/^context=\([a-z_]*\) class=[a-z-]* alloc=\([a-z_]*\) gfp=\([A-Z_|]*\) verdict=$1 why=[a-z-]* largest=\([0-9]*\)$/$out/p" \
		"$GFPCTX_TMP/rules"
}

# gfpctx_ctxs_of CLASS [N]: the first N (default: all) available contexts
# of class CLASS (process, process-atomic, softirq, hardirq, nmi), table
# order, on one line; fewer where the table has fewer.
gfpctx_ctxs_of() {
	awk -v c="$1" -v n="${2:--1}" -v u="$GFPCTX_UNAVAILABLE" "$GFPCTX_AWK_WORDS"'
		BEGIN { all = n < 0 }
		{ words() }
		w["class"] == c && !index(u, " " w["name"] " ") &&
		(all || n-- > 0) {
			print w["name"]
		}' "$GFPCTX_TMP/contexts" | tr '\n' ' '
}

# gfpctx_first_ok CLASS ALLOC GFP: the first available context of class
# CLASS whose cell ALLOC GFP is ok (status 1 and nothing when there is
# none, as for hardirq kmalloc GFP_ATOMIC on PREEMPT_RT).
gfpctx_first_ok() {
	local c

	for c in $(gfpctx_ctxs_of "$1"); do
		if [ "$(gfpctx_verdict "$c" "$2" "$3")" = ok ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# gfpctx_kthread_ctx: the first available process context other than
# task, the writer's own (the one context the scripts name: fail_alloc's
# task-filter and make-it-fail are about the writer): a job there runs in
# a kernel thread. Status 1 and nothing when there is none.
gfpctx_kthread_ctx() {
	local c

	for c in $(gfpctx_ctxs_of process); do
		if [ "$c" != task ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# gfpctx_pick_cells: the cell each available context runs where one will
# do: kmalloc GFP_ATOMIC where it is ok, else the context's first ok cell.
# "context alloc gfp" per line.
gfpctx_pick_cells() {
	local ctx cell

	for ctx in $GFPCTX_CONTEXTS; do
		gfpctx_ctx_available "$ctx" || continue
		cell=$(gfpctx_cells ok | grep "^$ctx kmalloc GFP_ATOMIC\$")
		[ -z "$cell" ] && cell=$(gfpctx_cells ok | grep "^$ctx " | head -n 1)
		[ -n "$cell" ] && echo "$cell"
	done
}

# gfpctx_job_args ALLOC: the size or order words of a standard job.
gfpctx_job_args() {
	case $GFPCTX_BY_ORDER in
	*" $1 "*) echo "order=0" ;;
	*) echo "size=64" ;;
	esac
}

# gfpctx_job_words CONTEXT ALLOC GFP [at=N] [WORD...]: a standard job's
# words in GFPCTX_WORDS, with no process started (for loops over many
# cells); at=N gives the size= or order= the allocator takes (the rules'
# largest=) instead of the standard one.
gfpctx_job_words() {
	local ctx="$1" alloc="$2" gfp="$3" key=size amount=64 words='' w

	case $GFPCTX_BY_ORDER in
	*" $alloc "*) key=order amount=0 ;;
	esac
	shift 3
	for w in "$@"; do
		case $w in
		at=*) amount=${w#at=} ;;
		*) words="$words $w" ;;
		esac
	done
	# shellcheck disable=SC2034 # the caller's result
	GFPCTX_WORDS="context=$ctx alloc=$alloc gfp=$gfp $key=$amount$words"
}

# ------------------------------------------------------- running kernel --

# gfpctx_kernel KEY: yes/no (or a number) for preempt_rt, debug_atomic_sleep,
# fault_injection, lockdep, kmemleak, cpus; "unknown" when it cannot tell.
# The module's debugfs file `kernel` is the authority; without it, the
# system is probed.
gfpctx_kernel() {
	local v

	if [ -r "$GFPCTX_DIR/kernel" ]; then
		v=$(sed -n "s/^$1=//p" "$GFPCTX_DIR/kernel")
		if [ -n "$v" ]; then
			echo "$v"
			return
		fi
	fi
	case $1 in
	preempt_rt)
		if uname -v | grep -q PREEMPT_RT; then echo yes; else echo no; fi
		;;
	lockdep)
		if [ -e /proc/lockdep ]; then echo yes; else echo no; fi
		;;
	kmemleak)
		if [ -e "$GFPCTX_DEBUGFS/kmemleak" ]; then echo yes; else echo no; fi
		;;
	fault_injection)
		if [ -e /proc/self/make-it-fail ]; then echo yes; else echo no; fi
		;;
	cpus)
		grep -c '^processor' /proc/cpuinfo
		;;
	debug_atomic_sleep)
		gfpctx_kconfig CONFIG_DEBUG_ATOMIC_SLEEP
		;;
	*)
		echo unknown
		;;
	esac
}

# gfpctx_kconfig CONFIG_X: yes/no from the running kernel's config, if any.
gfpctx_kconfig() {
	local cfg

	if [ -r /proc/config.gz ]; then
		cfg=$(zcat /proc/config.gz 2>/dev/null)
	elif [ -r "/boot/config-$(uname -r)" ]; then
		cfg=$(cat "/boot/config-$(uname -r)")
	else
		echo unknown
		return
	fi
	if echo "$cfg" | grep -q "^$1=y"; then echo yes; else echo no; fi
}

# ----------------------------------------------------------- kernel log --

# The kernel log is followed from the start of the script into a file
# (gfpctx_kmsg): a check reads what was logged after its mark, however
# much the ring buffer has turned over since.
GFPCTX_KMSG_SYNC=0

gfpctx_kmsg_start() {
	local i=0

	"$DIR/gfpctx_kmsg" "$GFPCTX_TMP/kmsg" &
	while [ ! -e "$GFPCTX_TMP/kmsg" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		gfpctx_nap
	done
	gfpctx_kmsg_sync
}

# gfpctx_kmsg_sync: wait until the follower has written all that was
# logged so far (a line of our own, logged now, has reached the file).
gfpctx_kmsg_sync() {
	local tag i=0

	GFPCTX_KMSG_SYNC=$((GFPCTX_KMSG_SYNC + 1))
	tag="gfpctx-selftest: ${0##*/} pid=$$ sync=$GFPCTX_KMSG_SYNC"
	echo "$tag" > /dev/kmsg
	until grep -qxF "$tag" "$GFPCTX_TMP/kmsg"; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.02 2>/dev/null || sleep 1
	done
}

# gfpctx_log_mark: remember "now" in the kernel log (in GFPCTX_MARK, a
# line count of the followed log).
gfpctx_log_mark() {
	gfpctx_kmsg_sync || gfpctx_msg "kernel log follower is behind"
	GFPCTX_MARK=$(wc -l < "$GFPCTX_TMP/kmsg")
}

# gfpctx_log_since: the kernel log lines after the last mark; a gap the
# follower could not read shows as "# gfpctx_kmsg: records lost".
gfpctx_log_since() {
	gfpctx_kmsg_sync || echo "# gfpctx_kmsg: follower is behind"
	tail -n +$((GFPCTX_MARK + 1)) "$GFPCTX_TMP/kmsg"
}

# gfpctx_splats: the splat lines of the kernel log since the last mark,
# and any gap in it (then nothing can be said of what it held).
gfpctx_splats() {
	gfpctx_log_since | grep -E "$GFPCTX_SPLAT_RE|^# gfpctx_kmsg: "
}

# gfpctx_test_no_splat DESCRIPTION: a test, passes when no splat appeared
# in the kernel log since the last mark.
gfpctx_test_no_splat() {
	local bad

	bad=$(gfpctx_splats)
	if [ -z "$bad" ]; then
		ktap_test_pass "$1"
	else
		echo "$bad" | head -n 20 | while IFS= read -r l; do
			gfpctx_msg "splat: $l"
		done
		ktap_test_fail "$1"
	fi
}

# gfpctx_raw_addresses: the lines of stdin that show a raw kernel address:
# 16 hex digits from ffff (the kernel half on x86-64 and arm64), but not
# ULONG_MAX, a "no limit" sentinel (lib/fault-inject.c prints require-end
# so). A hashed %p (lib/vsprintf.c) starts with zeros.
gfpctx_raw_addresses() {
	awk '{
		s = $0
		while (match(s, /ffff[0-9a-f]+/)) {
			if (RLENGTH == 16 &&
			    substr(s, RSTART, RLENGTH) != "ffffffffffffffff") {
				print
				next
			}
			s = substr(s, RSTART + RLENGTH)
		}
	}'
}

# -------------------------------------------------------------- kmemleak --

GFPCTX_KMEMLEAK=$GFPCTX_DEBUGFS/kmemleak
GFPCTX_KMEMLEAK_STATE=

# gfpctx_kmemleak_clear: forget the objects kmemleak knows so far. Sets
# GFPCTX_KMEMLEAK_STATE to OK, or to why the kmemleak tests skip.
gfpctx_kmemleak_clear() {
	if [ ! -e "$GFPCTX_KMEMLEAK" ]; then
		GFPCTX_KMEMLEAK_STATE="no $GFPCTX_KMEMLEAK (CONFIG_DEBUG_KMEMLEAK off)"
		return
	fi
	GFPCTX_KMEMLEAK_STATE=$(gfpctx_write "$GFPCTX_KMEMLEAK" 'clear')
	[ "$GFPCTX_KMEMLEAK_STATE" = OK ] ||
		GFPCTX_KMEMLEAK_STATE="kmemleak refuses clear: $GFPCTX_KMEMLEAK_STATE"
}

# gfpctx_kmemleak_test DESC: a test, skipped unless gfpctx_kmemleak_clear
# worked. Two scans (an object is reported on its second sighting), then
# it fails when a report names the module or has a frame kallsyms cannot
# name (an unloaded module's code).
gfpctx_kmemleak_test() {
	local report="$GFPCTX_TMP/kmemleak" bad scans=0

	if [ "$GFPCTX_KMEMLEAK_STATE" != OK ]; then
		gfpctx_test_skip "$1" "$GFPCTX_KMEMLEAK_STATE"
		return
	fi
	sleep 6	# kmemleak ignores objects younger than 5 s
	while [ $scans -lt 2 ]; do
		if [ "$(gfpctx_write "$GFPCTX_KMEMLEAK" 'scan')" != OK ]; then
			gfpctx_msg "kmemleak refuses to scan"
			ktap_test_fail "$1"
			return
		fi
		scans=$((scans + 1))
	done
	cat "$GFPCTX_KMEMLEAK" > "$report"
	bad=$(grep -E '\[gfpctx\]|gfpctx_|\] 0x[0-9a-f]+$' "$report")
	if [ -z "$bad" ]; then
		ktap_test_pass "$1"
		return
	fi
	head -n 40 "$report" | while IFS= read -r l; do
		gfpctx_msg "kmemleak: $l"
	done
	ktap_test_fail "$1"
}
