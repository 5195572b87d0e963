#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: the module loads, lists its contexts and rules as documented, and
# refuses every fatal cell, and every warns cell without allow=warns, with
# EPERM and without touching its counters.

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

CLASS_RE='(process|process-atomic|softirq|hardirq)'
ALLOC_RE='(kmalloc|kzalloc|kmem_cache|pages|vmalloc|kvmalloc|mempool)'

# Class of a context on a standard (non-RT) kernel, into STD.
std_class() {
	case $1 in
	task | workqueue | kthread | threaded_irq) STD=process ;;
	spinlock | spinlock_irqsave | preempt_disabled | bh_disabled | rcu_read)
		STD=process-atomic ;;
	timer | tasklet | bh_work | hrtimer_soft) STD=softirq ;;
	*) STD=hardirq ;;
	esac
}

# The documented verdict of a cell on a standard kernel, into STD (no
# subshell: it runs once per cell).
std_verdict() {
	local ctx="$1" class="$2" alloc="$3" gfp="$4"

	if [ "$class" = process ]; then
		STD=ok
	elif [ "$alloc" = vmalloc ] ||
	     { [ "$alloc" = kvmalloc ] && [ "$gfp" = GFP_KERNEL ]; }; then
		case $class in
		softirq | hardirq) STD=fatal ;;
		*) if [ "$ctx" = bh_disabled ]; then STD=fatal; else STD=warns; fi ;;
		esac
	elif [ "$gfp" = GFP_KERNEL ]; then
		STD=warns
	else
		STD=ok
	fi
}

# Every cell of VERDICT in an available context, written with EXTRA words,
# is refused with EPERM (one gfpctx_write for them all).
refused_all() {
	local verdict="$1" extra="$2" n bad=0 ctx alloc gfp r

	set --
	while read -r ctx alloc gfp; do
		gfpctx_ctx_available "$ctx" || continue
		gfpctx_job_words "$ctx" "$alloc" "$gfp" count=1 ${extra:+"$extra"}
		set -- "$@" "$GFPCTX_WORDS\\n"
	done <<EOF
$(gfpctx_cells "$verdict")
EOF
	n=$#
	if [ "$n" -eq 0 ]; then
		gfpctx_msg "no $verdict cell in an available context"
		return 1
	fi
	for r in $("$GFPCTX_WRITE" "$GFPCTX_DIR/run" "$@"); do
		if [ "$r" != EPERM ]; then
			bad=$((bad + 1))
			gfpctx_msg "$1: $r, want EPERM"
		fi
		shift
	done
	gfpctx_msg "$verdict cells tried${extra:+ with $extra}: $n, not refused: $bad"
	[ $bad -eq 0 ]
}

gfpctx_header
gfpctx_prepare
ktap_set_plan 16

gfpctx_log_mark
if gfpctx_load; then
	ktap_test_pass "module loads"
else
	ktap_test_fail "module loads"
	ktap_exit_fail_msg "modprobe gfpctx failed"
fi
gfpctx_snapshot_tables
ctxs="$GFPCTX_TMP/contexts"
rules="$GFPCTX_TMP/rules"
rt=$(gfpctx_kernel preempt_rt)
gfpctx_msg "kernel: $(tr '\n' ' ' < "$GFPCTX_DIR/kernel" 2>/dev/null)"

# The load line matches the contexts file.
avail=$(grep -c ' available=yes' "$ctxs")
nctx=$(wc -l < "$ctxs")
want="gfpctx: loaded: contexts=$nctx available=$avail rt=$rt"
if gfpctx_log_since | grep -qF "$want"; then
	ktap_test_pass "load message: contexts=$nctx available=$avail rt=$rt"
else
	gfpctx_msg "no kernel log line: $want"
	ktap_test_fail "load message: contexts=$nctx available=$avail rt=$rt"
fi

