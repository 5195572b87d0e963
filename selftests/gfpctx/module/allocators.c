// SPDX-License-Identifier: GPL-2.0
/* gfpctx: the allocators under test, with their frees, and the gfp masks. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/vmalloc.h>

#include "gfpctx.h"

static void *gfpctx_kmalloc(struct gfpctx_job *job)
{
	return kmalloc(job->size, job->gfp->flags);
}

static void *gfpctx_kzalloc(struct gfpctx_job *job)
{
	return kzalloc(job->size, job->gfp->flags);
}

static void gfpctx_kfree(struct gfpctx_job *job, void *obj)
{
	kfree(obj);
}

static int gfpctx_cache_setup(struct gfpctx_job *job)
{
	static atomic_t seq = ATOMIC_INIT(0);
	char name[32];

	/* A name of its own: jobs may run at once; the slab copies it. */
	snprintf(name, sizeof(name), "gfpctx-%d", atomic_inc_return(&seq));
	job->cache = kmem_cache_create(name, job->size, 0, 0, NULL);
	return job->cache ? 0 : -ENOMEM;
}

static void gfpctx_cache_teardown(struct gfpctx_job *job)
{
	kmem_cache_destroy(job->cache);
}

static void *gfpctx_cache_alloc(struct gfpctx_job *job)
{
	return kmem_cache_alloc(job->cache, job->gfp->flags);
}

static void gfpctx_cache_free(struct gfpctx_job *job, void *obj)
{
	kmem_cache_free(job->cache, obj);
}

static void *gfpctx_pages_alloc(struct gfpctx_job *job)
{
	return alloc_pages(job->gfp->flags, job->order);
}

static void gfpctx_pages_free(struct gfpctx_job *job, void *obj)
{
	__free_pages(obj, job->order);
}

static void *gfpctx_vmalloc(struct gfpctx_job *job)
{
	return vmalloc(job->size);
}

static void gfpctx_vfree(struct gfpctx_job *job, void *obj)
{
	/* From interrupt context vfree() defers the work (vfree_atomic). */
	vfree(obj);
}

static void *gfpctx_kvmalloc(struct gfpctx_job *job)
{
	return kvmalloc(job->size, job->gfp->flags);
}

/* What kvfree_rcu() needs of an object: an rcu_head in its first bytes. */
struct gfpctx_rcu_obj {
	struct rcu_head rcu;
};

/*
 * kvfree(): "Context: Either preemptible task context or not-NMI
 * interrupt" (mm/slub.c): vfree() may sleep. Where vmalloc takes
 * non-blocking gfp, kvmalloc() in an atomic section may return vmalloc
 * memory above a page; such an object goes to kvfree_rcu(), which may be
 * called from any context but NMI (include/linux/rcupdate.h).
 */
static void gfpctx_kvfree(struct gfpctx_job *job, void *obj)
{
	unsigned int flags = gfpctx_ctx_flags(job->ctx);

	if (is_vmalloc_addr(obj) && (flags & GFPCTX_CTX_ATOMIC) &&
	    !(flags & GFPCTX_CTX_INTERRUPT))
		kvfree_rcu((struct gfpctx_rcu_obj *)obj, rcu);
	else
		kvfree(obj);
}

static int gfpctx_pool_setup(struct gfpctx_job *job)
{
	job->pool = mempool_create_kmalloc_pool(GFPCTX_POOL_MIN_NR, job->size);
	return job->pool ? 0 : -ENOMEM;
}

static void gfpctx_pool_teardown(struct gfpctx_job *job)
{
	mempool_destroy(job->pool);
}

static void *gfpctx_pool_alloc(struct gfpctx_job *job)
{
	return mempool_alloc(job->pool, job->gfp->flags);
}

static void gfpctx_pool_free(struct gfpctx_job *job, void *obj)
{
	mempool_free(obj, job->pool);
}

#ifdef GFPCTX_HAVE_KMALLOC_NOLOCK
static void *gfpctx_kmalloc_nolock(struct gfpctx_job *job)
{
	return kmalloc_nolock(job->size, job->gfp->flags, NUMA_NO_NODE);
}

