// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx_fuzz - seeded writes of garbage and of mutated jobs to the gfpctx
 * control files (run, stats, inject, and audit where it exists), from
 * several processes at once. Every write must end in OK or an allowed
 * errno, and no process may crash.
 *
 * Usage: gfpctx_fuzz [-s SEED] [-n WRITES] [-p PROCS] [-d DIR] [-a] [-v]
 *
 *   -s SEED    seed of the generators (default: from the time and pid)
 *   -n WRITES  writes in all (default 1000); a split write counts once
 *   -p PROCS   processes writing at once (default 1), WRITES/PROCS each
 *   -d DIR     the control files (default /sys/kernel/debug/gfpctx)
 *   -a         also write a valid "on" to audit (left out by default: each
 *              "on" patches the kernel's slab tracepoints, and under QEMU
 *              TCG a CPU running kmalloc while that text is patched takes
 *              a stray int3 and the guest dies, audit or not: flipping
 *              events/kmem/kmalloc/enable in tracefs does the same)
 *   -v         print every write, in gfpctx_write's escapes and options
 *
 * What is written: random bytes (NUL and high bytes included), jobs made
 * from a dictionary of keys and values and then mutated, lines of 200 to
 * 4096 bytes, a line split over two writes, writes at nonzero offsets
 * (pwrite(2) on run, lseek(2) then write(2) on the seq_files, which
 * have no pwrite) and from a buffer that faults. Never allow= (warns cells would print
 * real splats), never a valid count above 50 (4 with a size above 64 KiB
 * or an order above 4), never a valid timeout_ms above 2000.
 *
 * Valid names come from the module's contexts, allocs and gfps files in DIR.
 *
 * Output: "# " lines: the seed, every write that ended in an errno not
 * allowed (20 per process at most; all of them with -v), the totals.
 * Exit: KSFT_PASS, or KSFT_FAIL when a write ended in an errno outside
 * the allowed set or short, a control file could not be opened, or a
 * process crashed. The writes are the same for the same seed and PROCS:
 * process i draws from its own generator, seeded from SEED and i.
 */
#define _GNU_SOURCE	/* memmem */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"

#define DEF_DIR		"/sys/kernel/debug/gfpctx"
#define MAX_LINE	4096
#define MAX_TOKENS	16
#define MAX_TOKEN	320
#define MAX_COUNT	50
#define MAX_COUNT_BIG	4	/* size above 64 KiB or order above 4 */
#define MAX_TIMEOUT_MS	2000
#define MAX_SHOWN	20	/* unexpected results printed per process */

enum result {
	RES_OK,
	RES_EINVAL,
	RES_EPERM,
	RES_EOPNOTSUPP,
	RES_ETIMEDOUT,
	RES_E2BIG,
	RES_ENOMEM,
	RES_EFAULT,
	RES_OTHER,
	NR_RESULTS,
};

static const char * const result_names[NR_RESULTS] = {
	"ok", "einval", "eperm", "eopnotsupp", "etimedout", "e2big", "enomem",
	"efault", "other",
};

/* What a process reports to the parent through the pipe. */
struct report {
	int proc;
	unsigned long long writes;	/* as counted by -n */
	unsigned long long syscalls;	/* write(2) and pwrite(2) calls */
	unsigned long long res[NR_RESULTS];
	unsigned long long bad;		/* errno not allowed, or short */
	unsigned long long open_failed;
};

static const int allowed_errnos[] = {
	EINVAL, EPERM, EOPNOTSUPP, ETIMEDOUT, E2BIG, EFAULT, ENOMEM, EBUSY,
	EINTR,
};

