#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: the module loads, lists its contexts and rules as documented, and
# refuses every fatal cell, and every warns cell without allow=warns, at
# its largest size, with EPERM and without touching its counters; a job
# is judged at its own size.

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

CLASS_RE='(process|process-atomic|softirq|hardirq|nmi)'
CTX_FLAG='(atomic|interrupt|raw|hardirq|softirq|raw_wait|nmi)'
CTX_FLAGS_RE="(none|$CTX_FLAG(,$CTX_FLAG)*)"

# has WORDS FLAG: FLAG is one of the comma-separated WORDS.
has() {
	case ",$1," in
	*",$2,"*) return 0 ;;
	esac
	return 1
}

# The verdict of a cell by Documentation/gfpctx.rst's rules, from the
# properties the module lists (contexts' flags, allocs' flags, gfps'
# blocking), into STD; first match wins. No subshell: once per cell.
# - a nolock allocator (trylocks only): ok anywhere, NULL allowed;
# - nmi: no other allocator, its locks could be held by what the NMI
#   interrupted;
# - raw (PREEMPT_RT, a truly atomic context): no allocation at all;
# - raw_wait where lockdep checks PREEMPT_RT's lock nesting
#   (raw_lock_nesting=yes in the kernel file): fatal, lockdep's report;
# - an allocator that may use vmalloc: where vmalloc takes non-blocking
#   gfp (vmalloc_nonblocking=yes), in hardirq (BUG_ON) or softirq (its
#   locks): fatal whatever the gfp; elsewhere, in interrupt with a
#   blocking gfp: fatal (BUG_ON(in_interrupt()) in __get_vm_area_node());
# - __GFP_NOFAIL without direct reclaim (nofail=yes blocking=no in the
#   gfps file): fatal anywhere, the kernel does not support it;
# - atomic and a blocking gfp: warns (might_alloc());
# - else ok.
doc_verdict() {
	local cflags="$1" aflags="$2" blocking="$3" nofail="$4"

	if has "$aflags" nolock; then
		STD=ok
	elif has "$cflags" nmi || has "$cflags" raw ||
	   { [ "$nesting" = yes ] && has "$cflags" raw_wait; }; then
		STD=fatal
	elif has "$aflags" vmalloc && [ "$vnb" = yes ] &&
	     { has "$cflags" hardirq || has "$cflags" softirq; }; then
		STD=fatal
	elif has "$aflags" vmalloc && [ "$vnb" != yes ] &&
	     has "$cflags" interrupt && [ "$blocking" = yes ]; then
		STD=fatal
	elif [ "$nofail" = yes ] && [ "$blocking" != yes ]; then
		STD=fatal
	elif has "$cflags" atomic && [ "$blocking" = yes ]; then
		STD=warns
	else
		STD=ok
	fi
}

# A context's class against its flags, into STD (empty when they agree):
# process contexts may sleep, softirq and hardirq are interrupt context,
# process-atomic ones are atomic (on PREEMPT_RT the truly atomic are
# raw), only PREEMPT_RT has raw contexts and only it threads softirqs;
# hardirq and nmi contexts alone are in_hardirq(), and only the nmi
# class is in_nmi().
class_disagrees() {
	local class="$1" flags="$2" rt="$3"

	STD=
	if has "$flags" raw && [ "$rt" != yes ]; then
		STD="raw on a kernel without PREEMPT_RT"
		return
	fi
	if has "$flags" softirq && [ "$rt" = yes ]; then
		STD="an unthreaded softirq on PREEMPT_RT"
		return
	fi
	# A raw wait context: hard IRQ or a raw_spinlock_t held, never sleeping.
	if has "$flags" raw_wait && ! has "$flags" atomic && ! has "$flags" raw; then
		STD="a raw wait context that may sleep"
		return
	fi
	if has "$flags" nmi; then
		{ [ "$class" = nmi ] && has "$flags" hardirq; } ||
			STD="$class but $flags"
		return
	fi
	case $class in
	nmi) STD="nmi but $flags" ;;
	process) [ "$flags" = none ] || STD="process but $flags" ;;
	softirq) has "$flags" atomic && has "$flags" interrupt &&
		! has "$flags" hardirq || STD="softirq but $flags" ;;
	hardirq) { { has "$flags" atomic && has "$flags" interrupt; } ||
		{ [ "$rt" = yes ] && has "$flags" raw; }; } &&
		has "$flags" hardirq && ! has "$flags" softirq ||
		STD="hardirq but $flags" ;;
	process-atomic) { has "$flags" atomic || has "$flags" raw; } &&
		! has "$flags" hardirq && ! has "$flags" softirq ||
		STD="process-atomic but $flags" ;;
	esac
}

