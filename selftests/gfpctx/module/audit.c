// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: audit mode. Distribution kernels ship without
 * CONFIG_DEBUG_ATOMIC_SLEEP, so might_alloc() is silent where drivers run.
 * With audit on, probes on the slab tracepoints `kmalloc` and
 * `kmem_cache_alloc` (include/trace/events/kmem.h, exported by
 * mm/slab_common.c) see every slab allocation of the kernel and record
 * each one whose gfp allows blocking but that runs where
 * __might_resched() would complain, by call site, context and gfp.
 *
 * The page allocator and vmalloc have no exported tracepoint at their
 * entry: with CONFIG_KPROBES a kprobe on each entry point sees them.
 *
 * Off, no probe is registered: the tracepoints' static keys stay off, no
 * kprobe is armed and the cost is nil. See Documentation/gfpctx.rst,
 * "Audit mode".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/gfp.h>
#include <linux/hash.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/stacktrace.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/vmalloc.h>
#include <trace/events/kmem.h>

#include "gfpctx.h"

/* Distinct (site, class, gfp) kept; past that, reports are only counted. */
#define GFPCTX_AUDIT_BITS	8
#define GFPCTX_AUDIT_SIZE	BIT(GFPCTX_AUDIT_BITS)
/* "%pS" of a site; longer names are cut (seq_file output stays one line). */
#define GFPCTX_AUDIT_SITE_LEN	128
/* Frames of the stack the probe unwinds to find the site in. */
#define GFPCTX_AUDIT_TRACE	32
/* Frames kept from the site outward. */
#define GFPCTX_AUDIT_CHAIN	8
/* "%ps" names of the chain joined by '<'; a longer chain is cut. */
#define GFPCTX_AUDIT_CHAIN_LEN	384
/* One "%ps" name of the chain, " [module]" included, cut there. */
#define GFPCTX_AUDIT_FRAME_LEN	128

/* What saw an allocation: the slab tracepoints or a kprobe. */
enum gfpctx_audit_kind {
	GFPCTX_AUDIT_SLAB,
	GFPCTX_AUDIT_PAGES,
	GFPCTX_AUDIT_VMALLOC,
	GFPCTX_AUDIT_NR_KINDS,
};

static const char *const gfpctx_audit_kind_names[] = {
	[GFPCTX_AUDIT_SLAB] = "slab",
	[GFPCTX_AUDIT_PAGES] = "pages",
	[GFPCTX_AUDIT_VMALLOC] = "vmalloc",
};

struct gfpctx_audit_entry {
	unsigned long site;		/* 0: free slot */
	enum gfpctx_audit_kind kind;
	gfp_t gfp;
	enum gfpctx_class class;
	u64 count;
	u64 first_ns;			/* local_clock(), as printk times */
	/* resolved when first seen: still right once its module is gone */
	char name[GFPCTX_AUDIT_SITE_LEN];
	/* the call chain of the first report */
	char chain[GFPCTX_AUDIT_CHAIN_LEN];
};

/*
 * The probes run in every context but NMI (they return first thing
 * there), hard IRQ included, so the table is guarded by a raw spinlock
 * taken with interrupts off: a spinlock_t sleeps on PREEMPT_RT
 * (Documentation/locking/locktypes.rst). It is only taken for an
 * allocation that is reported, never on the path of a legal one.
 */
static DEFINE_RAW_SPINLOCK(gfpctx_audit_lock);
static struct gfpctx_audit_entry gfpctx_audit_table[GFPCTX_AUDIT_SIZE];
static u64 gfpctx_audit_overflow;

/* on / off / reset and module exit, one at a time. */
static DEFINE_MUTEX(gfpctx_audit_mutex);
static bool gfpctx_audit_state;		/* probes registered; mutex */

/*
 * Kbuild greps include/trace/events/kmem.h: since 6.1 `kmalloc` and
 * `kmem_cache_alloc` are TRACE_EVENTs of their own, with a node and the
 * prototypes below (6.1 and 6.12 alike). Older kernels spread them over
 * kmem_alloc / kmem_alloc_node events of several shapes: audit is not
 * built there and `on` is refused with EOPNOTSUPP.
 */
