// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: what is legal where. One table, read top down, the first row
 * that matches a cell gives its verdict on the running kernel.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>

#include "gfpctx.h"

struct gfpctx_rule {
	unsigned int ctx_has;	/* all of these GFPCTX_CTX_* bits */
	unsigned int alloc_has;	/* all of these GFPCTX_ALLOC_* bits */
	gfp_t gfp_has;		/* all of these gfp bits */
	gfp_t gfp_lacks;	/* none of these gfp bits */
	enum gfpctx_verdict verdict;
	const char *why;
};

static const struct gfpctx_rule gfpctx_rules[] = {
	/*
	 * The nolock allocators take trylocks only: legal anywhere, NMI and
	 * PREEMPT_RT's hard IRQ included, where they fail by design
	 * (can_spin_trylock(), mm/internal.h). A NULL is not a failure of
	 * the rules: "NULL does not mean EBUSY or EAGAIN. It means ENOMEM."
	 * (kmalloc_nolock(), include/linux/slab.h)
	 */
	{ .alloc_has = GFPCTX_ALLOC_NOLOCK,
	  .verdict = GFPCTX_OK, .why = "nolock-may-fail" },
	/*
	 * Every other allocator takes spinlocks, which an NMI may have
	 * interrupted on its own CPU: a deadlock, which no debug option
	 * reports before it happens.
	 */
	{ .ctx_has = GFPCTX_CTX_NMI,
	  .verdict = GFPCTX_FATAL, .why = "locks-in-nmi-deadlock" },
	/*
	 * PREEMPT_RT: the slab and page allocators take sleeping locks, so
	 * true hard IRQ context and preemption-disabled sections may not
	 * allocate at all (Documentation/locking/locktypes.rst).
	 */
	{ .ctx_has = GFPCTX_CTX_RAW,
	  .verdict = GFPCTX_FATAL, .why = "rt-no-alloc-in-raw-context" },
#ifdef CONFIG_PROVE_RAW_LOCK_NESTING
	/*
	 * lockdep checks PREEMPT_RT's lock nesting here (on by default with
	 * PROVE_LOCKING where the architecture supports RT in 7.x's
	 * lib/Kconfig.debug; 6.12 asks): an allocator's spinlock_t in a raw
	 * wait context is `[ BUG: Invalid wait context ]`, after which
	 * lockdep is off for the boot (check_wait_context(),
	 * kernel/locking/lockdep.c).
	 */
	{ .ctx_has = GFPCTX_CTX_RAW_WAIT,
	  .verdict = GFPCTX_FATAL, .why = "raw-lock-nesting-checked" },
#endif
#ifdef GFPCTX_HAVE_VMALLOC_NONBLOCKING
	/*
	 * vmalloc takes non-blocking gfp (7.x, not 6.12), and kvmalloc falls
	 * back to it with any gfp when kmalloc fails above PAGE_SIZE, always
	 * above KMALLOC_MAX_SIZE (__kvmalloc_node_noprof(), mm/slub.c). In
	 * hard IRQ: BUG_ON(in_nmi() || in_hardirq()) in __get_vm_area_node();
	 * in a softirq, vmalloc's spinlocks (free_vmap_area_lock,
	 * mm/vmalloc.c) are taken with BH enabled elsewhere: a self-deadlock.
	 * A job is judged at its size (gfpctx_verdict()), a cell at its
	 * worst.
	 */
	{ .ctx_has = GFPCTX_CTX_HARDIRQ, .alloc_has = GFPCTX_ALLOC_VMALLOC,
	  .verdict = GFPCTX_FATAL, .why = "vmalloc-in-hardirq-bugs" },
	{ .ctx_has = GFPCTX_CTX_SOFTIRQ, .alloc_has = GFPCTX_ALLOC_VMALLOC,
	  .verdict = GFPCTX_FATAL, .why = "vmalloc-locks-not-softirq-safe" },
#else
	/*
	 * vmalloc: BUG_ON(in_interrupt()) in __get_vm_area_node(); kvmalloc
	 * falls back to it when the gfp may block.
	 */
	{ .ctx_has = GFPCTX_CTX_INTERRUPT, .alloc_has = GFPCTX_ALLOC_VMALLOC,
	  .gfp_has = __GFP_DIRECT_RECLAIM,
	  .verdict = GFPCTX_FATAL, .why = "vmalloc-in-interrupt-bugs" },
#endif
	/*
	 * __GFP_NOFAIL without __GFP_DIRECT_RECLAIM, in any context: "we
	 * don't support __GFP_NOFAIL without __GFP_DIRECT_RECLAIM, otherwise,
	 * we may result in lockup" (__alloc_pages_slowpath(),
	 * mm/page_alloc.c, 6.1 to 7.3). The slow path warns once per boot,
	 * and only when the fast path has failed, then returns NULL despite
	 * __GFP_NOFAIL: no report a test can count on, and a caller that
	 * trusts the flag dereferences NULL.
	 */
	{ .gfp_has = __GFP_NOFAIL, .gfp_lacks = __GFP_DIRECT_RECLAIM,
	  .verdict = GFPCTX_FATAL, .why = "nofail-without-direct-reclaim" },
	/*
	 * might_alloc() -> might_sleep_if(gfpflags_allow_blocking()): the
	 * retry modifiers (__GFP_NORETRY, __GFP_RETRY_MAYFAIL, __GFP_NOFAIL)
	 * change how long the allocator tries, not whether it may sleep.
	 */
	{ .ctx_has = GFPCTX_CTX_ATOMIC, .gfp_has = __GFP_DIRECT_RECLAIM,
	  .verdict = GFPCTX_WARNS, .why = "blocking-gfp-in-atomic" },
	{ .verdict = GFPCTX_OK, .why = "allowed" },
};

