// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: interrupt lines of the module's own, fired from hard IRQ
 * context: one shared by two handlers (IRQF_SHARED), each of which claims
 * only its own interrupt, and one with a threaded handler. With irq=N a
 * handler also joins an existing line of the machine.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/mutex.h>
#include <linux/numa.h>

#include "gfpctx.h"

struct gfpctx_irq_dev {
	const char *name;
	int irq;
	atomic_t pending;	/* this device raised the interrupt */
	atomic64_t handled;
	atomic64_t unhandled;
};

struct gfpctx_line {
	int irq;
	struct irq_work fire_work;
	struct mutex lock;	/* one job at a time drives the line */
	struct gfpctx_job *job;
};

static struct gfpctx_irq_dev gfpctx_shared_devs[] = {
	{ .name = "gfpctx-a" },
	{ .name = "gfpctx-b" },
};

static struct gfpctx_irq_dev gfpctx_thread_dev = { .name = "gfpctx-thread" };
static struct gfpctx_irq_dev gfpctx_ext_dev = { .name = "gfpctx-ext", .irq = -1 };
static struct gfpctx_line gfpctx_shared_line;
static struct gfpctx_line gfpctx_thread_line;

/* Our own device's interrupt? Count the answer either way. */
static bool gfpctx_irq_is_mine(struct gfpctx_irq_dev *dev)
{
	if (!atomic_xchg(&dev->pending, 0)) {
		atomic64_inc(&dev->unhandled);
		return false;
	}
	atomic64_inc(&dev->handled);
	return true;
}

static irqreturn_t gfpctx_shared_handler(int irq, void *dev_id)
{
	struct gfpctx_job *job = READ_ONCE(gfpctx_shared_line.job);

	if (!gfpctx_irq_is_mine(dev_id))
		return IRQ_NONE;
	gfpctx_run_batch(job);
	gfpctx_batch_done(job);
	return IRQ_HANDLED;
}

static irqreturn_t gfpctx_thread_handler(int irq, void *dev_id)
{
	struct gfpctx_job *job = READ_ONCE(gfpctx_thread_line.job);

	if (!gfpctx_irq_is_mine(dev_id))
		return IRQ_NONE;
	gfpctx_run_batch(job);
	gfpctx_batch_done(job);
	return IRQ_HANDLED;
}

/* Never our device: it only shows that the line is shared with us. */
static irqreturn_t gfpctx_ext_handler(int irq, void *dev_id)
{
	atomic64_inc(&gfpctx_ext_dev.unhandled);
	return IRQ_NONE;
}

static void gfpctx_line_fire(struct irq_work *work)
{
	struct gfpctx_line *line = container_of(work, struct gfpctx_line,
						fire_work);

	/* Hard IRQ context, interrupts off: what the flow handler expects. */
	generic_handle_irq(line->irq);
}

static void gfpctx_line_raise(struct gfpctx_line *line,
			      struct gfpctx_irq_dev *dev)
{
	atomic_set(&dev->pending, 1);
	irq_work_queue(&line->fire_work);
}

/* Killable: a writer queued behind a long job can be killed while it waits. */
static int gfpctx_line_take(struct gfpctx_line *line, struct gfpctx_job *job)
{
	int ret = mutex_lock_killable(&line->lock);

	if (ret)
		return ret;
	WRITE_ONCE(line->job, job);
	return 0;
}

static void gfpctx_line_release(struct gfpctx_line *line)
{
	irq_work_sync(&line->fire_work);
	synchronize_irq(line->irq);
	WRITE_ONCE(line->job, NULL);
	mutex_unlock(&line->lock);
}

int gfpctx_shared_irq_start(struct gfpctx_job *job)
{
	return gfpctx_line_take(&gfpctx_shared_line, job);
}

int gfpctx_shared_irq_fire(struct gfpctx_job *job)
{
	unsigned int nth = job->done / job->batch;

	/* Alternate the two devices on the line. */
	gfpctx_line_raise(&gfpctx_shared_line,
			  &gfpctx_shared_devs[nth % ARRAY_SIZE(gfpctx_shared_devs)]);
	return 0;
}

void gfpctx_shared_irq_stop(struct gfpctx_job *job)
{
	gfpctx_line_release(&gfpctx_shared_line);
}

int gfpctx_threaded_irq_start(struct gfpctx_job *job)
{
	return gfpctx_line_take(&gfpctx_thread_line, job);
}

int gfpctx_threaded_irq_fire(struct gfpctx_job *job)
{
	gfpctx_line_raise(&gfpctx_thread_line, &gfpctx_thread_dev);
	return 0;
}

