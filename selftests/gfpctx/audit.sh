#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: audit mode (debugfs file `audit`, Documentation/gfpctx.rst).
# With audit on, the module's probes on the slab tracepoints `kmalloc` and
# `kmem_cache_alloc` and the page allocator's `mm_page_alloc` record every
# slab and page allocation of the kernel whose gfp may block but that runs
# in atomic context, by call site, class and gfp, with a call chain:
# - off after load, bad writes refused with EINVAL and nothing changed;
# - no `ok` cell of rules is ever reported;
# - each provoked `warns` cell of an allocator flagged `audited` in allocs
#   (kmalloc, kzalloc, kmem_cache and pages) is reported exactly once, at
#   a gfpctx_ function (the allocator's wrapper, or its caller
#   gfpctx_alloc_one() where the compiler made the wrapper a tail call),
#   count == job count, in the class rules gives, by the probe of its
#   allocator, with a chain from the site to its callers; the loop over
#   these cells is gfpctx_cells audit, one process;
# - an allocator that calls vmalloc above a size (kvmalloc; vmalloc_above
#   in allocs): its kmalloc is reported once, at a gfpctx_ function or at
#   its own (tail calls decide again); its vmalloc is not;
# - an allocator that always calls vmalloc: never at a gfpctx_ site
#   (vmalloc's pages come from the bulk allocator, which fires no
#   tracepoint), but vmalloc's own allocations are reported with a gfpctx_
#   function in their chain;
# - not covered, by design, every other allocator with a warns cell:
#   mempool_alloc()'s first try never blocks: it is never reported at a
#   gfpctx_ site;
# - reset clears, off records nothing, rmmod with audit on is clean.
# Entries at other sites are kernel-wide findings: printed as diagnostics,
# never a failure.
#
# It provokes splats on CONFIG_DEBUG_ATOMIC_SLEEP kernels: run it in a
# boot of its own (the runner's PROVOKE list). Each provoked job is
# declared to the log reader between gfpctx-expect begin/end markers.
# GFPCTX_SHARD=I/N: the I-th of every N ok cells and audited warns cells
# only (gfpctx_lib.sh); the other checks run in every shard.

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

AUDIT=$GFPCTX_DIR/audit
COUNT=3
OK_COUNT=10
BEGIN="gfpctx-expect: begin kind=might_sleep kind=lockdep kind=warning func=gfpctx_"
END="gfpctx-expect: end"
# An entry whose call site is in the module (%pS "sym+off/len [gfpctx]"
# is printed as site=sym+off/len module=gfpctx).
OURS_RE='^site=[^ ]* module=gfpctx '
AUDIT_SKIP=
TAB=$(printf '\t')

# File|data|description: writes refused with EINVAL (gfpctx_write escapes).
bad_writes() {
	cat <<EOF
|\\n|empty line
|bogus\\n|unknown word
|ON\\n|upper case
|onx\\n|on with trailing letters
|on off\\n|two words
|reset on\\n|reset and on
|on\\x00\\n|NUL byte
-n 256|o|256 bytes, over the limit
EOF
}

audit_read() {
	cat "$AUDIT" > "$GFPCTX_TMP/audit.$1"
}

# The summary line of a snapshot.
audit_summary() {
	tail -n 1 "$GFPCTX_TMP/audit.$1"
}

# Entries of a snapshot that are not the module's: kernel-wide findings,
# kept to be printed once at the end.
audit_keep_foreign() {
	sed '$d' "$GFPCTX_TMP/audit.$1" | grep -Ev "$OURS_RE" |
		sed 's/ count=.*//' >> "$GFPCTX_TMP/foreign"
}

audit_set() {
	gfpctx_write "$AUDIT" "$1\\n"
}

# first_warns_cell: of the "context alloc gfp" lines on stdin, the first
# whose context is available, one of class process-atomic with GFP_KERNEL
# if there is (a held lock, as drivers hold; no interrupt provoked).
first_warns_cell() {
	local ctx alloc gfp first=

	while read -r ctx alloc gfp; do
		gfpctx_ctx_available "$ctx" || continue
		[ -z "$first" ] && first="$ctx $alloc $gfp"
		if [ "$gfp" = GFP_KERNEL ] &&
		   [ "$(gfpctx_ctx_field "$ctx" class)" = process-atomic ]; then
			echo "$ctx $alloc $gfp"
			return
		fi
	done
	[ -n "$first" ] && echo "$first"
}