/* "Can be called while holding raw_spinlock_t or from IRQ and NMI" (mm/slub.c) */
static void gfpctx_kfree_nolock(struct gfpctx_job *job, void *obj)
{
	kfree_nolock(obj);
}
#endif

#ifdef GFPCTX_HAVE_PAGES_NOLOCK
static void *gfpctx_pages_nolock_alloc(struct gfpctx_job *job)
{
	return alloc_pages_nolock(job->gfp->flags, NUMA_NO_NODE, job->order);
}
#endif

/* Add a new allocator here; documented in Documentation/gfpctx.rst. */
const struct gfpctx_alloc gfpctx_allocs[] = {
	{
		.name = "kmalloc", .max_size = SZ_4M,
		.flags = GFPCTX_ALLOC_AUDITED,
		.alloc = gfpctx_kmalloc, .free = gfpctx_kfree,
	}, {
		.name = "kzalloc", .max_size = SZ_4M,
		.flags = GFPCTX_ALLOC_AUDITED,
		.alloc = gfpctx_kzalloc, .free = gfpctx_kfree,
	}, {
		.name = "kmem_cache", .max_size = SZ_64K,
		.flags = GFPCTX_ALLOC_AUDITED,
		.setup = gfpctx_cache_setup,
		.teardown = gfpctx_cache_teardown,
		.alloc = gfpctx_cache_alloc, .free = gfpctx_cache_free,
	}, {
		.name = "pages", .flags = GFPCTX_ALLOC_ORDER | GFPCTX_ALLOC_AUDITED,
		.max_order = GFPCTX_MAX_ORDER,
		.alloc = gfpctx_pages_alloc, .free = gfpctx_pages_free,
	}, {
		.name = "vmalloc", .max_size = SZ_16M,
		.flags = GFPCTX_ALLOC_VMALLOC | GFPCTX_ALLOC_KERNEL_ONLY,
		.alloc = gfpctx_vmalloc, .free = gfpctx_vfree,
	}, {
		/*
		 * "It doesn't really make sense to fallback to vmalloc for
		 * sub page requests" (__kvmalloc_node_noprof(), mm/slub.c;
		 * kvmalloc_node() in mm/util.c before).
		 */
		.name = "kvmalloc", .max_size = SZ_16M, .vmalloc_above = PAGE_SIZE,
		.flags = GFPCTX_ALLOC_VMALLOC,
		.alloc = gfpctx_kvmalloc, .free = gfpctx_kvfree,
	}, {
		.name = "mempool", .max_size = SZ_4M,
		.reserve = GFPCTX_POOL_MIN_NR,
		.setup = gfpctx_pool_setup, .teardown = gfpctx_pool_teardown,
		.alloc = gfpctx_pool_alloc, .free = gfpctx_pool_free,
	},
#ifdef GFPCTX_HAVE_KMALLOC_NOLOCK
	/*
	 * The nolock allocators take trylocks only and fail rather than
	 * wait: "safe to call from any context where RCU is watching (from
	 * atomic, NMI ...)" (alloc_pages_nolock_noprof(), mm/page_alloc.c).
	 * kmalloc_nolock() serves at most KMALLOC_MAX_CACHE_SIZE (mm/slub.c).
	 * free_pages_nolock() is not exported, and __free_pages() takes the
	 * zone's locks: pages_nolock's pages are freed by the writer.
	 */
	{
		.name = "kmalloc_nolock", .max_size = KMALLOC_MAX_CACHE_SIZE,
		.flags = GFPCTX_ALLOC_NOLOCK,
		.alloc = gfpctx_kmalloc_nolock, .free = gfpctx_kfree_nolock,
	},
#endif
#ifdef GFPCTX_HAVE_PAGES_NOLOCK
	{
		/*
		 * Orders the per-CPU lists keep (pcp_allowed_order(),
		 * mm/page_alloc.c): zeroed in NMI (gfp_nolock has __GFP_ZERO)
		 * well within nmi_check_duration()'s 1 ms, even under TCG.
		 */
		.name = "pages_nolock", .max_order = PAGE_ALLOC_COSTLY_ORDER,
		.flags = GFPCTX_ALLOC_ORDER | GFPCTX_ALLOC_NOLOCK |
			 GFPCTX_ALLOC_FREE_BY_WRITER,
		.alloc = gfpctx_pages_nolock_alloc, .free = gfpctx_pages_free,
	},
#endif
};