static const struct {
	int err;
	const char *name;
} errnames[] = {
	{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
	{ EIO, "EIO" }, { E2BIG, "E2BIG" }, { EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
	{ ENOSPC, "ENOSPC" }, { ESPIPE, "ESPIPE" }, { ERANGE, "ERANGE" },
	{ EOPNOTSUPP, "EOPNOTSUPP" }, { ETIMEDOUT, "ETIMEDOUT" },
	{ ECANCELED, "ECANCELED" },
};

/* The control files, in the order of a generator's choice. */
enum file_id { F_RUN, F_STATS, F_INJECT, F_AUDIT, NR_FILES };

static const char * const file_names[NR_FILES] = {
	"run", "stats", "inject", "audit",
};

static char file_paths[NR_FILES][PATH_MAX];
static int file_present[NR_FILES];
static int audit_on_allowed;

/* ----------------------------------------------------------- dictionary */

/*
 * The valid names are the module's own: the name= words of its contexts,
 * allocs and gfps files (load_names()), each table NULL-terminated.
 */
#define MAX_NAMES 64
#define NAMES_LEN 4096

struct names {
	const char *file;
	char text[NAMES_LEN];
	const char *name[MAX_NAMES + 1];
};

static struct names ctx_table = { .file = "contexts" };
static struct names alloc_table = { .file = "allocs" };
static struct names gfp_table = { .file = "gfps" };
static const char * const *ctx_names = ctx_table.name;
static const char * const *alloc_names = alloc_table.name;
static const char * const *gfp_names = gfp_table.name;

static const char * const bad_ctx_names[] = {
	"nowhere", "TASK", "task ", "tas", "taskk", "irq", "softirq",
	"hardirq", NULL
};

static const char * const bad_alloc_names[] = {
	"malloc", "KMALLOC", "kmalloc_node", "page", "vzalloc", NULL
};

static const char * const bad_gfp_names[] = {
	"gfp_kernel", "GFP_FOO", "GFP_NOIO", "GFP_KERNEL|__GFP_NOWARN", "0x400",
	"GFP_", NULL
};

static const char * const free_names[] = {
	"same", "process", "later", "SAME", "", NULL
};

static const char * const job_keys[] = {
	"context", "alloc", "gfp", "size", "order", "count", "free",
	"timeout_ms", "timing", "samples", "ratelimit", NULL
};

static const char * const bad_keys[] = {
	"", "bogus", "Context", "COUNT", "sizes", "ord", "timeout", "timeout_s",
	"context ", "=", "fail_next", "reset", NULL
};

/* Boundaries, overflows, other bases, signs, spaces, huge sizes. */
static const char * const numbers[] = {
	"0", "1", "-1", "4294967295", "4294967296", "18446744073709551615",
	"99999999999999999999", "0x40", "0X10", "0x0", "+64", "+1", "+0", "-0",
	"00000064", " 1", "1 ", "1e3", "64k", "4M", "2", "4", "10", "11", "50",
	"51", "64", "4096", "65536", "65537", "1048576", "4194304", "4194305",
	"16777216", "16777217", "2147483648", "100000", "100001", "1000000",
	"1000001", "60000", "60001", "2000", "9223372036854775807",
	"18446744073709551616", "340282366920938463463374607431768211456", NULL
};

static const char * const ok_sizes[] = {
	"1", "8", "63", "64", "100", "192", "4096", "8192", "65536", NULL
};

static const char * const ok_timeouts[] = {
	"1", "2", "10", "100", "2000", NULL
};

static const char * const inject_keys[] = {
	"fail_next", "fail_every", "off", "fail_always", "on", NULL
};

static const char * const audit_words[] = {
	"on", "off", "reset", "ON", "of", "resetx", "on off", NULL
};

/* -------------------------------------------------------------- random */

static unsigned long long rng_state;

/* splitmix64: small, good enough, and the same on every libc. */
static unsigned long long rnd(void)
{
	unsigned long long z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int below(unsigned int n)
{
	return n ? (unsigned int)(rnd() % n) : 0;
}

/* True with a probability of pct percent. */
static int chance(unsigned int pct)
{
	return below(100) < pct;
}

/* One entry of a NULL-terminated table. */
/*
 * Read DIR/t->file, one "name=<name> ..." line per entry, into t->name.
 * 0, or -1 (with a "# " line) when it cannot be read, is too long, or
 * names nothing.
 */
static int load_names(const char *dir, struct names *t)
{
	char path[PATH_MAX], *line, *save;
	unsigned int n = 0;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, t->file);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("# %s: %s\n", path, strerror(errno));
		return -1;
	}
	len = read(fd, t->text, sizeof(t->text) - 1);
	close(fd);
	if (len < 0 || len == sizeof(t->text) - 1) {
		printf("# %s: %s\n", path, len < 0 ? strerror(errno) : "too long");
		return -1;
	}
	t->text[len] = '\0';
	for (line = strtok_r(t->text, "\n", &save); line && n < MAX_NAMES;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "name=", 5))
			continue;
		line += 5;
		line[strcspn(line, " ")] = '\0';
		t->name[n++] = line;
	}
	t->name[n] = NULL;
	if (!n)
		printf("# %s: no name= lines\n", path);
	return n ? 0 : -1;
}