# provoke CONTEXT ALLOC GFP: one warns job of COUNT, declared in the log.
provoke() {
	local r

	echo "$BEGIN" > /dev/kmsg
	r=$(gfpctx_run "context=$1 alloc=$2 gfp=$3 count=$COUNT" \
		"$(gfpctx_job_args "$2") allow=warns")
	echo "$END" > /dev/kmsg
	echo "$r"
}

# seen_during DESC: the entries of the last job not at a gfpctx site (the
# allocator's own internals, or the rest of the kernel meanwhile).
seen_during() {
	sed '$d' "$GFPCTX_TMP/audit.cell" | grep -Ev "$OURS_RE" |
		while IFS= read -r line; do
			gfpctx_msg "  $1: also seen: $line"
		done
}

# fresh: keep the foreign entries seen so far, then reset.
fresh() {
	audit_read pre
	audit_keep_foreign pre
	[ "$(audit_set reset)" = OK ]
}

# provoke_first DESC ALLOC: ALLOC's first available warns cell, provoked
# between a fresh audit table and a read of it (audit.cell). Sets DESC
# (with the cell), CTX, GFP and R, the job's result. Status 1 when it has
# given the test its result itself (a skip, or a refused reset).
provoke_first() {
	local cell

	DESC=$1
	if [ -n "$AUDIT_SKIP" ]; then
		gfpctx_test_skip "$DESC" "$AUDIT_SKIP"
		return 1
	fi
	cell=$(grep " $2 " "$GFPCTX_TMP/warns" | first_warns_cell)
	if [ -z "$cell" ]; then
		gfpctx_test_skip "$DESC" "no available warns cell of $2 here"
		return 1
	fi
	CTX=${cell%% *}
	GFP=${cell##* }
	DESC="$DESC: $CTX $2 $GFP"
	if ! fresh; then
		gfpctx_msg "$DESC: reset refused"
		ktap_test_fail "$DESC"
		return 1
	fi
	R=$(provoke "$CTX" "$2" "$GFP")
	audit_read cell
	audit_set reset > /dev/null
}

# check_other_alloc ALLOC: a warns cell of an allocator the slab
# tracepoints do not see at the module's site; one test.
check_other_alloc() {
	local ours

	provoke_first "audit: $1 never reported at a gfpctx site (not covered)" \
		"$1" || return 0
	if [ "$R" != OK ]; then
		gfpctx_msg "$DESC: job returned $R, want OK"
		ktap_test_fail "$DESC"
		return
	fi
	ours=$(grep -E "$OURS_RE" "$GFPCTX_TMP/audit.cell")
	if [ -n "$ours" ]; then
		gfpctx_msg "$DESC: unexpected: $ours"
		ktap_test_fail "$DESC"
		return
	fi
	# Where the allocator's own slab calls were seen, if anywhere.
	seen_during "$DESC"
	ktap_test_pass "$DESC"
}

# check_chained_alloc ALLOC: a warns cell of an allocator that always calls
# vmalloc: nothing at the module's site (vmalloc's pages come from the bulk
# allocator, which fires no tracepoint), but vmalloc's own allocations
# (its vm_struct and vmap_area, __get_vm_area_node() and alloc_vmap_area()
# in mm/vmalloc.c, with the caller's gfp) are reported with a gfpctx_
# function in their chain. One test.
check_chained_alloc() {
	local ours chained

	provoke_first "audit sees warns $1 at its own allocations, a gfpctx_ caller in their chain" \
		"$1" || return 0
	ours=$(grep -E "$OURS_RE" "$GFPCTX_TMP/audit.cell")
	chained=$(grep -E "^site=[^ ]* module=vmlinux .* chain=([^ ]*<)?gfpctx_" \
		"$GFPCTX_TMP/audit.cell")
	echo "$chained" | while IFS= read -r line; do
		[ -n "$line" ] && gfpctx_msg "  $DESC: seen: $line"
	done
	if [ "$R" = OK ] && [ -z "$ours" ] && [ -n "$chained" ]; then
		ktap_test_pass "$DESC"
	else
		gfpctx_msg "$DESC: job $R; at the module's site: ${ours:-none}; chained: ${chained:-none}"
		ktap_test_fail "$DESC"
	fi
}

# check_split_alloc ALLOC: a warns cell of an allocator that calls kmalloc
# below its vmalloc_above (kvmalloc; a standard job's size= is below): its
# kmalloc is reported once, at a gfpctx_ function or at one of its own.
# One test.
check_split_alloc() {
	local want ours n

	provoke_first "audit reports warns $1 once, at a gfpctx_ or $1 function" \
		"$1" || return 0
	want=$(gfpctx_ctx_field "$CTX" class)
	ours=$(grep -E "$OURS_RE|^site=[^ ]*${1}[^ ]* " "$GFPCTX_TMP/audit.cell")
	n=0
	[ -n "$ours" ] && n=$(echo "$ours" | wc -l)
	gfpctx_msg "reported: $ours"
	if [ "$R" = OK ] && [ "$n" -eq 1 ] &&
	   [ "$(gfpctx_field "$ours" count)" = "$COUNT" ] &&
	   [ "$(gfpctx_field "$ours" class)" = "$want" ]; then
		ktap_test_pass "$DESC"
	else
		gfpctx_msg "$DESC: job $R, $n entries, want 1 of class $want"
		ktap_test_fail "$DESC"
	fi
}

gfpctx_shard_check
gfpctx_header
gfpctx_setup
[ -e "$AUDIT" ] || gfpctx_skip_all "no $AUDIT (module without audit mode)"
gfpctx_log_mark
start_mark=$GFPCTX_MARK
: > "$GFPCTX_TMP/foreign"

gfpctx_cells ok | gfpctx_shard > "$GFPCTX_TMP/ok_cells"
gfpctx_cells warns > "$GFPCTX_TMP/warns"
# The allocators flagged audited in allocs (the slab or page tracepoints
# see them at the module's site); those that call vmalloc above a size
# (kvmalloc: its slab part is seen at its own site); those that call
# vmalloc always (seen at vmalloc's own allocations only); the others
# with a warns cell.
while read -r ctx alloc gfp; do
	case $GFPCTX_AUDITED in
	*" $alloc "*) echo "$ctx $alloc $gfp" ;;
	esac
