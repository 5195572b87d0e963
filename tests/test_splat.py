"""Tests of tools/gfpctx_ci/splat.py on recorded console logs."""
from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci.splat import PATTERNS, Splat, scan, unexpected  # noqa: E402

DATA = Path(__file__).resolve().parent / 'data'


def load(name: str) -> list[Splat]:
    return scan((DATA / name).read_text())


def summary(splats: list[Splat]) -> list[tuple[str, int, str, bool]]:
    return [(s.kind, s.line_no, s.function, s.expected) for s in splats]


# Every recorded fixture (README) and what the scanner reads in it:
# (kind, line, blamed function, expected) of each report.
RECORDED = {
    'recorded_debug_might_sleep.log': [('might_sleep', 3, 'gfpctx_call_alloc', True)],
    'recorded_debug_lockdep.log': [('lockdep', 5, 'gfpctx_call_alloc', True)],
    'recorded_debug_warning.log': [('warning', 5, '__might_sleep', True)],
    'recorded_kasan_might_sleep.log': [('might_sleep', 3, 'gfpctx_call_alloc', True)],
    'recorded_kasan_no_report.log': [],
    'recorded_newest-debug_might_sleep.log': [('might_sleep', 3, 'gfpctx_call_alloc', True)],
    'recorded_newest-debug_lockdep.log': [('lockdep', 5, 'gfpctx_call_alloc', True)],
    'recorded_newest-debug_warning.log': [('warning', 5, '__might_sleep', True)],
    'recorded_newest-debug_invalid_wait.log': [('lockdep', 4, 'gfpctx_call_alloc', False)],
    'recorded_newest-debug_oops.log': [('oops', 3, 'gfpctx_call_alloc', False)],
    'recorded_newest-debug_nmi_too_long.log': [],
    # the stock lane's kernel with the kernel's own lib/test_lockup.ko and
    # sysrq; the blamed function is the innermost frame (the report's own
    # machinery here)
    'recorded_stock_hung_task.log': [('hung_task', 2, '__schedule', False)],
    'recorded_stock_soft_lockup.log': [('soft_lockup', 2, 'delay_tsc', False)],
    'recorded_stock_oops.log': [('oops', 3, 'sysrq_handle_crash', False)],
    'recorded_stock_rcu_stall.log': [('rcu_stall', 2, 'delay_tsc', False)],
    # and with the kernel's own lkdtm: CORRUPT_LIST_ADD, EXHAUST_STACK
    'recorded_stock_list_corruption.log': [
        ('list_corruption', 5, '__list_add_valid_or_report', False)],
    'recorded_stock_bug.log': [('bug', 4, '', False), ('oops', 5, 'recursive_loop', False)],
    'recorded_newest-debug_boot.log': [
        # 7.x's WARNING header: "WARNING: file:line at func+off/len, CPU#n: comm/pid"
        ('warning', 198, '__alloc_workqueue', False),
        # lockdep's RT lock nesting check; the line starts with '['
        ('lockdep', 256, 'gfpctx_call_alloc', False),
        ('might_sleep', 332, 'gfpctx_free_one', False),
        ('oops', 367, 'gfpctx_call_alloc', False),
    ],
}


def test_recorded_reports() -> None:
    recorded = sorted(p.name for p in DATA.glob('recorded_*.log'))
    assert recorded == sorted(RECORDED)
    assert {name: summary(load(name)) for name in recorded} == RECORDED
    readme = (DATA / 'README').read_text()
    assert [name for name in recorded if name not in readme] == []


def test_every_kind_has_a_fixture() -> None:
    """Each kind of the scanner is in a recorded log, or invented and
    listed in the README's table of invented kinds (with why)."""
    kinds = {kind for kind, _ in PATTERNS}
    recorded = {s.kind for name in RECORDED for s in load(name)}
    invented = {s.kind for s in load('invented_reports.log')}
    readme = (DATA / 'README').read_text()
    table = readme[readme.index('    kind             what would make one'):]
    listed = set(re.findall(r'^    (\w+) ', table, re.M)) - {'kind'}
    assert kinds - recorded - listed == set(), 'kinds without a fixture'
    assert listed == kinds - recorded, 'the README lists recorded kinds as invented'
    assert listed <= invented


