// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx_cells - run the cells of the gfpctx module's rules table in one
 * process and check each one exactly; KTAP on stdout (kselftest.h).
 *
 * Usage: gfpctx_cells [-c COUNT] [-s I/N] ok|provoke|audit
 *
 *   ok       every `ok` cell of an available context, count=COUNT
 *            (default 1000), then again with free=process and a tenth of
 *            COUNT (a blocking mempool job: at most the pool's reserve,
 *            which the module refuses to exceed, `reserve` in allocs and
 *            `blocking` in gfps): each succeeds count of count in the context it
 *            claims, its timing figures
 *            are consistent, and the kernel printed no report meanwhile
 *            (the module's count per job, and /dev/kmsg read from this
 *            program's own start: no dependency on older log lines);
 *            last, each once at the largest size its cell admits
 *            (`largest` in rules): the one attempt may fail, as a large
 *            atomic allocation may, but it ends in its context and the
 *            kernel says nothing
 *   provoke  every `warns` cell: refused with EPERM and stats unchanged
 *            without allow=warns; with it, one attempt gives exactly one
 *            "BUG: sleeping function called from invalid context" with a
 *            backtrace frame in the module, and no other report kind but
 *            lockdep's (whose fs_reclaim annotation may fire first) and
 *            __might_sleep()'s WARN_ONCE "do not call blocking ops when
 *            !TASK_RUNNING" (a softirq that runs on a task that is about
 *            to sleep, kernel/sched/core.c)
 *   audit    for audit.sh, with audit mode on: every `warns` cell of an
 *            allocator flagged `audited` in allocs, run as one job of
 *            count=COUNT (audit.sh gives 3), allow=warns and
 *            ratelimit=ignore (no wait for a report) between empty
 *            tables, gives exactly one audit entry at a gfpctx_ function
 *            (site=gfpctx_...+0x... module=gfpctx) with that count, the
 *            class of its context (an ipi cell may be process-atomic: an
 *            idle CPU polling runs the call itself, outside hard IRQ),
 *            probe=pages for an allocator sized by order, else
 *            probe=slab, and a chain= that starts at the site's function
 *            and names at least its caller.
 *            Not KTAP: one line per cell, "pass<TAB>DESC",
 *            "fail<TAB>DESC<TAB>WHY" or "skip<TAB>DESC<TAB>REASON", and
 *            "foreign<TAB>ENTRY" for each entry at another site found
 *            before a cell's reset, which audit.sh turns into its own KTAP
 *
 * -s I/N: provoke only the I-th of every N warns cells, counted from 1 in
 * the rules' order. __might_resched() reports once a second at most, so a
 * boot provokes one cell a second: N boots share the cells (GFPCTX_SHARD,
 * set by the host runner per boot).
 *
 * The cells, contexts, allocators and gfps come from the module's own files
 * (rules, contexts, allocs, gfps under /sys/kernel/debug/gfpctx): nothing here
 * names one. The kernel's reports are the module's in-kernel counts
 * (`last`: might_sleep=, frames=, ...); where the kernel does not export
 * the console tracepoint (`kernel`: console_tracepoint=no), they are read
 * from /dev/kmsg from the job's own sequence number instead.
 *
 * Exit: KSFT_PASS, KSFT_FAIL, or KSFT_SKIP with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"

#define GFPCTX_DIR	"/sys/kernel/debug/gfpctx"
#define MAX_CELLS	4096
#define MAX_NAMES	256
#define NAME_LEN	64
#define LINE_LEN	4096
/* module/gfpctx.h: GFPCTX_TIME_EVERY, GFPCTX_HIST_BUCKETS */
#define TIME_EVERY	64
#define HIST_BUCKETS	32

struct cell {
	char ctx[NAME_LEN], alloc[NAME_LEN], gfp[NAME_LEN], verdict[NAME_LEN];
	char largest[NAME_LEN];	/* the largest size= or order= of a job */
};

struct name_value {
	char name[NAME_LEN], value[NAME_LEN];
};