done < "$GFPCTX_TMP/warns" > "$GFPCTX_TMP/audited_warns"
gfpctx_shard < "$GFPCTX_TMP/audited_warns" > "$GFPCTX_TMP/shard_warns"
SPLIT_ALLOCS=
CHAINED_ALLOCS=
OTHER_ALLOCS=
VMALLOC_ALLOCS=$(gfpctx_allocs_flagged vmalloc)
for a in $GFPCTX_ALLOCS; do
	case $GFPCTX_AUDITED in
	*" $a "*) continue ;;
	esac
	grep -q " $a " "$GFPCTX_TMP/warns" || continue
	if [ "$(gfpctx_alloc_field "$a" vmalloc_above)" -gt 0 ]; then
		SPLIT_ALLOCS="$SPLIT_ALLOCS $a"
	else
		case $VMALLOC_ALLOCS in
		*" $a "*) CHAINED_ALLOCS="$CHAINED_ALLOCS $a" ;;
		*) OTHER_ALLOCS="$OTHER_ALLOCS $a" ;;
		esac
	fi
done
nbad=$(bad_writes | wc -l)
nshard=$(wc -l < "$GFPCTX_TMP/shard_warns")
nsplit=$(echo "$SPLIT_ALLOCS" | wc -w)
nchained=$(echo "$CHAINED_ALLOCS" | wc -w)
nother=$(echo "$OTHER_ALLOCS" | wc -w)
ktap_set_plan $((1 + nbad + 1 + 1 + nshard + nsplit + nchained + nother + 5))

# 1: off after load, empty.
audit_read load
[ "$(cat "$GFPCTX_TMP/audit.load")" = "entries=0 overflow=0 state=off" ]
gfpctx_result $? "audit after load: entries=0 overflow=0 state=off"

