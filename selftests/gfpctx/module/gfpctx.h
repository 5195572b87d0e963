/* SPDX-License-Identifier: GPL-2.0 */
/* gfpctx: types shared by the module's files. */
#ifndef GFPCTX_H
#define GFPCTX_H

#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/seqlock.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

#include "compat.h"

/* Limits of one job; see Documentation/gfpctx.rst, "Bounded cost". */
#define GFPCTX_MAX_COUNT	100000U
#define GFPCTX_MAX_ORDER	10U
/* The largest buddy order __GFP_NOFAIL supports (gfpctx_cell_max()) */
#define GFPCTX_NOFAIL_MAX_ORDER	1U
#define GFPCTX_MAX_HELD_BYTES	SZ_64M		/* free=process */
#define GFPCTX_BATCH_BYTES	SZ_1M		/* per batch in one context */
#define GFPCTX_MAX_BATCH	64U
#define GFPCTX_MAX_TIMEOUT_MS	60000U
#define GFPCTX_DEF_TIMEOUT_MS	10000U
#define GFPCTX_HIST_BUCKETS	32
/* Elements a mempool job keeps in reserve (mempool_create()'s min_nr). */
#define GFPCTX_POOL_MIN_NR	4
/*
 * A provoked `warns` job (allow=warns) must stay on the allocators' fast
 * path, where a blocking gfp only makes might_alloc() report: at most
 * this many attempts, each freed in its context; see gfpctx_provoke_unsafe().
 */
#define GFPCTX_PROVOKE_MAX_COUNT GFPCTX_POOL_MIN_NR
/*
 * timing=call times one attempt (and one free) in this many: under TCG a
 * clock read pair costs some ten times a kmalloc of 64 B, and timing one
 * in 16 still slowed such a job by a quarter (make bench).
 */
#define GFPCTX_TIME_EVERY	64

enum gfpctx_class {
	GFPCTX_PROCESS,
	GFPCTX_PROCESS_ATOMIC,
	GFPCTX_SOFTIRQ,
	GFPCTX_HARDIRQ,
	GFPCTX_NMI,
};

enum gfpctx_verdict {
	GFPCTX_OK,
	GFPCTX_WARNS,
	GFPCTX_FATAL,
};

/* What a context is on the running kernel; the rules test these bits. */
#define GFPCTX_CTX_ATOMIC	BIT(0)	/* must not sleep */
#define GFPCTX_CTX_INTERRUPT	BIT(1)	/* in_interrupt() is true */
#define GFPCTX_CTX_RAW		BIT(2)	/* PREEMPT_RT: may not allocate */
#define GFPCTX_CTX_HARDIRQ	BIT(3)	/* in_hardirq() is true */
/* a softirq run on the back of whatever task it interrupted (not PREEMPT_RT) */
#define GFPCTX_CTX_SOFTIRQ	BIT(4)
/* lockdep gives it a raw (spinning) wait context: no spinlock_t inside */
#define GFPCTX_CTX_RAW_WAIT	BIT(5)
/* in_nmi() is true: no lock may be taken, not even a raw one */
#define GFPCTX_CTX_NMI		BIT(6)

/* What an allocator may do. */
#define GFPCTX_ALLOC_VMALLOC	BIT(0)	/* may call vmalloc (rules.c: when) */
#define GFPCTX_ALLOC_KERNEL_ONLY BIT(1)	/* takes GFP_KERNEL only */
#define GFPCTX_ALLOC_ORDER	BIT(2)	/* sized by order=, not size= */
/*
 * Takes no lock (trylocks only): legal in any context, NMI included, and
 * may return NULL by design; takes only a gfp without reclaim bits.
 */
#define GFPCTX_ALLOC_NOLOCK	BIT(3)
/*
 * Its free takes the allocator's locks, which the nolock allocation did
 * not: the writer frees, in process context, after each batch.
 */
#define GFPCTX_ALLOC_FREE_BY_WRITER BIT(4)
/*
 * Calls kmalloc(), kmem_cache_alloc() or the page allocator itself: the
 * tracepoints that audit mode hooks (audit.c) see the allocation at the
 * module's own site.
 */
#define GFPCTX_ALLOC_AUDITED	BIT(5)

/* The kernel's own reports, counted while a job runs (reports.c). */
enum gfpctx_report {
	GFPCTX_REP_MIGHT_SLEEP,
	GFPCTX_REP_SCHED_ATOMIC,
	GFPCTX_REP_KASAN,
	GFPCTX_REP_LOCKDEP,
	GFPCTX_REP_WARNING,
	GFPCTX_REP_BUG,
	GFPCTX_REP_FRAMES,
	GFPCTX_NR_REPORTS,
};

