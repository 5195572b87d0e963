// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: the control files under /sys/kernel/debug/gfpctx/, root only.
 * A bad write is refused whole: nothing changes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "gfpctx.h"

/* Longest write accepted by any control file. */
#define GFPCTX_MAX_WRITE	255

static struct dentry *gfpctx_dir;

/* One write, whole, from offset 0, printable text: else -EINVAL. */
static char *gfpctx_copy_words(const char __user *buf, size_t len,
			       loff_t *ppos)
{
	char *words;

	if (*ppos || !len || len > GFPCTX_MAX_WRITE)
		return ERR_PTR(-EINVAL);
	words = memdup_user_nul(buf, len);
	if (IS_ERR(words))
		return words;
	if (strlen(words) != len) {
		kfree(words);
		return ERR_PTR(-EINVAL);
	}
	return words;
}

static ssize_t gfpctx_run_write(struct file *file, const char __user *buf,
				size_t len, loff_t *ppos)
{
	struct gfpctx_job *job;
	char *words;
	int ret;

	words = gfpctx_copy_words(buf, len, ppos);
	if (IS_ERR(words))
		return PTR_ERR(words);
	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job) {
		ret = -ENOMEM;
		goto out_free_words;
	}
	ret = gfpctx_job_parse(job, words);
	if (ret)
		goto out_free_job;
	ret = gfpctx_job_admit(job);
	if (ret)
		gfpctx_last_record(job, ret);
	else
		ret = gfpctx_job_run(job);
out_free_job:
	kfree(job);
out_free_words:
	kfree(words);
	if (ret)
		return ret;
	/* One job per open file: a further write is not at offset 0. */
	*ppos += len;
	return len;
}

static const struct file_operations gfpctx_run_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = gfpctx_run_write,
};

static int gfpctx_stats_open(struct inode *inode, struct file *file)
{
	return single_open(file, gfpctx_stats_show, NULL);
}

static ssize_t gfpctx_stats_write(struct file *file, const char __user *buf,
				  size_t len, loff_t *ppos)
{
	char *words = gfpctx_copy_words(buf, len, ppos);
	int ret = 0;

	if (IS_ERR(words))
		return PTR_ERR(words);
	if (strcmp(strim(words), "reset"))
		ret = -EINVAL;
	else
		gfpctx_stats_reset();
	kfree(words);
	return ret ? ret : len;
}