# Bad writes: EINVAL, the file reads back the same.
bad_writes > "$GFPCTX_TMP/bad"
while IFS='|' read -r opts data what; do
	desc="audit refuses $what with EINVAL"
	audit_read before
	# shellcheck disable=SC2086
	r=$(gfpctx_write $opts "$AUDIT" "$data")
	audit_read after
	if [ "$r" = EINVAL ] &&
	   cmp -s "$GFPCTX_TMP/audit.before" "$GFPCTX_TMP/audit.after"; then
		ktap_test_pass "$desc"
	else
		gfpctx_msg "$desc: $r, want EINVAL and the file unchanged"
		ktap_test_fail "$desc"
	fi
done < "$GFPCTX_TMP/bad"

# on.
r=$(audit_set on)
audit_read on
case $r in
OK)
	grep -Eq '^entries=[0-9]+ overflow=0 state=on$' "$GFPCTX_TMP/audit.on"
	gfpctx_result $? "audit on: state=on"
	;;
EOPNOTSUPP)
	AUDIT_SKIP="audit not supported on this kernel (no 6.1+ slab tracepoints)"
	gfpctx_test_skip "audit on" "$AUDIT_SKIP"
	;;
*)
	gfpctx_msg "writing on: $r"
	ktap_test_fail "audit on: state=on"
	AUDIT_SKIP="audit did not go on"
	;;
esac

# No ok cell is ever reported.
desc="audit: no entry at a gfpctx site after every ok cell (count=$OK_COUNT)"
if [ -n "$AUDIT_SKIP" ]; then
	gfpctx_test_skip "$desc" "$AUDIT_SKIP"
else
	fresh
	jobfail=0
	# Every job from one process: one write each.
	set --
	while read -r ctx alloc gfp; do
		gfpctx_ctx_available "$ctx" || continue
		gfpctx_job_words "$ctx" "$alloc" "$gfp" "count=$OK_COUNT"
		set -- "$@" "$GFPCTX_WORDS\\n"
	done < "$GFPCTX_TMP/ok_cells"
	nok=$#
	for r in $("$GFPCTX_WRITE" "$GFPCTX_DIR/run" "$@"); do
		if [ "$r" != OK ]; then
			gfpctx_msg "ok cell $1: $r"
			jobfail=1
		fi
		shift
	done
	audit_read ok
	ours=$(grep -E "$OURS_RE" "$GFPCTX_TMP/audit.ok")
	gfpctx_msg "$nok ok cells run; $(audit_summary ok)"
	if [ -z "$ours" ] && [ $jobfail -eq 0 ] && [ $nok -gt 0 ]; then
		ktap_test_pass "$desc"
	else
		echo "$ours" | while IFS= read -r line; do
			[ -n "$line" ] && gfpctx_msg "false positive: $line"
		done
		ktap_test_fail "$desc"
	fi
fi

# Each provoked warns cell of an audited allocator: once, at the module's
# site (gfpctx_cells audit, one process: a line per cell, the same cells
# and order as shard_warns).
if [ -n "$AUDIT_SKIP" ]; then
	while read -r ctx alloc gfp; do
		gfpctx_test_skip "audit reports warns $ctx $alloc $gfp once at a gfpctx_ function" \
			"$AUDIT_SKIP"
	done < "$GFPCTX_TMP/shard_warns"
elif [ "$nshard" -gt 0 ]; then
	"$DIR/gfpctx_cells" -c "$COUNT" ${GFPCTX_SHARD:+-s "$GFPCTX_SHARD"} \
		audit > "$GFPCTX_TMP/audit_cells" ||
		gfpctx_msg "gfpctx_cells audit: exit $?"
	while IFS="$TAB" read -r verdict desc why; do
		case $verdict in
		pass) ktap_test_pass "$desc" ;;
		fail)
			gfpctx_msg "$desc: $why"
			ktap_test_fail "$desc"
			;;
		skip) gfpctx_test_skip "$desc" "$why" ;;
		foreign) echo "$desc" | sed 's/ count=.*//' >> "$GFPCTX_TMP/foreign" ;;
		"#"*) echo "$verdict" ;;
		esac
	done < "$GFPCTX_TMP/audit_cells"
