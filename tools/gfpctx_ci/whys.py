"""What each verdict and each `why` code of the module's rules means, in
one table: the verdict a code gives, its meaning, the kernel source the
rule follows and what to do instead. The `rules` query prints from it,
and Documentation/gfpctx.rst's lists of verdicts and why codes are
rendered from it (rulesdoc.py). The codes are selftests/gfpctx/module/rules.c's `.why`
strings; a host test fails when this table misses one of them or has one
more. Plain text, no rst markup: it is printed on a terminal too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# verdict -> what it means for a driver author
VERDICTS: dict[str, str] = {
    'ok': 'Legal: no rule forbids it. The module runs it.',
    'warns': 'ILLEGAL: the allocation may sleep in atomic context. A debug '
             'kernel (CONFIG_DEBUG_ATOMIC_SLEEP) reports it as "BUG: sleeping '
             'function called from invalid context"; other kernels print '
             'nothing and may really sleep there. The module runs it only '
             'with allow=warns.',
    'fatal': 'ILLEGAL, and the module always refuses it (EPERM): the kernel '
             'would BUG or deadlock, or on PREEMPT_RT take a sleeping lock '
             'where nothing may sleep, or lockdep would report it and turn '
             'itself off for the boot, or the kernel does not support the '
             'request and may lock up (GFP_ATOMIC|__GFP_NOFAIL).',
}


@dataclass(frozen=True)
class Why:
    """One rule of selftests/gfpctx/module/rules.c: the verdict it gives, what it means (one
    line), the kernel source it follows, and what to do instead."""

    verdict: str
    meaning: str
    source: str
    instead: str


WHYS: dict[str, Why] = {
    'nolock-may-fail': Why(
        'ok',
        'a nolock allocator (kmalloc_nolock(), alloc_pages_nolock()) takes '
        'trylocks only: legal in every context, NMI and PREEMPT_RT\'s raw '
        'ones included, and its NULL is a legal answer (ENOMEM).',
        'kmalloc_nolock(), include/linux/slab.h; alloc_pages_nolock(), '
        'mm/page_alloc.c; on PREEMPT_RT both fail in hard IRQ and NMI '
        '(can_spin_trylock(), mm/internal.h).',
        'nothing; handle NULL without retrying ("There is no reason to call '
        'it again and expect !NULL"), e.g. by deferring the work.'),
    'locks-in-nmi-deadlock': Why(
        'fatal',
        'any allocator but the nolock ones in an NMI: the slab and page '
        'allocators take spinlocks the NMI may have interrupted on its own '
        'CPU, a deadlock no debug option reports before it happens.',
        'the zone lock (mm/page_alloc.c) and a slab node\'s list_lock '
        '(mm/slub.c), which the interrupted code may hold; '
        'kmalloc_nolock() exists for this: "from any context" '
        '(include/linux/slab.h).',
        'kmalloc_nolock() or alloc_pages_nolock() where the kernel has them, '
        'or an object preallocated before the NMI; or defer the work with '
        'irq_work_queue(), which an NMI may call (kernel/irq_work.c).'),
    'rt-no-alloc-in-raw-context': Why(
        'fatal',
        'PREEMPT_RT: the slab and page allocators take sleeping locks, so '
        'nothing may allocate in hard IRQ context or with preemption or '
        'interrupts disabled, whatever the gfp.',
        'Documentation/locking/locktypes.rst, "raw_spinlock_t on RT"; the '
        'allocators\' spinlock_t is an rtmutex there (rt_spin_lock(), '
        'kernel/locking/spinlock_rt.c).',
        'allocate before raw_spin_lock(), preempt_disable() or '
        'local_irq_save(), or in a threaded IRQ handler or a workqueue; or '
        'preallocate. kmalloc_nolock() and alloc_pages_nolock() (7.x) may '
        'succeed with preemption or interrupts disabled, never in hard IRQ '
        'on PREEMPT_RT (can_spin_trylock(), mm/internal.h).'),
    'raw-lock-nesting-checked': Why(
        'fatal',
        'lockdep checks PREEMPT_RT\'s lock nesting on a standard kernel '
        '(CONFIG_PROVE_RAW_LOCK_NESTING): an allocator\'s spinlock_t in a raw '
        'wait context is "BUG: Invalid wait context", and lockdep is off '
        'for the rest of the boot.',
        'check_wait_context(), kernel/locking/lockdep.c; PROVE_RAW_LOCK_NESTING '
        'in lib/Kconfig.debug (on with PROVE_LOCKING where the architecture '
        'supports RT in 7.x).',
        'as on PREEMPT_RT: allocate before taking the raw spinlock or outside '
        'hard IRQ context (threaded IRQ handler, workqueue), or preallocate.'),
    'vmalloc-in-hardirq-bugs': Why(
        'fatal',
        '7.x: vmalloc, and kvmalloc above a page (it falls back to vmalloc '
        'with any gfp), in hard IRQ context: the kernel BUGs.',
        '__get_vm_area_node(), mm/vmalloc.c: BUG_ON(in_nmi() || in_hardirq()); '
        'the fallback: __kvmalloc_node_noprof(), mm/slub.c.',
        'kmalloc or alloc_pages with GFP_ATOMIC or GFP_NOWAIT, kvmalloc of a '
        'page or less; a large buffer preallocated in process context, or '
        'the allocation deferred to a workqueue.'),
    'vmalloc-locks-not-softirq-safe': Why(
        'fatal',
        '7.x: vmalloc, and kvmalloc above a page (it falls back to vmalloc '
        'with any gfp), in a softirq: vmalloc\'s spinlocks are taken with BH '
        'enabled elsewhere, a self-deadlock.',
        'free_vmap_area_lock and the other vmap locks, mm/vmalloc.c; the '
        'fallback: __kvmalloc_node_noprof(), mm/slub.c.',
        'kmalloc or alloc_pages with GFP_ATOMIC or GFP_NOWAIT, kvmalloc of a '
        'page or less; a large buffer preallocated in process context, or '
        'the allocation deferred to a workqueue.'),
    'vmalloc-in-interrupt-bugs': Why(
        'fatal',
        '6.12 and older: vmalloc, and kvmalloc with a gfp that may block '
        'above a page, where in_interrupt() is true (softirq, hard IRQ, '
        'bottom halves disabled): the kernel BUGs.',
        '__get_vm_area_node(), mm/vmalloc.c: BUG_ON(in_interrupt()); the '
        'fallback: __kvmalloc_node_noprof(), mm/util.c.',
        'kvmalloc with GFP_ATOMIC or GFP_NOWAIT (it never falls back to '
        'vmalloc then), kmalloc or alloc_pages with GFP_ATOMIC; or '
        'preallocate in process context, or defer to a workqueue.'),
    'nofail-without-direct-reclaim': Why(
        'fatal',
        '__GFP_NOFAIL without __GFP_DIRECT_RECLAIM (GFP_ATOMIC|__GFP_NOFAIL), '
        'in any context: the allocator cannot keep the promise. When the '
        'fast path fails it warns once per boot and returns NULL anyway, '
        'which a caller that trusts the flag dereferences.',
        '__GFP_NOFAIL, include/linux/gfp_types.h: "It _must_ be blockable '
        'and used together with __GFP_DIRECT_RECLAIM"; '
        'WARN_ON_ONCE(!can_direct_reclaim) and "we disregard these '
        'unreasonable nofail requests and still return NULL" in '
        '__alloc_pages_slowpath(), mm/page_alloc.c.',
        'GFP_ATOMIC with a failure path; or allocate with '
        'GFP_KERNEL|__GFP_NOFAIL before entering the atomic section, or '
        'preallocate (a mempool).'),
    'blocking-gfp-in-atomic': Why(
        'warns',
        'a gfp that may block (GFP_KERNEL, GFP_KERNEL_ACCOUNT, GFP_NOFS, '
        'GFP_NOIO, and GFP_KERNEL with a retry modifier: '
        '__GFP_DIRECT_RECLAIM) in a context that must not sleep; '
        '__GFP_NORETRY, __GFP_RETRY_MAYFAIL and __GFP_NOFAIL change how '
        'long the allocator tries, not whether it may sleep.',
        'might_alloc(), include/linux/sched/mm.h: '
        'might_sleep_if(gfpflags_allow_blocking()), reported by '
        '__might_resched(), kernel/sched/core.c; vmalloc: might_sleep() in '
        'alloc_vmap_area(), mm/vmalloc.c.',
        'GFP_ATOMIC or GFP_NOWAIT, and handle NULL; or allocate before '
        'entering the atomic section, defer the work to a workqueue, or '
        'preallocate (a mempool).'),
    'allowed': Why(
        'ok',
        'no rule forbids this allocator with this gfp in this context.',
        'Documentation/core-api/memory-allocation.rst: which gfp to use '
        'where.',
        'nothing; a gfp that does not block may still fail: check for NULL.'),
}

# One rule of selftests/gfpctx/module/rules.c: `.verdict = GFPCTX_<V>, .why = "<code>"`.
RULE = re.compile(r'\.verdict\s*=\s*GFPCTX_(\w+)\s*,\s*\.why\s*=\s*"([^"]+)"')


def module_whys(rules_c: str) -> dict[str, str]:
    """{why code: verdict} of every rule in selftests/gfpctx/module/rules.c's text, under
    any #ifdef: the codes a lane's module can print. Raises ValueError when
    the text has no rule."""
    found = {why: verdict.lower() for verdict, why in RULE.findall(rules_c)}
    if not found:
        raise ValueError('no `.verdict = GFPCTX_..., .why = "..."` rule found')
    return found