static struct cell cells[MAX_CELLS];
static int ncells;
/* context -> reason it is unavailable ("" when available) */
static struct name_value unavailable[MAX_NAMES];
/* context -> its class (process, process-atomic, softirq, hardirq, nmi) */
static struct name_value ctx_class[MAX_NAMES];
static int ncontexts;
/* allocator -> the key that sizes it (size or order) */
static struct name_value sized_by[MAX_NAMES];
/* allocator -> objects it keeps in reserve; gfp -> "yes" if it may block */
static struct name_value reserve[MAX_NAMES];
/* allocator -> its flags (allocs file: flags=a,b or none) */
static struct name_value alloc_flags[MAX_NAMES];
static int nallocs;
static struct name_value blocking[MAX_NAMES];
static int ngfps;
static bool kmsg_fallback;

/* The whole of a (small) file, NUL terminated; NULL on error. */
static char *read_file(const char *path)
{
	size_t len = 0, cap = LINE_LEN;
	char *buf = malloc(cap + 1);
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += n;
		if (len == cap) {
			char *more = realloc(buf, 2 * cap + 1);

			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* The value of "key=" among the words of line, copied to out; false if absent. */
static bool field(const char *line, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *p = line;

	while (*p && *p != '\n') {
		const char *end = p + strcspn(p, "\n ");

		if ((size_t)(end - p) > klen && !strncmp(p, key, klen) &&
		    p[klen] == '=') {
			size_t n = end - p - klen - 1;

			if (n >= size)
				n = size - 1;
			memcpy(out, p + klen + 1, n);
			out[n] = '\0';
			return true;
		}
		p = *end == ' ' ? end + 1 : end;
	}
	return false;
}

static unsigned long long field_ull(const char *line, const char *key,
				    bool *ok)
{
	char v[NAME_LEN];

	if (!field(line, key, v, sizeof(v))) {
		*ok = false;
		return 0;
	}
	return strtoull(v, NULL, 10);
}

/* Apply fn to each line of a file; false if it cannot be read. */
static bool each_line(const char *path, void (*fn)(const char *line))
{
	char *text = read_file(path), *line, *save = NULL;

	if (!text)
		return false;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		fn(line);
	free(text);
	return true;
}

static void add_context(const char *line)
{
	struct name_value *nv = &unavailable[ncontexts];
	char avail[NAME_LEN] = "";

	if (ncontexts == MAX_NAMES || !field(line, "name", nv->name, NAME_LEN))
		return;
	snprintf(ctx_class[ncontexts].name, NAME_LEN, "%s", nv->name);
	if (!field(line, "class", ctx_class[ncontexts].value, NAME_LEN))
		ctx_class[ncontexts].value[0] = '\0';
	field(line, "available", avail, sizeof(avail));
	nv->value[0] = '\0';
	if (strcmp(avail, "yes") &&
	    !field(line, "reason", nv->value, NAME_LEN))
		snprintf(nv->value, NAME_LEN, "unavailable");
	ncontexts++;
}

static void add_alloc(const char *line)
{
	struct name_value *nv = &sized_by[nallocs], *r = &reserve[nallocs];
	struct name_value *f = &alloc_flags[nallocs];

	if (nallocs < MAX_NAMES && field(line, "name", nv->name, NAME_LEN) &&
	    field(line, "sized_by", nv->value, NAME_LEN) &&
	    field(line, "reserve", r->value, NAME_LEN) &&
	    field(line, "flags", f->value, NAME_LEN)) {
		snprintf(r->name, NAME_LEN, "%s", nv->name);
		snprintf(f->name, NAME_LEN, "%s", nv->name);
		nallocs++;
	}
}

static void add_gfp(const char *line)
{
	struct name_value *nv = &blocking[ngfps];

	if (ngfps < MAX_NAMES && field(line, "name", nv->name, NAME_LEN) &&
	    field(line, "blocking", nv->value, NAME_LEN))
		ngfps++;
}

static void add_cell(const char *line)
{
	struct cell *c = &cells[ncells];

	if (ncells < MAX_CELLS &&
	    field(line, "context", c->ctx, NAME_LEN) &&
	    field(line, "alloc", c->alloc, NAME_LEN) &&
	    field(line, "gfp", c->gfp, NAME_LEN) &&
	    field(line, "verdict", c->verdict, NAME_LEN) &&
	    field(line, "largest", c->largest, NAME_LEN))
		ncells++;
}

static const char *lookup(struct name_value *t, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return t[i].value;
	return NULL;
}

/*
 * The count of a free=process job of cell c: with a blocking gfp, an
 * allocator with a reserve (mempool) keeps at most that many objects; more
 * would wait for itself, and the module refuses it.
 */
static unsigned int keep_count(const struct cell *c, unsigned int count)
{
	const char *r = lookup(reserve, nallocs, c->alloc);
	const char *b = lookup(blocking, ngfps, c->gfp);
	unsigned int n = r ? strtoul(r, NULL, 10) : 0;

	if (n && b && !strcmp(b, "yes") && count > n)
		return n;
	return count;
}

/* The reason a cell's context is unavailable, or NULL. */
static const char *ctx_unavailable(const struct cell *c)
{
	const char *why = lookup(unavailable, ncontexts, c->ctx);

	if (!why)
		return "context not listed in contexts";
	return *why ? why : NULL;
}

/* One write of words to a control file: 0 or the errno. */
static int write_words(const char *file, const char *words)
{
	char path[128];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), GFPCTX_DIR "/%s", file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	n = write(fd, words, strlen(words));
	if (n < 0)
		err = errno;
	else if ((size_t)n != strlen(words))
		err = EIO;
	close(fd);
	return err;
}

static const char *errname(int err)
{
	static char buf[32];

	switch (err) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case EINTR: return "EINTR";
	case ENOMEM: return "ENOMEM";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIMEDOUT: return "ETIMEDOUT";
	}
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/*
 * The words of a job of cell c: the standard size (64 B or order 0), or
 * with largest the cell's largest (rules file).
 */
static void job_words(char *buf, size_t size, const struct cell *c,
		      unsigned int count, bool largest, const char *extra)
{
	const char *key = lookup(sized_by, nallocs, c->alloc);
	bool order = key && !strcmp(key, "order");

	snprintf(buf, size, "context=%s alloc=%s gfp=%s count=%u %s=%s %s\n",
		 c->ctx, c->alloc, c->gfp, count, order ? "order" : "size",
		 largest ? c->largest : order ? "0" : "64", extra);
}

/* The stats line of cell c (after a reset, the only one), or NULL. */
static char *stats_line(const struct cell *c)
{
	char *text = read_file(GFPCTX_DIR "/stats"), *p;
	char want[3 * NAME_LEN + 32];

	if (!text)
		return NULL;
	snprintf(want, sizeof(want), "context=%s alloc=%s gfp=%s ", c->ctx,
		 c->alloc, c->gfp);
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, want, strlen(want))) {
			char *line = strndup(p, strcspn(p, "\n"));

			free(text);
			return line;
		}
	}
	free(text);
	return NULL;
}