static const char *pick(const char * const *table)
{
	unsigned int n = 0;

	while (table[n])
		n++;
	return table[below(n)];
}

static char rand_byte(void)
{
	static const char special[] = { '\0', '\n', ' ', '\t', '=', '\xff',
					'\x80', '\x7f', '\x01', '\r' };

	if (chance(25))
		return special[below(sizeof(special))];
	return (char)below(256);
}

/* ------------------------------------------------------------- a line */

struct line {
	char tok[MAX_TOKENS][MAX_TOKEN];
	int ntok;
};

static void add_token(struct line *l, const char *key, const char *val)
{
	if (l->ntok >= MAX_TOKENS)
		return;
	if (key)
		snprintf(l->tok[l->ntok], MAX_TOKEN, "%s=%s", key, val);
	else
		snprintf(l->tok[l->ntok], MAX_TOKEN, "%s", val);
	l->ntok++;
}

/* A job the module would take: valid names, sizes and bounded counts. */
static void valid_job(struct line *l)
{
	const char *alloc = pick(alloc_names);
	char num[16];

	l->ntok = 0;
	add_token(l, "context", pick(ctx_names));
	add_token(l, "alloc", alloc);
	add_token(l, "gfp", pick(gfp_names));
	if (!strcmp(alloc, "pages")) {
		if (chance(70)) {
			snprintf(num, sizeof(num), "%u", below(11));
			add_token(l, "order", num);
		}
	} else if (chance(70)) {
		add_token(l, "size", pick(ok_sizes));
	}
	if (chance(80)) {
		snprintf(num, sizeof(num), "%u", 1 + below(MAX_COUNT));
		add_token(l, "count", num);
	}
	if (chance(20))
		add_token(l, "free", chance(50) ? "same" : "process");
	if (chance(20))
		add_token(l, "timeout_ms", pick(ok_timeouts));
	if (chance(10))
		add_token(l, "timing", chance(50) ? "call" : "batch");
	if (chance(10))
		add_token(l, "samples", chance(80) ? "yes" : "no");
}

static const char *any_value(void)
{
	switch (below(6)) {
	case 0:
		return pick(ctx_names);
	case 1:
		return pick(bad_ctx_names);
	case 2:
		return chance(50) ? pick(alloc_names) : pick(bad_alloc_names);
	case 3:
		return chance(50) ? pick(gfp_names) : pick(bad_gfp_names);
	case 4:
		return pick(free_names);
	default:
		return pick(numbers);
	}
}

static void swap_tokens(struct line *l, int a, int b)
{
	char tmp[MAX_TOKEN];

	memcpy(tmp, l->tok[a], MAX_TOKEN);
	memcpy(l->tok[a], l->tok[b], MAX_TOKEN);
	memcpy(l->tok[b], tmp, MAX_TOKEN);
}

