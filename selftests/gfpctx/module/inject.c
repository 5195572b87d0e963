// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: failure injection. The module's own knob (fail_next, fail_every)
 * works on any kernel; the kernel's fault_attr (fail_alloc/) where
 * CONFIG_FAULT_INJECTION_DEBUG_FS is set. Both are asked before the
 * allocator is called, so they reach interrupt context too, where the
 * kernel's task-filtered failslab never fails an allocation. In NMI only
 * the knob is asked: it is atomics only.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/preempt.h>
#include <linux/string.h>

#include "gfpctx.h"

#define GFPCTX_INJECT_MAX	1000000U

static atomic_t gfpctx_fail_next = ATOMIC_INIT(0);
static atomic_t gfpctx_fail_every = ATOMIC_INIT(0);
static atomic_t gfpctx_attempt_seq = ATOMIC_INIT(0);
static atomic64_t gfpctx_injected = ATOMIC64_INIT(0);

/* Before 6.2, <linux/fault-inject.h> is empty without FAULT_INJECTION. */
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
static DECLARE_FAULT_ATTR(gfpctx_fail_alloc);

int gfpctx_inject_init(struct dentry *dir)
{
	return PTR_ERR_OR_ZERO(fault_create_debugfs_attr("fail_alloc", dir,
							 &gfpctx_fail_alloc));
}

static bool gfpctx_fault_attr_fails(size_t size)
{
	return should_fail(&gfpctx_fail_alloc, size);
}
#else
int gfpctx_inject_init(struct dentry *dir)
{
	return 0;
}

static bool gfpctx_fault_attr_fails(size_t size)
{
	return false;
}
#endif

/*
 * Whether this attempt of @size bytes with @gfp fails on purpose. Never
 * with __GFP_NOFAIL, as the kernel's own fault_attrs do not fail it
 * (should_fail_alloc_page(), mm/fail_page_alloc.c; __should_failslab(),
 * mm/failslab.c): nothing is used up or counted.
 */
bool gfpctx_inject_should_fail(size_t size, gfp_t gfp)
{
	unsigned int every = atomic_read(&gfpctx_fail_every);
	bool fail = false;

	if (gfp & __GFP_NOFAIL)
		return false;
	if (atomic_dec_if_positive(&gfpctx_fail_next) >= 0)
		fail = true;
	else if (every &&
		 !((unsigned int)atomic_inc_return(&gfpctx_attempt_seq) % every))
		fail = true;
	/* should_fail() may print a stack dump (fail_dump(), lib/fault-inject.c) */
	else if (!in_nmi() && gfpctx_fault_attr_fails(size))
		return true;	/* counted by the fault_attr itself */

	if (fail)
		atomic64_inc(&gfpctx_injected);
	return fail;
}

int gfpctx_inject_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "fail_next=%d fail_every=%d injected=%lld\n",
		   atomic_read(&gfpctx_fail_next),
		   atomic_read(&gfpctx_fail_every),
		   atomic64_read(&gfpctx_injected));
	return 0;
}

/* "fail_next=N", "fail_every=N" and "off"; all words valid or nothing set. */
int gfpctx_inject_set(char *words)
{
	int next = -1, every = -1;
	char *word;

	while ((word = strsep(&words, " \t\n"))) {
		unsigned int v;
		int *slot;

		if (!*word)
			continue;
		if (!strcmp(word, "off")) {
			if (next >= 0 || every >= 0)
				return -EINVAL;
			next = 0;
			every = 0;
			continue;
		}
		if (str_has_prefix(word, "fail_next="))
			slot = &next;
		else if (str_has_prefix(word, "fail_every="))
			slot = &every;
		else
			return -EINVAL;
		if (*slot >= 0 || kstrtouint(strchr(word, '=') + 1, 10, &v) ||
		    v > GFPCTX_INJECT_MAX)
			return -EINVAL;
		*slot = v;
	}
	if (next < 0 && every < 0)
		return -EINVAL;

	if (every >= 0) {
		atomic_set(&gfpctx_attempt_seq, 0);
		atomic_set(&gfpctx_fail_every, every);
	}
	if (next >= 0)
		atomic_set(&gfpctx_fail_next, next);
	return 0;
}