#ifdef GFPCTX_HAVE_SLAB_TP
/*
 * What the probe machinery adds to preempt_count() and to the RCU nesting
 * depth around a probe, per kind. The tracepoints: __DO_TRACE() in
 * include/linux/tracepoint.h, preempt_disable_notrace() in 6.1 and 6.12,
 * nothing without CONFIG_PREEMPT_COUNT, and later kernels change it. A
 * kprobe on a function entry goes through ftrace where it can
 * (kprobe_ftrace_handler(), arch/x86/kernel/kprobes/ftrace.c, disables
 * preemption) and through a breakpoint otherwise. Measured when audit
 * goes on, from an allocation made by the writer's task in plain process
 * context; the probes judge nothing before that.
 */
static unsigned int gfpctx_audit_base_pc[GFPCTX_AUDIT_NR_KINDS];
static int gfpctx_audit_base_rcu[GFPCTX_AUDIT_NR_KINDS];
static bool gfpctx_audit_armed;
/* The kinds registered and measured: mutex, read by the slab probe. */
static bool gfpctx_audit_kind_on[GFPCTX_AUDIT_NR_KINDS];

static struct task_struct *gfpctx_audit_calib_task;
static enum gfpctx_audit_kind gfpctx_audit_calib_kind;
static bool gfpctx_audit_calib_seen;
static bool gfpctx_audit_calib_irqs_off;
static const void *gfpctx_audit_calib_ptr;
static unsigned int gfpctx_audit_calib_pc;
static int gfpctx_audit_calib_rcu;

static bool gfpctx_audit_non_block(void)
{
#ifdef CONFIG_DEBUG_ATOMIC_SLEEP
	return current->non_block_count;
#else
	return false;
#endif
}

/*
 * Would might_sleep() complain here? The test of __might_resched()
 * (kernel/sched/core.c, 6.1 and 6.12), with the probe's own offsets
 * taken away: preempt_count() and rcu_preempt_depth() as in
 * resched_offsets_ok() for a plain might_sleep() (offsets 0), interrupts
 * off, the idle task, a non-blocking section; not while booting, going
 * down or oopsing. On PREEMPT_RT a spinlock_t leaves preempt_count()
 * alone but takes rcu_read_lock() (rt_spin_lock()), and so does
 * local_bh_disable(): the RCU depth is what tells there. Without
 * CONFIG_PREEMPT_COUNT a spinlock cannot be seen (nor by might_sleep()).
 */
static bool gfpctx_audit_atomic(enum gfpctx_audit_kind kind)
{
	if (system_state == SYSTEM_BOOTING ||
	    system_state > SYSTEM_RUNNING || oops_in_progress)
		return false;
	if (preempt_count() != READ_ONCE(gfpctx_audit_base_pc[kind]) ||
	    rcu_preempt_depth() != READ_ONCE(gfpctx_audit_base_rcu[kind]))
		return true;
	return irqs_disabled() || is_idle_task(current) ||
	       gfpctx_audit_non_block();
}

static enum gfpctx_class gfpctx_audit_class(void)
{
	if (in_hardirq())
		return GFPCTX_HARDIRQ;
	if (in_serving_softirq())
		return GFPCTX_SOFTIRQ;
	return GFPCTX_PROCESS_ATOMIC;
}

/*
 * The chain: the site, then its callers, outermost last, at most
 * GFPCTX_AUDIT_CHAIN frames, unwound here into a buffer on the stack: no
 * allocation, so no probe can be entered again from inside a probe (a
 * stack depot would allocate pages for new stacks on 6.1, and needs
 * CONFIG_STACKDEPOT and stack_depot_init(): lib/stackdepot.c). A report
 * that knows its site (the tracepoint's call_site, vmalloc's caller: a
 * return address) finds it in the trace; a pages report takes the frame
 * after the probed function, found by name (%ps: kallsyms, no sleeping
 * lock), as its site. Not found (an unwinder that cannot pass the
 * probe), the chain is the site alone; a pages site not found is the
 * probed function itself.
 */