/*
 * vmalloc takes GFP_KERNEL only; the nolock allocators take a gfp without
 * reclaim bits only, and are the only ones that do: "All GFP_* flags
 * including GFP_NOWAIT use one or both flags. alloc_pages_nolock() is the
 * only API that doesn't specify either flag" (gfpflags_allow_spinning(),
 * include/linux/gfp.h of 6.15 and later).
 */
bool gfpctx_cell_exists(const struct gfpctx_alloc *alloc,
			const struct gfpctx_gfp *gfp)
{
	bool nolock = alloc->flags & GFPCTX_ALLOC_NOLOCK;

	if (nolock != !(gfp->flags & __GFP_RECLAIM))
		return false;
	return !(alloc->flags & GFPCTX_ALLOC_KERNEL_ONLY) ||
	       gfp->flags == GFP_KERNEL;
}

/*
 * The verdict of a job of @size bytes (SIZE_MAX: the cell's worst size,
 * as `rules` shows it): an allocator calls vmalloc above its
 * vmalloc_above only.
 */
enum gfpctx_verdict gfpctx_verdict(const struct gfpctx_context *ctx,
				   const struct gfpctx_alloc *alloc,
				   const struct gfpctx_gfp *gfp, size_t size,
				   const char **why)
{
	unsigned int ctx_flags = gfpctx_ctx_flags(ctx);
	unsigned int alloc_flags = alloc->flags;
	const struct gfpctx_rule *rule;

	if (size <= alloc->vmalloc_above)
		alloc_flags &= ~GFPCTX_ALLOC_VMALLOC;
	for (rule = gfpctx_rules; ; rule++) {
		if ((ctx_flags & rule->ctx_has) != rule->ctx_has)
			continue;
		if ((alloc_flags & rule->alloc_has) != rule->alloc_has)
			continue;
		if ((gfp->flags & rule->gfp_has) != rule->gfp_has ||
		    (gfp->flags & rule->gfp_lacks))
			continue;
		break;
	}
	if (why)
		*why = rule->why;
	return rule->verdict;
}

const char *gfpctx_verdict_name(enum gfpctx_verdict verdict)
{
	static const char * const names[] = {
		[GFPCTX_OK] = "ok",
		[GFPCTX_WARNS] = "warns",
		[GFPCTX_FATAL] = "fatal",
	};

	return names[verdict];
}

/*
 * One line per cell that exists: its context and class, allocator, gfp,
 * verdict at its worst size and the rule's why, and the largest order= or
 * size= a job of the cell may ask for (gfpctx_cell_max()).
 */
int gfpctx_rules_show(struct seq_file *m, void *unused)
{
	unsigned int c, a, g;

	for (c = 0; c < gfpctx_nr_contexts; c++) {
		const struct gfpctx_context *ctx = &gfpctx_contexts[c];

		for (a = 0; a < gfpctx_nr_allocs; a++) {
			for (g = 0; g < gfpctx_nr_gfps; g++) {
				const struct gfpctx_alloc *alloc;
				const struct gfpctx_gfp *gfp;
				enum gfpctx_verdict v;
				const char *why;

				alloc = &gfpctx_allocs[a];
				gfp = &gfpctx_gfps[g];
				if (!gfpctx_cell_exists(alloc, gfp))
					continue;
				v = gfpctx_verdict(ctx, alloc, gfp, SIZE_MAX, &why);
				seq_printf(m, "context=%s class=%s alloc=%s gfp=%s verdict=%s why=%s largest=%u\n",
					   ctx->name,
					   gfpctx_class_name(gfpctx_ctx_class(ctx)),
					   alloc->name, gfp->name,
					   gfpctx_verdict_name(v), why,
					   gfpctx_cell_max(alloc, gfp));
			}
		}
	}
	return 0;
}