static void mutate(struct line *l)
{
	int i = l->ntok ? (int)below(l->ntok) : 0;
	char *t = l->tok[i];
	size_t len = strlen(t);
	char *eq;

	if (!l->ntok) {
		add_token(l, pick(job_keys), any_value());
		return;
	}
	switch (below(11)) {
	case 0:		/* another value, of any key */
		eq = strchr(t, '=');
		if (eq)
			snprintf(eq + 1, MAX_TOKEN - (eq + 1 - t), "%s",
				 any_value());
		break;
	case 1:		/* a number as the value */
		eq = strchr(t, '=');
		if (eq)
			snprintf(eq + 1, MAX_TOKEN - (eq + 1 - t), "%s",
				 pick(numbers));
		break;
	case 2:		/* drop a word */
		memmove(l->tok[i], l->tok[i + 1],
			(size_t)(l->ntok - i - 1) * MAX_TOKEN);
		l->ntok--;
		break;
	case 3:		/* repeat a word */
		if (l->ntok < MAX_TOKENS)
			memcpy(l->tok[l->ntok++], t, MAX_TOKEN);
		break;
	case 4:		/* another key */
		eq = strchr(t, '=');
		if (eq) {
			char val[MAX_TOKEN - 32];

			snprintf(val, sizeof(val), "%s", eq + 1);
			snprintf(t, MAX_TOKEN, "%s=%s",
				 chance(50) ? pick(job_keys) : pick(bad_keys),
				 val);
		}
		break;
	case 5:		/* a random byte in a word */
		if (len + 1 < MAX_TOKEN) {
			size_t at = below(len + 1);

			memmove(t + at + 1, t + at, len - at + 1);
			t[at] = rand_byte();
		}
		break;
	case 6:		/* a byte replaced */
		if (len)
			t[below(len)] = rand_byte();
		break;
	case 7:		/* a word cut short */
		t[below(len + 1)] = '\0';
		break;
	case 8:		/* a new word */
		add_token(l, chance(80) ? pick(job_keys) : pick(bad_keys),
			  any_value());
		break;
	case 9:		/* words in another order */
		swap_tokens(l, i, below(l->ntok));
		break;
	default:	/* a word without value, or a value without key */
		eq = strchr(t, '=');
		if (eq && chance(50))
			*eq = '\0';
		else if (eq)
			memmove(t, eq, strlen(eq) + 1);
		break;
	}
}

static void line_for_file(struct line *l, enum file_id f)
{
	char num[32];
	int i, n;

	l->ntok = 0;
	switch (f) {
	case F_RUN:
		if (chance(10)) {
			n = 1 + below(6);
			for (i = 0; i < n; i++)
				add_token(l, pick(job_keys), any_value());
		} else {
			valid_job(l);
		}
		break;
	case F_STATS:
		add_token(l, NULL, chance(70) ? "reset" : pick(audit_words));
		break;
	case F_INJECT:
		n = 1 + below(2);
		for (i = 0; i < n; i++) {
			const char *k = pick(inject_keys);

			if (!strcmp(k, "off") || !strcmp(k, "on")) {
				add_token(l, NULL, k);
			} else if (chance(50)) {
				/* small, so that most jobs still succeed */
				snprintf(num, sizeof(num), "%u", below(20));
				add_token(l, k, num);
			} else {
				add_token(l, k, pick(numbers));
			}
		}
		break;
	default:
		add_token(l, NULL, pick(audit_words));
		break;
	}
	/* Most lines stay valid; the others get one to three changes. */
	if (chance(55)) {
		n = 1 + below(3);
		for (i = 0; i < n; i++)
			mutate(l);
	}
}

/* Join the words with separators and an ending; returns the length. */
static size_t join(const struct line *l, char *buf, size_t max)
{
	static const char * const seps[] = { " ", " ", " ", " ", "\t", "  ",
					     "\n", " \t ", NULL };
	static const char * const ends[] = { "\n", "\n", "\n", "", "", "\n\n",
					      "\x20\n", "\t\n", NULL };
	size_t n = 0;
	int i;

	if (chance(5))
		buf[n++] = chance(50) ? ' ' : '\t';
	for (i = 0; i < l->ntok; i++) {
		const char *sep = i ? pick(seps) : "";
		size_t sl = strlen(sep), tl = strlen(l->tok[i]);

		if (n + sl + tl + 2 >= max)
			break;
		memcpy(buf + n, sep, sl);
		n += sl;
		memcpy(buf + n, l->tok[i], tl);
		n += tl;
	}
	if (!chance(5)) {
		const char *end = pick(ends);
		size_t el = strlen(end);

		if (n + el < max) {
			memcpy(buf + n, end, el);
			n += el;
		}
	}
	return n;
}

