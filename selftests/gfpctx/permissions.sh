#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3043
#
# gfpctx: every file under /sys/kernel/debug/gfpctx (fail_alloc/ and audit
# included) is root's, with no group or other permission, and writable
# only where the interface says so; a user other than root can open none
# of them, for reading or writing; and the module never shows a raw kernel
# address, in its files or in the kernel log.
#
# GFPCTX_USER  the unprivileged user (default nobody; it must be in
#              /etc/passwd, and su must exist, else those tests skip)

DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=gfpctx_lib.sh
. "$DIR/gfpctx_lib.sh"

NOBODY=${GFPCTX_USER:-nobody}

# expected_modes FILE: the modes FILE (relative to the gfpctx directory)
# may have. A file not listed here must be read-only for root.
expected_modes() {
	case $1 in
	contexts | rules | kernel | irq) echo 400 ;;
	run) echo 200 ;;
	stats | inject | audit) echo 600 ;;
	fail_alloc/*) echo 600 400 ;;
	*) echo 400 ;;
	esac
}

# mode_test FILE: owner root:root, a mode of expected_modes.
mode_test() {
	local rel="${1#"$GFPCTX_DIR"/}" st uid gid mode want m ok=0

	st=$(stat -c '%u %g %a' "$1")
	read -r uid gid mode <<EOF
$st
EOF
	want=$(expected_modes "$rel")
	for m in $want; do
		[ "$mode" = "$m" ] && ok=1
	done
	if [ "$uid $gid" = "0 0" ] && [ $ok -eq 1 ]; then
		ktap_test_pass "$rel: root:root mode $mode"
	else
		gfpctx_msg "$rel: uid=$uid gid=$gid mode=$mode, want 0 0 and one of: $want"
		ktap_test_fail "$rel: root:root mode $(echo "$want" | tr ' ' '|')"
	fi
}

# What the unprivileged user gets, opening each file given, one line each:
# "FILE READ WRITE", READ an errno name from cat's message (or OK), WRITE
# gfpctx_write's "open:ERRNO" (or its write result).
# shellcheck disable=SC2016
NOBODY_SCRIPT='
w=$1
shift
for f in "$@"; do
	if msg=$(cat "$f" 2>&1 >/dev/null); then
		r=OK
	else
		case $msg in
		*"Permission denied"*) r=EACCES ;;
		*"Operation not permitted"*) r=EPERM ;;
		*) r=other ;;
		esac
	fi
	echo "$f $r $("$w" "$f" x 2>&1 | tr " " "_")"
done'

have_nobody() {
	grep -q "^$NOBODY:" /etc/passwd 2>/dev/null && command -v su >/dev/null
}

gfpctx_header
gfpctx_prepare
gfpctx_log_mark
gfpctx_load || ktap_exit_fail_msg "loading gfpctx failed"
gfpctx_snapshot_tables

find "$GFPCTX_DIR" -type f | sort > "$GFPCTX_TMP/files"
find "$GFPCTX_DIR" -type d | sort > "$GFPCTX_TMP/dirs"
nfiles=$(wc -l < "$GFPCTX_TMP/files")
ktap_set_plan $((2 * nfiles + 7))
gfpctx_msg "$nfiles files under $GFPCTX_DIR; $GFPCTX_DEBUGFS has mode $(stat -c %a "$GFPCTX_DEBUGFS")"

# 1..n: owner and mode of each file.
while IFS= read -r f; do
	mode_test "$f"
done < "$GFPCTX_TMP/files"

# n+1: directories: nobody but root may write.
bad=
while IFS= read -r d; do
	m=$(stat -c '%u %a' "$d")
	gfpctx_msg "directory ${d#"$GFPCTX_DEBUGFS"/}: uid and mode $m"
	case $m in
	"0 "*) [ $((0${m#0 } & 022)) -eq 0 ] || bad="$bad $d" ;;
	*) bad="$bad $d" ;;
	esac
done < "$GFPCTX_TMP/dirs"
[ -z "$bad" ]
gfpctx_result $? "directories are root's, not writable by group or others"

# n+2..2n+1: an unprivileged user opens nothing.
if have_nobody; then
	# shellcheck disable=SC2046
	su -s /bin/sh "$NOBODY" -c "$NOBODY_SCRIPT" sh "$GFPCTX_WRITE" \
		$(cat "$GFPCTX_TMP/files") > "$GFPCTX_TMP/nobody" 2>&1
	gfpctx_msg "as $NOBODY: $(su -s /bin/sh "$NOBODY" -c id 2>&1)"
fi
while IFS= read -r f; do
	rel=${f#"$GFPCTX_DIR"/}
	desc="$rel: $NOBODY cannot open it for reading or writing"
	if ! have_nobody; then
		gfpctx_test_skip "$desc" "no user $NOBODY in /etc/passwd (or no su)"
		continue
	fi
	res=$(grep "^$f " "$GFPCTX_TMP/nobody")
	# shellcheck disable=SC2086
	set -- $res
	case "$2 $3" in
	"EACCES open:EACCES" | "EACCES open:EPERM" | "EPERM open:EACCES" | \
	"EPERM open:EPERM")
		ktap_test_pass "$desc"
		;;
	*)
		gfpctx_msg "$rel as $NOBODY: read ${2:-?} write ${3:-?}"
		ktap_test_fail "$desc"
		;;
	esac
done < "$GFPCTX_TMP/files"

# 2n+2: jobs that make the module print: ok cells, injected failures, a
# bad job, a refused cell, audit on and off.
# A hard IRQ job where one is ok (not on PREEMPT_RT).
r=
set -- "context=task alloc=kmalloc gfp=GFP_KERNEL count=10" \
	"context=$(gfpctx_first_ok softirq kmalloc GFP_ATOMIC) alloc=kmalloc gfp=GFP_ATOMIC count=10"
if hirq=$(gfpctx_first_ok hardirq kmalloc GFP_ATOMIC); then
	set -- "$@" "context=$hirq alloc=kmalloc gfp=GFP_ATOMIC count=10"
fi
want=
for job in "$@"; do
	r="$r $(gfpctx_run "$job")"
	want="$want OK"
done
r="$r $(gfpctx_write "$GFPCTX_DIR/inject" 'fail_next=3\n')"
r="$r $(gfpctx_run "context=task alloc=kmalloc gfp=GFP_KERNEL count=5")"
r="$r $(gfpctx_run "context=task alloc=kmalloc gfp=GFP_FOO count=5")"
# shellcheck disable=SC2046 # context alloc gfp
set -- $(gfpctx_cells fatal | head -n 1)
r="$r $(gfpctx_run "context=$1 alloc=$2 gfp=$3 count=1")"
audit=
if [ -e "$GFPCTX_DIR/audit" ]; then
	audit="$(gfpctx_write "$GFPCTX_DIR/audit" 'on\n')"
	gfpctx_run "context=$(gfpctx_kthread_ctx) alloc=kzalloc gfp=GFP_KERNEL count=10" \
		> /dev/null
	audit="$audit $(gfpctx_write "$GFPCTX_DIR/audit" 'off\n')"
fi
failed=$(gfpctx_stat task kmalloc GFP_KERNEL failed)
gfpctx_msg "jobs: $r; audit on, off: ${audit:-no audit file}; failed=$failed"
[ "$r" = "$want OK OK EINVAL EPERM" ] && [ "$failed" = 3 ]
gfpctx_result $? "ok cells, 3 injected failures, a bad job and a refused cell"

# 2n+3: the address check itself: a real address is found, a sentinel
# (ULONG_MAX, as lib/fault-inject.c prints require-end) and a hashed %p
# are not.
found=$(printf '%s\n' 'require-end:0xffffffffffffffff' \
	'ptr=000000004f2c8d1e' 'ptr=ffff888003a1c000 x' | gfpctx_raw_addresses)
[ "$found" = 'ptr=ffff888003a1c000 x' ]
gfpctx_result $? "the address check finds ffff888003a1c000, not a sentinel or a hashed %p"

# 2n+4: the files the module formats (fail_alloc/ is the kernel's
# fault_attr); the readable ones: run has no read.
: > "$GFPCTX_TMP/addr"
while IFS= read -r f; do
	case ${f#"$GFPCTX_DIR"/} in
	fail_alloc/*) continue ;;
	esac
	case $(stat -c %a "$f") in
	[4567]??) sed "s|^|$f: |" "$f" | gfpctx_raw_addresses >> "$GFPCTX_TMP/addr" ;;
	esac
done < "$GFPCTX_TMP/files"
if [ -s "$GFPCTX_TMP/addr" ]; then
	head -n 10 "$GFPCTX_TMP/addr" | while IFS= read -r l; do
		gfpctx_msg "address: $l"
	done
	ktap_test_fail "no raw kernel address in the module's readable files"
else
	ktap_test_pass "no raw kernel address in the module's readable files"
fi

# 2n+5
gfpctx_unload_retry 30
gfpctx_result $? "the module unloads"

# 2n+6: the kernel log of this script (its load, jobs and unload).
gfpctx_log_since | grep gfpctx > "$GFPCTX_TMP/log"
bad=$(gfpctx_raw_addresses < "$GFPCTX_TMP/log")
if [ -n "$bad" ]; then
	echo "$bad" | head -n 10 | while IFS= read -r l; do
		gfpctx_msg "address: $l"
	done
	ktap_test_fail "no raw kernel address in gfpctx's kernel log lines"
else
	ktap_test_pass "no raw kernel address in gfpctx's kernel log lines ($(wc -l < "$GFPCTX_TMP/log"))"
fi

# 2n+7
gfpctx_test_no_splat "no splat in the kernel log"

ktap_finished
