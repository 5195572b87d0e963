// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: one job — parse the words written to `run`, then drive batches
 * of allocations in the job's context until count attempts were made.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/ratelimit.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/vmstat.h>

#include "gfpctx.h"

/* Words of a job; every key at most once. */
enum gfpctx_key {
	GFPCTX_KEY_CONTEXT,
	GFPCTX_KEY_ALLOC,
	GFPCTX_KEY_GFP,
	GFPCTX_KEY_COUNT,
	GFPCTX_KEY_SIZE,
	GFPCTX_KEY_ORDER,
	GFPCTX_KEY_FREE,
	GFPCTX_KEY_ALLOW,
	GFPCTX_KEY_RATELIMIT,
	GFPCTX_KEY_TIMEOUT_MS,
	GFPCTX_KEY_TIMING,
	GFPCTX_KEY_SAMPLES,
	GFPCTX_NR_KEYS,
};

static const char * const gfpctx_keys[GFPCTX_NR_KEYS] = {
	[GFPCTX_KEY_CONTEXT] = "context",
	[GFPCTX_KEY_ALLOC] = "alloc",
	[GFPCTX_KEY_GFP] = "gfp",
	[GFPCTX_KEY_COUNT] = "count",
	[GFPCTX_KEY_SIZE] = "size",
	[GFPCTX_KEY_ORDER] = "order",
	[GFPCTX_KEY_FREE] = "free",
	[GFPCTX_KEY_ALLOW] = "allow",
	[GFPCTX_KEY_RATELIMIT] = "ratelimit",
	[GFPCTX_KEY_TIMEOUT_MS] = "timeout_ms",
	[GFPCTX_KEY_TIMING] = "timing",
	[GFPCTX_KEY_SAMPLES] = "samples",
};

/* Look a name up in a table whose entries start with their name. */
static const void *gfpctx_find(const void *table, size_t nr, size_t stride,
			       const char *name)
{
	size_t i;

	for (i = 0; i < nr; i++, table += stride)
		if (!strcmp(*(const char * const *)table, name))
			return table;
	return NULL;
}

static_assert(offsetof(struct gfpctx_context, name) == 0);
static_assert(offsetof(struct gfpctx_alloc, name) == 0);
static_assert(offsetof(struct gfpctx_gfp, name) == 0);

