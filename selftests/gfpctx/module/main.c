// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: allocate in every execution context, prove the context, count
 * exactly. See Documentation/gfpctx.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

#include "gfpctx.h"

static int irq = -1;
module_param(irq, int, 0400);
MODULE_PARM_DESC(irq, "Also attach a shared handler to this existing IRQ line (default: none)");

static unsigned int gfpctx_nr_available(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < gfpctx_nr_contexts; i++)
		if (!gfpctx_contexts[i].unavailable ||
		    !gfpctx_contexts[i].unavailable())
			n++;
	return n;
}

static int __init gfpctx_init(void)
{
	int ret;

	gfpctx_clock_calibrate();
	ret = gfpctx_stats_init();
	if (ret)
		return ret;
	ret = gfpctx_reports_init();
	if (ret)
		goto err_stats_exit;
	ret = gfpctx_contexts_init();
	if (ret)
		goto err_reports_exit;
	ret = gfpctx_irq_init(irq);
	if (ret)
		goto err_contexts_exit;
	ret = gfpctx_debugfs_init();
	if (ret)
		goto err_audit_exit;

	pr_info("loaded: contexts=%u available=%u rt=%s\n",
		gfpctx_nr_contexts, gfpctx_nr_available(),
		IS_ENABLED(CONFIG_PREEMPT_RT) ? "yes" : "no");
	return 0;

err_audit_exit:
	/* The audit file was live for a moment: a write may have turned it on. */
	gfpctx_audit_exit();
	gfpctx_irq_exit();
err_contexts_exit:
	gfpctx_contexts_exit();
err_reports_exit:
	gfpctx_reports_exit();
err_stats_exit:
	gfpctx_stats_exit();
	return ret;
}
module_init(gfpctx_init);

/*
 * An open control file holds a module reference (fops owner), so no job
 * runs once exit starts; every job stops its context before returning.
 */
static void __exit gfpctx_exit(void)
{
	gfpctx_debugfs_exit();
	gfpctx_audit_exit();
	gfpctx_irq_exit();
	gfpctx_contexts_exit();
	gfpctx_reports_exit();
	gfpctx_stats_exit();
	pr_info("unloaded\n");
}
module_exit(gfpctx_exit);

MODULE_INFO(test, "Y");
MODULE_AUTHOR("The gfpctx authors");
MODULE_DESCRIPTION("Test allocations in every execution context");
MODULE_LICENSE("GPL");
