// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: the kernel's own reports, counted inside the kernel. A probe on
 * the exported `console` tracepoint (include/trace/events/printk.h, called
 * by printk_sprint() in kernel/printk/printk.c for every message, in the
 * context of its printk() caller), as lib/kfence_test.c and
 * kernel/kcsan/kcsan_test.c use it, classes each message's first line by
 * the kind of report it opens. A job reads the counters before and after
 * it runs: what it provoked is the difference, with no dependency on the
 * kernel log ring buffer still holding old lines.
 *
 * Kernels that do not export the tracepoint (6.1) build without it:
 * `kernel` then says console_tracepoint=no and the selftests read
 * /dev/kmsg from their own sequence number instead.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "gfpctx.h"

#ifdef GFPCTX_HAVE_CONSOLE_TP
#include <trace/events/printk.h>
#endif

/* The stats and last keys of the kinds. */
static const char *const gfpctx_report_names[] = {
	[GFPCTX_REP_MIGHT_SLEEP] = "might_sleep",
	[GFPCTX_REP_SCHED_ATOMIC] = "sched_atomic",
	[GFPCTX_REP_KASAN] = "kasan",
	[GFPCTX_REP_LOCKDEP] = "lockdep",
	[GFPCTX_REP_WARNING] = "warning",
	[GFPCTX_REP_BUG] = "bug",
	/* not a report: a backtrace line naming a function of this module */
	[GFPCTX_REP_FRAMES] = "frames",
};

static_assert(ARRAY_SIZE(gfpctx_report_names) == GFPCTX_NR_REPORTS);

static atomic_long_t gfpctx_report_count[GFPCTX_NR_REPORTS];
/* jiffies of the last might_sleep report seen, and whether there was one */
static unsigned long gfpctx_last_might_sleep;
static bool gfpctx_seen_might_sleep;

const char *gfpctx_report_name(enum gfpctx_report kind)
{
	return gfpctx_report_names[kind];
}

#ifdef GFPCTX_HAVE_CONSOLE_TP
/* __might_resched() and __schedule_bug() in kernel/sched/core.c */
static const char *const gfpctx_might_sleep_starts[] = {
	"BUG: sleeping function called from invalid context", NULL
};

static const char *const gfpctx_sched_atomic_starts[] = {
	"BUG: scheduling while atomic", NULL
};

/* mm/kasan/report.c: "BUG: KASAN: %s in %pS" */
static const char *const gfpctx_kasan_starts[] = { "BUG: KASAN: ", NULL };

/*
 * kernel/locking/lockdep.c: the headers of its reports. "[ BUG: Invalid
 * wait context ]" is checked on every PROVE_LOCKING kernel that forces
 * PROVE_RAW_LOCK_NESTING (lib/Kconfig.debug, 7.x on x86).
 */
static const char *const gfpctx_lockdep_starts[] = {
	"[ BUG: ",
	"WARNING: possible circular locking dependency",
	"WARNING: possible recursive locking",
	"WARNING: inconsistent lock state",
	"WARNING: possible irq lock inversion",
	"WARNING: bad unlock balance",
	"WARNING: suspicious RCU usage",
	"WARNING: held lock freed",
	"WARNING: Nested lock was not taken",
	"WARNING: lock held when returning to user space",
	"WARNING: chain_key collision",
	"WARNING: bad contention detected",
	NULL
};

static const char *const gfpctx_warning_starts[] = { "WARNING:", NULL };

/* Everything else that reports a kernel bug. */
static const char *const gfpctx_bug_starts[] = {
	"BUG:", "kernel BUG at", "Oops", "general protection fault",
	"Kernel panic", "UBSAN:", NULL
};

/* First match wins: the specific kinds before WARNING and BUG. */
static const char *const *const gfpctx_report_starts[] = {
	[GFPCTX_REP_MIGHT_SLEEP] = gfpctx_might_sleep_starts,
	[GFPCTX_REP_SCHED_ATOMIC] = gfpctx_sched_atomic_starts,
	[GFPCTX_REP_KASAN] = gfpctx_kasan_starts,
	[GFPCTX_REP_LOCKDEP] = gfpctx_lockdep_starts,
	[GFPCTX_REP_WARNING] = gfpctx_warning_starts,
	[GFPCTX_REP_BUG] = gfpctx_bug_starts,
};

