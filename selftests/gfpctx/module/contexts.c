// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: the execution contexts, each entered the way a driver enters it,
 * and the check that an allocation really runs where it claims to.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/irqflags.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/smp.h>

#include "gfpctx.h"

static struct workqueue_struct *gfpctx_wq;
static struct kthread_worker *gfpctx_kworker;

/* Proving the context: the helpers of <linux/preempt.h>, never raw masks. */

static bool gfpctx_may_sleep_here(void)
{
	if (irqs_disabled() || in_softirq() || rcu_preempt_depth())
		return false;
	/* Without PREEMPT_COUNT, preempt_count() does not count spinlocks. */
	return !IS_ENABLED(CONFIG_PREEMPT_COUNT) || !preempt_count();
}

static bool gfpctx_in_process(struct gfpctx_job *job)
{
	return in_task() && gfpctx_may_sleep_here();
}

static bool gfpctx_in_spinlock(struct gfpctx_job *job)
{
	return in_task() && !irqs_disabled() && !gfpctx_may_sleep_here();
}

static bool gfpctx_in_spinlock_irqsave(struct gfpctx_job *job)
{
	/* On PREEMPT_RT, spin_lock_irqsave() leaves interrupts enabled. */
	return in_task() && (IS_ENABLED(CONFIG_PREEMPT_RT) ?
			     !gfpctx_may_sleep_here() : irqs_disabled());
}

static bool gfpctx_in_preempt_disabled(struct gfpctx_job *job)
{
	return in_task() && !irqs_disabled() &&
	       (!IS_ENABLED(CONFIG_PREEMPT_COUNT) || preempt_count());
}

static bool gfpctx_in_bh_disabled(struct gfpctx_job *job)
{
	return in_task() && in_softirq();
}

/* A raw_spinlock_t disables preemption on PREEMPT_RT too. */
static bool gfpctx_in_raw_spinlock(struct gfpctx_job *job)
{
	return gfpctx_in_preempt_disabled(job) &&
	       raw_spin_is_locked(&job->raw_lock);
}

/* local_irq_save() disables interrupts on PREEMPT_RT too. */
static bool gfpctx_in_irqs_disabled(struct gfpctx_job *job)
{
	return in_task() && irqs_disabled();
}

/* A sleeping lock: the holder may sleep, and may allocate with GFP_KERNEL. */
static bool gfpctx_in_mutex(struct gfpctx_job *job)
{
	return gfpctx_in_process(job) && mutex_is_locked(&job->mutex);
}

/*
 * A memalloc_noio_save() or memalloc_nofs_save() scope: every allocation
 * of the task is as if its gfp had no __GFP_IO, or no __GFP_FS
 * (current_gfp_context(), include/linux/sched/mm.h).
 */
static bool gfpctx_in_memalloc_noio(struct gfpctx_job *job)
{
	return gfpctx_in_process(job) && (current->flags & PF_MEMALLOC_NOIO);
}

static bool gfpctx_in_memalloc_nofs(struct gfpctx_job *job)
{
	return gfpctx_in_process(job) && (current->flags & PF_MEMALLOC_NOFS);
}

static bool gfpctx_in_rcu_read(struct gfpctx_job *job)
{
	if (!in_task())
		return false;
	if (IS_ENABLED(CONFIG_PREEMPT_RCU))
		return rcu_preempt_depth() > 0;
	return !IS_ENABLED(CONFIG_PREEMPT_COUNT) || preempt_count();
}

static bool gfpctx_in_softirq(struct gfpctx_job *job)
{
	return in_serving_softirq() && !in_hardirq();
}

static bool gfpctx_in_hardirq(struct gfpctx_job *job)
{
	return in_hardirq() && irqs_disabled();
}

/*
 * A CPU that polls in idle gets no IPI: do_idle() runs its queued calls
 * itself (flush_smp_call_function_queue()), interrupts off, in its idle
 * task. That is the other place a cross-CPU call legitimately runs.
 */