fi

for a in $SPLIT_ALLOCS; do
	check_split_alloc "$a"
done

for a in $CHAINED_ALLOCS; do
	check_chained_alloc "$a"
done

# The allocators the tracepoints do not see at the module's site.
for a in $OTHER_ALLOCS; do
	check_other_alloc "$a"
done

# An audited warns cell: the witness of the last checks (every shard).
WITNESS=$(first_warns_cell < "$GFPCTX_TMP/audited_warns")

# reset clears.
desc="audit: reset clears every entry"
if [ -n "$AUDIT_SKIP" ]; then
	gfpctx_test_skip "$desc" "$AUDIT_SKIP"
else
	audit_read pre
	audit_keep_foreign pre
	r=$(audit_set reset)
	audit_read reset
	[ "$r" = OK ] &&
		grep -Eq '^entries=0 overflow=0 state=on$' "$GFPCTX_TMP/audit.reset" &&
		[ "$(wc -l < "$GFPCTX_TMP/audit.reset")" -le 1 ]
	gfpctx_result $? "$desc"
fi

# off records nothing.
desc="audit: off, then a provoked ${WITNESS:-warns cell} adds nothing"
if [ -n "$AUDIT_SKIP" ]; then
	gfpctx_test_skip "$desc" "$AUDIT_SKIP"
elif [ -z "$WITNESS" ]; then
	gfpctx_test_skip "$desc" "no available warns cell of an audited allocator"
else
	r=$(audit_set off)
	# shellcheck disable=SC2086
	j=$(provoke $WITNESS)
	audit_read off
	if [ "$r" = OK ] && [ "$j" = OK ] &&
	   ! grep -Eq "$OURS_RE" "$GFPCTX_TMP/audit.off" &&
	   grep -Eq '^entries=[0-9]+ overflow=0 state=off$' "$GFPCTX_TMP/audit.off"
	then
		ktap_test_pass "$desc"
	else
		gfpctx_msg "off: $r, job: $j, audit: $(audit_summary off)"
		ktap_test_fail "$desc"
	fi
fi

# rmmod while on, with an entry in the table.
desc="audit: rmmod with audit on"
if [ -n "$AUDIT_SKIP" ]; then
	gfpctx_test_skip "$desc" "$AUDIT_SKIP"
else
	r=$(audit_set on)
	if [ -n "$WITNESS" ]; then
		# shellcheck disable=SC2086
		provoke $WITNESS > /dev/null
	fi
	audit_read rmmod
	audit_keep_foreign rmmod
	if [ "$r" = OK ] && gfpctx_unload; then
		ktap_test_pass "$desc"
	else
		gfpctx_msg "on: $r; module still loaded: $(grep '^gfpctx ' /proc/modules)"
		ktap_test_fail "$desc"
	fi
fi

# A new instance starts off and empty.
desc="audit after reload: entries=0 overflow=0 state=off"
if gfpctx_load; then
	audit_read reload
	[ "$(cat "$GFPCTX_TMP/audit.reload")" = "entries=0 overflow=0 state=off" ]
	gfpctx_result $? "$desc"
else
	gfpctx_msg "loading gfpctx failed"
	ktap_test_fail "$desc"
fi

# Kernel-wide findings: not failures, but worth a look.
sort -u "$GFPCTX_TMP/foreign" | while IFS= read -r line; do
	gfpctx_msg "kernel-wide finding: $line"
done

# Every splat of this run is inside a declared window.
GFPCTX_MARK=$start_mark
bad=$(gfpctx_log_since | awk -v re="$GFPCTX_SPLAT_RE" '
	/gfpctx-expect: begin/ { w = 1; next }
	/gfpctx-expect: end/ { w = 0; next }
	!w && $0 ~ re { print }')
if [ -z "$bad" ]; then
	ktap_test_pass "no splat outside the gfpctx-expect windows"
else
	echo "$bad" | head -n 20 | while IFS= read -r l; do
		gfpctx_msg "outside a window: $l"
	done
	ktap_test_fail "no splat outside the gfpctx-expect windows"
fi

ktap_finished