static const struct file_operations gfpctx_stats_fops = {
	.owner = THIS_MODULE,
	.open = gfpctx_stats_open,
	.read = seq_read,
	.write = gfpctx_stats_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int gfpctx_inject_open(struct inode *inode, struct file *file)
{
	return single_open(file, gfpctx_inject_show, NULL);
}

static ssize_t gfpctx_inject_write(struct file *file, const char __user *buf,
				   size_t len, loff_t *ppos)
{
	char *words = gfpctx_copy_words(buf, len, ppos);
	int ret;

	if (IS_ERR(words))
		return PTR_ERR(words);
	ret = gfpctx_inject_set(words);
	kfree(words);
	return ret ? ret : len;
}

static const struct file_operations gfpctx_inject_fops = {
	.owner = THIS_MODULE,
	.open = gfpctx_inject_open,
	.read = seq_read,
	.write = gfpctx_inject_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int gfpctx_audit_open(struct inode *inode, struct file *file)
{
	return single_open(file, gfpctx_audit_show, NULL);
}

static ssize_t gfpctx_audit_write(struct file *file, const char __user *buf,
				  size_t len, loff_t *ppos)
{
	char *words = gfpctx_copy_words(buf, len, ppos);
	int ret;

	if (IS_ERR(words))
		return PTR_ERR(words);
	ret = gfpctx_audit_set(words);
	kfree(words);
	return ret ? ret : len;
}

static const struct file_operations gfpctx_audit_fops = {
	.owner = THIS_MODULE,
	.open = gfpctx_audit_open,
	.read = seq_read,
	.write = gfpctx_audit_write,
	.llseek = seq_lseek,
	.release = single_release,
};

/* The GFPCTX_CTX_* bits, by name, for the selftests. */
static const char * const gfpctx_ctx_flag_names[] = {
	"atomic", "interrupt", "raw", "hardirq", "softirq", "raw_wait", "nmi",
};

static_assert(BIT(ARRAY_SIZE(gfpctx_ctx_flag_names) - 1) == GFPCTX_CTX_NMI);

/* " flags=a,b": the names of the bits set in @flags, or " flags=none". */
void gfpctx_flags_show(struct seq_file *m, unsigned int flags,
		       const char * const *names, unsigned int nr)
{
	const char *sep = "";
	unsigned int i;

	seq_puts(m, " flags=");
	if (!flags)
		seq_puts(m, "none");
	for (i = 0; i < nr; i++) {
		if (!(flags & BIT(i)))
			continue;
		seq_printf(m, "%s%s", sep, names[i]);
		sep = ",";
	}
}

static int gfpctx_contexts_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	for (i = 0; i < gfpctx_nr_contexts; i++) {
		const struct gfpctx_context *ctx = &gfpctx_contexts[i];
		const char *why = ctx->unavailable ? ctx->unavailable() : NULL;

		seq_printf(m, "name=%s class=%s", ctx->name,
			   gfpctx_class_name(gfpctx_ctx_class(ctx)));
		gfpctx_flags_show(m, gfpctx_ctx_flags(ctx), gfpctx_ctx_flag_names,
				  ARRAY_SIZE(gfpctx_ctx_flag_names));
		seq_printf(m, " available=%s", why ? "no" : "yes");
		if (why)
			seq_printf(m, " reason=%s", why);
		seq_putc(m, '\n');
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(gfpctx_contexts);

static const char *gfpctx_yes(bool b)
{
	return b ? "yes" : "no";
}

/* What the selftests must know of the running kernel. */
static int gfpctx_kernel_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "preempt_rt=%s\n",
		   gfpctx_yes(IS_ENABLED(CONFIG_PREEMPT_RT)));
	seq_printf(m, "debug_atomic_sleep=%s\n",
		   gfpctx_yes(IS_ENABLED(CONFIG_DEBUG_ATOMIC_SLEEP)));
	seq_printf(m, "fault_injection=%s\n",
		   gfpctx_yes(IS_ENABLED(CONFIG_FAULT_INJECTION_DEBUG_FS)));
	seq_printf(m, "lockdep=%s\n",
		   gfpctx_yes(IS_ENABLED(CONFIG_PROVE_LOCKING)));
	seq_printf(m, "raw_lock_nesting=%s\n",
		   gfpctx_yes(IS_ENABLED(CONFIG_PROVE_RAW_LOCK_NESTING)));
	seq_printf(m, "vmalloc_nonblocking=%s\n",
		   gfpctx_yes(GFPCTX_VMALLOC_NONBLOCKING));
	seq_printf(m, "kmemleak=%s\n",
		   gfpctx_yes(IS_ENABLED(CONFIG_DEBUG_KMEMLEAK)));
	seq_printf(m, "cpus=%u\n", num_online_cpus());
	seq_printf(m, "console_tracepoint=%s\n",
		   gfpctx_yes(gfpctx_reports_counted()));
	seq_printf(m, "clock_ns=%llu\n", gfpctx_clock_ns());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(gfpctx_kernel);

DEFINE_SHOW_ATTRIBUTE(gfpctx_allocs);
DEFINE_SHOW_ATTRIBUTE(gfpctx_gfps);

static int gfpctx_rules_open(struct inode *inode, struct file *file)
{
	return single_open(file, gfpctx_rules_show, NULL);
}

static const struct file_operations gfpctx_rules_fops = {
	.owner = THIS_MODULE,
	.open = gfpctx_rules_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

static int gfpctx_irq_open(struct inode *inode, struct file *file)
{
	return single_open(file, gfpctx_irq_show, NULL);
}

static const struct file_operations gfpctx_irq_fops = {
	.owner = THIS_MODULE,
	.open = gfpctx_irq_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

static int gfpctx_last_open(struct inode *inode, struct file *file)
{
	return single_open(file, gfpctx_last_show, NULL);
}

static const struct file_operations gfpctx_last_fops = {
	.owner = THIS_MODULE,
	.open = gfpctx_last_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

int gfpctx_debugfs_init(void)
{
	int ret;

	gfpctx_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(gfpctx_dir))
		return PTR_ERR(gfpctx_dir);

	debugfs_create_file("contexts", 0400, gfpctx_dir, NULL,
			    &gfpctx_contexts_fops);
	debugfs_create_file("allocs", 0400, gfpctx_dir, NULL,
			    &gfpctx_allocs_fops);
	debugfs_create_file("gfps", 0400, gfpctx_dir, NULL, &gfpctx_gfps_fops);
	debugfs_create_file("rules", 0400, gfpctx_dir, NULL,
			    &gfpctx_rules_fops);
	debugfs_create_file("kernel", 0400, gfpctx_dir, NULL,
			    &gfpctx_kernel_fops);
	debugfs_create_file("irq", 0400, gfpctx_dir, NULL, &gfpctx_irq_fops);
	debugfs_create_file("run", 0200, gfpctx_dir, NULL, &gfpctx_run_fops);
	debugfs_create_file("stats", 0600, gfpctx_dir, NULL,
			    &gfpctx_stats_fops);
	debugfs_create_file("inject", 0600, gfpctx_dir, NULL,
			    &gfpctx_inject_fops);
	debugfs_create_file("audit", 0600, gfpctx_dir, NULL,
			    &gfpctx_audit_fops);
	debugfs_create_file("last", 0400, gfpctx_dir, NULL, &gfpctx_last_fops);
	ret = gfpctx_inject_init(gfpctx_dir);
	if (ret)
		debugfs_remove_recursive(gfpctx_dir);
	return ret;
}

void gfpctx_debugfs_exit(void)
{
	debugfs_remove_recursive(gfpctx_dir);
}