/* Append a failure reason to why (size LINE_LEN). */
static __printf(2, 3) void because(char *why, const char *fmt, ...)
{
	size_t len = strlen(why);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why + len, LINE_LEN - len, fmt, ap);
	va_end(ap);
}

/* key=want in line, else a reason in why. */
static void expect(const char *line, const char *key, unsigned long long want,
		   char *why)
{
	bool ok = true;
	unsigned long long got = field_ull(line, key, &ok);

	if (!ok)
		because(why, " %s missing", key);
	else if (got != want)
		because(why, " %s=%llu (want %llu)", key, got, want);
}

/* The report kinds of the module's `last` or stats line that must be 0. */
static const char *const clean_kinds[] = {
	"might_sleep", "sched_atomic", "kasan", "lockdep", "warning", "bug",
	"frames",
};

static void expect_no_reports(const char *line, char *why)
{
	size_t i;

	if (strstr(line, " reports=unavailable"))
		return;		/* the script's kernel-log check covers it */
	for (i = 0; i < ARRAY_SIZE(clean_kinds); i++)
		expect(line, clean_kinds[i], 0, why);
}

/* ns_min <= ns_mean <= ns_max, and the histogram adds up to timed. */
static void expect_timing(const char *line, unsigned long long timed,
			  char *why)
{
	bool ok = true;
	unsigned long long min = field_ull(line, "ns_min", &ok);
	unsigned long long mean = field_ull(line, "ns_mean", &ok);
	unsigned long long max = field_ull(line, "ns_max", &ok);
	unsigned long long sum = 0;
	char hist[LINE_LEN], *p, *save = NULL;
	int n = 0;

	expect(line, "timed", timed, why);
	if (!ok || !field(line, "hist", hist, sizeof(hist))) {
		because(why, " timing fields missing");
		return;
	}
	if (timed && (min > mean || mean > max))
		because(why, " ns_min=%llu ns_mean=%llu ns_max=%llu", min, mean,
			max);
	for (p = strtok_r(hist, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		sum += strtoull(p, NULL, 10);
		n++;
	}
	if (n != HIST_BUCKETS || sum != timed)
		because(why, " hist: %d buckets adding up to %llu", n, sum);
}

static void result(bool pass, const char *desc, const char *why)
{
	if (pass) {
		ksft_test_result_pass("%s\n", desc);
		return;
	}
	ksft_print_msg("%s:%s\n", desc, why);
	ksft_test_result_fail("%s\n", desc);
}

static void skip(const char *desc, const char *reason)
{
	ksft_test_result_code(KSFT_SKIP, desc, "%s", reason);
}

/* The kernel log (/dev/kmsg) from this program's start, read as it comes. */
struct kmsg_watch {
	int fd;
	bool in_window;		/* between an EXPECT_BEGIN and its EXPECT_END */
	unsigned int lost;	/* gaps: records overwritten before they were read */
	unsigned int bad;	/* reports outside a window */
	/* in the last window: might_sleep reports, frames of the module */
	unsigned long long might_sleep, frames;
	char why[LINE_LEN];
};

static struct kmsg_watch kmsg = { .fd = -1 };

/* Kernel log messages that open a report (the host's splat scan knows more). */
static const char *const report_starts[] = {
	"BUG:", "WARNING:", "[ BUG:", "kernel BUG at", "Oops",
	"general protection fault", "Kernel panic", "UBSAN:",
};

static bool starts(const char *text, const char *prefix)
{
	return !strncmp(text, prefix, strlen(prefix));
}

static void kmsg_start(void)
{
	kmsg.fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg.fd >= 0)
		lseek(kmsg.fd, 0, SEEK_END);
}