static bool gfpctx_in_ipi(struct gfpctx_job *job)
{
	return gfpctx_in_hardirq(job) ||
	       (irqs_disabled() && is_idle_task(current));
}

static bool gfpctx_in_shared_irq(struct gfpctx_job *job)
{
	/* PREEMPT_RT force-threads the handler and disables BH around it. */
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		return gfpctx_in_bh_disabled(job);
	return gfpctx_in_hardirq(job);
}

/* nmi_enter() adds HARDIRQ_OFFSET too (include/linux/hardirq.h). */
static bool gfpctx_in_nmi(struct gfpctx_job *job)
{
	return in_nmi() && in_hardirq() && irqs_disabled();
}

/* Availability on the running kernel. */

static const char *gfpctx_no_wq_bh(void)
{
#ifdef GFPCTX_HAVE_WQ_BH
	return NULL;
#else
	return "needs-WQ_BH";
#endif
}

static const char *gfpctx_no_second_cpu(void)
{
	return num_online_cpus() > 1 ? NULL : "needs-2-cpus";
}

/*
 * Entering each context. The sections entered from the writer's task
 * (locks, preempt, bh, rcu, irqs off, memalloc scopes) are each a fire
 * function of their own rather than one function with enter and exit
 * hooks: the batch then runs in a frame that names the context, which
 * is what a might_sleep() or lockdep report and audit's call chain show,
 * and each lock is taken and released in one function, as sparse's
 * context checking and a reader expect.
 */

static int gfpctx_fire_task(struct gfpctx_job *job)
{
	gfpctx_run_batch(job);
	gfpctx_batch_done(job);
	return 0;
}

static void gfpctx_work_fn(struct work_struct *work)
{
	gfpctx_fire_task(container_of(work, struct gfpctx_job, work));
}

static int gfpctx_start_work(struct gfpctx_job *job)
{
	INIT_WORK(&job->work, gfpctx_work_fn);
	return 0;
}

static int gfpctx_fire_workqueue(struct gfpctx_job *job)
{
	queue_work(gfpctx_wq, &job->work);
	return 0;
}

static void gfpctx_stop_work(struct gfpctx_job *job)
{
	cancel_work_sync(&job->work);
}

static void gfpctx_kwork_fn(struct kthread_work *kwork)
{
	gfpctx_fire_task(container_of(kwork, struct gfpctx_job, kwork));
}

static int gfpctx_start_kthread(struct gfpctx_job *job)
{
	kthread_init_work(&job->kwork, gfpctx_kwork_fn);
	return 0;
}

static int gfpctx_fire_kthread(struct gfpctx_job *job)
{
	kthread_queue_work(gfpctx_kworker, &job->kwork);
	return 0;
}

static void gfpctx_stop_kthread(struct gfpctx_job *job)
{
	kthread_cancel_work_sync(&job->kwork);
}