static unsigned int gfpctx_audit_chain(unsigned long *chain,
				       unsigned long site,
				       const struct kprobe *kp)
{
	unsigned long trace[GFPCTX_AUDIT_TRACE];
	char name[64];			/* longer than any probed name */
	unsigned int n, i;

	n = stack_trace_save(trace, ARRAY_SIZE(trace), 0);
	for (i = 0; i < n; i++) {
		if (site) {
			if (trace[i] == site)
				break;
			continue;
		}
		snprintf(name, sizeof(name), "%ps", (void *)trace[i]);
		if (!strcmp(name, kp->symbol_name)) {
			i++;
			break;
		}
	}
	if (i >= n) {
		chain[0] = site ?: (unsigned long)kp->addr;
		return 1;
	}
	n = min(n - i, GFPCTX_AUDIT_CHAIN);
	memcpy(chain, &trace[i], n * sizeof(*chain));
	return n;
}

/* "f0<f1<f2": %ps names without " [module]", one word of the file. */
static void gfpctx_audit_chain_name(char *buf, const unsigned long *chain,
				    unsigned int n)
{
	char frame[GFPCTX_AUDIT_FRAME_LEN];
	size_t len = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		snprintf(frame, sizeof(frame), "%ps", (void *)chain[i]);
		len += scnprintf(buf + len, GFPCTX_AUDIT_CHAIN_LEN - len,
				 "%s%.*s", i ? "<" : "",
				 (int)strcspn(frame, " "), frame);
	}
}

static void gfpctx_audit_record(enum gfpctx_audit_kind kind,
				unsigned long site, const struct kprobe *kp,
				gfp_t gfp, enum gfpctx_class class)
{
	unsigned long chain[GFPCTX_AUDIT_CHAIN];
	struct gfpctx_audit_entry *e;
	unsigned long flags;
	unsigned int i, n;
	u32 h;

	n = gfpctx_audit_chain(chain, site, kp);
	site = chain[0];
	h = hash_long(site ^ ((unsigned long)(__force u32)gfp << 2) ^
		      class ^ ((unsigned long)kind << 8), GFPCTX_AUDIT_BITS);

	raw_spin_lock_irqsave(&gfpctx_audit_lock, flags);
	for (i = 0; i < GFPCTX_AUDIT_SIZE; i++) {
		e = &gfpctx_audit_table[(h + i) & (GFPCTX_AUDIT_SIZE - 1)];
		if (!e->site) {
			e->site = site;
			e->kind = kind;
			e->gfp = gfp;
			e->class = class;
			e->count = 1;
			e->first_ns = local_clock();
			/* kallsyms lookups take no sleeping lock */
			snprintf(e->name, sizeof(e->name), "%pS",
				 (void *)site);
			gfpctx_audit_chain_name(e->chain, chain, n);
			goto out;
		}
		if (e->site == site && e->kind == kind && e->gfp == gfp &&
		    e->class == class) {
			e->count++;
			goto out;
		}
	}
	gfpctx_audit_overflow++;
out:
	raw_spin_unlock_irqrestore(&gfpctx_audit_lock, flags);
}

/*
 * Every probe ends here, in the allocator's context: inside the
 * tracepoint (kp NULL), or at the entry of the kprobed function; site is
 * 0 where the probe does not know it.
 */
static void gfpctx_audit_alloc(enum gfpctx_audit_kind kind,
			       unsigned long site, const struct kprobe *kp,
			       const void *ptr, gfp_t gfp)
{
	/* might_alloc() is might_sleep_if(gfpflags_allow_blocking()). */
	if (!gfpflags_allow_blocking(gfp))
		return;
	/*
	 * Never take the lock in NMI; __might_resched() ignores NMIs too.
	 * A kprobe hit through a breakpoint runs as an NMI on x86
	 * (exc_int3(), arch/x86/kernel/traps.c): its calibration fails.
	 */
	if (in_nmi())
		return;
	/*
	 * The measuring allocation: a kprobe at the entry sees it before
	 * any allocation made inside it (first hit, ptr NULL); a slab
	 * tracepoint fires at the end, after them (kmemleak_alloc() adds
	 * its own object inside kmalloc(), mm/kmemleak.c): the last hit.
	 */
	if (unlikely(READ_ONCE(gfpctx_audit_calib_task) == current) &&
	    READ_ONCE(gfpctx_audit_calib_kind) == kind && in_task()) {
		if (ptr || !gfpctx_audit_calib_seen) {
			gfpctx_audit_calib_pc = preempt_count();
			gfpctx_audit_calib_rcu = rcu_preempt_depth();
			gfpctx_audit_calib_irqs_off = irqs_disabled();
			gfpctx_audit_calib_ptr = ptr;
			WRITE_ONCE(gfpctx_audit_calib_seen, true);
		}
		return;
	}
	/* Pairs with smp_store_release() in gfpctx_audit_start(). */
	if (!smp_load_acquire(&gfpctx_audit_armed))
		return;
	if (!gfpctx_audit_atomic(kind))
		return;
	gfpctx_audit_record(kind, site, kp, gfp, gfpctx_audit_class());
}