# contexts: the 17 names, in table order.
got=$(sed 's/^name=\([^ ]*\) .*/\1/' "$ctxs" | tr '\n' ' ')
exp=$(echo "$GFPCTX_CONTEXTS" | tr '\n' ' ')
if [ "$got" = "$exp " ] || [ "$got" = "$exp" ]; then
	ktap_test_pass "contexts lists the 17 contexts in table order"
else
	gfpctx_msg "got: $got"
	ktap_test_fail "contexts lists the 17 contexts in table order"
fi

# contexts: well-formed lines.
bad=$(grep -Ev "^name=[a-z_]+ class=$CLASS_RE available=(yes|no reason=[^ ]+)\$" "$ctxs")
if [ -z "$bad" ]; then
	ktap_test_pass "contexts lines are well formed"
else
	gfpctx_msg "bad line: $(echo "$bad" | head -n 1)"
	ktap_test_fail "contexts lines are well formed"
fi

# Unavailable contexts say why.
n=$(grep -c ' available=no' "$ctxs")
nr=$(grep -c ' available=no reason=[^ ][^ ]*$' "$ctxs")
gfpctx_msg "unavailable: $(grep ' available=no' "$ctxs" | sed 's/name=//;s/ class=[^ ]*//;s/available=no //' | tr '\n' ' ')"
[ "$n" -eq "$nr" ]
gfpctx_result $? "each unavailable context has a reason ($n unavailable)"

# Classes as documented.
bad=0
for ctx in $GFPCTX_CONTEXTS; do
	class=$(gfpctx_ctx_field "$ctx" class)
	if [ "$rt" = yes ]; then
		# PREEMPT_RT: force-threaded IRQ handlers.
		[ "$ctx" = shared_irq ] && want=process-atomic || want=$class
	else
		std_class "$ctx"
		want=$STD
	fi
	if [ "$class" != "$want" ]; then
		gfpctx_msg "$ctx: class=$class, want $want"
		bad=1
	fi
done
[ $bad -eq 0 ]
gfpctx_result $? "context classes as documented (rt=$rt)"

# rules: one line per cell, in order, with the context's class.
for ctx in $GFPCTX_CONTEXTS; do
	class=$(gfpctx_ctx_field "$ctx" class)
	for alloc in $GFPCTX_ALLOCS; do
		for gfp in $GFPCTX_GFPS; do
			[ "$alloc" = vmalloc ] && [ "$gfp" != GFP_KERNEL ] && continue
			echo "context=$ctx class=$class alloc=$alloc gfp=$gfp"
		done
	done
