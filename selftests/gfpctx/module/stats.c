// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx: counters and timing per cell (context, allocator, gfp). A job
 * counts into its own tally and merges it whole when it ends, so a reader
 * never sees attempts != ok + failed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "gfpctx.h"

/* One tally per cell, sized from the tables at load. */
static struct gfpctx_tally *gfpctx_cells;
static unsigned int gfpctx_nr_cells;
static DEFINE_SPINLOCK(gfpctx_cells_lock);

static unsigned int gfpctx_index(unsigned int c, unsigned int a,
				 unsigned int g)
{
	return (c * gfpctx_nr_allocs + a) * gfpctx_nr_gfps + g;
}

unsigned int gfpctx_cell_index(const struct gfpctx_job *job)
{
	return gfpctx_index(job->ctx - gfpctx_contexts,
			    job->alloc - gfpctx_allocs,
			    job->gfp - gfpctx_gfps);
}

void gfpctx_tally_init(struct gfpctx_tally *tally)
{
	memset(tally, 0, sizeof(*tally));
	tally->ns_min = U64_MAX;
	tally->free_ns_min = U64_MAX;
}

void gfpctx_tally_alloc_ns(struct gfpctx_tally *tally, u64 ns)
{
	tally->timed++;
	tally->ns_sum += ns;
	tally->ns_min = min(tally->ns_min, ns);
	tally->ns_max = max(tally->ns_max, ns);
	tally->hist[ns ? min_t(unsigned int, ilog2(ns),
			       GFPCTX_HIST_BUCKETS - 1) : 0]++;
}

void gfpctx_tally_free_ns(struct gfpctx_tally *tally, u64 ns)
{
	tally->frees++;
	tally->free_ns_sum += ns;
	tally->free_ns_min = min(tally->free_ns_min, ns);
	tally->free_ns_max = max(tally->free_ns_max, ns);
}

static void gfpctx_tally_add(struct gfpctx_tally *to,
			     const struct gfpctx_tally *from)
{
	unsigned int i;

	to->jobs += from->jobs;
	to->attempts += from->attempts;
	to->ok += from->ok;
	to->failed += from->failed;
	to->injected += from->injected;
	to->ctx_mismatch += from->ctx_mismatch;
	to->timed += from->timed;
	to->ns_sum += from->ns_sum;
	to->ns_min = min(to->ns_min, from->ns_min);
	to->ns_max = max(to->ns_max, from->ns_max);
	to->frees += from->frees;
	to->free_ns_sum += from->free_ns_sum;
	to->free_ns_min = min(to->free_ns_min, from->free_ns_min);
	to->free_ns_max = max(to->free_ns_max, from->free_ns_max);
	for (i = 0; i < GFPCTX_HIST_BUCKETS; i++)
		to->hist[i] += from->hist[i];
	for (i = 0; i < GFPCTX_NR_REPORTS; i++)
		to->reports[i] += from->reports[i];
}

void gfpctx_stats_merge(unsigned int cell, const struct gfpctx_tally *tally)
{
	spin_lock(&gfpctx_cells_lock);
	gfpctx_tally_add(&gfpctx_cells[cell], tally);
	spin_unlock(&gfpctx_cells_lock);
}

int gfpctx_stats_init(void)
{
	gfpctx_nr_cells = gfpctx_nr_contexts * gfpctx_nr_allocs *
			  gfpctx_nr_gfps;
	gfpctx_cells = kvcalloc(gfpctx_nr_cells, sizeof(*gfpctx_cells),
				GFP_KERNEL);
	if (!gfpctx_cells)
		return -ENOMEM;
	gfpctx_stats_reset();
	return 0;
}

void gfpctx_stats_exit(void)
{
	kvfree(gfpctx_cells);
}

void gfpctx_stats_reset(void)
{
	unsigned int i;

	spin_lock(&gfpctx_cells_lock);
	for (i = 0; i < gfpctx_nr_cells; i++)
		gfpctx_tally_init(&gfpctx_cells[i]);
	spin_unlock(&gfpctx_cells_lock);
}

static u64 gfpctx_mean(u64 sum, u64 n)
{
	return n ? div64_u64(sum, n) : 0;
}

static u64 gfpctx_min(u64 min)
{
	return min == U64_MAX ? 0 : min;
}

static void gfpctx_stats_show_cell(struct seq_file *m, unsigned int c,
				   unsigned int a, unsigned int g,
				   const struct gfpctx_tally *t)
{
	unsigned int i;

	seq_printf(m, "context=%s alloc=%s gfp=%s jobs=%llu attempts=%llu ok=%llu failed=%llu injected=%llu alloc_failed=%llu ctx_mismatch=%llu",
		   gfpctx_contexts[c].name, gfpctx_allocs[a].name,
		   gfpctx_gfps[g].name, t->jobs, t->attempts, t->ok,
		   t->failed, t->injected, t->failed - t->injected,
		   t->ctx_mismatch);
	seq_printf(m, " timed=%llu ns_min=%llu ns_mean=%llu ns_max=%llu free_ns_min=%llu free_ns_mean=%llu free_ns_max=%llu hist=",
		   t->timed, gfpctx_min(t->ns_min),
		   gfpctx_mean(t->ns_sum, t->timed),
		   t->ns_max, gfpctx_min(t->free_ns_min),
		   gfpctx_mean(t->free_ns_sum, t->frees), t->free_ns_max);
	for (i = 0; i < GFPCTX_HIST_BUCKETS; i++)
		seq_printf(m, "%s%llu", i ? "," : "", t->hist[i]);
	gfpctx_reports_show(m, t->reports);
	seq_putc(m, '\n');
}

int gfpctx_stats_show(struct seq_file *m, void *unused)
{
	struct gfpctx_tally t;
	unsigned int c, a, g;

	for (c = 0; c < gfpctx_nr_contexts; c++) {
		for (a = 0; a < gfpctx_nr_allocs; a++) {
			for (g = 0; g < gfpctx_nr_gfps; g++) {
				unsigned int i = gfpctx_index(c, a, g);

				spin_lock(&gfpctx_cells_lock);
				t = gfpctx_cells[i];
				spin_unlock(&gfpctx_cells_lock);
				if (t.jobs)
					gfpctx_stats_show_cell(m, c, a, g, &t);
			}
		}
	}
	return 0;
}