/*
 * A kmalloc() above KMALLOC_MAX_CACHE_SIZE goes to the page allocator
 * (__kmalloc_large_node_noprof(), mm/slub.c; kmalloc_large(),
 * mm/slab_common.c on 6.1) and then fires this tracepoint. With the
 * pages probe on, it is reported by that probe only, whose chain goes
 * through kmalloc to its caller: one report per allocation.
 */
static void gfpctx_audit_kmalloc(void *data, unsigned long call_site,
				 const void *ptr, size_t bytes_req,
				 size_t bytes_alloc, gfp_t gfp_flags, int node)
{
	if (bytes_req > KMALLOC_MAX_CACHE_SIZE &&
	    READ_ONCE(gfpctx_audit_kind_on[GFPCTX_AUDIT_PAGES]))
		return;
	gfpctx_audit_alloc(GFPCTX_AUDIT_SLAB, call_site, NULL, ptr,
			   gfp_flags);
}

static void gfpctx_audit_cache_alloc(void *data, unsigned long call_site,
				     const void *ptr, struct kmem_cache *s,
				     gfp_t gfp_flags, int node)
{
	gfpctx_audit_alloc(GFPCTX_AUDIT_SLAB, call_site, NULL, ptr,
			   gfp_flags);
}

static int gfpctx_audit_register_slab(void)
{
	int ret;

	ret = register_trace_kmalloc(gfpctx_audit_kmalloc, NULL);
	if (ret)
		return ret;
	ret = register_trace_kmem_cache_alloc(gfpctx_audit_cache_alloc, NULL);
	if (ret) {
		unregister_trace_kmalloc(gfpctx_audit_kmalloc, NULL);
		tracepoint_synchronize_unregister();
	}
	return ret;
}

/*
 * After unregistering, a probe may still run on another CPU until the
 * tracepoint's grace periods end: tracepoint_synchronize_unregister()
 * before the module's text or the table may go (include/linux/tracepoint.h).
 */
static void gfpctx_audit_unregister_slab(void)
{
	unregister_trace_kmem_cache_alloc(gfpctx_audit_cache_alloc, NULL);
	unregister_trace_kmalloc(gfpctx_audit_kmalloc, NULL);
	tracepoint_synchronize_unregister();
}

/* The measuring allocations, one per kind, from the writer's task. */
static void *gfpctx_audit_calib_kmalloc(void)
{
	return kmalloc(sizeof(u64), GFP_KERNEL);
}

static void gfpctx_audit_calib_kfree(void *p)
{
	kfree(p);
}

static void *gfpctx_audit_calib_pages(void)
{
	return alloc_pages(GFP_KERNEL, 0);
}

static void gfpctx_audit_calib_free_pages(void *p)
{
	__free_pages(p, 0);
}

static void *gfpctx_audit_calib_vmalloc(void)
{
	return vmalloc(PAGE_SIZE);
}

static void gfpctx_audit_calib_vfree(void *p)
{
	vfree(p);
}

#ifdef CONFIG_KPROBES
/*
 * Entry points, tried in order: the first that a kprobe can be put on
 * is used (register_kprobe() fails with ENOENT for a name kallsyms does
 * not know). Pages: since 6.14 __alloc_pages_noprof() calls
 * __alloc_frozen_pages_noprof(), which alloc_pages_mpol() calls
 * directly (mm/page_alloc.c, mm/mempolicy.c); before, the heart of the
 * allocator was __alloc_pages_noprof() (6.10) or __alloc_pages() (6.1).
 * gfp is argument 0 of all three. vmalloc: every vmalloc(), vzalloc(),
 * __vmalloc() and kvmalloc()'s fallback ends in
 * __vmalloc_node_range_noprof() (6.10, mm/vmalloc.c) or
 * __vmalloc_node_range() (6.1), gfp_mask argument 4 of both, and
 * argument 8 the caller vmalloc() and the others pass
 * (__builtin_return_address(0), as /proc/vmallocinfo shows it): the site.
 */