done > "$GFPCTX_TMP/cells.want"
sed 's/ verdict=.*$//' "$rules" > "$GFPCTX_TMP/cells.got"
diff=$(awk 'NR == FNR { w[NR] = $0; n = NR; next }
	w[FNR] != $0 { print FNR ": got \"" $0 "\" want \"" w[FNR] "\""; exit }
	END { if (FNR != n) print "lines: got " FNR " want " n }' \
	"$GFPCTX_TMP/cells.want" "$GFPCTX_TMP/cells.got")
if [ -z "$diff" ]; then
	ktap_test_pass "rules has one line per cell ($(wc -l < "$rules") cells)"
else
	gfpctx_msg "$diff"
	ktap_test_fail "rules has one line per cell"
fi

# rules: well-formed lines, verdicts ok, warns or fatal only.
bad=$(grep -Ev "^context=[a-z_]+ class=$CLASS_RE alloc=$ALLOC_RE gfp=GFP_(KERNEL|ATOMIC|NOWAIT) verdict=(ok|warns|fatal) why=[a-z-]+\$" "$rules")
if [ -z "$bad" ]; then
	ktap_test_pass "rules lines are well formed, verdict ok, warns or fatal"
else
	gfpctx_msg "bad line: $(echo "$bad" | head -n 1)"
	ktap_test_fail "rules lines are well formed, verdict ok, warns or fatal"
fi
gfpctx_msg "verdicts: ok=$(grep -c ' verdict=ok ' "$rules")" \
	"warns=$(grep -c ' verdict=warns ' "$rules")" \
	"fatal=$(grep -c ' verdict=fatal ' "$rules")"

# rules: the documented table.
bad=0
while read -r c cl a g v _; do
	ctx=${c#context=} class=${cl#class=} alloc=${a#alloc=} gfp=${g#gfp=}
	verdict=${v#verdict=}
	if [ "$rt" = yes ]; then
		case $class in
		hardirq) want=fatal ;;
		*) [ "$ctx" = preempt_disabled ] && want=fatal || want=$verdict ;;
		esac
	else
		std_verdict "$ctx" "$class" "$alloc" "$gfp"
		want=$STD
	fi
	if [ "$verdict" != "$want" ]; then
		[ $bad -lt 10 ] && gfpctx_msg "$ctx $alloc $gfp: $verdict, want $want"
		bad=$((bad + 1))
	fi
done < "$rules"
[ $bad -eq 0 ]
gfpctx_result $? "verdicts as documented (rt=$rt)"

# Refusals: EPERM, and the counters do not move.
gfpctx_reset
r=$(gfpctx_run "context=task alloc=kmalloc gfp=GFP_KERNEL count=3")
[ "$r" = OK ] || gfpctx_msg "a task kmalloc GFP_KERNEL job: $r"
cat "$GFPCTX_DIR/stats" > "$GFPCTX_TMP/stats.before"
cat "$GFPCTX_DIR/inject" > "$GFPCTX_TMP/inject.before"

refused_all fatal ""
gfpctx_result $? "fatal cells are refused with EPERM"
refused_all fatal allow=warns
gfpctx_result $? "fatal cells are refused with EPERM even with allow=warns"
refused_all warns ""
gfpctx_result $? "warns cells without allow=warns are refused with EPERM"

cat "$GFPCTX_DIR/stats" > "$GFPCTX_TMP/stats.after"
cat "$GFPCTX_DIR/inject" > "$GFPCTX_TMP/inject.after"
if [ -s "$GFPCTX_TMP/stats.before" ] &&
   cmp -s "$GFPCTX_TMP/stats.before" "$GFPCTX_TMP/stats.after" &&
   cmp -s "$GFPCTX_TMP/inject.before" "$GFPCTX_TMP/inject.after"; then
	ktap_test_pass "refused jobs leave stats and inject unchanged"
else
	gfpctx_msg "stats before: $(head -n 2 "$GFPCTX_TMP/stats.before")"
	gfpctx_msg "stats after: $(head -n 2 "$GFPCTX_TMP/stats.after")"
	ktap_test_fail "refused jobs leave stats and inject unchanged"
fi

# An ok cell of an unavailable context: EOPNOTSUPP.
ctx=$(sed -n 's/^name=\([^ ]*\) .* available=no.*/\1/p' "$ctxs" | head -n 1)
if [ -z "$ctx" ]; then
	gfpctx_test_skip "unavailable context refused with EOPNOTSUPP" "all available"
else
	cell=$(gfpctx_cells ok | grep "^$ctx " | head -n 1)
	if [ -z "$cell" ]; then
		gfpctx_test_skip "unavailable context refused with EOPNOTSUPP" "$ctx has no ok cell"
	else
		# shellcheck disable=SC2086
		set -- $cell
		r=$(gfpctx_run "context=$1 alloc=$2 gfp=$3 $(gfpctx_job_args "$2")")
		[ "$r" = EOPNOTSUPP ] || gfpctx_msg "$cell: $r"
		[ "$r" = EOPNOTSUPP ]
		gfpctx_result $? "unavailable context $ctx refused with EOPNOTSUPP"
	fi
fi

gfpctx_unload && [ ! -e "$GFPCTX_DIR" ]
gfpctx_result $? "module unloads, its debugfs directory goes"

gfpctx_test_no_splat "no splat in the kernel log"

ktap_finished