struct gfpctx_job;

/* Counters of one cell, or of one job before it is merged. */
struct gfpctx_tally {
	u64 jobs;
	u64 attempts;
	u64 ok;
	u64 failed;
	/* of failed: the knob skipped the call; the others are alloc_failed */
	u64 injected;
	u64 ctx_mismatch;
	u64 timed;
	u64 ns_min;
	u64 ns_max;
	u64 ns_sum;
	u64 frees;
	u64 free_ns_min;
	u64 free_ns_max;
	u64 free_ns_sum;
	u64 hist[GFPCTX_HIST_BUCKETS];
	u64 reports[GFPCTX_NR_REPORTS];
};

struct gfpctx_context {
	const char *name;
	enum gfpctx_class class;
	enum gfpctx_class rt_class;
	unsigned int flags;
	unsigned int rt_flags;
	/* NULL when available, else why not (a word, no spaces) */
	const char *(*unavailable)(void);
	/* optional: prepare the job's entry; 0 or a -errno that ends it */
	int (*start)(struct gfpctx_job *job);
	/*
	 * Run one batch in the context; the batch ends with
	 * gfpctx_batch_done(). 0, or a -errno (with job->why) when the
	 * context cannot be entered: no batch runs then.
	 */
	int (*fire)(struct gfpctx_job *job);
	/* optional: cancel whatever is pending and wait for a running batch */
	void (*stop)(struct gfpctx_job *job);
	bool (*in_context)(struct gfpctx_job *job);
};

struct gfpctx_alloc {
	const char *name;
	unsigned int flags;
	size_t max_size;	/* size= allocators */
	unsigned int max_order;	/* GFPCTX_ALLOC_ORDER allocators */
	/* with GFPCTX_ALLOC_VMALLOC: calls vmalloc above this size only */
	size_t vmalloc_above;
	unsigned int reserve;	/* objects held for the job from setup on */
	int (*setup)(struct gfpctx_job *job);
	void (*teardown)(struct gfpctx_job *job);
	void *(*alloc)(struct gfpctx_job *job);
	void (*free)(struct gfpctx_job *job, void *obj);
};

struct gfpctx_gfp {
	const char *name;
	gfp_t flags;
};

struct gfpctx_job {
	const struct gfpctx_context *ctx;
	const struct gfpctx_alloc *alloc;
	const struct gfpctx_gfp *gfp;
	size_t size;
	unsigned int order;
	unsigned int count;
	unsigned int timeout_ms;
	bool free_process;
	bool allow_warns;
	bool ratelimit_wait;	/* ratelimit=wait: a warns job waits to report */
	bool time_calls;	/* timing=call: each allocation and free */
	bool keep_samples;	/* samples=yes: each one's ns, for `last` */
	const char *why;	/* why it was refused or stopped (a word) */

	unsigned int done;	/* attempts made so far */
	unsigned int batch;	/* attempts per batch */
	unsigned int nobjs;
	void **objs;		/* free=process: what is still held */
	struct kmem_cache *cache;
	mempool_t *pool;
	struct gfpctx_tally tally;
	u64 batch_ns;		/* time spent in batches, in the context */
	u32 *alloc_ns;		/* samples=yes: per allocation, then free */
	u32 *free_ns;
	unsigned int nalloc_ns;
	unsigned int nfree_ns;
	unsigned int nfree;	/* frees made so far */
	struct completion batch_done;

	/* how the job enters its context */
	spinlock_t lock;
	raw_spinlock_t raw_lock;
	rwlock_t rwlock;
	struct mutex mutex;	/* held around a batch in context=mutex */
	seqlock_t seqlock;
	struct timer_list timer;
	struct tasklet_struct tasklet;
	struct hrtimer hrtimer;
	struct irq_work irq_work;
	struct work_struct work;
	struct kthread_work kwork;
	int cpu;
};

/*
 * The tables, and their sizes: a row added to a table is all a new
 * context, allocator or gfp mask needs here.
 */

/* contexts.c */
extern const struct gfpctx_context gfpctx_contexts[];
extern const unsigned int gfpctx_nr_contexts;
int gfpctx_contexts_init(void);
void gfpctx_contexts_exit(void);
enum gfpctx_class gfpctx_ctx_class(const struct gfpctx_context *ctx);
unsigned int gfpctx_ctx_flags(const struct gfpctx_context *ctx);
const char *gfpctx_class_name(enum gfpctx_class class);