static int gfpctx_parse_uint(const char *s, unsigned int min,
			     unsigned int max, unsigned int *out)
{
	unsigned int v;

	if (kstrtouint(s, 10, &v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The job's size in bytes and whether it fits its cell's limits. */
static int gfpctx_job_check_size(struct gfpctx_job *job, const char *size,
				 const char *order)
{
	const struct gfpctx_alloc *alloc = job->alloc;
	unsigned int max = gfpctx_cell_max(alloc, job->gfp);
	unsigned int v;
	u64 each, held;

	if (alloc->flags & GFPCTX_ALLOC_ORDER) {
		if (size)
			return -EINVAL;
		job->order = 0;
		if (order && gfpctx_parse_uint(order, 0, max,
					       &job->order))
			return -EINVAL;
		job->size = PAGE_SIZE << job->order;
	} else {
		if (order)
			return -EINVAL;
		job->size = 64;
		if (size) {
			if (gfpctx_parse_uint(size, 1, max, &v))
				return -EINVAL;
			job->size = v;
		}
	}
	/* What the kernel holds at most: the objects and any reserve. */
	each = gfpctx_alloc_footprint(alloc, job->size);
	held = each * ((job->free_process ? job->count : 1) + alloc->reserve);
	if (held > GFPCTX_MAX_HELD_BYTES)
		return -EINVAL;
	return 0;
}

static int gfpctx_job_set_free(struct gfpctx_job *job, const char *v)
{
	if (!v || !strcmp(v, "same"))
		job->free_process = false;
	else if (!strcmp(v, "process"))
		job->free_process = true;
	else
		return -EINVAL;
	return 0;
}

/*
 * ratelimit=wait (default) or ignore, with allow=warns only: whether a
 * provoked job first waits for __might_resched()'s one report a second.
 */
static int gfpctx_job_set_ratelimit(struct gfpctx_job *job, const char *v)
{
	job->ratelimit_wait = true;
	if (!v || !strcmp(v, "wait"))
		return 0;
	if (!job->allow_warns || strcmp(v, "ignore"))
		return -EINVAL;
	job->ratelimit_wait = false;
	return 0;
}

/* timing=call (default) or batch; samples=yes needs timing=call. */
static int gfpctx_job_set_timing(struct gfpctx_job *job, const char *timing,
				 const char *samples)
{
	if (!timing || !strcmp(timing, "call"))
		job->time_calls = true;
	else if (!strcmp(timing, "batch"))
		job->time_calls = false;
	else
		return -EINVAL;
	if (samples && (strcmp(samples, "yes") || !job->time_calls))
		return -EINVAL;
	job->keep_samples = samples;
	return 0;
}

/*
 * Fill @job from "key=value" words. Any unknown, repeated, missing or
 * malformed word is -EINVAL; the caller changes nothing then.
 */
int gfpctx_job_parse(struct gfpctx_job *job, char *words)
{
	const char *val[GFPCTX_NR_KEYS] = {};
	char *word;
	int k;

	while ((word = strsep(&words, " \t\n"))) {
		char *eq;

		if (!*word)
			continue;
		eq = strchr(word, '=');
		if (!eq || eq == word || !eq[1])
			return -EINVAL;
		*eq = '\0';
		k = match_string(gfpctx_keys, GFPCTX_NR_KEYS, word);
		if (k < 0 || val[k])
			return -EINVAL;
		val[k] = eq + 1;
	}

	if (!val[GFPCTX_KEY_CONTEXT] || !val[GFPCTX_KEY_ALLOC] ||
	    !val[GFPCTX_KEY_GFP])
		return -EINVAL;
	job->ctx = gfpctx_find(gfpctx_contexts, gfpctx_nr_contexts,
			       sizeof(gfpctx_contexts[0]),
			       val[GFPCTX_KEY_CONTEXT]);
	job->alloc = gfpctx_find(gfpctx_allocs, gfpctx_nr_allocs,
				 sizeof(gfpctx_allocs[0]), val[GFPCTX_KEY_ALLOC]);
	job->gfp = gfpctx_find(gfpctx_gfps, gfpctx_nr_gfps,
			       sizeof(gfpctx_gfps[0]), val[GFPCTX_KEY_GFP]);
	if (!job->ctx || !job->alloc || !job->gfp ||
	    !gfpctx_cell_exists(job->alloc, job->gfp))
		return -EINVAL;

	job->count = 1;
	if (val[GFPCTX_KEY_COUNT] &&
	    gfpctx_parse_uint(val[GFPCTX_KEY_COUNT], 1, GFPCTX_MAX_COUNT,
			      &job->count))
		return -EINVAL;
	job->timeout_ms = GFPCTX_DEF_TIMEOUT_MS;
	if (val[GFPCTX_KEY_TIMEOUT_MS] &&
	    gfpctx_parse_uint(val[GFPCTX_KEY_TIMEOUT_MS], 1,
			      GFPCTX_MAX_TIMEOUT_MS, &job->timeout_ms))
		return -EINVAL;
	if (val[GFPCTX_KEY_ALLOW] && strcmp(val[GFPCTX_KEY_ALLOW], "warns"))
		return -EINVAL;
	job->allow_warns = val[GFPCTX_KEY_ALLOW];
	if (gfpctx_job_set_ratelimit(job, val[GFPCTX_KEY_RATELIMIT]))
		return -EINVAL;
	if (gfpctx_job_set_free(job, val[GFPCTX_KEY_FREE]) ||
	    gfpctx_job_set_timing(job, val[GFPCTX_KEY_TIMING],
				  val[GFPCTX_KEY_SAMPLES]))
		return -EINVAL;
	return gfpctx_job_check_size(job, val[GFPCTX_KEY_SIZE],
				     val[GFPCTX_KEY_ORDER]);
}

/*
 * Why a provoked `warns` job could leave the allocator's fast path, where
 * a blocking gfp in a context that must not sleep only makes might_alloc()
 * report, and really sleep: NULL when it cannot.
 * - Order 0, or at most a page: __alloc_pages_noprof() serves an order-0
 *   request from get_page_from_freelist() while the zones are above their
 *   low watermark, and enters __alloc_pages_slowpath() (reclaim,
 *   compaction, the OOM throttle) only when that fails (mm/page_alloc.c).
 *   kvmalloc() of at most a page never falls back to vmalloc
 *   (kvmalloc_node_noprof(), mm/util.c).
 * - Free memory above an eighth of RAM: far above the sum of the zones'
 *   high watermarks (min_free_kbytes plus watermark_scale_factor's 0.1 %
 *   of each zone, __setup_per_zone_wmarks()).
 * - Each object freed in the context (free=same) and at most
 *   GFPCTX_PROVOKE_MAX_COUNT attempts: the job holds one object at a time,
 *   and a mempool's first, non-blocking try or its reserve serves each
 *   call; mempool_alloc() waits in io_schedule_timeout() only once the
 *   reserve is empty (mempool_alloc_noprof(), mm/mempool.c).
 */
static const char *gfpctx_provoke_unsafe(const struct gfpctx_job *job)
{
	if (job->count > GFPCTX_PROVOKE_MAX_COUNT)
		return "provoke-too-many";
	if (job->size > PAGE_SIZE)	/* pages: PAGE_SIZE << order */
		return "provoke-too-large";
	if (job->free_process)
		return "provoke-free-process";
	if (global_zone_page_state(NR_FREE_PAGES) < totalram_pages() / 8)
		return "provoke-low-memory";
	return NULL;
}

/*
 * A mempool job with a blocking gfp that holds more objects than the pool
 * reserves would wait, uninterruptibly, for an element only it can give
 * back: mempool_alloc() never returns NULL when it may block.
 */
static bool gfpctx_pool_would_wait(const struct gfpctx_job *job)
{
	return job->alloc->reserve && job->free_process &&
	       job->count > job->alloc->reserve &&
	       gfpflags_allow_blocking(job->gfp->flags);
}

/* A job refused for its shape: say why, once in a while, and return @err. */
static int gfpctx_job_refuse(const struct gfpctx_job *job, int err)
{
	pr_info_ratelimited("refused: %s %s %s count=%u size=%zu%s%s: %s\n",
			    job->ctx->name, job->alloc->name, job->gfp->name,
			    job->count, job->size,
			    job->free_process ? " free=process" : "",
			    job->allow_warns ? " allow=warns" : "", job->why);
	return err;
}

/*
 * May this job run on this kernel? 0, or the error the write returns with
 * job->why: -EOPNOTSUPP for a context not available here, -EPERM for a
 * cell the rules forbid (or a provoked `warns` job that could really
 * sleep), -EINVAL for a job that could not end.
 */
int gfpctx_job_admit(struct gfpctx_job *job)
{
	enum gfpctx_verdict v;
	const char *why;

	if (job->ctx->unavailable) {
		job->why = job->ctx->unavailable();
		if (job->why)
			return -EOPNOTSUPP;
	}
	v = gfpctx_verdict(job->ctx, job->alloc, job->gfp, job->size, &why);
	job->why = why;
	if (v == GFPCTX_FATAL || (v == GFPCTX_WARNS && !job->allow_warns))
		return -EPERM;
	job->why = v == GFPCTX_WARNS ? gfpctx_provoke_unsafe(job) : NULL;
	if (job->why)
		return gfpctx_job_refuse(job, -EPERM);
	if (gfpctx_pool_would_wait(job)) {
		job->why = "mempool-would-wait";
		return gfpctx_job_refuse(job, -EINVAL);
	}
	return 0;
}

/*
 * timing=call times one call in GFPCTX_TIME_EVERY: a clock read costs
 * as much as a small allocation or more, and timing every call would
 * mostly measure the clock. The clock is local_clock()
 * (kernel/sched/clock.c), the one ftrace's default "local" trace clock
 * reads: cheaper than ktime_get_ns(), and a call that moves to another
 * CPU (a blocking gfp may sleep) is off by the CPUs' small drift only.
 */
static bool gfpctx_time_this(const struct gfpctx_job *job, unsigned int nth)
{
	return job->time_calls && !(nth % GFPCTX_TIME_EVERY);
}

static void gfpctx_free_one(struct gfpctx_job *job, void *obj)
{
	bool timed = gfpctx_time_this(job, job->nfree++);
	u64 t0 = 0;

	if (timed)
		t0 = local_clock();
	job->alloc->free(job, obj);
	if (timed)
		gfpctx_sample_free(job, local_clock() - t0);
}

/*
 * The allocator call, out of line and not a tail call: whether the
 * attempt is timed or not, the allocation is made from this one place,
 * by which audit mode names it (a compiler copies the call into both
 * paths of the caller, and a tail call makes the caller's caller the
 * site).
 */
static noinline void *gfpctx_call_alloc(struct gfpctx_job *job)
{
	void *obj = job->alloc->alloc(job);

	barrier();
	return obj;
}

/*
 * Whether the job keeps its objects in job->objs for the writer to free:
 * all of them (free=process), or each batch's (an allocator whose free
 * may not run in the job's context).
 */
static bool gfpctx_job_holds(const struct gfpctx_job *job)
{
	return job->free_process ||
	       (job->alloc->flags & GFPCTX_ALLOC_FREE_BY_WRITER);
}

/*
 * One attempt, in whatever context the caller is in. noinline so that a
 * might_sleep report names it in its backtrace.
 */
static noinline void gfpctx_alloc_one(struct gfpctx_job *job)
{
	struct gfpctx_tally *t = &job->tally;
	bool injected, timed;
	u64 t0 = 0;
	void *obj;

	timed = gfpctx_time_this(job, t->attempts++);
	if (!job->ctx->in_context(job)) {
		t->ctx_mismatch++;
		pr_err_ratelimited("%s: not in expected context (preempt_count=%#x irqs_disabled=%d)\n",
				   job->ctx->name, preempt_count(),
				   irqs_disabled());
	}
	injected = gfpctx_inject_should_fail(job->size, job->gfp->flags);
	if (injected) {
		t->injected++;
		obj = NULL;
	} else {
		if (timed)
			t0 = local_clock();
		obj = gfpctx_call_alloc(job);
		if (timed)
			gfpctx_sample_alloc(job, local_clock() - t0);
	}
	if (!obj) {
		t->failed++;
		pr_warn_ratelimited("%s %s %s size=%zu: allocation failed%s\n",
				    job->ctx->name, job->alloc->name,
				    job->gfp->name, job->size,
				    injected ? " (injected)" : "");
		return;
	}
	t->ok++;

	if (gfpctx_job_holds(job)) {
		job->objs[job->nobjs++] = obj;
		return;
	}
	gfpctx_free_one(job, obj);
}

/* local_clock(): NMI-safe, where ktime_get_ns()'s seqcount is not. */
void gfpctx_run_batch(struct gfpctx_job *job)
{
	unsigned int n = min(job->batch, job->count - job->done);
	u64 t0 = local_clock();

	while (n--) {
		gfpctx_alloc_one(job);
		job->done++;
	}
	job->batch_ns += local_clock() - t0;
}

void gfpctx_batch_done(struct gfpctx_job *job)
{
	complete(&job->batch_done);
}

static void gfpctx_free_held(struct gfpctx_job *job)
{
	while (job->nobjs)
		gfpctx_free_one(job, job->objs[--job->nobjs]);
}

/* Fire batches until done, the deadline or a fatal signal. */
static int gfpctx_job_drive(struct gfpctx_job *job)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(job->timeout_ms);
	int ret = 0;

	while (job->done < job->count) {
		long left = deadline - jiffies;

		/*
		 * A batch run by the writer itself completes before the wait,
		 * and a completed wait does not look at signals: look here.
		 */
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		reinit_completion(&job->batch_done);
		ret = job->ctx->fire(job);
		if (ret)
			break;
		left = wait_for_completion_killable_timeout(&job->batch_done,
							    left);
		if (left < 0) {
			ret = -EINTR;
			break;
		}
		if (!left) {
			ret = -ETIMEDOUT;
			break;
		}
		/* The batch is over: what it left for the writer to free. */
		if (!job->free_process)
			gfpctx_free_held(job);
		cond_resched();
	}
	/* Whatever is still pending is cancelled, a running batch waited for. */
	if (job->ctx->stop)
		job->ctx->stop(job);
	return ret;
}

/* What the kernel reported while the job ran, into its tally. */
static void gfpctx_job_reports(struct gfpctx_job *job,
			       const unsigned long *before)
{
	unsigned long after[GFPCTX_NR_REPORTS];
	unsigned int k;

	gfpctx_reports_snapshot(after);
	for (k = 0; k < GFPCTX_NR_REPORTS; k++)
		job->tally.reports[k] = after[k] - before[k];
}

int gfpctx_job_run(struct gfpctx_job *job)
{
	unsigned long reports[GFPCTX_NR_REPORTS];
	int ret;

	job->batch = clamp_t(unsigned long, GFPCTX_BATCH_BYTES / job->size, 1,
			     GFPCTX_MAX_BATCH);
	/*
	 * One attempt per NMI: the kernel reports a handler that runs for
	 * more than 1 ms (nmi_check_duration(), arch/x86/kernel/nmi.c).
	 */
	if (gfpctx_ctx_flags(job->ctx) & GFPCTX_CTX_NMI)
		job->batch = 1;
	gfpctx_tally_init(&job->tally);
	job->tally.jobs = 1;
	init_completion(&job->batch_done);
	spin_lock_init(&job->lock);
	raw_spin_lock_init(&job->raw_lock);
	rwlock_init(&job->rwlock);
	mutex_init(&job->mutex);
	seqlock_init(&job->seqlock);

	if (gfpctx_job_holds(job)) {
		job->objs = kvmalloc_array(job->free_process ? job->count :
					   job->batch, sizeof(*job->objs),
					   GFP_KERNEL);
		if (!job->objs) {
			ret = -ENOMEM;
			goto err_free_objs;
		}
	}
	ret = gfpctx_samples_init(job);
	if (ret)
		goto err_free_objs;
	if (job->alloc->setup) {
		ret = job->alloc->setup(job);
		if (ret)
			goto err_samples_exit;
	}

	/*
	 * A provoked report must not fall into __might_resched's silence,
	 * unless the writer does not need it (ratelimit=ignore).
	 */
	if (job->allow_warns && job->ratelimit_wait &&
	    gfpctx_verdict(job->ctx, job->alloc, job->gfp, job->size, NULL) ==
	    GFPCTX_WARNS) {
		ret = gfpctx_reports_wait_ratelimit();
		if (ret)
			goto err_teardown;
	}

	if (job->ctx->start) {
		ret = job->ctx->start(job);
		if (ret)
			goto err_teardown;
	}
	gfpctx_reports_snapshot(reports);
	ret = gfpctx_job_drive(job);
	gfpctx_free_held(job);
	gfpctx_job_reports(job, reports);
	gfpctx_stats_merge(gfpctx_cell_index(job), &job->tally);
	gfpctx_last_record(job, ret);

err_teardown:
	if (job->alloc->teardown)
		job->alloc->teardown(job);
err_samples_exit:
	gfpctx_samples_exit(job);
err_free_objs:
	kvfree(job->objs);
	mutex_destroy(&job->mutex);
	return ret;
}
