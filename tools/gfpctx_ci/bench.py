"""`make bench`: the guest's benchmark lines (tools/guest/bench) into a
table of median and p99 ns per allocation and per free, plots (PNG and
SVG), and two cost ratios from the same run: timing each call against
timing whole batches, and audit mode on against off."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

# The ratio the per-call timing must stay under (issue: below 1.10).
OVERHEAD_LIMIT = 1.10


@dataclass(frozen=True)
class Row:
    """One benchmark job, from its `last` line."""

    context: str
    alloc: str
    gfp: str
    size: int
    samples: int
    ns_p50: int
    ns_p99: int
    free_ns_p50: int
    free_ns_p99: int
    failed: int

    @property
    def what(self) -> str:
        if self.alloc == "pages":
            return f"pages order={(self.size // 4096).bit_length() - 1}"
        return f"{self.alloc} {human(self.size)}"


@dataclass
class Result:
    rows: list[Row]
    overhead: dict[int, list[float]]  # kmalloc size: per pair, timing=call / batch
    audit: list[float]                # per pair: batch_ns audit on / audit off
    errors: list[str]
    audit_line: str = ""

    @staticmethod
    def median(ratios: list[float]) -> float | None:
        return statistics.median(ratios) if ratios else None


def human(size: int) -> str:
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= div and size % div == 0:
            return f"{size // div} {unit}"
    return f"{size} B"


def words(line: str) -> dict[str, str]:
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def parse(text: str) -> Result:
    """The lines tools/guest/bench printed."""
    result = Result([], {}, [], [])
    pending: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        tag, _, rest = line.partition(": ")
        if tag == "bench":
            w = words(rest)
            result.rows.append(Row(w["context"], w["alloc"], w["gfp"], int(w["size"]),
                                   int(w["samples"]), int(w["ns_p50"]), int(w["ns_p99"]),
                                   int(w["free_ns_p50"]), int(w["free_ns_p99"]),
                                   int(w["failed"])))
        elif tag == "bench-error":
            result.errors.append(f"job refused: {rest}")
        elif tag in ("overhead", "audit-off", "audit-on"):
            w = words(rest)
            if tag == "overhead":
                size = int(w["size"])
                pending[f"{size}:{w['timing']}"] = w
                num, den = f"{size}:call", f"{size}:batch"
                into = result.overhead.setdefault(size, [])
            else:
                pending[tag] = w
                num, den, into = "audit-on", "audit-off", result.audit
            if num in pending and den in pending:
                a, b = int(pending.pop(num)["batch_ns"]), int(pending.pop(den)["batch_ns"])
                if b > 0:
                    into.append(a / b)
        elif tag == "audit":
            result.audit_line = rest
    return result


def table(rows: list[Row]) -> str:
    """The terminal table: one row per job."""
    head = ("context", "allocation", "gfp", "n", "alloc p50", "alloc p99",
            "free p50", "free p99", "failed")
    body = [(r.context, r.what, r.gfp, str(r.samples), str(r.ns_p50), str(r.ns_p99),
             str(r.free_ns_p50), str(r.free_ns_p99), str(r.failed)) for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    right = {3, 4, 5, 6, 7, 8}

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([fmt(head), fmt(tuple("-" * w for w in widths)), *map(fmt, body)])


def over_limit(result: Result) -> dict[int, float]:
    """The kmalloc sizes whose timing overhead is not below the limit."""
    medians = {size: Result.median(pairs) for size, pairs in result.overhead.items()}
    return {size: m for size, m in medians.items() if m is not None and m >= OVERHEAD_LIMIT}


def ratios(result: Result) -> list[str]:
    """The cost lines, with a warning when per-call timing costs too much."""
    lines = []
    if not result.overhead:
        lines.append("timing overhead: no pairs measured")
    for size, pairs in sorted(result.overhead.items()):
        over = Result.median(pairs)
        verdict = "below" if over is not None and over < OVERHEAD_LIMIT else "NOT below"
        lines.append(f"timing overhead, kmalloc {human(size)} in task (batch time with "
                     f"timing=call / timing=batch, median of {len(pairs)} pairs): "
                     f"{over:.3f}, {verdict} {OVERHEAD_LIMIT:.2f}")
    cost = Result.median(result.audit)
    lines.append("audit cost: no pairs measured" if cost is None else
                 f"audit cost (audit on / off, kmalloc 64 B, task, timing=batch, "
                 f"median of {len(result.audit)} pairs): {cost:.3f}")
    return lines


def plot(rows: list[Row], out: Path) -> list[Path]:
    """A heat map per measure (alloc and free, p50 and p99): contexts down,
    allocations across, log colour scale; bench.png and bench.svg."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    contexts = list(dict.fromkeys(r.context for r in rows))
    whats = list(dict.fromkeys(r.what for r in rows))
    measures = (("alloc p50 ns", "ns_p50"), ("alloc p99 ns", "ns_p99"),
                ("free p50 ns", "free_ns_p50"), ("free p99 ns", "free_ns_p99"))
    fig, axes = plt.subplots(2, 2, figsize=(18, 12), constrained_layout=True)
    for ax, (title, key) in zip(axes.flat, measures):
        grid = [[float("nan")] * len(whats) for _ in contexts]
        for r in rows:
            value = getattr(r, key)
            if value > 0:
                grid[contexts.index(r.context)][whats.index(r.what)] = value
        image = ax.imshow(grid, aspect="auto", norm=LogNorm(), cmap="viridis")
        ax.set_title(title)
        ax.set_yticks(range(len(contexts)), contexts)
        ax.set_xticks(range(len(whats)), whats, rotation=60, ha="right")
        fig.colorbar(image, ax=ax)
    paths = [out / "bench.png", out / "bench.svg"]
    for path in paths:
        fig.savefig(path)
    plt.close(fig)
    return paths