/* Grow a line to @want bytes with blanks, junk or zeros in a count. */
static size_t pad_line(char *buf, size_t n, size_t want)
{
	size_t at, extra;
	char *nl;

	if (want <= n)
		return n;
	extra = want - n;
	nl = memchr(buf, '\n', n);
	at = nl ? (size_t)(nl - buf) : n;
	memmove(buf + at + extra, buf + at, n - at);
	switch (below(3)) {
	case 0:
		memset(buf + at, ' ', extra);
		break;
	case 1:
		buf[at] = ' ';
		memset(buf + at + 1, 'x', extra - 1);
		break;
	default:
		/* " count=0000...N" is count=N */
		if (extra < 9) {
			memset(buf + at, ' ', extra);
			break;
		}
		memcpy(buf + at, " count=", 7);
		memset(buf + at + 7, '0', extra - 8);
		buf[at + extra - 1] = (char)('1' + below(5));
		break;
	}
	return want;
}

/* --------------------------------------------------- keeping cost down */

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\0';
}

/* kstrtouint(s, 10): an optional '+', digits, nothing after, <= UINT_MAX. */
static int parse_uint(const char *s, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i = 0;

	if (len && s[0] == '+')
		i++;
	if (i == len)
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(s[i] - '0');
		if (v > UINT_MAX)
			return -1;
	}
	*out = v;
	return 0;
}

static void *find(const char *buf, size_t len, const char *what)
{
	return memmem(buf, len, what, strlen(what));
}

/* Each value of @key in @buf that parses and exceeds @max becomes 0..0N. */
static void cap_values(char *buf, size_t len, const char *key,
		       unsigned long long max, char digit)
{
	size_t kl = strlen(key), at = 0;
	char *p;

	while (at < len && (p = find(buf + at, len - at, key))) {
		char *v = p + kl, *end = v;
		unsigned long long n;

		while (end < buf + len && !is_sep(*end))
			end++;
		if (!parse_uint(v, (size_t)(end - v), &n) && n > max) {
			memset(v, '0', (size_t)(end - v));
			end[-1] = digit;
		}
		at = (size_t)(end - buf);
	}
}

/* The largest valid value of @key in @buf, or 0. */
static unsigned long long max_value(const char *buf, size_t len,
				    const char *key)
{
	size_t kl = strlen(key), at = 0;
	unsigned long long n, max = 0;
	const char *p;

	while (at < len && (p = find(buf + at, len - at, key))) {
		const char *v = p + kl, *end = v;

		while (end < buf + len && !is_sep(*end))
			end++;
		if (!parse_uint(v, (size_t)(end - v), &n) && n > max)
			max = n;
		at = (size_t)(end - buf);
	}
	return max;
}

/*
 * What one write(2) takes is made safe here, after every mutation and
 * split: no allow= (the word is spoiled), no costly count or timeout_ms.
 * Keys are looked for anywhere, not only at a word's start, so that no
 * split can make one appear.
 */
static void make_safe(char *buf, size_t len)
{
	unsigned long long max = MAX_COUNT;
	char *p;

	while ((p = find(buf, len, "allow")))
		p[0] = 'A';
	if (max_value(buf, len, "size=") > 65536 ||
	    max_value(buf, len, "order=") > 4)
		max = MAX_COUNT_BIG;
	cap_values(buf, len, "count=", max, '1');
	cap_values(buf, len, "timeout_ms=", MAX_TIMEOUT_MS, '9');
}

/* The kernel's isspace(): Latin-1, so 0xa0 too. */
static int kspace(char c)
{
	return isspace((unsigned char)c) || (unsigned char)c == 0xa0;
}