static_assert(ARRAY_SIZE(gfpctx_report_starts) == GFPCTX_REP_FRAMES);

static bool gfpctx_starts_with(const char *text, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && !memcmp(text, s, n);
}

/*
 * The lockdep headers with words in the middle (kernel/locking/lockdep.c):
 * "WARNING: %s-safe -> %s-unsafe lock order detected" and
 * "WARNING: %s/%d still has locks held!".
 */
static bool gfpctx_lockdep_middle(const char *text, size_t len)
{
	return gfpctx_starts_with(text, len, "WARNING: ") &&
	       (strnstr(text, "-safe -> ", len) ||
		strnstr(text, " still has locks held!", len));
}

/* Which kind of report a message opens, or GFPCTX_NR_REPORTS. */
static enum gfpctx_report gfpctx_classify(const char *text, size_t len)
{
	const char *const *s;
	unsigned int k;

	if (gfpctx_lockdep_middle(text, len))
		return GFPCTX_REP_LOCKDEP;
	for (k = 0; k < ARRAY_SIZE(gfpctx_report_starts); k++)
		for (s = gfpctx_report_starts[k]; *s; s++)
			if (gfpctx_starts_with(text, len, *s))
				return k;
	/* A %pS frame in this module: "gfpctx_fn+0x1a/0x40 [gfpctx]" */
	if (strnstr(text, " [gfpctx]", len) && strnstr(text, "gfpctx_", len))
		return GFPCTX_REP_FRAMES;
	return GFPCTX_NR_REPORTS;
}

/*
 * Called for every printk() message, in its caller's context: NMI and
 * hard IRQ included, so nothing here may sleep or take a lock. @text is
 * not NUL terminated; its log level prefix is already stripped.
 */
static void gfpctx_console_probe(void *data, const char *text, size_t len)
{
	enum gfpctx_report kind = gfpctx_classify(text, len);

	if (kind == GFPCTX_NR_REPORTS)
		return;
	if (kind == GFPCTX_REP_MIGHT_SLEEP) {
		WRITE_ONCE(gfpctx_last_might_sleep, jiffies);
		WRITE_ONCE(gfpctx_seen_might_sleep, true);
	}
	atomic_long_inc(&gfpctx_report_count[kind]);
}

int gfpctx_reports_init(void)
{
	return register_trace_console(gfpctx_console_probe, NULL);
}

void gfpctx_reports_exit(void)
{
	unregister_trace_console(gfpctx_console_probe, NULL);
	/* No probe may still run once the module text goes. */
	tracepoint_synchronize_unregister();
}

bool gfpctx_reports_counted(void)
{
	return true;
}
#else
int gfpctx_reports_init(void)
{
	return 0;
}

void gfpctx_reports_exit(void)
{
}

bool gfpctx_reports_counted(void)
{
	return false;
}
#endif

/* The counters now, into @snap[GFPCTX_NR_REPORTS]. */
void gfpctx_reports_snapshot(unsigned long *snap)
{
	unsigned int k;

	for (k = 0; k < GFPCTX_NR_REPORTS; k++)
		snap[k] = atomic_long_read(&gfpctx_report_count[k]);
}

/*
 * __might_resched() (kernel/sched/core.c) prints at most one report per
 * second system wide (its static prev_jiffy). A job that provokes one
 * waits, killably, until a second has passed since the last report this
 * module saw, so that its own report is not swallowed. Returns 0, or
 * -EINTR for a fatal signal.
 */
int gfpctx_reports_wait_ratelimit(void)
{
	unsigned long next;

	if (!gfpctx_reports_counted() || !READ_ONCE(gfpctx_seen_might_sleep))
		return 0;
	/* One jiffy of margin: the report is printed after prev_jiffy is set. */
	next = READ_ONCE(gfpctx_last_might_sleep) + HZ + 1;
	while (time_before_eq(jiffies, next)) {
		schedule_timeout_killable(next - jiffies + 1);
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

/* " might_sleep=N ... frames=N" of @counts, or " reports=unavailable". */
void gfpctx_reports_show(struct seq_file *m, const u64 *counts)
{
	unsigned int k;

	if (!gfpctx_reports_counted()) {
		seq_puts(m, " reports=unavailable");
		return;
	}
	for (k = 0; k < GFPCTX_NR_REPORTS; k++)
		seq_printf(m, " %s=%llu", gfpctx_report_name(k), counts[k]);
}