const unsigned int gfpctx_nr_allocs = ARRAY_SIZE(gfpctx_allocs);

/* The largest order= (GFPCTX_ALLOC_ORDER) or size= a job may ask for. */
unsigned int gfpctx_alloc_max(const struct gfpctx_alloc *alloc)
{
	if (alloc->flags & GFPCTX_ALLOC_ORDER)
		return min_t(unsigned int, alloc->max_order,
			     GFPCTX_KERNEL_MAX_ORDER);
	/*
	 * The slab allocators serve at most KMALLOC_MAX_SIZE (MAX_PAGE_ORDER
	 * pages); more is WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER) in
	 * __alloc_pages_noprof().
	 */
	if (!(alloc->flags & GFPCTX_ALLOC_VMALLOC))
		return min_t(size_t, alloc->max_size, KMALLOC_MAX_SIZE);
	return alloc->max_size;
}

/*
 * What the kernel holds for one object of @size bytes, in bytes: a slab
 * object is charged as its kmalloc size class (kmalloc_size_roundup();
 * pages above KMALLOC_MAX_CACHE_SIZE), a page block as itself, a vmalloc
 * area as its pages plus the guard page __get_vm_area_node() adds, and
 * kvmalloc as whichever of the two is larger.
 */
u64 gfpctx_alloc_footprint(const struct gfpctx_alloc *alloc, size_t size)
{
	u64 vm = PAGE_ALIGN(size) + PAGE_SIZE;

	if (alloc->flags & GFPCTX_ALLOC_ORDER)
		return size;
	if (alloc->flags & GFPCTX_ALLOC_KERNEL_ONLY)
		return vm;
	if (alloc->flags & GFPCTX_ALLOC_VMALLOC)
		return max_t(u64, vm, kmalloc_size_roundup(size));
	return kmalloc_size_roundup(size);
}

/* The GFPCTX_ALLOC_* bits, by name. */
static const char * const gfpctx_alloc_flag_names[] = {
	"vmalloc", "kernel_only", "order", "nolock", "free_by_writer",
	"audited",
};

static_assert(BIT(ARRAY_SIZE(gfpctx_alloc_flag_names) - 1) ==
	      GFPCTX_ALLOC_AUDITED);

/*
 * One line per allocator: name, the key that sizes a job, its maximum,
 * the objects it keeps in reserve, the size above which it calls vmalloc
 * (with the vmalloc flag), its GFPCTX_ALLOC_* bits by name.
 */
int gfpctx_allocs_show(struct seq_file *m, void *unused)
{
	unsigned int a;

	for (a = 0; a < gfpctx_nr_allocs; a++) {
		const struct gfpctx_alloc *alloc = &gfpctx_allocs[a];

		seq_printf(m, "name=%s sized_by=%s max=%u reserve=%u vmalloc_above=%zu",
			   alloc->name,
			   alloc->flags & GFPCTX_ALLOC_ORDER ? "order" : "size",
			   gfpctx_alloc_max(alloc), alloc->reserve,
			   alloc->vmalloc_above);
		gfpctx_flags_show(m, alloc->flags, gfpctx_alloc_flag_names,
				  ARRAY_SIZE(gfpctx_alloc_flag_names));
		seq_putc(m, '\n');
	}
	return 0;
}

/*
 * The masks drivers pass (include/linux/gfp_types.h). GFP_KERNEL_ACCOUNT
 * charges the memory cgroup; GFP_NOFS and GFP_NOIO keep reclaim out of
 * filesystems, or of all I/O, but may still reclaim directly: in a
 * context that must not sleep they report as GFP_KERNEL does
 * (might_alloc() looks at __GFP_DIRECT_RECLAIM only).
 */
