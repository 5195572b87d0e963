#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: bad input to run, stats and inject is refused with the documented
# errno and changes nothing: stats and inject read back byte-identical.

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

J="context=task alloc=kmalloc gfp=GFP_KERNEL"

# pad LEN: a valid job of exactly LEN bytes (count=000...01 is count=1).
pad() {
	local s="$J count=" n

	n=$(($1 - ${#s} - 1))
	printf '%s%0*d1' "$s" "$n" 0
}

# file|expected result words|gfpctx_write options|data|description
# (data escapes: \xHH, \n; see gfpctx_write.c)
write_cases() {
	cat <<EOF
run|EINVAL||$J bogus=1|unknown key
run|EINVAL||alloc=kmalloc gfp=GFP_KERNEL|missing context
run|EINVAL||context=task gfp=GFP_KERNEL|missing alloc
run|EINVAL||context=task alloc=kmalloc|missing gfp
run|EINVAL||$J count=abc|count not a number
run|EINVAL||$J count=12abc|count with trailing letters
run|EINVAL||$J count=|count without value
run|EINVAL||$J count=-1|negative count
run|EINVAL||$J size=-64|negative size
run|EINVAL||$J count=18446744073709551616|count 2 to the 64 overflows
run|EINVAL||$J count=4294967297|count 2 to the 32 plus 1
run|EINVAL||$J size=18446744073709551616|size 2 to the 64 overflows
run|EINVAL||$J count=0|count=0
run|EINVAL||$J count=100001|count above 100000
run|EINVAL||$J size=0|size=0
run|EINVAL||$J size=4194305|kmalloc size above 4 MiB
run|EINVAL||context=task alloc=kzalloc gfp=GFP_KERNEL size=4194305|kzalloc size above 4 MiB
run|EINVAL||context=task alloc=kmem_cache gfp=GFP_KERNEL size=65537|kmem_cache size above 64 KiB
run|EINVAL||context=task alloc=vmalloc gfp=GFP_KERNEL size=16777217|vmalloc size above 16 MiB
run|EINVAL||context=task alloc=kvmalloc gfp=GFP_KERNEL size=16777217|kvmalloc size above 16 MiB
run|EINVAL||context=task alloc=mempool gfp=GFP_KERNEL size=4194305|mempool size above 4 MiB
run|EINVAL||context=task alloc=pages gfp=GFP_KERNEL order=11|pages order 11
run|EINVAL||context=task alloc=kmalloc gfp=GFP_KERNEL size=2049 count=16385 free=process|kmalloc held as its size class, above 64 MiB
run|EINVAL||context=task alloc=vmalloc gfp=GFP_KERNEL size=1 count=8193 free=process|vmalloc held as a page and a guard page each, above 64 MiB
run|EINVAL||context=task alloc=mempool gfp=GFP_ATOMIC size=4194304 count=13 free=process|mempool held with its reserve, above 64 MiB
run|EINVAL||context=task alloc=vmalloc gfp=GFP_KERNEL size=16777216 count=4 free=process|vmalloc of 16 MiB held 4 times, above 64 MiB
run|EINVAL||context=task alloc=pages gfp=GFP_KERNEL size=64|pages with size
run|EINVAL||context=task alloc=pages gfp=GFP_KERNEL\x7c__GFP_NOFAIL order=2|pages __GFP_NOFAIL above order 1
run|OK||context=task alloc=pages gfp=GFP_KERNEL\x7c__GFP_NOFAIL order=1 count=1|pages __GFP_NOFAIL of order 1
run|EINVAL||context=task alloc=kmalloc gfp=GFP_KERNEL\x7c__GFP_NOFAIL size=8193|kmalloc __GFP_NOFAIL above two pages
run|OK||context=task alloc=kvmalloc gfp=GFP_KERNEL\x7c__GFP_NOFAIL size=16384 count=1|kvmalloc __GFP_NOFAIL above two pages, from vmalloc
run|EINVAL||$J order=0|kmalloc with order
run|EINVAL||$J timeout_ms=0|timeout_ms=0
run|EINVAL||$J timeout_ms=60001|timeout_ms above 60000
run|EINVAL||$J free=later|unknown free value
run|EINVAL||$J allow=fatal|unknown allow value
run|EINVAL||$J timing=never|unknown timing value
run|EINVAL||$J samples=no|unknown samples value
run|EINVAL||$J timing=batch samples=yes|samples without per-call timing
run|EINVAL||$J allow=warns ratelimit=never|unknown ratelimit value
run|EINVAL||$J ratelimit=ignore|ratelimit=ignore without allow=warns
run|OK||$J allow=warns ratelimit=ignore count=1|ratelimit=ignore on an ok cell
run|EINVAL||$J count=1 count=2|duplicate count
run|EINVAL||context=task context=task alloc=kmalloc gfp=GFP_KERNEL|duplicate context
run|EINVAL||context=task alloc=kmalloc gfp=GFP_FOO|unknown gfp
run|EINVAL||context=task alloc=kmalloc gfp=gfp_kernel|gfp in lower case
run|EINVAL||context=nowhere alloc=kmalloc gfp=GFP_KERNEL|unknown context
run|EINVAL||context=TASK alloc=kmalloc gfp=GFP_KERNEL|context in upper case
run|EINVAL||context=task alloc=malloc gfp=GFP_KERNEL|unknown allocator
run|EINVAL||context=task alloc=vmalloc gfp=GFP_ATOMIC|no such cell vmalloc GFP_ATOMIC
run|EINVAL||$J count|word without value
run|EINVAL||$J =5|word without key
run|EINVAL|||empty write
run|EINVAL||\n|empty line
run|EINVAL|||overlong 300 bytes
run|EINVAL||$(pad 256)|256 bytes
run|OK||$(pad 255)|255 bytes is a valid job
run|EINVAL||context=task\x00 alloc=kmalloc gfp=GFP_KERNEL|NUL byte after a word
run|EINVAL||context=ta\x01sk alloc=kmalloc gfp=GFP_KERNEL|control byte in a value
run|EINVAL||\xff\xfe\x00\x01\x80|binary bytes
run|EINVAL EINVAL|-s 19|$J|one job split over two writes
run|OK EINVAL|-s ${#J}|$J$J|a second job on the same open file
run|OK||$J count=1|valid job without newline
stats|EINVAL||resetx|reset with trailing letters
stats|EINVAL||RESET|reset in upper case
stats|EINVAL||reset reset|reset twice
stats|EINVAL||clear|unknown word
stats|EINVAL|||empty write
stats|EINVAL||\x00reset|NUL before reset
stats|EINVAL||\xff\xfe|binary bytes
stats|EINVAL|-n 300|reset|overlong 300 bytes
inject|EINVAL||fail_next=-1|negative
inject|EINVAL||fail_next=1000001|above 1000000
inject|EINVAL||fail_every=1000001|fail_every above 1000000
inject|EINVAL||fail_every=18446744073709551616|2 to the 64 overflows
inject|EINVAL||fail_next=4294967297|2 to the 32 plus 1
inject|EINVAL||fail_next=abc|not a number
inject|EINVAL||fail_next=|no value
inject|EINVAL||fail_next|word without value
inject|EINVAL||fail_always=1|unknown key
inject|EINVAL||fail_next=1 bogus=2|valid word then an unknown one
inject|EINVAL||offx|off with trailing letters
inject|EINVAL|||empty write
inject|EINVAL||\xff\xfe|binary bytes
inject|EINVAL|-n 300|fail_next=1 |overlong 300 bytes
EOF
}

# Jobs the module refuses for their shape, and the reason `last` shows:
# errno|why|data|description. SPIN is a warns cell on every kernel.
SPIN="context=spinlock alloc=kmalloc gfp=GFP_KERNEL allow=warns"
shape_cases() {
	cat <<EOF
EPERM|provoke-too-many|$SPIN count=5|provoked warns job of 5 attempts
EPERM|provoke-too-large|$SPIN size=4097|provoked warns job above a page
EPERM|provoke-too-large|context=spinlock alloc=pages gfp=GFP_KERNEL allow=warns order=1|provoked warns job of order 1
EPERM|provoke-free-process|$SPIN free=process|provoked warns job that holds its objects
EINVAL|mempool-would-wait|context=task alloc=mempool gfp=GFP_KERNEL count=5 free=process|blocking mempool job holding more than its reserve
EOF
}

gfpctx_header
gfpctx_setup
gfpctx_log_mark
write_cases > "$GFPCTX_TMP/cases"
shape_cases > "$GFPCTX_TMP/shapes"
ktap_set_plan $(($(wc -l < "$GFPCTX_TMP/cases") + \
	$(wc -l < "$GFPCTX_TMP/shapes") + 7))

# A state worth keeping: stats with a line, inject not at its defaults.
gfpctx_reset
r1=$(gfpctx_run "$J count=5")
r2=$(gfpctx_write "$GFPCTX_DIR/inject" 'fail_every=999999\n')
# debugfs files have size 0: read the file to see it is not empty.
if [ "$r1 $r2" = "OK OK" ] && [ -n "$(cat "$GFPCTX_DIR/stats")" ]; then
	ktap_test_pass "a job and an inject setting to compare against"
else
	gfpctx_msg "job: $r1, inject fail_every=999999: $r2"
	ktap_test_fail "a job and an inject setting to compare against"
fi
# gfpctx_write reads stats and inject before and after each write and
# says "+changed" when they differ: a refused write must change nothing,
# a valid job changes stats by design (a first one on the open file too).
while IFS='|' read -r file want opts data desc; do
	# The 300-byte job is made here: it does not fit the table.
	[ "$file $desc" = "run overlong 300 bytes" ] && data=$(pad 300)
	# shellcheck disable=SC2086
	got=$(gfpctx_write -w "$GFPCTX_DIR/stats" -w "$GFPCTX_DIR/inject" \
		$opts "$GFPCTX_DIR/$file" "$data")
	case $want in
	OK | "OK "*) [ "$got" = "$want+changed" ] && got=$want ;;
	esac
	if [ "$got" = "$want" ]; then
		ktap_test_pass "$file: $desc"
	else
		gfpctx_msg "$file $desc: got $got, want $want (+changed: stats or inject changed)"
		ktap_test_fail "$file: $desc"
	fi
done < "$GFPCTX_TMP/cases"

# A job refused for its shape changes no counter, and `last` says why.
while IFS='|' read -r want why data desc; do
	got=$(gfpctx_write -w "$GFPCTX_DIR/stats" "$GFPCTX_DIR/run" "$data")
	gfpctx_get "$(cat "$GFPCTX_DIR/last")" why
	if [ "$got $GFPCTX_VAL" = "$want $why" ]; then
		ktap_test_pass "run: $desc: $want, why=$why"
	else
		gfpctx_msg "$desc: got $got why=$GFPCTX_VAL, want $want why=$why"
		ktap_test_fail "run: $desc: $want, why=$why"
	fi
done < "$GFPCTX_TMP/shapes"
# A job that ran says why=none: here a blocking mempool job within its
# reserve.
r=$(gfpctx_run "context=task alloc=mempool gfp=GFP_KERNEL count=4 free=process")
gfpctx_get "$(cat "$GFPCTX_DIR/last")" why
[ "$r why=$GFPCTX_VAL" = "OK why=none" ]
gfpctx_result $? "run: blocking mempool job within its reserve runs, why=none"

# The valid forms still work after all that.
r=$(gfpctx_write "$GFPCTX_DIR/inject" 'off\n')
[ "$r" = OK ] && [ "$(cat "$GFPCTX_DIR/inject")" = \
	"fail_next=0 fail_every=0 injected=0" ]
gfpctx_result $? "inject: off restores fail_next=0 fail_every=0"
r=$(gfpctx_write "$GFPCTX_DIR/stats" 'reset\n')
[ "$r" = OK ] && [ -z "$(cat "$GFPCTX_DIR/stats")" ]
gfpctx_result $? "stats: reset empties stats"

# The runner's share of the provoked cells, GFPCTX_SHARD=I/N: the
# helper refuses a malformed one before it runs a job, and the shell
# filter keeps the I-th of every N lines.
bad=
for v in 0/3 4/3 1/0 x 1/2x 1/ /3; do
	"$DIR/gfpctx_cells" -s "$v" provoke > /dev/null 2>&1
	[ $? -eq "$KSFT_FAIL" ] || bad="$bad $v"
done
[ -z "$bad" ] || gfpctx_msg "gfpctx_cells -s accepted:$bad"
[ -z "$bad" ]
gfpctx_result $? "gfpctx_cells refuses a malformed -s I/N with its usage"
got=$(seq 1 7 | GFPCTX_SHARD=2/3 gfpctx_shard | tr '\n' ' ')
[ "$got" = "2 5 " ] || gfpctx_msg "GFPCTX_SHARD=2/3 of 1..7: $got"
[ "$got" = "2 5 " ]
gfpctx_result $? "gfpctx_shard keeps the 2nd of every 3 lines"

gfpctx_test_no_splat "no splat in the kernel log"

ktap_finished