static const char *const gfpctx_audit_pages_syms[] = {
	"__alloc_frozen_pages_noprof", "__alloc_pages_noprof",
	"__alloc_pages", NULL,
};

static const char *const gfpctx_audit_vmalloc_syms[] = {
	"__vmalloc_node_range_noprof", "__vmalloc_node_range", NULL,
};

struct gfpctx_audit_kprobe {
	enum gfpctx_audit_kind kind;
	const char *const *syms;
	unsigned int gfp_arg;
	int site_arg;			/* the caller's argument, or -1 */
	struct kprobe kp;
};

static int gfpctx_audit_kprobe_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct gfpctx_audit_kprobe *p;
	unsigned long site = 0;
	gfp_t gfp;

	p = container_of(kp, struct gfpctx_audit_kprobe, kp);
	/* At the entry: the arguments are where the calling convention put them. */
	gfp = (__force gfp_t)regs_get_kernel_argument(regs, p->gfp_arg);
	if (p->site_arg >= 0)
		site = regs_get_kernel_argument(regs, p->site_arg);
	gfpctx_audit_alloc(p->kind, site, kp, NULL, gfp);
	return 0;
}

static struct gfpctx_audit_kprobe gfpctx_audit_kprobes[] = {
	{
		.kind = GFPCTX_AUDIT_PAGES, .syms = gfpctx_audit_pages_syms,
		.gfp_arg = 0, .site_arg = -1,
	}, {
		.kind = GFPCTX_AUDIT_VMALLOC, .syms = gfpctx_audit_vmalloc_syms,
		.gfp_arg = 4, .site_arg = 8,
	},
};

/* The first name of the table that takes a kprobe; its error if none. */
static int gfpctx_audit_register_kprobe(struct gfpctx_audit_kprobe *p)
{
	const char *const *sym;
	int ret = -ENOENT;

	for (sym = p->syms; *sym && ret == -ENOENT; sym++) {
		/* register_kprobe() fills the struct in: a fresh one each try */
		p->kp = (struct kprobe){
			.symbol_name = *sym,
			.pre_handler = gfpctx_audit_kprobe_pre,
		};
		ret = register_kprobe(&p->kp);
	}
	return ret;
}

/* unregister_kprobe() waits for running handlers (synchronize_rcu()). */
static void gfpctx_audit_unregister_kprobe(struct gfpctx_audit_kprobe *p)
{
	unregister_kprobe(&p->kp);
}
#endif /* CONFIG_KPROBES */

struct gfpctx_audit_calib {
	void *(*alloc)(void);
	void (*free)(void *p);
};

static const struct gfpctx_audit_calib gfpctx_audit_calibs[] = {
	[GFPCTX_AUDIT_SLAB] = {
		gfpctx_audit_calib_kmalloc, gfpctx_audit_calib_kfree,
	},
	[GFPCTX_AUDIT_PAGES] = {
		gfpctx_audit_calib_pages, gfpctx_audit_calib_free_pages,
	},
	[GFPCTX_AUDIT_VMALLOC] = {
		gfpctx_audit_calib_vmalloc, gfpctx_audit_calib_vfree,
	},
};

/*
 * Measure a probe's offsets: an allocation of our own, from this task in
 * process context, preemptible, must not count as atomic. The probe of
 * that kind stores what it saw (a slab probe the pointer too, so that the
 * measure is known to come from this very allocation). A probe run with
 * interrupts off cannot tell a caller's irqs_disabled() from its own: EIO
 * too.
 */