/*
 * Read what was logged since the last call: after every job, so the
 * reader never falls far behind the ring buffer. Inside a window the
 * might_sleep reports and the module's frames are counted (the module
 * counts them itself where the kernel exports the console tracepoint);
 * outside, any report is noted.
 */
static void kmsg_drain(void)
{
	char rec[LINE_LEN];
	ssize_t n;
	size_t i;

	if (kmsg.fd < 0)
		return;
	while ((n = read(kmsg.fd, rec, sizeof(rec) - 1)) > 0 ||
	       (n < 0 && errno == EPIPE)) {
		char *text;

		if (n < 0) {
			kmsg.lost++;
			continue;
		}
		rec[n] = '\0';
		text = strchr(rec, ';');
		if (!text)
			continue;
		text++;
		if (starts(text, "gfpctx-expect: begin")) {
			kmsg.in_window = true;
			kmsg.might_sleep = 0;
			kmsg.frames = 0;
		} else if (starts(text, "gfpctx-expect: end")) {
			kmsg.in_window = false;
		} else if (kmsg.in_window) {
			if (starts(text, "BUG: sleeping function called from invalid context"))
				kmsg.might_sleep++;
			else if (strstr(text, " [gfpctx]") && strstr(text, "gfpctx_"))
				kmsg.frames++;
		} else {
			for (i = 0; i < ARRAY_SIZE(report_starts); i++) {
				if (!starts(text, report_starts[i]))
					continue;
				if (kmsg.bad++ < 5)
					because(kmsg.why, " %.*s;",
						(int)strcspn(text, "\n"), text);
				break;
			}
		}
	}
}