def test_recorded_titles() -> None:
    titles = {name: [s.title for s in load(name)] for name in RECORDED}
    assert titles['recorded_debug_might_sleep.log'] == [
        'BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321']
    assert titles['recorded_debug_lockdep.log'] == ['WARNING: inconsistent lock state']
    assert titles['recorded_debug_warning.log'] == [
        'WARNING: CPU: 1 PID: 2101 at kernel/sched/core.c:8654 __might_sleep+0x4b/0x5e']
    assert titles['recorded_newest-debug_warning.log'] == [
        'WARNING: kernel/sched/core.c:9187 at __might_sleep+0x33/0x4c, '
        'CPU#1: gfpctx_cells/2002']
    assert titles['recorded_newest-debug_boot.log'][1:] == [
        '[ BUG: Invalid wait context ]',
        'BUG: sleeping function called from invalid context at mm/vmalloc.c:3495',
        'kernel BUG at mm/vmalloc.c:3228!']


def test_recorded_traces() -> None:
    # a timer's GFP_KERNEL: lockdep's fs_reclaim report in softirq, its own
    # frames in the trace but not blamed
    lockdep = load('recorded_debug_lockdep.log')[0]
    assert lockdep.frames[:8] == (
        'dump_stack_lvl', 'print_usage_bug', 'mark_lock', '__lock_acquire', 'lock_acquire',
        '__fs_reclaim_acquire', 'might_alloc', '__kmalloc_noprof')
    assert 'call_timer_fn' in lockdep.frames
    # "? " frames are left out
    might = load('recorded_debug_might_sleep.log')[0]
    assert might.frames[:4] == ('dump_stack_lvl', '__might_resched', '__kmalloc_noprof',
                                'gfpctx_call_alloc')


def test_recorded_report_outside_its_window_kind_is_unexpected() -> None:
    # the same lockdep report, in a window that declares might_sleep only
    text = (DATA / 'recorded_debug_lockdep.log').read_text().replace(
        'kind=might_sleep kind=lockdep kind=warning', 'kind=might_sleep')
    assert summary(scan(text)) == [('lockdep', 5, 'gfpctx_call_alloc', False)]
    # and after the window's end
    lines = (DATA / 'recorded_debug_warning.log').read_text().splitlines()
    end = lines.pop()
    assert end.endswith('gfpctx-expect: end')
    lines.insert(2, end)
    assert summary(scan('\n'.join(lines))) == [('warning', 6, '__might_sleep', False)]


def test_unexpected() -> None:
    splats = load('recorded_newest-debug_boot.log')
    assert [s.line_no for s in unexpected(splats)] == [198, 256, 332, 367]
    assert unexpected(load('recorded_debug_might_sleep.log')) == []


def test_invented_kinds_once_per_report() -> None:
    # invented: no lane makes these (tests/data/README)
    assert summary(load('invented_reports.log')) == [
        ('kasan', 7, 'gfpctx_stats_show', False),
        # two objects and the count line: one report
        ('kmemleak', 37, 'gfpctx_alloc_one', False),
        ('atomic_sleep', 51, 'gfpctx_sleep_in_job', False),
        ('rcu_stall', 64, 'gfpctx_spin_forever', False),
        ('soft_lockup', 77, 'gfpctx_spin_forever', False),
        ('hard_lockup', 87, 'gfpctx_irq_spin', False),
        ('hung_task', 91, 'gfpctx_exit', False),
        ('bad_page', 101, 'gfpctx_free_pages', False),
        # the WARNING the list check ends in is the same report
        ('list_corruption', 112, 'gfpctx_pool_put', False),
        ('ubsan', 123, 'gfpctx_hist_add', False),
        ('bug', 132, '', False),
        # page fault BUG, its Oops and the panic: one report
        ('oops', 133, 'gfpctx_cell_lookup', False),
    ]


def test_markers_and_harmless_lines_are_no_splats() -> None:
    text = ('[    1.0] gfpctx-expect: begin kind=might_sleep '
            'func=gfpctx_alloc_one\n'
            '[    1.1] INFO: lockdep is turned off.\n'
            '[    1.2] Modules linked in: gfpctx(O)\n'
            '[    1.3] gfpctx: loaded: contexts=17 available=16 rt=no\n'
            '[    1.4] gfpctx-expect: end\n')
    assert scan(text) == []