void gfpctx_threaded_irq_stop(struct gfpctx_job *job)
{
	gfpctx_line_release(&gfpctx_thread_line);
}

static int gfpctx_line_create(struct gfpctx_line *line)
{
	/*
	 * No owner: request_irq() takes a reference on the descriptor's
	 * owner module, and this module as owner could never be removed.
	 */
	int irq = __irq_alloc_descs(-1, 0, 1, NUMA_NO_NODE, NULL, NULL);

	if (irq < 0)
		return irq;
	irq_set_chip_and_handler(irq, &dummy_irq_chip, handle_simple_irq);
	irq_modify_status(irq, IRQ_NOREQUEST, IRQ_NOPROBE);
	line->irq = irq;
	line->fire_work = IRQ_WORK_INIT_HARD(gfpctx_line_fire);
	mutex_init(&line->lock);
	return 0;
}

static void gfpctx_line_destroy(struct gfpctx_line *line)
{
	irq_work_sync(&line->fire_work);
	irq_free_descs(line->irq, 1);
}

static int gfpctx_request(struct gfpctx_irq_dev *dev, int irq,
			  irq_handler_t handler, irq_handler_t thread_fn,
			  unsigned long flags)
{
	int ret = request_threaded_irq(irq, handler, thread_fn, flags,
				       dev->name, dev);

	if (ret) {
		pr_err("%s: cannot request irq %d: %d\n", dev->name, irq, ret);
		return ret;
	}
	dev->irq = irq;
	return 0;
}

int gfpctx_irq_init(int ext_irq)
{
	int ret;

	ret = gfpctx_line_create(&gfpctx_shared_line);
	if (ret)
		return ret;
	ret = gfpctx_line_create(&gfpctx_thread_line);
	if (ret)
		goto err_destroy_shared;

	ret = gfpctx_request(&gfpctx_shared_devs[0], gfpctx_shared_line.irq,
			     gfpctx_shared_handler, NULL, IRQF_SHARED);
	if (ret)
		goto err_destroy_thread;
	ret = gfpctx_request(&gfpctx_shared_devs[1], gfpctx_shared_line.irq,
			     gfpctx_shared_handler, NULL, IRQF_SHARED);
	if (ret)
		goto err_free_a;
	ret = gfpctx_request(&gfpctx_thread_dev, gfpctx_thread_line.irq,
			     NULL, gfpctx_thread_handler, IRQF_ONESHOT);
	if (ret)
		goto err_free_b;
	if (ext_irq >= 0) {
		ret = gfpctx_request(&gfpctx_ext_dev, ext_irq,
				     gfpctx_ext_handler, NULL, IRQF_SHARED);
		if (ret)
			goto err_free_thread;
	}
	return 0;

err_free_thread:
	free_irq(gfpctx_thread_line.irq, &gfpctx_thread_dev);
err_free_b:
	free_irq(gfpctx_shared_line.irq, &gfpctx_shared_devs[1]);
err_free_a:
	free_irq(gfpctx_shared_line.irq, &gfpctx_shared_devs[0]);
err_destroy_thread:
	gfpctx_line_destroy(&gfpctx_thread_line);
err_destroy_shared:
	gfpctx_line_destroy(&gfpctx_shared_line);
	return ret;
}

void gfpctx_irq_exit(void)
{
	if (gfpctx_ext_dev.irq >= 0)
		free_irq(gfpctx_ext_dev.irq, &gfpctx_ext_dev);
	free_irq(gfpctx_thread_line.irq, &gfpctx_thread_dev);
	free_irq(gfpctx_shared_line.irq, &gfpctx_shared_devs[1]);
	free_irq(gfpctx_shared_line.irq, &gfpctx_shared_devs[0]);
	gfpctx_line_destroy(&gfpctx_thread_line);
	gfpctx_line_destroy(&gfpctx_shared_line);
}

static void gfpctx_irq_show_dev(struct seq_file *m, struct gfpctx_irq_dev *dev)
{
	seq_printf(m, "handler=%s irq=%d handled=%lld unhandled=%lld\n",
		   dev->name, dev->irq, atomic64_read(&dev->handled),
		   atomic64_read(&dev->unhandled));
}

int gfpctx_irq_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gfpctx_shared_devs); i++)
		gfpctx_irq_show_dev(m, &gfpctx_shared_devs[i]);
	gfpctx_irq_show_dev(m, &gfpctx_thread_dev);
	if (gfpctx_ext_dev.irq >= 0)
		gfpctx_irq_show_dev(m, &gfpctx_ext_dev);
	return 0;
}