/* A test: no report in the kernel log outside a window, and no gap. */
static void kmsg_result(const char *desc)
{
	if (kmsg.fd < 0) {
		skip(desc, "cannot read /dev/kmsg");
		return;
	}
	kmsg_drain();
	if (kmsg.lost)
		because(kmsg.why, " %u gaps: records overwritten before they were read",
			kmsg.lost);
	result(!kmsg.why[0], desc, kmsg.why);
}

/* Whether cell c's allocator has flag in its flags= list (allocs). */
static bool alloc_flagged(const struct cell *c, const char *flag)
{
	const char *f = lookup(alloc_flags, nallocs, c->alloc);
	char list[NAME_LEN + 2], want[NAME_LEN + 2];

	if (!f)
		return false;
	snprintf(list, sizeof(list), ",%s,", f);
	snprintf(want, sizeof(want), ",%s,", flag);
	return strstr(list, want);
}

/*
 * A nolock allocator (flags nolock) may return NULL by design: each of
 * its attempts is made, and ends ok or alloc_failed.
 */
static bool may_fail(const struct cell *c)
{
	return alloc_flagged(c, "nolock");
}

/* ok: one cell, count attempts, freed in its context or by the writer. */
enum ok_pass { OK_FREE, OK_KEEP, OK_LARGEST };

static void run_ok(const struct cell *c, unsigned int count, enum ok_pass pass)
{
	static const char *const suffix[] = {
		[OK_FREE] = "", [OK_KEEP] = " free=process",
		[OK_LARGEST] = " largest",
	};
	char desc[LINE_LEN], words[LINE_LEN], why[LINE_LEN] = "";
	const char *reason = ctx_unavailable(c);
	bool ok = true;
	char *line;
	int err;

	snprintf(desc, sizeof(desc), "ok_cell %s %s %s%s", c->ctx, c->alloc,
		 c->gfp, suffix[pass]);
	if (reason) {
		skip(desc, reason);
		return;
	}
	err = write_words("stats", "reset\n");
	if (!err) {
		job_words(words, sizeof(words), c, count, pass == OK_LARGEST,
			  pass == OK_KEEP ? "free=process" : "");
		err = write_words("run", words);
	}
	kmsg_drain();
	if (err) {
		because(why, " write: %s", errname(err));
		result(false, desc, why);
		return;
	}
	line = stats_line(c);
	if (!line) {
		result(false, desc, " no stats line");
		return;
	}
	expect(line, "jobs", 1, why);
	expect(line, "attempts", count, why);
	if (pass == OK_LARGEST || may_fail(c)) {
		expect(line, "alloc_failed", count - field_ull(line, "ok", &ok),
		       why);
		if (!ok)
			because(why, " no ok field");
	} else {
		expect(line, "ok", count, why);
		expect(line, "failed", 0, why);
	}
	if (pass != OK_LARGEST)
		expect_timing(line, (count + TIME_EVERY - 1) / TIME_EVERY, why);
	expect(line, "injected", 0, why);
	expect(line, "ctx_mismatch", 0, why);
	expect_no_reports(line, why);
	free(line);
	result(!why[0], desc, why);
}

/*
 * The reports a provoked job may print, declared to whoever reads the
 * whole kernel log afterwards (tools/gfpctx_ci/splat.py): might_sleep,
 * lockdep's, whose fs_reclaim annotation may fire first, and the warning
 * of __might_sleep() about a task that is not running.
 */
#define EXPECT_BEGIN	"gfpctx-expect: begin kind=might_sleep kind=lockdep kind=warning func=gfpctx_\n"
#define EXPECT_END	"gfpctx-expect: end\n"

static void kmsg_note(const char *line)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, line, strlen(line)) < 0)
		ksft_print_msg("cannot log: %s", line);
	close(fd);
}

#define DEBUG_LOCKS_KEY	"debug_locks:"

/* lockdep's debug_locks (/proc/lockdep_stats): 1 on, 0 turned off, -1 no lockdep. */
static int lockdep_on(void)
{
	char *text = read_file("/proc/lockdep_stats"), *p;
	int on = -1;

	if (!text)
		return -1;
	p = strstr(text, DEBUG_LOCKS_KEY);
	if (p)
		on = atoi(p + strlen(DEBUG_LOCKS_KEY)) != 0;
	free(text);
	return on;
}

