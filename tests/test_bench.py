"""Tests of tools/gfpctx_ci/bench.py: the guest's lines into rows, ratios,
the table and the plots."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci import bench  # noqa: E402

LAST = ('context={ctx} alloc={alloc} gfp={gfp} size={size} timing={timing} ret=0 '
        'attempts=500 ok=500 failed={failed} batch_ns={batch} samples=500 ns_p50={p50} '
        'ns_p99={p99} free_samples=500 free_ns_p50=100 free_ns_p99=300')


def last(ctx='task', alloc='kmalloc', gfp='GFP_KERNEL', size=64, timing='call',
         failed=0, batch=1000, p50=200, p99=900) -> str:
    return LAST.format(ctx=ctx, alloc=alloc, gfp=gfp, size=size, timing=timing,
                       failed=failed, batch=batch, p50=p50, p99=p99)


def test_rows_from_bench_lines() -> None:
    text = '\n'.join([
        'bench: ' + last(),
        'bench: ' + last(ctx='irq_work', alloc='pages', gfp='GFP_ATOMIC', size=32768,
                         failed=2),
        'noise from the shell',
        'bench-error: context=ipi alloc=kmalloc gfp=GFP_ATOMIC size=64',
    ])
    result = bench.parse(text)
    assert [(r.context, r.what, r.failed) for r in result.rows] == [
        ('task', 'kmalloc 64 B', 0), ('irq_work', 'pages order=3', 2)]
    assert result.errors == ['job refused: context=ipi alloc=kmalloc gfp=GFP_ATOMIC size=64']


def test_ratios_pair_call_with_batch_per_size() -> None:
    text = '\n'.join([
        'overhead: ' + last(timing='call', batch=2000),
        'overhead: ' + last(timing='batch', batch=1000),
        'overhead: ' + last(size=65536, timing='call', batch=1050),
        'overhead: ' + last(size=65536, timing='batch', batch=1000),
        'audit-off: ' + last(timing='batch', batch=1000),
        'audit-on: ' + last(timing='batch', batch=1200),
        'audit: entries=0 overflow=0 state=off',
    ])
    result = bench.parse(text)
    assert result.overhead == {64: [2.0], 65536: [1.05]}
    assert result.audit == [1.2]
    assert result.audit_line == 'entries=0 overflow=0 state=off'
    assert bench.over_limit(result) == {64: 2.0}
    lines = bench.ratios(result)
    assert '64 B' in lines[0] and 'NOT below 1.10' in lines[0]
    assert '64 KiB' in lines[1] and ': 1.050, below 1.10' in lines[1]
    assert lines[2].endswith(': 1.200')


def test_ratios_without_pairs_say_so() -> None:
    assert bench.ratios(bench.parse('')) == ['timing overhead: no pairs measured',
                                            'audit cost: no pairs measured']


def test_human_sizes() -> None:
    assert [bench.human(s) for s in (64, 4096, 65536, 1 << 20, 4 << 20, 1000)] == [
        '64 B', '4 KiB', '64 KiB', '1 MiB', '4 MiB', '1000 B']


def test_table_has_a_line_per_row() -> None:
    rows = bench.parse('bench: ' + last() + '\nbench: ' + last(size=4096, p50=1500)).rows
    lines = bench.table(rows).splitlines()
    assert len(lines) == 4
    assert lines[0].split()[:2] == ['context', 'allocation']
    assert lines[3].split()[:6] == ['task', 'kmalloc', '4', 'KiB', 'GFP_KERNEL', '500']


def test_plot_writes_png_and_svg(tmp_path: Path) -> None:
    pytest.importorskip('matplotlib', reason='python3-matplotlib not installed')
    rows = bench.parse('bench: ' + last() + '\nbench: ' + last(ctx='timer')).rows
    paths = bench.plot(rows, tmp_path)
    assert [p.name for p in paths] == ['bench.png', 'bench.svg']
    assert paths[0].read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert b'<svg' in paths[1].read_bytes()[:2000]