static int gfpctx_fire_spinlock(struct gfpctx_job *job)
{
	spin_lock(&job->lock);
	gfpctx_run_batch(job);
	spin_unlock(&job->lock);
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_spinlock_irqsave(struct gfpctx_job *job)
{
	unsigned long flags;

	spin_lock_irqsave(&job->lock, flags);
	gfpctx_run_batch(job);
	spin_unlock_irqrestore(&job->lock, flags);
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_preempt_disabled(struct gfpctx_job *job)
{
	preempt_disable();
	gfpctx_run_batch(job);
	preempt_enable();
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_bh_disabled(struct gfpctx_job *job)
{
	local_bh_disable();
	gfpctx_run_batch(job);
	local_bh_enable();
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_rcu_read(struct gfpctx_job *job)
{
	rcu_read_lock();
	gfpctx_run_batch(job);
	rcu_read_unlock();
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_raw_spinlock(struct gfpctx_job *job)
{
	raw_spin_lock(&job->raw_lock);
	gfpctx_run_batch(job);
	raw_spin_unlock(&job->raw_lock);
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_rwlock_read(struct gfpctx_job *job)
{
	read_lock(&job->rwlock);
	gfpctx_run_batch(job);
	read_unlock(&job->rwlock);
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_rwlock_write(struct gfpctx_job *job)
{
	write_lock(&job->rwlock);
	gfpctx_run_batch(job);
	write_unlock(&job->rwlock);
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_seqlock_write(struct gfpctx_job *job)
{
	write_seqlock(&job->seqlock);
	gfpctx_run_batch(job);
	write_sequnlock(&job->seqlock);
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_spinlock_bh(struct gfpctx_job *job)
{
	spin_lock_bh(&job->lock);
	gfpctx_run_batch(job);
	spin_unlock_bh(&job->lock);
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_irqs_disabled(struct gfpctx_job *job)
{
	unsigned long flags;

	local_irq_save(flags);
	gfpctx_run_batch(job);
	local_irq_restore(flags);
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_memalloc_noio(struct gfpctx_job *job)
{
	unsigned int flags = memalloc_noio_save();

	gfpctx_run_batch(job);
	memalloc_noio_restore(flags);
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_memalloc_nofs(struct gfpctx_job *job)
{
	unsigned int flags = memalloc_nofs_save();

	gfpctx_run_batch(job);
	memalloc_nofs_restore(flags);
	gfpctx_batch_done(job);
	return 0;
}

static int gfpctx_fire_mutex(struct gfpctx_job *job)
{
	mutex_lock(&job->mutex);
	gfpctx_run_batch(job);
	mutex_unlock(&job->mutex);
	gfpctx_batch_done(job);
	return 0;
}

static void gfpctx_timer_fn(struct timer_list *timer)
{
	struct gfpctx_job *job = gfpctx_from_timer(job, timer, timer);

	gfpctx_fire_task(job);
}

static int gfpctx_start_timer(struct gfpctx_job *job)
{
	timer_setup(&job->timer, gfpctx_timer_fn, 0);
	return 0;
}

static int gfpctx_fire_timer(struct gfpctx_job *job)
{
	mod_timer(&job->timer, jiffies);
	return 0;
}

static void gfpctx_stop_timer(struct gfpctx_job *job)
{
	timer_shutdown_sync(&job->timer);
}

static void gfpctx_tasklet_fn(struct tasklet_struct *t)
{
	struct gfpctx_job *job = from_tasklet(job, t, tasklet);

	gfpctx_fire_task(job);
}

static int gfpctx_start_tasklet(struct gfpctx_job *job)
{
	tasklet_setup(&job->tasklet, gfpctx_tasklet_fn);
	return 0;
}

static int gfpctx_fire_tasklet(struct gfpctx_job *job)
{
	tasklet_schedule(&job->tasklet);
	return 0;
}

static void gfpctx_stop_tasklet(struct gfpctx_job *job)
{
	tasklet_kill(&job->tasklet);
}

#ifdef GFPCTX_HAVE_WQ_BH
/*
 * An INIT_WORK() call site of its own gives the item a lockdep class of
 * its own: a BH work item runs in softirq, a workqueue item in process
 * context, and one class used in both is an "inconsistent lock state".
 */
static int gfpctx_start_bh_work(struct gfpctx_job *job)
{
	INIT_WORK(&job->work, gfpctx_work_fn);
	return 0;
}

static int gfpctx_fire_bh_work(struct gfpctx_job *job)
{
	queue_work(system_bh_wq, &job->work);
	return 0;
}
#else
#define gfpctx_start_bh_work NULL
#define gfpctx_fire_bh_work NULL	/* never: the context is unavailable */
#endif

static enum hrtimer_restart gfpctx_hrtimer_fn(struct hrtimer *t)
{
	struct gfpctx_job *job = container_of(t, struct gfpctx_job, hrtimer);

	gfpctx_fire_task(job);
	return HRTIMER_NORESTART;
}

static int gfpctx_start_hrtimer_soft(struct gfpctx_job *job)
{
	gfpctx_hrtimer_setup(&job->hrtimer, gfpctx_hrtimer_fn, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL_SOFT);
	return 0;
}

static int gfpctx_start_hrtimer_hard(struct gfpctx_job *job)
{
	gfpctx_hrtimer_setup(&job->hrtimer, gfpctx_hrtimer_fn, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL_HARD);
	return 0;
}

static int gfpctx_fire_hrtimer_soft(struct gfpctx_job *job)
{
	hrtimer_start(&job->hrtimer, ns_to_ktime(NSEC_PER_USEC),
		      HRTIMER_MODE_REL_SOFT);
	return 0;
}

static int gfpctx_fire_hrtimer_hard(struct gfpctx_job *job)
{
	hrtimer_start(&job->hrtimer, ns_to_ktime(NSEC_PER_USEC),
		      HRTIMER_MODE_REL_HARD);
	return 0;
}

static void gfpctx_stop_hrtimer(struct gfpctx_job *job)
{
	hrtimer_cancel(&job->hrtimer);
}

static void gfpctx_irq_work_fn(struct irq_work *work)
{
	struct gfpctx_job *job = container_of(work, struct gfpctx_job,
					      irq_work);

	gfpctx_fire_task(job);
}

static int gfpctx_start_irq_work(struct gfpctx_job *job)
{
	/* HARD: on PREEMPT_RT a plain irq_work would run in a thread. */
	job->irq_work = IRQ_WORK_INIT_HARD(gfpctx_irq_work_fn);
	return 0;
}

static int gfpctx_fire_irq_work(struct gfpctx_job *job)
{
	irq_work_queue(&job->irq_work);
	return 0;
}

static void gfpctx_stop_irq_work(struct gfpctx_job *job)
{
	irq_work_sync(&job->irq_work);
}

static void gfpctx_ipi_fn(void *info)
{
	gfpctx_fire_task(info);
}

/*
 * Another CPU: a call to our own CPU runs inline, not in hard IRQ. CPU
 * hotplug is held off (cpus_read_lock() may sleep: before get_cpu()),
 * and a CPU gone meanwhile ends the job at once with its reason.
 */
static int gfpctx_fire_ipi(struct gfpctx_job *job)
{
	int cpu, target, ret = -EOPNOTSUPP;

	cpus_read_lock();
	cpu = get_cpu();
	target = cpumask_any_but(cpu_online_mask, cpu);
	if (target < nr_cpu_ids)
		ret = smp_call_function_single(target, gfpctx_ipi_fn, job, 1);
	put_cpu();
	cpus_read_unlock();
	if (ret)
		job->why = "needs-2-cpus";
	return ret;
}

/* The flags of the interrupt contexts (gfpctx.h says what each bit means). */
#define GFPCTX_SOFTIRQ_FLAGS \
	(GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT | GFPCTX_CTX_SOFTIRQ)
/*
 * A device handler: lockdep gives it a threaded wait context, as it could
 * be force-threaded (lockdep_hardirq_threaded() in handle_irq_event_percpu(),
 * kernel/irq/handle.c; task_wait_context(), kernel/locking/lockdep.c).
 */
#define GFPCTX_HARDIRQ_FLAGS \
	(GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT | GFPCTX_CTX_HARDIRQ)
/*
 * IPIs, HARD irq_work and HARD hrtimers stay in hard IRQ even on
 * PREEMPT_RT, and lockdep gives them a raw wait context
 * (lockdep_irq_work_enter(), lockdep_hrtimer_enter(), include/linux/irqflags.h).
 */
#define GFPCTX_RAW_HARDIRQ_FLAGS (GFPCTX_HARDIRQ_FLAGS | GFPCTX_CTX_RAW_WAIT)
#define GFPCTX_RT_RAW_HARDIRQ_FLAGS \
	(GFPCTX_CTX_RAW | GFPCTX_CTX_HARDIRQ | GFPCTX_CTX_RAW_WAIT)

/* Add a new context here; documented in Documentation/gfpctx.rst. */
const struct gfpctx_context gfpctx_contexts[] = {
	{
		.name = "task",
		.class = GFPCTX_PROCESS, .rt_class = GFPCTX_PROCESS,
		.fire = gfpctx_fire_task,
		.in_context = gfpctx_in_process,
	}, {
		.name = "workqueue",
		.class = GFPCTX_PROCESS, .rt_class = GFPCTX_PROCESS,
		.start = gfpctx_start_work, .fire = gfpctx_fire_workqueue,
		.stop = gfpctx_stop_work, .in_context = gfpctx_in_process,
	}, {
		.name = "kthread",
		.class = GFPCTX_PROCESS, .rt_class = GFPCTX_PROCESS,
		.start = gfpctx_start_kthread, .fire = gfpctx_fire_kthread,
		.stop = gfpctx_stop_kthread, .in_context = gfpctx_in_process,
	}, {
		.name = "threaded_irq",
		.class = GFPCTX_PROCESS, .rt_class = GFPCTX_PROCESS,
		.start = gfpctx_threaded_irq_start,
		.fire = gfpctx_threaded_irq_fire,
		.stop = gfpctx_threaded_irq_stop,
		.in_context = gfpctx_in_process,
	}, {
		/* A sleeping lock held: GFP_KERNEL is legal. */
		.name = "mutex",
		.class = GFPCTX_PROCESS, .rt_class = GFPCTX_PROCESS,
		.fire = gfpctx_fire_mutex,
		.in_context = gfpctx_in_mutex,
	}, {
		/* A scope, not a lock: GFP_KERNEL is legal, without I/O. */
		.name = "memalloc_noio",
		.class = GFPCTX_PROCESS, .rt_class = GFPCTX_PROCESS,
		.fire = gfpctx_fire_memalloc_noio,
		.in_context = gfpctx_in_memalloc_noio,
	}, {
		.name = "memalloc_nofs",
		.class = GFPCTX_PROCESS, .rt_class = GFPCTX_PROCESS,
		.fire = gfpctx_fire_memalloc_nofs,
		.in_context = gfpctx_in_memalloc_nofs,
	}, {
		.name = "spinlock",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC, .rt_flags = GFPCTX_CTX_ATOMIC,
		.fire = gfpctx_fire_spinlock,
		.in_context = gfpctx_in_spinlock,
	}, {
		.name = "spinlock_irqsave",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC, .rt_flags = GFPCTX_CTX_ATOMIC,
		.fire = gfpctx_fire_spinlock_irqsave,
		.in_context = gfpctx_in_spinlock_irqsave,
	}, {
		.name = "preempt_disabled",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC, .rt_flags = GFPCTX_CTX_RAW,
		.fire = gfpctx_fire_preempt_disabled,
		.in_context = gfpctx_in_preempt_disabled,
	}, {
		.name = "bh_disabled",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT,
		.rt_flags = GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT,
		.fire = gfpctx_fire_bh_disabled,
		.in_context = gfpctx_in_bh_disabled,
	}, {
		.name = "rcu_read",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC, .rt_flags = GFPCTX_CTX_ATOMIC,
		.fire = gfpctx_fire_rcu_read,
		.in_context = gfpctx_in_rcu_read,
	}, {
		/*
		 * A raw_spinlock_t spins on PREEMPT_RT too, and lockdep gives
		 * it a spinning wait context (LD_WAIT_SPIN, raw_spin_lock_init()
		 * in include/linux/spinlock.h).
		 */
		.name = "raw_spinlock",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC | GFPCTX_CTX_RAW_WAIT,
		.rt_flags = GFPCTX_CTX_RAW | GFPCTX_CTX_RAW_WAIT,
		.fire = gfpctx_fire_raw_spinlock,
		.in_context = gfpctx_in_raw_spinlock,
	}, {
		/*
		 * On PREEMPT_RT an rwlock_t, like a spinlock_t, is an rtmutex
		 * held inside rcu_read_lock() (rt_read_lock(),
		 * kernel/locking/spinlock_rt.c): it must not sleep either.
		 */
		.name = "rwlock_read",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC, .rt_flags = GFPCTX_CTX_ATOMIC,
		.fire = gfpctx_fire_rwlock_read,
		.in_context = gfpctx_in_spinlock,
	}, {
		.name = "rwlock_write",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC, .rt_flags = GFPCTX_CTX_ATOMIC,
		.fire = gfpctx_fire_rwlock_write,
		.in_context = gfpctx_in_spinlock,
	}, {
		/* write_seqlock(): the seqlock_t's spinlock_t, then its count. */
		.name = "seqlock_write",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC, .rt_flags = GFPCTX_CTX_ATOMIC,
		.fire = gfpctx_fire_seqlock_write,
		.in_context = gfpctx_in_spinlock,
	}, {
		.name = "spinlock_bh",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT,
		.rt_flags = GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT,
		.fire = gfpctx_fire_spinlock_bh,
		.in_context = gfpctx_in_bh_disabled,
	}, {
		/*
		 * Interrupts off without a lock: on PREEMPT_RT the allocators'
		 * spinlock_t may sleep, so no allocation at all
		 * (Documentation/locking/locktypes.rst).
		 */
		.name = "irqs_disabled",
		.class = GFPCTX_PROCESS_ATOMIC,
		.rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_CTX_ATOMIC, .rt_flags = GFPCTX_CTX_RAW,
		.fire = gfpctx_fire_irqs_disabled,
		.in_context = gfpctx_in_irqs_disabled,
	}, {
		.name = "timer",
		.class = GFPCTX_SOFTIRQ, .rt_class = GFPCTX_SOFTIRQ,
		.flags = GFPCTX_SOFTIRQ_FLAGS,
		.rt_flags = GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT,
		.start = gfpctx_start_timer, .fire = gfpctx_fire_timer,
		.stop = gfpctx_stop_timer, .in_context = gfpctx_in_softirq,
	}, {
		.name = "tasklet",
		.class = GFPCTX_SOFTIRQ, .rt_class = GFPCTX_SOFTIRQ,
		.flags = GFPCTX_SOFTIRQ_FLAGS,
		.rt_flags = GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT,
		.start = gfpctx_start_tasklet, .fire = gfpctx_fire_tasklet,
		.stop = gfpctx_stop_tasklet, .in_context = gfpctx_in_softirq,
	}, {
		.name = "bh_work",
		.class = GFPCTX_SOFTIRQ, .rt_class = GFPCTX_SOFTIRQ,
		.flags = GFPCTX_SOFTIRQ_FLAGS,
		.rt_flags = GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT,
		.unavailable = gfpctx_no_wq_bh,
		.start = gfpctx_start_bh_work, .fire = gfpctx_fire_bh_work,
		.stop = gfpctx_stop_work, .in_context = gfpctx_in_softirq,
	}, {
		.name = "hrtimer_soft",
		.class = GFPCTX_SOFTIRQ, .rt_class = GFPCTX_SOFTIRQ,
		.flags = GFPCTX_SOFTIRQ_FLAGS,
		.rt_flags = GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT,
		.start = gfpctx_start_hrtimer_soft,
		.fire = gfpctx_fire_hrtimer_soft,
		.stop = gfpctx_stop_hrtimer, .in_context = gfpctx_in_softirq,
	}, {
		.name = "hrtimer_hard",
		.class = GFPCTX_HARDIRQ, .rt_class = GFPCTX_HARDIRQ,
		.flags = GFPCTX_RAW_HARDIRQ_FLAGS,
		.rt_flags = GFPCTX_RT_RAW_HARDIRQ_FLAGS,
		.start = gfpctx_start_hrtimer_hard,
		.fire = gfpctx_fire_hrtimer_hard,
		.stop = gfpctx_stop_hrtimer, .in_context = gfpctx_in_hardirq,
	}, {
		.name = "irq_work",
		.class = GFPCTX_HARDIRQ, .rt_class = GFPCTX_HARDIRQ,
		.flags = GFPCTX_RAW_HARDIRQ_FLAGS,
		.rt_flags = GFPCTX_RT_RAW_HARDIRQ_FLAGS,
		.start = gfpctx_start_irq_work, .fire = gfpctx_fire_irq_work,
		.stop = gfpctx_stop_irq_work, .in_context = gfpctx_in_hardirq,
	}, {
		.name = "shared_irq",
		.class = GFPCTX_HARDIRQ, .rt_class = GFPCTX_PROCESS_ATOMIC,
		.flags = GFPCTX_HARDIRQ_FLAGS,
		.rt_flags = GFPCTX_CTX_ATOMIC | GFPCTX_CTX_INTERRUPT,
		.start = gfpctx_shared_irq_start,
		.fire = gfpctx_shared_irq_fire,
		.stop = gfpctx_shared_irq_stop,
		.in_context = gfpctx_in_shared_irq,
	}, {
		.name = "ipi",
		.class = GFPCTX_HARDIRQ, .rt_class = GFPCTX_HARDIRQ,
		.flags = GFPCTX_RAW_HARDIRQ_FLAGS,
		.rt_flags = GFPCTX_RT_RAW_HARDIRQ_FLAGS,
		.unavailable = gfpctx_no_second_cpu,
		.fire = gfpctx_fire_ipi,
		.in_context = gfpctx_in_ipi,
	}, {
		/* nmi.c: an NMI the writer sends to its own CPU. */
		.name = "nmi",
		.class = GFPCTX_NMI, .rt_class = GFPCTX_NMI,
		.flags = GFPCTX_RAW_HARDIRQ_FLAGS | GFPCTX_CTX_NMI,
		.rt_flags = GFPCTX_RT_RAW_HARDIRQ_FLAGS | GFPCTX_CTX_NMI,
		.unavailable = gfpctx_nmi_unavailable,
		.start = gfpctx_nmi_start, .fire = gfpctx_nmi_fire,
		.stop = gfpctx_nmi_stop, .in_context = gfpctx_in_nmi,
	},
};

const unsigned int gfpctx_nr_contexts = ARRAY_SIZE(gfpctx_contexts);

enum gfpctx_class gfpctx_ctx_class(const struct gfpctx_context *ctx)
{
	return IS_ENABLED(CONFIG_PREEMPT_RT) ? ctx->rt_class : ctx->class;
}

unsigned int gfpctx_ctx_flags(const struct gfpctx_context *ctx)
{
	return IS_ENABLED(CONFIG_PREEMPT_RT) ? ctx->rt_flags : ctx->flags;
}

const char *gfpctx_class_name(enum gfpctx_class class)
{
	static const char * const names[] = {
		[GFPCTX_PROCESS] = "process",
		[GFPCTX_PROCESS_ATOMIC] = "process-atomic",
		[GFPCTX_SOFTIRQ] = "softirq",
		[GFPCTX_HARDIRQ] = "hardirq",
		[GFPCTX_NMI] = "nmi",
	};

	return names[class];
}

int gfpctx_contexts_init(void)
{
	gfpctx_wq = alloc_workqueue("gfpctx", GFPCTX_WQ_PERCPU, 0);
	if (!gfpctx_wq)
		return -ENOMEM;

	gfpctx_kworker = gfpctx_kthread_run_worker("gfpctx");
	if (IS_ERR(gfpctx_kworker)) {
		destroy_workqueue(gfpctx_wq);
		return PTR_ERR(gfpctx_kworker);
	}
	return 0;
}

void gfpctx_contexts_exit(void)
{
	kthread_destroy_worker(gfpctx_kworker);
	destroy_workqueue(gfpctx_wq);
}