def test_window_kinds_comma_list_and_caller_ids() -> None:
    text = ('[    1.000000][  T101] gfpctx-expect: begin '
            'kind=might_sleep,atomic_sleep\n'
            '[    1.000001][  T101] BUG: scheduling while atomic: '
            'sh/101/0x00000002\n'
            '[    1.000002][  T101] gfpctx-expect: end\r\n'
            '[    1.000003][  T101] BUG: scheduling while atomic: '
            'sh/101/0x00000002\r\n')
    assert summary(scan(text)) == [
        ('atomic_sleep', 2, '', True), ('atomic_sleep', 4, '', False)]


def test_warning_without_cpu_and_other_lockdep_kinds() -> None:
    text = ('WARNING: at mm/vmalloc.c:3353 vfree+0x2a5/0x2f0 [gfpctx]\n'
            '---[ end trace 0000000000000000 ]---\n'
            'WARNING: possible circular locking dependency detected\n'
            'WARNING: suspicious RCU usage\n'
            'INFO: possible irq lock inversion dependency detected\n'
            'BUG: MAX_LOCKDEP_ENTRIES too low!\n'
            'rcu: INFO: rcu_sched self-detected stall on CPU\n'
            'Oops: general protection fault, probably for non-canonical '
            'address 0xdffffc0000000001: 0000 [#2] PREEMPT SMP KASAN\n'
            '---[ end trace 0000000000000000 ]---\n'
            'kernel BUG at mm/slub.c:512!\n')
    assert [(s.kind, s.function) for s in scan(text)] == [
        ('warning', 'vfree'), ('lockdep', ''), ('lockdep', ''),
        ('lockdep', ''), ('lockdep', ''), ('rcu_stall', ''), ('oops', ''),
        ('oops', '')]


def test_might_sleep_without_gfpctx_frame() -> None:
    text = ('BUG: sleeping function called from invalid context at '
            'mm/slub.c:4119\n'
            'Call Trace:\n'
            ' <TASK>\n'
            ' dump_stack_lvl+0x80/0x90\n'
            ' ? other_fn+0x1/0x2\n'
            ' __might_resched+0x1c8/0x280\n'
            ' some_driver_probe+0x5e/0xa0 [somedrv]\n'
            ' </TASK>\n')
    assert scan(text)[0].function == 'some_driver_probe'


def test_panic_after_an_expected_splat_is_not_hidden() -> None:
    text = ('gfpctx-expect: begin kind=might_sleep\n'
            'BUG: sleeping function called from invalid context at x.c:1\n'
            'Kernel panic - not syncing: Attempted to kill init!\n'
            'gfpctx-expect: end\n')
    assert summary(scan(text)) == [
        ('might_sleep', 2, '', True), ('oops', 3, '', False)]


def test_window_func_prefix_is_enforced() -> None:
    # func=gfpctx_: a report with a gfpctx_ frame is expected, one from
    # elsewhere in the same window (test_lockup's soft lockup) is not.
    def report(name: str) -> list[str]:
        return [line for line in (DATA / name).read_text().splitlines()[1:]
                if 'gfpctx-expect' not in line]
    text = '\n'.join(['[  114.000000] gfpctx-expect: begin kind=might_sleep,soft_lockup '
                      'func=gfpctx_',
                      *report('recorded_debug_might_sleep.log'),
                      *report('recorded_stock_soft_lockup.log'),
                      '[  200.000000] gfpctx-expect: end'])
    assert summary(scan(text)) == [
        ('might_sleep', 2, 'gfpctx_call_alloc', True),
        ('soft_lockup', 39, 'delay_tsc', False)]


def test_window_left_open_closes_after_window_s() -> None:
    # A test killed between begin and end: later reports are not hidden.
    text = ('[    1.000000] gfpctx-expect: begin kind=warning\n'
            '[   10.000000] WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n'
            '[  100.000000] WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n')
    assert summary(scan(text)) == [
        ('warning', 2, 'f', True), ('warning', 3, 'f', False)]