static int gfpctx_audit_calibrate(enum gfpctx_audit_kind kind)
{
	const struct gfpctx_audit_calib *c = &gfpctx_audit_calibs[kind];
	unsigned int pc = preempt_count();
	int rcu = rcu_preempt_depth();
	bool seen;
	void *p;

	WRITE_ONCE(gfpctx_audit_calib_seen, false);
	WRITE_ONCE(gfpctx_audit_calib_kind, kind);
	WRITE_ONCE(gfpctx_audit_calib_task, current);
	p = c->alloc();
	WRITE_ONCE(gfpctx_audit_calib_task, NULL);
	seen = READ_ONCE(gfpctx_audit_calib_seen);
	if (!p)
		return -ENOMEM;
	c->free(p);
	if (!seen || gfpctx_audit_calib_irqs_off ||
	    (kind == GFPCTX_AUDIT_SLAB && gfpctx_audit_calib_ptr != p)) {
		pr_warn("audit: the %s probe did not see its own allocation\n",
			gfpctx_audit_kind_names[kind]);
		return -EIO;
	}
	WRITE_ONCE(gfpctx_audit_base_pc[kind], gfpctx_audit_calib_pc - pc);
	WRITE_ONCE(gfpctx_audit_base_rcu[kind], gfpctx_audit_calib_rcu - rcu);
	return 0;
}

#ifdef CONFIG_KPROBES
/*
 * The kprobes that can be registered and measured are switched on; one
 * that cannot is logged and left off: the slab tracepoints still work.
 */
static void gfpctx_audit_start_kprobes(void)
{
	struct gfpctx_audit_kprobe *p;
	int ret;

	for (p = gfpctx_audit_kprobes;
	     p < gfpctx_audit_kprobes + ARRAY_SIZE(gfpctx_audit_kprobes); p++) {
		ret = gfpctx_audit_register_kprobe(p);
		if (!ret) {
			ret = gfpctx_audit_calibrate(p->kind);
			if (ret)
				gfpctx_audit_unregister_kprobe(p);
		}
		if (ret) {
			pr_warn("audit: no %s probe (%d)\n",
				gfpctx_audit_kind_names[p->kind], ret);
			continue;
		}
		WRITE_ONCE(gfpctx_audit_kind_on[p->kind], true);
	}
}

static void gfpctx_audit_stop_kprobes(void)
{
	struct gfpctx_audit_kprobe *p;

	for (p = gfpctx_audit_kprobes;
	     p < gfpctx_audit_kprobes + ARRAY_SIZE(gfpctx_audit_kprobes); p++) {
		if (!gfpctx_audit_kind_on[p->kind])
			continue;
		gfpctx_audit_unregister_kprobe(p);
		WRITE_ONCE(gfpctx_audit_kind_on[p->kind], false);
	}
}

/* "pages at __alloc_pages_noprof": where the probe of a kind sits. */
static const char *gfpctx_audit_kind_where(enum gfpctx_audit_kind kind)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gfpctx_audit_kprobes); i++)
		if (gfpctx_audit_kprobes[i].kind == kind)
			return gfpctx_audit_kprobes[i].kp.symbol_name;
	return "tracepoints kmalloc, kmem_cache_alloc";
}
#else
static void gfpctx_audit_start_kprobes(void)
{
	pr_warn("audit: no pages or vmalloc probe (no CONFIG_KPROBES)\n");
}

static void gfpctx_audit_stop_kprobes(void)
{
}

static const char *gfpctx_audit_kind_where(enum gfpctx_audit_kind kind)
{
	return "tracepoints kmalloc, kmem_cache_alloc";
}
#endif /* CONFIG_KPROBES */

static int gfpctx_audit_start(void)
{
	unsigned int k;
	int ret;

	lockdep_assert_held(&gfpctx_audit_mutex);
	if (gfpctx_audit_state)
		return 0;
	ret = gfpctx_audit_register_slab();
	if (ret)
		return ret;
	ret = gfpctx_audit_calibrate(GFPCTX_AUDIT_SLAB);
	if (ret) {
		gfpctx_audit_unregister_slab();
		return ret;
	}
	gfpctx_audit_kind_on[GFPCTX_AUDIT_SLAB] = true;
	gfpctx_audit_start_kprobes();
	/* Pairs with smp_load_acquire() in the probe: offsets first. */
	smp_store_release(&gfpctx_audit_armed, true);
	gfpctx_audit_state = true;
	for (k = 0; k < GFPCTX_AUDIT_NR_KINDS; k++)
		if (gfpctx_audit_kind_on[k])
			pr_info("audit on: %s at %s: preempt_count=%u rcu_depth=%d\n",
				gfpctx_audit_kind_names[k],
				gfpctx_audit_kind_where(k),
				gfpctx_audit_base_pc[k],
				gfpctx_audit_base_rcu[k]);
	return 0;
}