/* Audit would take @buf as "on" (strim(), then the word): spoil it. */
static void spoil_audit_on(char *buf, size_t len)
{
	size_t b = 0, e = len;

	if (audit_on_allowed)
		return;
	while (b < e && kspace(buf[b]))
		b++;
	while (e > b && kspace(buf[e - 1]))
		e--;
	if (e - b == 2 && !memcmp(buf + b, "on", 2))
		buf[b] = 'O';
}

/* ------------------------------------------------------------- writing */

struct proc {
	struct report rep;
	int shown;
	int verbose;
	char *fault_page;	/* PROT_NONE, after a writable page */
};

static const char *errno_name(int err)
{
	static char other[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errnames); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	snprintf(other, sizeof(other), "E%d", err);
	return other;
}

static int errno_allowed(int err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(allowed_errnos); i++)
		if (allowed_errnos[i] == err)
			return 1;
	return 0;
}

static enum result classify(int err)
{
	switch (err) {
	case 0:
		return RES_OK;
	case EINVAL:
		return RES_EINVAL;
	case EPERM:
		return RES_EPERM;
	case EOPNOTSUPP:
		return RES_EOPNOTSUPP;
	case ETIMEDOUT:
		return RES_ETIMEDOUT;
	case E2BIG:
		return RES_E2BIG;
	case ENOMEM:
		return RES_ENOMEM;
	case EFAULT:
		return RES_EFAULT;
	default:
		return RES_OTHER;
	}
}

/*
 * One output line, built whole and written with one write(2), so that the
 * lines of the processes do not mix.
 */
static char out_line[4 * MAX_LINE + 256];
static size_t out_len;

static void out(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out_line + out_len, sizeof(out_line) - out_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		out_len += (size_t)n;
	if (out_len >= sizeof(out_line))
		out_len = sizeof(out_line) - 1;
}

static void out_flush(void)
{
	fflush(stdout);
	if (write(STDOUT_FILENO, out_line, out_len) < 0)
		out_len = 0;
	out_len = 0;
}

/* The bytes as gfpctx_write takes them, quote-safe for a shell. */
static void out_escaped(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\\')
			out("\\\\");
		else if (c == '\n')
			out("\\n");
		else if (c == '\t')
			out("\\t");
		else if (c < 0x20 || c >= 0x7f || c == '\'')
			out("\\x%02x", c);
		else
			out("%c", c);
	}
}

/* Account for one write(2) and print it if asked or unexpected. */
static void account(struct proc *p, unsigned long long op, enum file_id f,
		    const char *what, const char *buf, size_t len,
		    ssize_t ret, int err)
{
	int bad = 0;

	p->rep.syscalls++;
	if (ret < 0) {
		p->rep.res[classify(err)]++;
		bad = !errno_allowed(err);
	} else {
		p->rep.res[RES_OK]++;
		bad = (size_t)ret != len;
	}
	p->rep.bad += bad;
	if (!p->verbose && !(bad && p->shown < MAX_SHOWN))
		return;
	if (bad)
		p->shown++;
	out("# %s%d.%llu %s %s ", bad ? "UNEXPECTED " : "", p->rep.proc, op,
	    file_names[f], what);
	if (buf) {
		out("'");
		out_escaped(buf, len);
		out("'");
	} else {
		out("(%zu bytes)", len);
	}
	if (ret < 0)
		out(" -> %s\n", errno_name(err));
	else if ((size_t)ret != len)
		out(" -> SHORT:%zd\n", ret);
	else
		out(" -> OK\n");
	out_flush();
}

static ssize_t do_write(int fd, const char *buf, size_t len, long long off,
			int *err)
{
	ssize_t ret;

	errno = 0;
	if (off >= 0)
		ret = pwrite(fd, buf, len, (off_t)off);
	else
		ret = write(fd, buf, len);
	*err = errno;
	return ret;
}

static enum file_id pick_file(void)
{
	enum file_id f;

	do {
		f = (enum file_id)below(NR_FILES);
	} while (!file_present[f]);
	return f;
}

static size_t random_bytes(char *buf, size_t max)
{
	size_t n = chance(80) ? below(300) : below((unsigned int)max), i;

	for (i = 0; i < n; i++)
		buf[i] = rand_byte();
	return n;
}