/* allocators.c */
extern const struct gfpctx_alloc gfpctx_allocs[];
extern const unsigned int gfpctx_nr_allocs;
extern const struct gfpctx_gfp gfpctx_gfps[];
extern const unsigned int gfpctx_nr_gfps;
unsigned int gfpctx_alloc_max(const struct gfpctx_alloc *alloc);
unsigned int gfpctx_cell_max(const struct gfpctx_alloc *alloc,
			     const struct gfpctx_gfp *gfp);
u64 gfpctx_alloc_footprint(const struct gfpctx_alloc *alloc, size_t size);
int gfpctx_allocs_show(struct seq_file *m, void *unused);
int gfpctx_gfps_show(struct seq_file *m, void *unused);

/* rules.c */
bool gfpctx_cell_exists(const struct gfpctx_alloc *alloc,
			const struct gfpctx_gfp *gfp);
enum gfpctx_verdict gfpctx_verdict(const struct gfpctx_context *ctx,
				   const struct gfpctx_alloc *alloc,
				   const struct gfpctx_gfp *gfp, size_t size,
				   const char **why);
const char *gfpctx_verdict_name(enum gfpctx_verdict verdict);
int gfpctx_rules_show(struct seq_file *m, void *unused);

/* job.c */
int gfpctx_job_parse(struct gfpctx_job *job, char *words);
int gfpctx_job_admit(struct gfpctx_job *job);
int gfpctx_job_run(struct gfpctx_job *job);
void gfpctx_run_batch(struct gfpctx_job *job);
void gfpctx_batch_done(struct gfpctx_job *job);

/* stats.c */
int gfpctx_stats_init(void);
void gfpctx_stats_exit(void);
unsigned int gfpctx_cell_index(const struct gfpctx_job *job);
void gfpctx_stats_merge(unsigned int cell, const struct gfpctx_tally *tally);
void gfpctx_stats_reset(void);
int gfpctx_stats_show(struct seq_file *m, void *unused);
void gfpctx_tally_init(struct gfpctx_tally *tally);
void gfpctx_tally_alloc_ns(struct gfpctx_tally *tally, u64 ns);
void gfpctx_tally_free_ns(struct gfpctx_tally *tally, u64 ns);

/* inject.c */
int gfpctx_inject_init(struct dentry *dir);
bool gfpctx_inject_should_fail(size_t size, gfp_t gfp);
int gfpctx_inject_show(struct seq_file *m, void *unused);
int gfpctx_inject_set(char *words);

/* irq.c */
int gfpctx_irq_init(int ext_irq);
void gfpctx_irq_exit(void);
int gfpctx_shared_irq_start(struct gfpctx_job *job);
int gfpctx_shared_irq_fire(struct gfpctx_job *job);
void gfpctx_shared_irq_stop(struct gfpctx_job *job);
int gfpctx_threaded_irq_start(struct gfpctx_job *job);
int gfpctx_threaded_irq_fire(struct gfpctx_job *job);
void gfpctx_threaded_irq_stop(struct gfpctx_job *job);
int gfpctx_irq_show(struct seq_file *m, void *unused);

/* nmi.c */
const char *gfpctx_nmi_unavailable(void);
int gfpctx_nmi_start(struct gfpctx_job *job);
int gfpctx_nmi_fire(struct gfpctx_job *job);
void gfpctx_nmi_stop(struct gfpctx_job *job);

/* reports.c */
int gfpctx_reports_init(void);
void gfpctx_reports_exit(void);
bool gfpctx_reports_counted(void);
const char *gfpctx_report_name(enum gfpctx_report kind);
void gfpctx_reports_snapshot(unsigned long *snap);
int gfpctx_reports_wait_ratelimit(void);
void gfpctx_reports_show(struct seq_file *m, const u64 *counts);

/* samples.c */
void gfpctx_clock_calibrate(void);
u64 gfpctx_clock_ns(void);
int gfpctx_samples_init(struct gfpctx_job *job);
void gfpctx_samples_exit(struct gfpctx_job *job);
void gfpctx_sample_alloc(struct gfpctx_job *job, u64 ns);
void gfpctx_sample_free(struct gfpctx_job *job, u64 ns);
void gfpctx_last_record(struct gfpctx_job *job, int ret);
int gfpctx_last_show(struct seq_file *m, void *unused);

/* audit.c */
int gfpctx_audit_show(struct seq_file *m, void *unused);
int gfpctx_audit_set(char *words);
void gfpctx_audit_exit(void);

/* debugfs.c */
int gfpctx_debugfs_init(void);
void gfpctx_flags_show(struct seq_file *m, unsigned int flags,
		       const char * const *names, unsigned int nr);
void gfpctx_debugfs_exit(void);

#endif /* GFPCTX_H */
