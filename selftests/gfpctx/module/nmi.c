// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: the nmi context. The writer sends an NMI to its own CPU with the
 * APIC's IPI-mask call, and a handler registered for NMI_LOCAL runs the
 * batch, as arch/x86/kernel/nmi_selftest.c does. In NMI nothing may take a
 * lock: the batch reads local_clock() only, and the completion the writer
 * waits for is signalled from a hard irq_work, which irq_work_queue() may
 * raise from NMI (kernel/irq_work.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/smp.h>

#include "gfpctx.h"

#ifdef CONFIG_X86_LOCAL_APIC
#include <asm/apic.h>
#include <asm/nmi.h>

#define GFPCTX_NMI_NAME "gfpctx"

/* One nmi job at a time: the handler finds it here. */
static DEFINE_MUTEX(gfpctx_nmi_mutex);
static struct gfpctx_job *gfpctx_nmi_job;
/* The CPU an NMI was sent to, plus one; 0 when none is outstanding. */
static atomic_t gfpctx_nmi_pending = ATOMIC_INIT(0);

static void gfpctx_nmi_send(int cpu)
{
#ifdef GFPCTX_HAVE_APIC_SEND_IPI_MASK
	__apic_send_IPI_mask(cpumask_of(cpu), NMI_VECTOR);
#else
	apic->send_IPI_mask(cpumask_of(cpu), NMI_VECTOR);
#endif
}

/*
 * Every NMI_LOCAL handler sees every local NMI (nmi_handle(),
 * arch/x86/kernel/nmi.c): claim only the one sent to this CPU.
 */
static int gfpctx_nmi_handler(unsigned int type, struct pt_regs *regs)
{
	int cpu = raw_smp_processor_id();
	struct gfpctx_job *job;

	if (atomic_cmpxchg(&gfpctx_nmi_pending, cpu + 1, 0) != cpu + 1)
		return NMI_DONE;
	job = READ_ONCE(gfpctx_nmi_job);
	gfpctx_run_batch(job);
	irq_work_queue(&job->irq_work);
	return NMI_HANDLED;
}

static void gfpctx_nmi_done(struct irq_work *work)
{
	gfpctx_batch_done(container_of(work, struct gfpctx_job, irq_work));
}

const char *gfpctx_nmi_unavailable(void)
{
	return NULL;
}

int gfpctx_nmi_start(struct gfpctx_job *job)
{
	int ret;

	ret = mutex_lock_killable(&gfpctx_nmi_mutex);
	if (ret)
		return ret;
	/* HARD: on PREEMPT_RT a plain irq_work would run in a thread. */
	job->irq_work = IRQ_WORK_INIT_HARD(gfpctx_nmi_done);
	WRITE_ONCE(gfpctx_nmi_job, job);
	ret = register_nmi_handler(NMI_LOCAL, gfpctx_nmi_handler, 0,
				   GFPCTX_NMI_NAME);
	if (ret)
		goto err_unlock;
	return 0;

err_unlock:
	WRITE_ONCE(gfpctx_nmi_job, NULL);
	mutex_unlock(&gfpctx_nmi_mutex);
	return ret;
}

int gfpctx_nmi_fire(struct gfpctx_job *job)
{
	job->cpu = get_cpu();
	atomic_set(&gfpctx_nmi_pending, job->cpu + 1);
	gfpctx_nmi_send(job->cpu);
	put_cpu();
	return 0;
}

/*
 * unregister_nmi_handler() waits for a running handler
 * (synchronize_rcu(), arch/x86/kernel/nmi.c); an NMI never delivered
 * leaves its claim behind, dropped here.
 */
void gfpctx_nmi_stop(struct gfpctx_job *job)
{
	unregister_nmi_handler(NMI_LOCAL, GFPCTX_NMI_NAME);
	atomic_set(&gfpctx_nmi_pending, 0);
	irq_work_sync(&job->irq_work);
	WRITE_ONCE(gfpctx_nmi_job, NULL);
	mutex_unlock(&gfpctx_nmi_mutex);
}
#else
const char *gfpctx_nmi_unavailable(void)
{
	return "needs-x86-local-apic";
}

int gfpctx_nmi_start(struct gfpctx_job *job)
{
	return -EOPNOTSUPP;
}

int gfpctx_nmi_fire(struct gfpctx_job *job)
{
	return -EOPNOTSUPP;
}

void gfpctx_nmi_stop(struct gfpctx_job *job)
{
}
#endif /* CONFIG_X86_LOCAL_APIC */
