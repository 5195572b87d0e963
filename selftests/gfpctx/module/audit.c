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
 * Off, no probe is registered: the tracepoints' static keys stay off and
 * the cost is nil. Page allocations and vmalloc have no slab tracepoint
 * and are not seen (their internal slab allocations are, at their own
 * call sites). See Documentation/gfpctx.rst, "Audit mode".
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
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <trace/events/kmem.h>

#include "gfpctx.h"

/* Distinct (site, class, gfp) kept; past that, reports are only counted. */
#define GFPCTX_AUDIT_BITS	8
#define GFPCTX_AUDIT_SIZE	BIT(GFPCTX_AUDIT_BITS)
/* "%pS" of a site; longer names are cut (seq_file output stays one line). */
#define GFPCTX_AUDIT_SITE_LEN	128

struct gfpctx_audit_entry {
	unsigned long site;		/* 0: free slot */
	gfp_t gfp;
	enum gfpctx_class class;
	u64 count;
	u64 first_ns;			/* local_clock(), as printk times */
	/* resolved when first seen: still right once its module is gone */
	char name[GFPCTX_AUDIT_SITE_LEN];
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

static void gfpctx_audit_record(unsigned long site, gfp_t gfp,
				enum gfpctx_class class)
{
	u32 h = hash_long(site ^ ((unsigned long)(__force u32)gfp << 2) ^
			  class, GFPCTX_AUDIT_BITS);
	struct gfpctx_audit_entry *e;
	unsigned long flags;
	unsigned int i;

	raw_spin_lock_irqsave(&gfpctx_audit_lock, flags);
	for (i = 0; i < GFPCTX_AUDIT_SIZE; i++) {
		e = &gfpctx_audit_table[(h + i) & (GFPCTX_AUDIT_SIZE - 1)];
		if (!e->site) {
			e->site = site;
			e->gfp = gfp;
			e->class = class;
			e->count = 1;
			e->first_ns = local_clock();
			/* kallsyms lookups take no sleeping lock */
			snprintf(e->name, sizeof(e->name), "%pS",
				 (void *)site);
			goto out;
		}
		if (e->site == site && e->gfp == gfp && e->class == class) {
			e->count++;
			goto out;
		}
	}
	gfpctx_audit_overflow++;
out:
	raw_spin_unlock_irqrestore(&gfpctx_audit_lock, flags);
}

/* Both probes end here, inside the tracepoint, in the allocator's context. */
static void gfpctx_audit_alloc(unsigned long site, const void *ptr,
			       gfp_t gfp)
{
	/* might_alloc() is might_sleep_if(gfpflags_allow_blocking()). */
	if (!gfpflags_allow_blocking(gfp))
		return;
	/* Never take the lock in NMI; __might_resched() ignores NMIs too. */
	if (in_nmi())
		return;
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
	gfpctx_audit_record(site, gfp, gfpctx_audit_class());
}

static void gfpctx_audit_kmalloc(void *data, unsigned long call_site,
				 const void *ptr, size_t bytes_req,
				 size_t bytes_alloc, gfp_t gfp_flags, int node)
{
	gfpctx_audit_alloc(call_site, ptr, gfp_flags);
}

static void gfpctx_audit_cache_alloc(void *data, unsigned long call_site,
				     const void *ptr, struct kmem_cache *s,
				     gfp_t gfp_flags, int node)
{
	gfpctx_audit_alloc(call_site, ptr, gfp_flags);
}

static int gfpctx_audit_register(void)
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
static void gfpctx_audit_unregister(void)
{
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
		seq_printf(m, " class=%s gfp=%#x count=%llu first_ns=%llu\n",
			   gfpctx_class_name(snap[i].class),
			   (__force unsigned int)snap[i].gfp, snap[i].count,
			   snap[i].first_ns);
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
