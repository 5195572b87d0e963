// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx_hog - take most of the machine's memory and keep it, so that the
 * gfpctx scripts can run allocation jobs under memory pressure.
 *
 * Usage: gfpctx_hog [-p PERCENT] [-m MIB] [-t SECONDS]
 *
 *   -p PERCENT  leave MemAvailable at PERCENT of MemTotal (default 3)
 *   -m MIB      but at least MIB MiB (default 24)
 *   -t SECONDS  give up growing after SECONDS (default 300)
 *
 * The hog first sets its own oom_score_adj to 1000, so that the OOM killer
 * picks it before anything else. Then it maps and touches anonymous memory,
 * in chunks that shrink as MemAvailable (/proc/meminfo) nears the target,
 * until MemAvailable is at or below the target, an mmap fails, or time is
 * up. It prints one line,
 *
 *   ready held_kb=N mem_total_kb=N mem_available_kb=N target_kb=N
 *
 * ("ready" becomes "short" when it stopped above the target), flushes it,
 * and sleeps until it is killed.
 * Exit: 1 on a usage error or when /proc/meminfo or oom_score_adj cannot
 * be used (printed as "error: ...").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"

#define MIB		(1024L * 1024L)
#define MAX_CHUNK	(64 * MIB)
#define MIN_CHUNK	(1 * MIB)

/* A field of /proc/meminfo, in kB; -1 if it cannot be read. */
static long meminfo_kb(const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	long val = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			val = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

static int set_oom_score_adj(void)
{
	FILE *f = fopen("/proc/self/oom_score_adj", "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs("1000\n", f) < 0;
	ret |= fclose(f) != 0;
	return ret ? -1 : 0;
}

/* Map and touch @len bytes; 0 on success. */
static int grab(size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p;
	size_t i;

	/*
	 * MAP_POPULATE faults the pages in from the kernel, as writes for a
	 * writable private mapping (populate_vma_page_range(), mm/gup.c):
	 * real pages of their own, without one trap per page, which under
	 * TCG costs more than the page.
	 */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	/* Each page written once more: still resident, never the zero page. */
	for (i = 0; i < len; i += page)
		p[i] = 1;
	return 0;
}

static void bad_usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-p PERCENT] [-m MIB] [-t SECONDS]\n",
		prog);
	exit(KSFT_FAIL);
}

int main(int argc, char **argv)
{
	long percent = 3, floor_mib = 24, seconds = 300;
	long total, avail, target, held = 0;
	time_t deadline;
	int opt;

	while ((opt = getopt(argc, argv, "p:m:t:")) != -1) {
		switch (opt) {
		case 'p':
			percent = atol(optarg);
			break;
		case 'm':
			floor_mib = atol(optarg);
			break;
		case 't':
			seconds = atol(optarg);
			break;
		default:
			bad_usage(argv[0]);
		}
	}
	if (optind != argc || percent < 0 || percent > 100 || floor_mib < 0 ||
	    seconds < 1)
		bad_usage(argv[0]);

	if (set_oom_score_adj()) {
		printf("error: cannot set oom_score_adj: %s\n", strerror(errno));
		return KSFT_FAIL;
	}
	total = meminfo_kb("MemTotal");
	if (total <= 0 || meminfo_kb("MemAvailable") < 0) {
		printf("error: no MemTotal or MemAvailable in /proc/meminfo\n");
		return KSFT_FAIL;
	}
	target = total / 100 * percent;
	if (target < floor_mib * 1024)
		target = floor_mib * 1024;

	deadline = time(NULL) + seconds;
	for (;;) {
		long chunk;

		avail = meminfo_kb("MemAvailable");
		if (avail <= target || time(NULL) >= deadline)
			break;
		/* Half the way to the target, in whole MiB, 1 to 64 MiB. */
		chunk = (avail - target) / 2 * 1024;
		chunk &= ~(MIB - 1);
		if (chunk > MAX_CHUNK)
			chunk = MAX_CHUNK;
		if (chunk < MIN_CHUNK)
			chunk = MIN_CHUNK;
		if (grab(chunk))
			break;
		held += chunk / 1024;
	}
	printf("%s held_kb=%ld mem_total_kb=%ld mem_available_kb=%ld target_kb=%ld\n",
	       avail <= target ? "ready" : "short", held, total, avail, target);
	fflush(stdout);

	for (;;)
		pause();
	return KSFT_PASS;
}
