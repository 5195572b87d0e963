// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: per-attempt timing samples of a job (samples=yes), and the
 * summary of the last job that ended, read from the `last` file: the
 * median and 99th percentile of its allocations and frees, and the time
 * its batches took in their context (for the cost of timing each call).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched/clock.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "gfpctx.h"

struct gfpctx_last {
	const char *ctx, *alloc, *gfp;
	size_t size;
	bool time_calls;
	int ret;
	const char *why;
	u64 attempts, ok, failed, batch_ns;
	unsigned int nalloc, nfree;
	u32 ns_p50, ns_p99, free_ns_p50, free_ns_p99;
	u64 reports[GFPCTX_NR_REPORTS];
};

static struct gfpctx_last gfpctx_last;
static DEFINE_MUTEX(gfpctx_last_lock);

/* What two back to back local_clock() reads cost here, in ns. */
static u64 gfpctx_clock_cost;

/*
 * Measured once at load: the least of a few back to back pairs, with
 * preemption off. Every timed call includes one such pair's cost, and it
 * is subtracted from each figure (never below 0); `kernel` shows it.
 */
void gfpctx_clock_calibrate(void)
{
	u64 least = U64_MAX, t0, t1;
	unsigned int i;

	preempt_disable();
	for (i = 0; i < 64; i++) {
		t0 = local_clock();
		t1 = local_clock();
		least = min(least, t1 - t0);
	}
	preempt_enable();
	gfpctx_clock_cost = least;
}

u64 gfpctx_clock_ns(void)
{
	return gfpctx_clock_cost;
}

static u64 gfpctx_less_clock(u64 ns)
{
	return ns > gfpctx_clock_cost ? ns - gfpctx_clock_cost : 0;
}

int gfpctx_samples_init(struct gfpctx_job *job)
{
	if (!job->keep_samples)
		return 0;
	job->alloc_ns = kvmalloc_array(job->count, sizeof(u32), GFP_KERNEL);
	job->free_ns = kvmalloc_array(job->count, sizeof(u32), GFP_KERNEL);
	if (!job->alloc_ns || !job->free_ns) {
		gfpctx_samples_exit(job);
		return -ENOMEM;
	}
	return 0;
}

void gfpctx_samples_exit(struct gfpctx_job *job)
{
	kvfree(job->alloc_ns);
	kvfree(job->free_ns);
	job->alloc_ns = NULL;
	job->free_ns = NULL;
}

void gfpctx_sample_alloc(struct gfpctx_job *job, u64 ns)
{
	ns = gfpctx_less_clock(ns);
	gfpctx_tally_alloc_ns(&job->tally, ns);
	if (job->alloc_ns && job->nalloc_ns < job->count)
		job->alloc_ns[job->nalloc_ns++] = min_t(u64, ns, U32_MAX);
}

void gfpctx_sample_free(struct gfpctx_job *job, u64 ns)
{
	ns = gfpctx_less_clock(ns);
	gfpctx_tally_free_ns(&job->tally, ns);
	if (job->free_ns && job->nfree_ns < job->count)
		job->free_ns[job->nfree_ns++] = min_t(u64, ns, U32_MAX);
}

static int gfpctx_u32_cmp(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile @pct of @n samples, which it sorts. */
static u32 gfpctx_percentile(u32 *samples, unsigned int n, unsigned int pct)
{
	if (!n)
		return 0;
	return samples[DIV_ROUND_UP(n * pct, 100) - 1];
}

static void gfpctx_sort(u32 *samples, unsigned int n)
{
	if (n)
		sort(samples, n, sizeof(*samples), gfpctx_u32_cmp, NULL);
}

/*
 * Called in process context once the job's context is stopped, or once
 * gfpctx_job_admit() refused it (no attempt then: its counters are zero).
 */
void gfpctx_last_record(struct gfpctx_job *job, int ret)
{
	struct gfpctx_last last = {
		.ctx = job->ctx->name,
		.alloc = job->alloc->name,
		.gfp = job->gfp->name,
		.size = job->size,
		.time_calls = job->time_calls,
		.ret = ret,
		.why = job->why,
		.attempts = job->tally.attempts,
		.ok = job->tally.ok,
		.failed = job->tally.failed,
		.batch_ns = job->batch_ns,
		.nalloc = job->nalloc_ns,
		.nfree = job->nfree_ns,
	};

	memcpy(last.reports, job->tally.reports, sizeof(last.reports));
	gfpctx_sort(job->alloc_ns, job->nalloc_ns);
	gfpctx_sort(job->free_ns, job->nfree_ns);
	last.ns_p50 = gfpctx_percentile(job->alloc_ns, job->nalloc_ns, 50);
	last.ns_p99 = gfpctx_percentile(job->alloc_ns, job->nalloc_ns, 99);
	last.free_ns_p50 = gfpctx_percentile(job->free_ns, job->nfree_ns, 50);
	last.free_ns_p99 = gfpctx_percentile(job->free_ns, job->nfree_ns, 99);

	mutex_lock(&gfpctx_last_lock);
	gfpctx_last = last;
	mutex_unlock(&gfpctx_last_lock);
}

int gfpctx_last_show(struct seq_file *m, void *unused)
{
	struct gfpctx_last last;

	mutex_lock(&gfpctx_last_lock);
	last = gfpctx_last;
	mutex_unlock(&gfpctx_last_lock);
	if (!last.ctx)
		return 0;
	seq_printf(m, "context=%s alloc=%s gfp=%s size=%zu timing=%s ret=%d attempts=%llu ok=%llu failed=%llu batch_ns=%llu",
		   last.ctx, last.alloc, last.gfp, last.size,
		   last.time_calls ? "call" : "batch", last.ret, last.attempts,
		   last.ok, last.failed, last.batch_ns);
	seq_printf(m, " samples=%u ns_p50=%u ns_p99=%u free_samples=%u free_ns_p50=%u free_ns_p99=%u",
		   last.nalloc, last.ns_p50, last.ns_p99, last.nfree,
		   last.free_ns_p50, last.free_ns_p99);
	gfpctx_reports_show(m, last.reports);
	seq_printf(m, " why=%s\n", last.why ?: "none");
	return 0;
}
