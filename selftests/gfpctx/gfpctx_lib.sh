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
GFPCTX_TMP=
GFPCTX_LOADED_BY_US=0
GFPCTX_MARK=
GFPCTX_MARK_N=0
GFPCTX_WHY=

# The tables of Documentation/gfpctx.rst, in table order.
# shellcheck disable=SC2034
GFPCTX_CONTEXTS="task workqueue kthread threaded_irq spinlock spinlock_irqsave
preempt_disabled bh_disabled rcu_read timer tasklet bh_work hrtimer_soft
hrtimer_hard irq_work shared_irq ipi"
# shellcheck disable=SC2034
GFPCTX_ALLOCS="kmalloc kzalloc kmem_cache pages vmalloc kvmalloc mempool"
# shellcheck disable=SC2034
GFPCTX_GFPS="GFP_KERNEL GFP_ATOMIC GFP_NOWAIT"

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

gfpctx_skip_all() {
	ktap_skip_all "$*"
	exit $ksft_skip
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

gfpctx_have_module() {
	gfpctx_loaded && return 0
	# kmod's modprobe knows -n; busybox's does not: look at modules.dep.
	modprobe -q -n gfpctx 2>/dev/null && return 0
	grep -Eq '(^|/)gfpctx\.ko' "/lib/modules/$(uname -r)/modules.dep" \
		2>/dev/null
}

# gfpctx_load: a fresh instance of the module.
gfpctx_load() {
	local i=0

	if gfpctx_loaded; then
		gfpctx_unload || return 1
	fi
	modprobe gfpctx || return 1
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
	gfpctx_have_module || gfpctx_skip_all "gfpctx module not found"
	GFPCTX_TMP=$(mktemp -d) || gfpctx_skip_all "mktemp -d failed"
	trap gfpctx_cleanup EXIT
	if sleep 0.1 2>/dev/null; then
		GFPCTX_NAP=0.1
	else
		GFPCTX_NAP=1
	fi
}

# gfpctx_setup: gfpctx_prepare, then a fresh instance of the module.
gfpctx_setup() {
	gfpctx_prepare
	gfpctx_load || ktap_exit_fail_msg "modprobe gfpctx failed"
	gfpctx_snapshot_tables
}

# Copies of contexts and rules, read once per load.
gfpctx_snapshot_tables() {
	cat "$GFPCTX_DIR/contexts" > "$GFPCTX_TMP/contexts"
	cat "$GFPCTX_DIR/rules" > "$GFPCTX_TMP/rules"
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

# gfpctx_field LINE KEY: the value of KEY= in LINE (status 1 if absent).
gfpctx_field() {
	local w

	for w in $1; do
		case $w in
		"$2="*)
			echo "${w#*=}"
			return 0
			;;
		esac
	done
	return 1
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
# and the invariants hold (attempts == ok + failed, injected <= failed).
# On a mismatch, returns 1 with the reason in GFPCTX_WHY.
gfpctx_expect_stats() {
	local ctx="$1" alloc="$2" gfp="$3" line kv key want got a o f i

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
		got=$(gfpctx_field "$line" "$key") || got="(missing)"
		[ "$got" = "$want" ] ||
			GFPCTX_WHY="$GFPCTX_WHY $key=$got (want $want)"
	done
	a=$(gfpctx_field "$line" attempts)
	o=$(gfpctx_field "$line" ok)
	f=$(gfpctx_field "$line" failed)
	i=$(gfpctx_field "$line" injected)
	if [ -n "$a" ] && [ -n "$o" ] && [ -n "$f" ] && [ -n "$i" ]; then
		[ "$a" -eq $((o + f)) ] ||
			GFPCTX_WHY="$GFPCTX_WHY attempts!=ok+failed"
		[ "$i" -le "$f" ] || GFPCTX_WHY="$GFPCTX_WHY injected>failed"
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

gfpctx_ctx_available() {
	[ "$(gfpctx_ctx_field "$1" available)" = yes ]
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

# gfpctx_cells VERDICT: "context alloc gfp" per line, rules order.
gfpctx_cells() {
	sed -n "s/^context=\([a-z_]*\) class=[a-z-]* alloc=\([a-z_]*\) gfp=\([A-Z_]*\) verdict=$1 why=[a-z-]*$/\1 \2 \3/p" \
		"$GFPCTX_TMP/rules"
}

# gfpctx_hardirq_ctx: the first available hard IRQ context whose kmalloc
# GFP_ATOMIC cell is ok (status 1 and nothing when there is none, as on
# PREEMPT_RT).
gfpctx_hardirq_ctx() {
	local c

	for c in hrtimer_hard irq_work shared_irq ipi; do
		if gfpctx_ctx_available "$c" &&
		   [ "$(gfpctx_verdict "$c" kmalloc GFP_ATOMIC)" = ok ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# gfpctx_job_args ALLOC: the size or order words of a standard job.
gfpctx_job_args() {
	if [ "$1" = pages ]; then
		echo "order=0"
	else
		echo "size=64"
	fi
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

# gfpctx_log_mark: remember "now" in the kernel log.
gfpctx_log_mark() {
	GFPCTX_MARK_N=$((GFPCTX_MARK_N + 1))
	GFPCTX_MARK="gfpctx-selftest: ${0##*/} pid=$$ mark=$GFPCTX_MARK_N"
	echo "$GFPCTX_MARK" > /dev/kmsg
}

# gfpctx_log_since: the kernel log lines after the last mark (all of the
# log, with a note on stderr, when the mark has left the ring buffer).
gfpctx_log_since() {
	local log

	log=$(dmesg)
	if echo "$log" | grep -qF "$GFPCTX_MARK"; then
		echo "$log" | awk -v m="$GFPCTX_MARK" '
			f { print }
			length($0) >= length(m) &&
			    substr($0, length($0) - length(m) + 1) == m { f = 1 }'
	else
		echo "# mark not in the kernel log any more: whole log" >&2
		echo "$log"
	fi
}

# gfpctx_splats: the splat lines of the kernel log since the last mark.
gfpctx_splats() {
	gfpctx_log_since | grep -E "$GFPCTX_SPLAT_RE"
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
		ktap_test_skip "$1: $GFPCTX_KMEMLEAK_STATE"
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
