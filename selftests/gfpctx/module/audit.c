// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: audit mode. Distribution kernels ship without
 * CONFIG_DEBUG_ATOMIC_SLEEP, so might_alloc() is silent where drivers run.
 * With audit on, probes on the slab tracepoints `kmalloc` and
 * `kmem_cache_alloc` (include/trace/events/kmem.h, exported by
 * mm/slab_common.c) and on the page allocator's `mm_page_alloc` (the same
 * header; not exported, found by name) see every slab and page
 * allocation of the kernel and record each one whose gfp allows blocking
 * but that runs where __might_resched() would complain, by call site,
 * context and gfp, with the call chain of its first report.
 *
 * Off, no probe is registered: the tracepoints' static keys stay off and
 * the cost is nil. vmalloc has no tracepoint with a gfp: its pages come
 * from the bulk allocator, which traces none, and are not seen (its
 * internal slab and single-page allocations are, at their own call
 * sites). See Documentation/gfpctx.rst, "Audit mode".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/gfp.h>
#include <linux/hash.h>
#include <linux/init.h>
#include <linux/kernel.h>
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
#include <trace/events/kmem.h>

#include "gfpctx.h"

/* Distinct (site, class, gfp) kept; past that, reports are only counted. */
#define GFPCTX_AUDIT_BITS	8
#define GFPCTX_AUDIT_SIZE	BIT(GFPCTX_AUDIT_BITS)
/* "%pS" of a site; longer names are cut (seq_file output stays one line). */
#define GFPCTX_AUDIT_SITE_LEN	128
/* Frames of the stack a probe unwinds to find the site and its callers. */
#define GFPCTX_AUDIT_TRACE	32
/* Frames of the chain: the site and its callers, outermost last. */
#define GFPCTX_AUDIT_CHAIN	8
/* The chain's "%ps" names joined by '<'; a longer chain is cut. */
#define GFPCTX_AUDIT_CHAIN_LEN	320

/* Which tracepoint saw an allocation. */
enum gfpctx_audit_probe {
	GFPCTX_AUDIT_SLAB,
	GFPCTX_AUDIT_PAGES,
};

static const char *const gfpctx_audit_probe_names[] = {
	[GFPCTX_AUDIT_SLAB] = "slab",
	[GFPCTX_AUDIT_PAGES] = "pages",
};