/*
 * A test: lockdep watched the whole run, so "no lockdep report" meant
 * something. Skipped, with the reason, where there is no lockdep or an
 * earlier report had already turned it off (run_kselftest.sh runs every
 * script in one boot).
 */
static void lockdep_watched(int before, const char *desc)
{
	int after = lockdep_on();

	if (before < 0)
		skip(desc, "no lockdep (/proc/lockdep_stats)");
	else if (!before)
		skip(desc, "lockdep was already off (debug_locks 0)");
	else
		result(after == 1, desc, " lockdep turned itself off meanwhile");
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* provoke: one warns cell, refused without allow=warns, then run once. */
static void run_provoke(const struct cell *c)
{
	char desc[LINE_LEN], words[LINE_LEN], why[LINE_LEN] = "";
	const char *reason = ctx_unavailable(c);
	char *before, *after, *line;
	int err;

	snprintf(desc, sizeof(desc),
		 "warns %s %s %s without allow=warns: EPERM, stats unchanged",
		 c->ctx, c->alloc, c->gfp);
	if (reason) {
		skip(desc, reason);
		snprintf(desc, sizeof(desc), "warns %s %s %s: one might_sleep report",
			 c->ctx, c->alloc, c->gfp);
		skip(desc, reason);
		return;
	}
	job_words(words, sizeof(words), c, 1, false, "");
	before = read_file(GFPCTX_DIR "/stats");
	err = write_words("run", words);
	after = read_file(GFPCTX_DIR "/stats");
	if (err != EPERM)
		because(why, " write: %s (want EPERM)", errname(err));
	if (!before || !after || strcmp(before, after))
		because(why, " stats changed");
	free(before);
	free(after);
	result(!why[0], desc, why);

	snprintf(desc, sizeof(desc),
		 "warns %s %s %s: one might_sleep report with a frame in gfpctx",
		 c->ctx, c->alloc, c->gfp);
	why[0] = '\0';
	write_words("stats", "reset\n");
	/* __might_resched() reports once a second at most: the module waits
	 * for that itself where it sees the reports.
	 */
	if (kmsg_fallback)
		sleep_ms(1100);
	job_words(words, sizeof(words), c, 1, false, "allow=warns");
	/* The window, for the reader of the log here and on the host. */
	kmsg_note(EXPECT_BEGIN);
	err = write_words("run", words);
	kmsg_note(EXPECT_END);
	kmsg_drain();
	if (err) {
		because(why, " write: %s (want OK)", errname(err));
		goto out;
	}
	line = stats_line(c);
	if (!line) {
		because(why, " no stats line");
		goto out;
	}
	expect(line, "attempts", 1, why);
	expect(line, "ctx_mismatch", 0, why);
	free(line);
	if (kmsg_fallback) {
		if (kmsg.fd < 0)
			because(why, " cannot count: no console tracepoint, no /dev/kmsg");
		else if (kmsg.might_sleep != 1 || !kmsg.frames)
			because(why, " kernel log: might_sleep=%llu frames=%llu",
				kmsg.might_sleep, kmsg.frames);
		goto out;
	}
	line = read_file(GFPCTX_DIR "/last");
	if (!line) {
		because(why, " no last");
		goto out;
	}
	expect(line, "might_sleep", 1, why);
	expect(line, "sched_atomic", 0, why);
	expect(line, "kasan", 0, why);
	expect(line, "bug", 0, why);
	if (!strstr(line, " frames=") || strstr(line, " frames=0"))
		because(why, " no backtrace frame in [gfpctx]");
	free(line);
out:
	result(!why[0], desc, why);
}

/* Whether a line of the audit file is an entry at a site in the module. */
static bool audit_ours(const char *line)
{
	char module[NAME_LEN];

	return field(line, "module", module, sizeof(module)) &&
	       !strcmp(module, "gfpctx");
}

/* Whether a line of the audit file is an entry (not the summary line). */
static bool audit_entry(const char *line)
{
	return starts(line, "site=");
}

/* Print a line of the audit file at another site as a "foreign" line. */
static void audit_print_foreign(const char *line)
{
	if (audit_entry(line) && !audit_ours(line))
		printf("foreign\t%s\n", line);
}

/*
 * audit: one audited warns cell, provoked count times between a reset and
 * a read of the audit file. Prints its line (see the top of the file).
 */
static void run_audit(const struct cell *c, unsigned int count)
{
	char desc[LINE_LEN], words[LINE_LEN], why[LINE_LEN] = "";
	char site[LINE_LEN] = "", class[NAME_LEN] = "", ours[LINE_LEN] = "";
	char probe[NAME_LEN] = "", chain[LINE_LEN] = "";
	const char *want_probe = alloc_flagged(c, "order") ? "pages" : "slab";
	const char *reason = ctx_unavailable(c);
	const char *want = lookup(ctx_class, ncontexts, c->ctx);
	char *text, *line, *save = NULL;
	unsigned int n = 0;
	int err;

	snprintf(desc, sizeof(desc),
		 "audit reports warns %s %s %s once at a gfpctx_ function",
		 c->ctx, c->alloc, c->gfp);
	if (reason) {
		printf("skip\t%s\tcontext %s unavailable: %s\n", desc, c->ctx,
		       reason);
		return;
	}
	/* The entries of the kernel's own code so far: findings, kept. */
	each_line(GFPCTX_DIR "/audit", audit_print_foreign);
	err = write_words("audit", "reset\n");
	if (err) {
		printf("fail\t%s\treset: %s\n", desc, errname(err));
		return;
	}
	/* The entry is what is checked: no need to wait for a report. */
	job_words(words, sizeof(words), c, count, false,
		  "allow=warns ratelimit=ignore");
	kmsg_note(EXPECT_BEGIN);
	err = write_words("run", words);
	kmsg_note(EXPECT_END);
	text = read_file(GFPCTX_DIR "/audit");
	write_words("audit", "reset\n");
	if (err)
		because(why, " job: %s (want OK)", errname(err));
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!audit_entry(line))
			continue;
		if (!audit_ours(line)) {
			printf("# %s: also seen: %s\n", desc, line);
			continue;
		}
		if (n++)
			because(why, " also %s;", line);
		else
			snprintf(ours, sizeof(ours), "%s", line);
	}
	free(text);
	if (n != 1) {
		because(why, " %u entries at a gfpctx site, want 1", n);
		goto out;
	}
	printf("# reported: %s\n", ours);
	if (!field(ours, "site", site, sizeof(site)) ||
	    !starts(site, "gfpctx_") || !strstr(site, "+0x"))
		because(why, " site %s, want gfpctx_...+0x...", site);
	expect(ours, "count", count, why);
	if (!field(ours, "probe", probe, sizeof(probe)) ||
	    strcmp(probe, want_probe))
		because(why, " probe=%s, want %s", probe, want_probe);
	/* The chain: the site's function first, then at least its caller. */
	field(ours, "chain", chain, sizeof(chain));
	if (strncmp(chain, site, strcspn(site, "+")) ||
	    chain[strcspn(site, "+")] != '<')
		because(why, " chain=%s, want %.*s<its callers", chain,
			(int)strcspn(site, "+"), site);
	field(ours, "class", class, sizeof(class));
	if (!want || (strcmp(class, want) &&
		      (strcmp(c->ctx, "ipi") || strcmp(class, "process-atomic"))))
		because(why, " class=%s, want %s", class, want ? want : "?");