static void gfpctx_audit_stop(void)
{
	lockdep_assert_held(&gfpctx_audit_mutex);
	if (!gfpctx_audit_state)
		return;
	WRITE_ONCE(gfpctx_audit_armed, false);
	gfpctx_audit_stop_kprobes();
	gfpctx_audit_unregister_slab();
	gfpctx_audit_kind_on[GFPCTX_AUDIT_SLAB] = false;
	gfpctx_audit_state = false;
	pr_info("audit off\n");
}
#else
static int gfpctx_audit_start(void)
{
	return -EOPNOTSUPP;
}

static void gfpctx_audit_stop(void)
{
}
#endif

static void gfpctx_audit_reset(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&gfpctx_audit_lock, flags);
	memset(gfpctx_audit_table, 0, sizeof(gfpctx_audit_table));
	gfpctx_audit_overflow = 0;
	raw_spin_unlock_irqrestore(&gfpctx_audit_lock, flags);
}

/* "on", "off" or "reset", one word; anything else changes nothing. */
int gfpctx_audit_set(char *words)
{
	char *word = strim(words);
	int ret = 0;

	mutex_lock(&gfpctx_audit_mutex);
	if (!strcmp(word, "on"))
		ret = gfpctx_audit_start();
	else if (!strcmp(word, "off"))
		gfpctx_audit_stop();
	else if (!strcmp(word, "reset"))
		gfpctx_audit_reset();
	else
		ret = -EINVAL;
	mutex_unlock(&gfpctx_audit_mutex);
	return ret;
}

static int gfpctx_audit_cmp(const void *a, const void *b)
{
	const struct gfpctx_audit_entry *ea = a, *eb = b;

	if (ea->first_ns != eb->first_ns)
		return ea->first_ns < eb->first_ns ? -1 : 1;
	return 0;
}

/* One line per entry, oldest first, then the summary line. */
/*
 * "%pS" reads "sym+off/len [mod]" for module code: print it as two
 * key=value words, site= and module= (vmlinux for built-in code).
 */
static void gfpctx_audit_show_site(struct seq_file *m, const char *name)
{
	const char *mod = strstr(name, " [");
	size_t len;

	if (!mod) {
		seq_printf(m, "site=%s module=vmlinux", name);
		return;
	}
	len = strlen(mod + 2);
	if (len && mod[2 + len - 1] == ']')
		len--;
	seq_printf(m, "site=%.*s module=%.*s", (int)(mod - name), name,
		   (int)len, mod + 2);
}

int gfpctx_audit_show(struct seq_file *m, void *unused)
{
	struct gfpctx_audit_entry *snap;
	unsigned long flags;
	unsigned int i, n = 0;
	u64 overflow;
	bool on;

	snap = kvmalloc_array(GFPCTX_AUDIT_SIZE, sizeof(*snap), GFP_KERNEL);
	if (!snap)
		return -ENOMEM;
	on = READ_ONCE(gfpctx_audit_state);
	raw_spin_lock_irqsave(&gfpctx_audit_lock, flags);
	for (i = 0; i < GFPCTX_AUDIT_SIZE; i++)
		if (gfpctx_audit_table[i].site)
			snap[n++] = gfpctx_audit_table[i];
	overflow = gfpctx_audit_overflow;
	raw_spin_unlock_irqrestore(&gfpctx_audit_lock, flags);

	sort(snap, n, sizeof(*snap), gfpctx_audit_cmp, NULL);
	for (i = 0; i < n; i++) {
		gfpctx_audit_show_site(m, snap[i].name);
		seq_printf(m, " class=%s gfp=%#x count=%llu first_ns=%llu probe=%s chain=%s\n",
			   gfpctx_class_name(snap[i].class),
			   (__force unsigned int)snap[i].gfp, snap[i].count,
			   snap[i].first_ns,
			   gfpctx_audit_kind_names[snap[i].kind], snap[i].chain);
	}
	seq_printf(m, "entries=%u overflow=%llu state=%s\n", n, overflow,
		   on ? "on" : "off");
	kvfree(snap);
	return 0;
}

/* Module exit (and a failed init): no probe may outlive the module. */
void gfpctx_audit_exit(void)
{
	mutex_lock(&gfpctx_audit_mutex);
	gfpctx_audit_stop();
	mutex_unlock(&gfpctx_audit_mutex);
}