/* One write (two, when split) of a kind drawn at random. */
static void fuzz_one(struct proc *p, unsigned long long op)
{
	static char buf[MAX_LINE + MAX_TOKEN];
	static struct line l;
	static const long long offsets[] = {
		1, 2, 64, 255, 256, 4096, 1LL << 31, LLONG_MAX - 8,
	};
	char what[48] = "";
	enum file_id f;
	unsigned int kind = below(100);
	long long off = -1;
	size_t len, split = 0;
	ssize_t ret;
	int fd, err;

	/* Mostly jobs; the other files get a share each. */
	f = chance(60) ? F_RUN : pick_file();

	if (kind < 8) {
		len = random_bytes(buf, MAX_LINE);
	} else {
		line_for_file(&l, f);
		len = join(&l, buf, MAX_LINE);
		/* lines of 200 to 4096 bytes */
		if (kind < 16)
			len = pad_line(buf, len,
				       200 + below(MAX_LINE - 200 + 1));
	}
	/* the whole line safe first: no allow= even across a split */
	make_safe(buf, len);

	fd = open(file_paths[f], O_WRONLY);
	if (fd < 0) {
		p->rep.open_failed++;
		p->rep.bad++;
		out("# UNEXPECTED %d.%llu open %s -> %s\n", p->rep.proc, op,
		    file_paths[f], errno_name(errno));
		out_flush();
		return;
	}

	if (kind >= 16 && kind < 26) {
		/* one line in two writes on the same open file */
		split = below((unsigned int)len + 1);
		snprintf(what, sizeof(what), "-s %zu", split);
		make_safe(buf, split);
		make_safe(buf + split, len - split);
		if (f == F_AUDIT) {
			spoil_audit_on(buf, split);
			spoil_audit_on(buf + split, len - split);
		}
		ret = do_write(fd, buf, split, -1, &err);
		account(p, op, f, what, buf, split, ret, err);
		ret = do_write(fd, buf + split, len - split, -1, &err);
		account(p, op, f, what, buf + split, len - split, ret, err);
	} else if (kind >= 26 && kind < 32) {
		/* from a buffer that faults: whole, or after some bytes */
		const char *src = p->fault_page;
		size_t good = 0;

		if (chance(50) && len) {
			good = len > 255 ? 255 : len;
			memcpy(p->fault_page - good, buf, good);
			make_safe(p->fault_page - good, good);
			src = p->fault_page - good;
			len = good + 1 + below(16);
		}
		snprintf(what, sizeof(what), "(faulting after %zu bytes)",
			 good);
		ret = do_write(fd, src, len, -1, &err);
		account(p, op, f, what, NULL, len, ret, err);
	} else {
		make_safe(buf, len);
		if (f == F_AUDIT)
			spoil_audit_on(buf, len);
		if (kind >= 32 && kind < 40) {
			off = offsets[below(ARRAY_SIZE(offsets))];
			snprintf(what, sizeof(what), "-o %lld", off);
		}
		/*
		 * A seq_file (stats, inject, audit) has no pwrite(2): the VFS
		 * says ESPIPE before the module sees it. Seek there instead,
		 * so that the write reaches the module at that offset.
		 */
		if (off >= 0 && f != F_RUN) {
			snprintf(what, sizeof(what), "(lseek %lld)", off);
			errno = 0;
			if (lseek(fd, (off_t)off, SEEK_SET) < 0) {
				account(p, op, f, "(lseek failed)", buf, len,
					-1, errno);
				close(fd);
				return;
			}
			off = -1;
		}
		ret = do_write(fd, buf, len, off, &err);
		account(p, op, f, what, buf, len, ret, err);
	}
	close(fd);
}