# Every cell of VERDICT in an available context, written with EXTRA words
# at its largest size (a verdict is the worst size's), is refused with
# EPERM (one gfpctx_write for them all).
refused_all() {
	local verdict="$1" extra="$2" n bad=0 ctx alloc gfp largest r

	set --
	while read -r ctx alloc gfp largest; do
		# An empty list reads as one empty line.
		[ -n "$ctx" ] || continue
		gfpctx_ctx_available "$ctx" || continue
		gfpctx_job_words "$ctx" "$alloc" "$gfp" "at=$largest" count=1 \
			${extra:+"$extra"}
		set -- "$@" "$GFPCTX_WORDS\\n"
	done <<EOF
$(gfpctx_cells "$verdict" largest)
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
ktap_set_plan 17

gfpctx_log_mark
if gfpctx_load; then
	ktap_test_pass "module loads"
else
	ktap_test_fail "module loads"
	ktap_exit_fail_msg "loading gfpctx failed"
fi
gfpctx_snapshot_tables
ctxs="$GFPCTX_TMP/contexts"
rules="$GFPCTX_TMP/rules"
rt=$(gfpctx_kernel preempt_rt)
nesting=$(gfpctx_kernel raw_lock_nesting)
vnb=$(gfpctx_kernel vmalloc_nonblocking)
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

# contexts and rules: the same contexts, in the same order, each once.
got=$(sed -n 's/^context=\([^ ]*\) .*/\1/p' "$rules" | uniq | tr '\n' ' ')
dups=$(sed 's/^name=\([^ ]*\) .*/\1/' "$ctxs" | sort | uniq -d)
if [ "$got" = "$GFPCTX_CONTEXTS" ] && [ -z "$dups" ] && [ "$nctx" -gt 0 ]; then
	ktap_test_pass "contexts and rules list the same $nctx contexts, each once"
else
	gfpctx_msg "contexts: $GFPCTX_CONTEXTS"
	gfpctx_msg "rules: $got"
	gfpctx_msg "twice: $dups"
	ktap_test_fail "contexts and rules list the same contexts, each once"
fi

# contexts: well-formed lines.
bad=$(grep -Ev "^name=[a-z_]+ class=$CLASS_RE flags=$CTX_FLAGS_RE available=(yes|no reason=[^ ]+)\$" "$ctxs")
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

# Classes agree with the flags the rules read (each context's class is
# proved at run time: ctx_mismatch in ok_cells.sh).
bad=0
while read -r n c f _; do
	class_disagrees "${c#class=}" "${f#flags=}" "$rt"
	if [ -n "$STD" ]; then
		gfpctx_msg "${n#name=}: $STD"
		bad=1
	fi
done < "$ctxs"
[ $bad -eq 0 ]
gfpctx_result $? "context classes agree with their flags (rt=$rt)"

# rules: one line per cell, in order, with the context's class; an
# allocator flagged kernel_only has GFP_KERNEL cells only; one flagged
# nolock has the gfps without reclaim bits only, and it alone.
konly=$(gfpctx_allocs_flagged kernel_only)
nolock=$GFPCTX_NOLOCK
noreclaim=$(gfpctx_names_with "$GFPCTX_TMP/gfps" reclaim no)
for ctx in $GFPCTX_CONTEXTS; do
	class=$(gfpctx_ctx_field "$ctx" class)
	for alloc in $GFPCTX_ALLOCS; do
		for gfp in $GFPCTX_GFPS; do
			case $konly in
			*" $alloc "*) [ "$gfp" != GFP_KERNEL ] && continue ;;
			esac
			case "$nolock|$noreclaim" in
			*" $alloc "*"|"*" $gfp "*) ;;
			*" $alloc "*"|"*|*"|"*" $gfp "*) continue ;;
			esac
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
bad=$(grep -Ev "^context=[a-z_]+ class=$CLASS_RE alloc=[a-z_]+ gfp=(__)?GFP_[A-Z_]+(\\|__GFP_[A-Z_]+)? verdict=(ok|warns|fatal) why=[a-z-]+ largest=[0-9]+\$" "$rules")
if [ -z "$bad" ]; then
	ktap_test_pass "rules lines are well formed, verdict ok, warns or fatal"
