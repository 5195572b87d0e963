/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gfpctx: the few kernel API differences between the kernels it builds
 * for. Kbuild greps the headers for the symbol (distributions backport,
 * so the version number does not tell).
 */
#ifndef GFPCTX_COMPAT_H
#define GFPCTX_COMPAT_H

#include <linux/hrtimer.h>
#include <linux/timer.h>

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

#ifdef MAX_PAGE_ORDER
#define GFPCTX_KERNEL_MAX_ORDER MAX_PAGE_ORDER
#else
#define GFPCTX_KERNEL_MAX_ORDER (MAX_ORDER - 1)
#endif

#endif /* GFPCTX_COMPAT_H */