static int fuzz_proc(int idx, unsigned long long seed, unsigned long long n,
		     int verbose, int out)
{
	struct proc p = { .verbose = verbose };
	unsigned long long op;
	long page = sysconf(_SC_PAGESIZE);
	char *map;

	rng_state = seed ^ (idx + 1ULL) * 0xd1b54a32d192ed03ULL;
	p.rep.proc = idx;
	map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map + page, (size_t)page, PROT_NONE))
		return KSFT_FAIL;
	p.fault_page = map + page;

	for (op = 0; op < n; op++) {
		fuzz_one(&p, op);
		p.rep.writes++;
	}
	if (write(out, &p.rep, sizeof(p.rep)) != sizeof(p.rep))
		return KSFT_FAIL;
	return KSFT_PASS;
}

static void bad_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-s SEED] [-n WRITES] [-p PROCS] [-d DIR] [-a] [-v]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long seed = 0, writes = 1000;
	const char *dir = DEF_DIR;
	struct report rep, sum = { 0 };
	int procs = 1, verbose = 0, opt, fds[2], i, nrep = 0, failed = 0;
	int have_seed = 0;
	ssize_t r;

	while ((opt = getopt(argc, argv, "s:n:p:d:av")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			have_seed = 1;
			break;
		case 'n':
			writes = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			procs = atoi(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'a':
			audit_on_allowed = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			bad_usage(argv[0]);
		}
	}
	if (optind != argc || procs < 1 || procs > 64)
		bad_usage(argv[0]);
	if (!have_seed)
		seed = (unsigned long long)time(NULL) * 65536 + getpid();

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# seed=%llu\n", seed);
	for (i = 0; i < NR_FILES; i++) {
		snprintf(file_paths[i], sizeof(file_paths[i]), "%s/%s", dir,
			 file_names[i]);
		file_present[i] = !access(file_paths[i], F_OK);
	}
	if (!file_present[F_RUN] || !file_present[F_STATS] ||
	    !file_present[F_INJECT]) {
		printf("# no %s/run, stats or inject\n", dir);
		return KSFT_FAIL;
	}
	if (load_names(dir, &ctx_table) || load_names(dir, &alloc_table) ||
	    load_names(dir, &gfp_table))
		return KSFT_FAIL;
	printf("# gfpctx_fuzz: %llu writes from %d processes to %s/{run,stats,inject%s}\n",
	       writes, procs, dir, file_present[F_AUDIT] ? ",audit" : "");
	if (pipe(fds))
		return KSFT_FAIL;

	for (i = 0; i < procs; i++) {
		unsigned long long n = writes / procs;
		pid_t pid;

		if ((unsigned long long)i < writes % procs)
			n++;
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			printf("# fork: %s\n", strerror(errno));
			failed = 1;
			break;
		}
		if (!pid) {
			close(fds[0]);
			_exit(fuzz_proc(i, seed, n, verbose, fds[1]));
		}
	}
	close(fds[1]);

	while ((r = read(fds[0], &rep, sizeof(rep))) == sizeof(rep)) {
		sum.writes += rep.writes;
		sum.syscalls += rep.syscalls;
		for (i = 0; i < NR_RESULTS; i++)
			sum.res[i] += rep.res[i];
		sum.bad += rep.bad;
		sum.open_failed += rep.open_failed;
		nrep++;
	}

	for (;;) {
		int status;
		pid_t pid = wait(&status);

		if (pid < 0)
			break;
		if (WIFSIGNALED(status)) {
			printf("# process %d killed by signal %d\n", pid,
			       WTERMSIG(status));
			failed = 1;
		} else if (WEXITSTATUS(status) != KSFT_PASS) {
			printf("# process %d exited with %d\n", pid,
			       WEXITSTATUS(status));
			failed = 1;
		}
	}
	if (nrep != procs)
		failed = 1;

	printf("# seed=%llu procs=%d reports=%d writes=%llu syscalls=%llu",
	       seed, procs, nrep, sum.writes, sum.syscalls);
	for (i = 0; i < NR_RESULTS; i++)
		printf(" %s=%llu", result_names[i], sum.res[i]);
	printf(" bad=%llu open_failed=%llu\n", sum.bad, sum.open_failed);

	if (failed || sum.bad || sum.writes != writes)
		return KSFT_FAIL;
	return KSFT_PASS;
}