out:
	if (why[0])
		printf("fail\t%s\t%s\n", desc, why + 1);
	else
		printf("pass\t%s\n", desc);
}

static int count_verdict(const char *verdict)
{
	int i, n = 0;

	for (i = 0; i < ncells; i++)
		n += !strcmp(cells[i].verdict, verdict);
	return n;
}

static void bad_usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-c COUNT] [-s I/N] ok|provoke|audit\n", prog);
	exit(KSFT_FAIL);
}

/* "I/N", 1 <= I <= N: the shard; false for anything else. */
static bool parse_shard(const char *arg, unsigned int *i, unsigned int *n)
{
	char end;

	return sscanf(arg, "%u/%u%c", i, n, &end) == 2 && *i >= 1 && *i <= *n;
}

/* Whether the k-th warns cell (from 0) is the shard's. */
static bool in_shard(int k, unsigned int shard, unsigned int nshards)
{
	return (unsigned int)k % nshards == shard - 1;
}

int main(int argc, char **argv)
{
	unsigned int count = 1000, shard = 1, nshards = 1;
	char *kernel;
	const char *mode;
	bool audit;
	int opt, i, k;

	while ((opt = getopt(argc, argv, "c:s:")) != -1) {
		if (opt == 'c')
			count = strtoul(optarg, NULL, 10);
		else if (opt != 's' || !parse_shard(optarg, &shard, &nshards))
			bad_usage(argv[0]);
	}
	if (argc - optind != 1 || !count)
		bad_usage(argv[0]);
	mode = argv[optind];
	audit = !strcmp(mode, "audit");

	if (audit)
		setvbuf(stdout, NULL, _IOLBF, 0);
	else
		ksft_print_header();
	if (!each_line(GFPCTX_DIR "/contexts", add_context) ||
	    !each_line(GFPCTX_DIR "/allocs", add_alloc) ||
	    !each_line(GFPCTX_DIR "/gfps", add_gfp) ||
	    !each_line(GFPCTX_DIR "/rules", add_cell)) {
		if (audit) {
			fprintf(stderr, "cannot read the module's tables under %s\n",
				GFPCTX_DIR);
			return KSFT_FAIL;
		}
		ksft_exit_skip("cannot read the module's tables under %s\n",
			       GFPCTX_DIR);
	}
	if (audit) {
		for (i = 0, k = 0; i < ncells; i++)
			if (!strcmp(cells[i].verdict, "warns") &&
			    alloc_flagged(&cells[i], "audited") &&
			    in_shard(k++, shard, nshards))
				run_audit(&cells[i], count);
		return KSFT_PASS;
	}
	kmsg_start();
	kernel = read_file(GFPCTX_DIR "/kernel");
	kmsg_fallback = !kernel || !strstr(kernel, "console_tracepoint=yes");
	free(kernel);
	ksft_print_msg("%d cells, %d contexts, %d allocators%s\n", ncells,
		       ncontexts, nallocs,
		       kmsg_fallback ? "; reports read from /dev/kmsg" : "");

	if (!strcmp(mode, "ok")) {
		unsigned int tenth = count > 10 ? count / 10 : 1;
		int n = count_verdict("ok");

		int locks = lockdep_on();

		ksft_set_plan(3 + 3 * n);
		result(n > 0, "rules lists ok cells", " none: rules unreadable or changed shape");
		for (i = 0; i < ncells; i++)
			if (!strcmp(cells[i].verdict, "ok"))
				run_ok(&cells[i], count, OK_FREE);
		for (i = 0; i < ncells; i++)
			if (!strcmp(cells[i].verdict, "ok"))
				run_ok(&cells[i], keep_count(&cells[i], tenth),
				       OK_KEEP);
		for (i = 0; i < ncells; i++)
			if (!strcmp(cells[i].verdict, "ok"))
				run_ok(&cells[i], 1, OK_LARGEST);
		kmsg_result("no report in the kernel log while the ok cells ran");
		lockdep_watched(locks, "lockdep was on while the ok cells ran");
	} else if (!strcmp(mode, "provoke")) {
		int n = count_verdict("warns"), mine = 0;

		if (!n)
			ksft_exit_skip("no warns cell on this kernel\n");
		for (k = 0; k < n; k++)
			mine += in_shard(k, shard, nshards);
		if (!mine)
			ksft_exit_skip("no warns cell in shard %u/%u of %d\n",
				       shard, nshards, n);
		if (nshards > 1)
			ksft_print_msg("shard %u/%u: %d of the %d warns cells\n",
				       shard, nshards, mine, n);
		ksft_set_plan(2 * mine + 1);
		for (i = 0, k = 0; i < ncells; i++)
			if (!strcmp(cells[i].verdict, "warns") &&
			    in_shard(k++, shard, nshards))
				run_provoke(&cells[i]);
		kmsg_result("no report in the kernel log outside the provoked jobs");
	} else {
		bad_usage(argv[0]);
	}
	ksft_finished();
}
