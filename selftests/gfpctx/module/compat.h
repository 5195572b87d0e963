/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gfpctx: the few kernel API differences between the kernels it builds
 * for. Kbuild greps the headers for the symbol (distributions backport,
 * so the version number does not tell).
 */
#ifndef GFPCTX_COMPAT_H
#define GFPCTX_COMPAT_H

#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

#ifdef GFPCTX_HAVE_HRTIMER_SETUP
#define gfpctx_hrtimer_setup(t, fn, clock, mode) \
	hrtimer_setup(t, fn, clock, mode)
#else
static inline void
gfpctx_hrtimer_setup(struct hrtimer *timer,
		     enum hrtimer_restart (*fn)(struct hrtimer *),
		     clockid_t clock, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock, mode);
	timer->function = fn;
}
#endif

#ifdef GFPCTX_HAVE_TIMER_CONTAINER_OF
#define gfpctx_from_timer(var, t, field) timer_container_of(var, t, field)
#else
#define gfpctx_from_timer(var, t, field) from_timer(var, t, field)
#endif

/*
 * A per-CPU workqueue, said so: alloc_workqueue() warns from 7.2 when
 * neither WQ_PERCPU nor WQ_UNBOUND is given (__alloc_workqueue(),
 * kernel/workqueue.c); before WQ_PERCPU, no flag meant per-CPU.
 */
#ifdef GFPCTX_HAVE_WQ_PERCPU
#define GFPCTX_WQ_PERCPU WQ_PERCPU
#else
#define GFPCTX_WQ_PERCPU 0
#endif

/*
 * kthread_create_worker() started the worker's thread (6.12); where
 * kthread_run_worker() exists it only creates it (include/linux/kthread.h).
 */
#ifdef kthread_run_worker
#define gfpctx_kthread_run_worker(name) kthread_run_worker(0, name)
#else
#define gfpctx_kthread_run_worker(name) kthread_create_worker(0, name)
#endif

/* vmalloc takes non-blocking gfp (Kbuild: memalloc_apply_gfp_scope). */
#ifdef GFPCTX_HAVE_VMALLOC_NONBLOCKING
#define GFPCTX_VMALLOC_NONBLOCKING true
#else
#define GFPCTX_VMALLOC_NONBLOCKING false
#endif

#ifdef MAX_PAGE_ORDER
#define GFPCTX_KERNEL_MAX_ORDER MAX_PAGE_ORDER
#else
#define GFPCTX_KERNEL_MAX_ORDER (MAX_ORDER - 1)
#endif

#endif /* GFPCTX_COMPAT_H */