struct gfpctx_audit_entry {
	unsigned long site;		/* 0: free slot */
	enum gfpctx_audit_probe probe;
	gfp_t gfp;
	enum gfpctx_class class;
	u64 count;
	u64 first_ns;			/* local_clock(), as printk times */
	/* resolved when first seen: still right once its module is gone */
	char name[GFPCTX_AUDIT_SITE_LEN];
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
 * What the tracepoint machinery adds to preempt_count() and to the RCU
 * nesting depth around its probes (__DO_TRACE() in
 * include/linux/tracepoint.h: preempt_disable_notrace() in 6.1 and 6.12,
 * nothing without CONFIG_PREEMPT_COUNT, and later kernels change it).
 * Measured when audit goes on, from an allocation made by the writer's
 * task in plain process context; the probes judge nothing before that.
 */
static unsigned int gfpctx_audit_base_pc;
static int gfpctx_audit_base_rcu;
static bool gfpctx_audit_armed;

static struct task_struct *gfpctx_audit_calib_task;
static const void *gfpctx_audit_calib_ptr;
static unsigned int gfpctx_audit_calib_pc;
static int gfpctx_audit_calib_rcu;

/*
 * Kbuild greps include/trace/events/kmem.h: since 6.1 `kmalloc` and
 * `kmem_cache_alloc` are TRACE_EVENTs of their own, with a node and the
 * prototypes below (6.1 and 6.12 alike). Older kernels spread them over
 * kmem_alloc / kmem_alloc_node events of several shapes: audit is not
 * built there and `on` is refused with EOPNOTSUPP.
 */
#ifdef GFPCTX_HAVE_SLAB_TP
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
static bool gfpctx_audit_atomic(void)
{
	if (system_state == SYSTEM_BOOTING ||
	    system_state > SYSTEM_RUNNING || oops_in_progress)
		return false;
	if (preempt_count() != READ_ONCE(gfpctx_audit_base_pc) ||
	    rcu_preempt_depth() != READ_ONCE(gfpctx_audit_base_rcu))
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

#ifdef CONFIG_STACKTRACE
/*
 * The page allocator's own functions, and the probe's: a pages report's
 * site is the first frame of its stack that none of these begins, as
 * KFENCE finds the caller of kfree() (get_stack_skipnr(),
 * mm/kfence/report.c). alloc_pages() and the rest are macros of the
 * _noprof functions (include/linux/gfp.h, 6.10 on), called through
 * alloc_pages_mpol() with NUMA, and __alloc_frozen_pages_noprof() (6.14)
 * or __alloc_pages() (6.1) fires the tracepoint.
 */
static const char *const gfpctx_audit_page_fns[] = {
	"gfpctx_audit_", "__traceiter_", "__alloc_pages", "alloc_pages",
	"__alloc_frozen_pages", "alloc_frozen_pages", "__folio_alloc",
	"folio_alloc", "__get_free_pages", "get_zeroed_page",
};

static bool gfpctx_audit_page_fn(unsigned long ip)
{
	char name[32];		/* longer than any of the names above */
	unsigned int i;

	/* %ps: kallsyms, which takes no sleeping lock */
	snprintf(name, sizeof(name), "%ps", (void *)ip);
	for (i = 0; i < ARRAY_SIZE(gfpctx_audit_page_fns); i++)
		if (str_has_prefix(name, gfpctx_audit_page_fns[i]))
			return true;
	return false;
}

/*
 * The chain of a report, unwound here into @chain (GFPCTX_AUDIT_CHAIN
 * entries): the site, then its callers. A slab report knows its site
 * (the tracepoint's call_site, a return address as the unwinder's) and
 * finds it in the stack; a pages report's site is its first frame outside
 * the page allocator. No allocation: a stack depot could allocate (6.1)
 * and would be entered from inside a probe. Returns the frames stored, at
 * least 1: where the unwinder does not reach the site, the site alone
 * (for pages: @fallback, the tracepoint's caller).
 */
static unsigned int gfpctx_audit_chain(unsigned long *chain,
				       unsigned long site,
				       unsigned long fallback)
{
	unsigned long trace[GFPCTX_AUDIT_TRACE];
	unsigned int n, i;

	n = stack_trace_save(trace, ARRAY_SIZE(trace), 0);
	for (i = 0; i < n; i++)
		if (site ? trace[i] == site : !gfpctx_audit_page_fn(trace[i]))
			break;
	if (i == n) {
		chain[0] = site ?: fallback;
		return 1;
	}
	n = min_t(unsigned int, n - i, GFPCTX_AUDIT_CHAIN);
	memcpy(chain, &trace[i], n * sizeof(*chain));
	return n;
}
#else
static unsigned int gfpctx_audit_chain(unsigned long *chain,
				       unsigned long site,
				       unsigned long fallback)
{
	chain[0] = site ?: fallback;
	return 1;
}
#endif

/* "f0<f1<f2": the %ps names without " [module]", one word of the file. */
static void gfpctx_audit_chain_name(char *buf, const unsigned long *chain,
				    unsigned int n)
{
	char frame[GFPCTX_AUDIT_SITE_LEN];
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(frame, sizeof(frame), "%ps", (void *)chain[i]);
		len += scnprintf(buf + len, GFPCTX_AUDIT_CHAIN_LEN - len,
				 "%s%.*s", i ? "<" : "",
				 (int)strcspn(frame, " "), frame);
	}
}

static void gfpctx_audit_record(enum gfpctx_audit_probe probe,
				unsigned long site, unsigned long fallback,
				gfp_t gfp, enum gfpctx_class class)
{
	unsigned long chain[GFPCTX_AUDIT_CHAIN];
	struct gfpctx_audit_entry *e;
	unsigned int i, n;
	unsigned long flags;
	u32 h;

	n = gfpctx_audit_chain(chain, site, fallback);
	site = chain[0];
	h = hash_long(site ^ ((unsigned long)(__force u32)gfp << 2) ^
		      class ^ ((unsigned long)probe << 8), GFPCTX_AUDIT_BITS);

	raw_spin_lock_irqsave(&gfpctx_audit_lock, flags);
	for (i = 0; i < GFPCTX_AUDIT_SIZE; i++) {
		e = &gfpctx_audit_table[(h + i) & (GFPCTX_AUDIT_SIZE - 1)];
		if (!e->site) {
			e->site = site;
			e->probe = probe;
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
		if (e->site == site && e->probe == probe && e->gfp == gfp &&
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
 * Every probe ends here, inside its tracepoint, in the allocator's
 * context. @site is the caller where the tracepoint says it (slab), 0
 * where the stack must tell (pages); @fallback the tracepoint's caller.
 */
static void gfpctx_audit_alloc(enum gfpctx_audit_probe probe,
			       unsigned long site, unsigned long fallback,
			       const void *ptr, gfp_t gfp)
{
	/* might_alloc() is might_sleep_if(gfpflags_allow_blocking()). */
	if (!gfpflags_allow_blocking(gfp))
		return;
	/* Never take the lock in NMI; __might_resched() ignores NMIs too. */
	if (in_nmi())
		return;
	/*
	 * The measuring allocations: the last hit of the task's (a slab
	 * tracepoint fires after any page allocation made inside it).
	 */
	if (unlikely(READ_ONCE(gfpctx_audit_calib_task) == current) &&
	    in_task()) {
		gfpctx_audit_calib_pc = preempt_count();
		gfpctx_audit_calib_rcu = rcu_preempt_depth();
		WRITE_ONCE(gfpctx_audit_calib_ptr, ptr);
		return;
	}
	/* Pairs with smp_store_release() in gfpctx_audit_start(). */
	if (!smp_load_acquire(&gfpctx_audit_armed))
		return;
	if (!gfpctx_audit_atomic())
		return;
	gfpctx_audit_record(probe, site, fallback, gfp, gfpctx_audit_class());
}

static void gfpctx_audit_kmalloc(void *data, unsigned long call_site,
				 const void *ptr, size_t bytes_req,
				 size_t bytes_alloc, gfp_t gfp_flags, int node)
{
	gfpctx_audit_alloc(GFPCTX_AUDIT_SLAB, call_site, call_site, ptr,
			   gfp_flags);
}

static void gfpctx_audit_cache_alloc(void *data, unsigned long call_site,
				     const void *ptr, struct kmem_cache *s,
				     gfp_t gfp_flags, int node)
{
	gfpctx_audit_alloc(GFPCTX_AUDIT_SLAB, call_site, call_site, ptr,
			   gfp_flags);
}

/*
 * Every page allocation, after it (mm_page_alloc at the end of
 * __alloc_frozen_pages_noprof() or __alloc_pages(), mm/page_alloc.c, 6.1
 * to 7.3; the bulk allocator's fast path fires none). A kmalloc() above
 * KMALLOC_MAX_CACHE_SIZE and a new slab come here too, at the slab
 * allocator's own sites.
 */
static void gfpctx_audit_page_alloc(void *data, struct page *page,
				    unsigned int order, gfp_t gfp_flags,
				    int migratetype)
{
	gfpctx_audit_alloc(GFPCTX_AUDIT_PAGES, 0, _RET_IP_, page, gfp_flags);
}

static void gfpctx_audit_find_tp(struct tracepoint *tp, void *priv)
{
	struct tracepoint **found = priv;

	if (!strcmp(tp->name, "mm_page_alloc"))
		*found = tp;
}

/* mm_page_alloc is not exported (no register_trace_mm_page_alloc()). */
static struct tracepoint *gfpctx_audit_page_tp;

static int gfpctx_audit_register(void)
{
	int ret;

	check_trace_callback_type_mm_page_alloc(gfpctx_audit_page_alloc);
	for_each_kernel_tracepoint(gfpctx_audit_find_tp, &gfpctx_audit_page_tp);
	if (!gfpctx_audit_page_tp)
		return -ENOENT;
	ret = register_trace_kmalloc(gfpctx_audit_kmalloc, NULL);
	if (ret)
		return ret;
	ret = register_trace_kmem_cache_alloc(gfpctx_audit_cache_alloc, NULL);
	if (ret)
		goto out_kmalloc;
	ret = tracepoint_probe_register(gfpctx_audit_page_tp,
					(void *)gfpctx_audit_page_alloc, NULL);
	if (ret)
		goto out_cache_alloc;
	return 0;

out_cache_alloc:
	unregister_trace_kmem_cache_alloc(gfpctx_audit_cache_alloc, NULL);
out_kmalloc:
	unregister_trace_kmalloc(gfpctx_audit_kmalloc, NULL);
	tracepoint_synchronize_unregister();
	return ret;
}

/*
 * After unregistering, a probe may still run on another CPU until the
 * tracepoint's grace periods end: tracepoint_synchronize_unregister()
 * before the module's text or the table may go (include/linux/tracepoint.h).
 */
static void gfpctx_audit_unregister(void)
{
	tracepoint_probe_unregister(gfpctx_audit_page_tp,
				    (void *)gfpctx_audit_page_alloc, NULL);
	unregister_trace_kmem_cache_alloc(gfpctx_audit_cache_alloc, NULL);
	unregister_trace_kmalloc(gfpctx_audit_kmalloc, NULL);
	tracepoint_synchronize_unregister();
}
#else
static int gfpctx_audit_register(void)
{
	return -EOPNOTSUPP;
}

static void gfpctx_audit_unregister(void)
{
}
#endif

/*
 * Measure the probe's offsets: an allocation of our own, from this task
 * in process context, preemptible, must not count as atomic. The probe
 * sees it through the tracepoint, stores what it saw and the pointer, so
 * that the measure is known to come from this very allocation.
 */
static int gfpctx_audit_calibrate(void)
{
	unsigned int pc = preempt_count();
	int rcu = rcu_preempt_depth();
	const void *seen;
	struct page *page;
	u64 *p;

	WRITE_ONCE(gfpctx_audit_calib_ptr, NULL);
	WRITE_ONCE(gfpctx_audit_calib_task, current);
	p = kmalloc(sizeof(*p), GFP_KERNEL);
	WRITE_ONCE(gfpctx_audit_calib_task, NULL);
	seen = READ_ONCE(gfpctx_audit_calib_ptr);
	kfree(p);
	if (!p)
		return -ENOMEM;
	if (seen != p) {
		pr_warn("audit: the kmalloc probe did not see its own allocation\n");
		return -EIO;
	}
	WRITE_ONCE(gfpctx_audit_base_pc, gfpctx_audit_calib_pc - pc);
	WRITE_ONCE(gfpctx_audit_base_rcu, gfpctx_audit_calib_rcu - rcu);

	/* The page probe is judged with the same offsets: check them. */
	WRITE_ONCE(gfpctx_audit_calib_ptr, NULL);
	WRITE_ONCE(gfpctx_audit_calib_task, current);
	page = alloc_page(GFP_KERNEL);
	WRITE_ONCE(gfpctx_audit_calib_task, NULL);
	seen = READ_ONCE(gfpctx_audit_calib_ptr);
	if (!page)
		return -ENOMEM;
	__free_page(page);
	if (seen != page ||
	    gfpctx_audit_calib_pc - pc != gfpctx_audit_base_pc ||
	    gfpctx_audit_calib_rcu - rcu != gfpctx_audit_base_rcu) {
		pr_warn("audit: the page probe did not see its own allocation as the slab probes do\n");
		return -EIO;
	}
	return 0;
}

static int gfpctx_audit_start(void)
{
	int ret;

	lockdep_assert_held(&gfpctx_audit_mutex);
	if (gfpctx_audit_state)
		return 0;
	ret = gfpctx_audit_register();
	if (ret)
		return ret;
	ret = gfpctx_audit_calibrate();
	if (ret) {
		gfpctx_audit_unregister();
		return ret;
	}
	/* Pairs with smp_load_acquire() in the probe: offsets first. */
	smp_store_release(&gfpctx_audit_armed, true);
	gfpctx_audit_state = true;
	pr_info("audit on: probe offsets preempt_count=%u rcu_depth=%d\n",
		gfpctx_audit_base_pc, gfpctx_audit_base_rcu);
	return 0;
}

static void gfpctx_audit_stop(void)
{
	lockdep_assert_held(&gfpctx_audit_mutex);
	if (!gfpctx_audit_state)
		return;
	WRITE_ONCE(gfpctx_audit_armed, false);
	gfpctx_audit_unregister();
	gfpctx_audit_state = false;
	pr_info("audit off\n");
}

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
			   gfpctx_audit_probe_names[snap[i].probe],
			   snap[i].chain);
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