else
	gfpctx_msg "bad line: $(echo "$bad" | head -n 1)"
	ktap_test_fail "rules lines are well formed, verdict ok, warns or fatal"
fi
gfpctx_msg "verdicts: ok=$(grep -c ' verdict=ok ' "$rules")" \
	"warns=$(grep -c ' verdict=warns ' "$rules")" \
	"fatal=$(grep -c ' verdict=fatal ' "$rules")"

# rules: the documented rules, applied to the listed properties.
# One awk joins each rules line with the properties (no process per cell):
# "context alloc gfp verdict context-flags alloc-flags blocking nofail".
bad=0
awk "$GFPCTX_AWK_WORDS"'{ words() }
	FILENAME ~ /contexts$/ || FILENAME ~ /allocs$/ { f[w["name"]] = w["flags"]; next }
	FILENAME ~ /gfps$/ { b[w["name"]] = w["blocking"]; nf[w["name"]] = w["nofail"]; next }
	{ print w["context"], w["alloc"], w["gfp"], w["verdict"],
		f[w["context"]], f[w["alloc"]], b[w["gfp"]], nf[w["gfp"]] }' \
	"$ctxs" "$GFPCTX_TMP/allocs" "$GFPCTX_TMP/gfps" "$rules" \
	> "$GFPCTX_TMP/rules.props"
while read -r ctx alloc gfp verdict cflags aflags blocking nofail; do
	doc_verdict "$cflags" "$aflags" "$blocking" "$nofail"
	want=$STD
	if [ "$verdict" != "$want" ]; then
		[ $bad -lt 10 ] && gfpctx_msg "$ctx $alloc $gfp: $verdict, want $want"
		bad=$((bad + 1))
	fi
done < "$GFPCTX_TMP/rules.props"
[ $bad -eq 0 ] && [ -s "$GFPCTX_TMP/rules.props" ]
gfpctx_result $? "verdicts as documented (rt=$rt raw_lock_nesting=$nesting vmalloc_nonblocking=$vnb)"

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

# A job is judged at its size: kvmalloc calls vmalloc above its
# vmalloc_above (a page) only, so a cell with a non-blocking gfp, fatal
# for vmalloc's sake, runs up to that size and is refused above it.
desc="a cell fatal for vmalloc's sake runs up to vmalloc_above, not above"
cell=$(awk "$GFPCTX_AWK_WORDS"'{ words() }
	FILENAME ~ /allocs$/ { above[w["name"]] = w["vmalloc_above"]; next }
	FILENAME ~ /contexts$/ { ok[w["name"]] = w["available"] == "yes"; next }
	FILENAME ~ /gfps$/ { nb[w["name"]] = w["blocking"] == "no"; next }
	w["why"] ~ /^vmalloc-(in-hardirq-bugs|locks-not-softirq-safe)$/ {
		c = w["context"]; a = w["alloc"]; g = w["gfp"]
		if (ok[c] && nb[g] && above[a] > 0) { print c, a, g, above[a]; exit } }' \
	"$GFPCTX_TMP/allocs" "$ctxs" "$GFPCTX_TMP/gfps" "$rules")
if [ -z "$cell" ]; then
	gfpctx_test_skip "$desc" "no such cell here (vmalloc_nonblocking=$vnb)"
else
	# shellcheck disable=SC2086
	set -- $cell
	r1=$(gfpctx_run "context=$1 alloc=$2 gfp=$3 count=1 size=$4")
	r2=$(gfpctx_run "context=$1 alloc=$2 gfp=$3 count=1 size=$(($4 + 1))")
	gfpctx_msg "$1 $2 $3: size=$4 $r1, size=$(($4 + 1)) $r2"
	[ "$r1" = OK ] && [ "$r2" = EPERM ]
	gfpctx_result $? "$desc ($1 $2 $3)"
fi

# An ok cell of an unavailable context: EOPNOTSUPP.
# shellcheck disable=SC2086 # the names, one word each
ctx=$(echo $GFPCTX_UNAVAILABLE | cut -d ' ' -f 1)
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