const struct gfpctx_gfp gfpctx_gfps[] = {
	{ .name = "GFP_KERNEL", .flags = GFP_KERNEL },
	{ .name = "GFP_ATOMIC", .flags = GFP_ATOMIC },
	{ .name = "GFP_NOWAIT", .flags = GFP_NOWAIT },
	{ .name = "GFP_KERNEL_ACCOUNT", .flags = GFP_KERNEL_ACCOUNT },
	{ .name = "GFP_NOFS", .flags = GFP_NOFS },
	{ .name = "GFP_NOIO", .flags = GFP_NOIO },
	/*
	 * The retry modifiers (include/linux/gfp_types.h): __GFP_NORETRY
	 * gives up after one round of reclaim and compaction, and
	 * __GFP_RETRY_MAYFAIL retries while there is progress, but neither
	 * invokes the OOM killer; __GFP_NOFAIL retries forever and "must be
	 * blockable and used together with __GFP_DIRECT_RECLAIM". GFP_ATOMIC
	 * with it is the misuse the kernel warns of (gfpctx_rules[]).
	 */
	{ .name = "GFP_KERNEL|__GFP_NORETRY",
	  .flags = GFP_KERNEL | __GFP_NORETRY },
	{ .name = "GFP_KERNEL|__GFP_RETRY_MAYFAIL",
	  .flags = GFP_KERNEL | __GFP_RETRY_MAYFAIL },
	{ .name = "GFP_KERNEL|__GFP_NOFAIL", .flags = GFP_KERNEL | __GFP_NOFAIL },
	{ .name = "GFP_ATOMIC|__GFP_NOFAIL", .flags = GFP_ATOMIC | __GFP_NOFAIL },
#if defined(GFPCTX_HAVE_KMALLOC_NOLOCK) || defined(GFPCTX_HAVE_PAGES_NOLOCK)
	/*
	 * What the nolock allocators take: "Only __GFP_ACCOUNT and
	 * __GFP_ZERO allowed" (kmalloc_nolock(), include/linux/slab.h).
	 */
	{ .name = "__GFP_ACCOUNT", .flags = __GFP_ACCOUNT },
#endif
};

const unsigned int gfpctx_nr_gfps = ARRAY_SIZE(gfpctx_gfps);

/*
 * The largest order= or size= a job of @alloc with @gfp may ask for: its
 * allocator's, and with __GFP_NOFAIL at most order 1 from the buddy
 * allocator: "Allocating pages from the buddy with __GFP_NOFAIL and order
 * > 1 is not supported" (__GFP_NOFAIL, include/linux/gfp_types.h;
 * WARN_ON_ONCE(order > 1) in __alloc_pages_slowpath() up to 6.12). The
 * slab allocators take objects above that from the buddy allocator with
 * their caller's gfp; kvmalloc() drops __GFP_NOFAIL for its kmalloc
 * attempt and gets it from vmalloc's order-0 pages (kmalloc_gfp_adjust()).
 */
unsigned int gfpctx_cell_max(const struct gfpctx_alloc *alloc,
			     const struct gfpctx_gfp *gfp)
{
	unsigned int max = gfpctx_alloc_max(alloc);

	if (!(gfp->flags & __GFP_NOFAIL) ||
	    (alloc->flags & GFPCTX_ALLOC_VMALLOC))
		return max;
	if (alloc->flags & GFPCTX_ALLOC_ORDER)
		return min(max, GFPCTX_NOFAIL_MAX_ORDER);
	return min_t(unsigned int, max, PAGE_SIZE << GFPCTX_NOFAIL_MAX_ORDER);
}

/*
 * One line per gfp mask: its name, whether it allows direct reclaim
 * (blocking), whether it has any reclaim bit (reclaim=no: the nolock
 * allocators' masks), and whether it has __GFP_NOFAIL (nofail=yes: never
 * failed on purpose, by the module or the kernel's fault_attrs; its
 * cells' largest jobs are gfpctx_cell_max()'s).
 */
int gfpctx_gfps_show(struct seq_file *m, void *unused)
{
	unsigned int g;

	for (g = 0; g < gfpctx_nr_gfps; g++) {
		gfp_t flags = gfpctx_gfps[g].flags;

		seq_printf(m, "name=%s blocking=%s reclaim=%s nofail=%s\n",
			   gfpctx_gfps[g].name,
			   gfpflags_allow_blocking(flags) ? "yes" : "no",
			   flags & __GFP_RECLAIM ? "yes" : "no",
			   flags & __GFP_NOFAIL ? "yes" : "no");
	}
	return 0;
}
