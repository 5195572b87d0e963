"""Tests of tools/gfpctx_ci/fixture.py and `gfpctx-ci record-fixture`."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci import cli, fixture  # noqa: E402
from gfpctx_ci.splat import scan  # noqa: E402

# A 6.12 might_sleep report as the debug lane prints it, raw addresses
# and all, in an expect window, between other lines.
LOG = '''\x1b[2J\x1b[H  SeaBIOS (version 1.16.3-debian-1.16.3-2)\r
[    0.000000] Linux version 6.12.117-gfpctx-debug (root@vm) #1 SMP PREEMPT\r
[    8.191343] gfpctx: loaded: contexts=17 available=17 rt=no\r
[  114.283630] gfpctx-expect: begin kind=might_sleep func=gfpctx_\r
[  114.283700] gfpctx: timer kmalloc GFP_KERNEL size=64\r
[  114.284974] BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321\r
[  114.285830] 1 lock held by gfpctx_cells/2101:\r
[  114.287467]  #0: ffff888003a5c0f8 (&job->lock){+.+.}-{2:2}, at: gfpctx_fire_spinlock+0x18/0x35 [gfpctx]\r
[  114.288985] Call Trace:\r
[  114.289069]  <TASK>\r
[  114.289140]  dump_stack_lvl+0x83/0x90\r
[  114.289222]  __might_resched+0x205/0x224\r
[  114.289257]  ? gfpctx_call_alloc+0x7/0x8 [gfpctx]\r
[  114.289414]  gfpctx_call_alloc+0x7/0x8 [gfpctx]\r
[  114.289448]  gfpctx_alloc_one+0xb6/0x160 [gfpctx]\r
[  114.289728]  entry_SYSCALL_64_after_hwframe+0x4b/0x53\r
[  114.290386] RSP: 002b:00007ffd44b13838 EFLAGS: 00000202 ORIG_RAX: 0000000000000001\r
[  114.290439] RAX: ffffffffffffffda RBX: 0000000000000006 RCX: 000000000043c330\r
[  114.294753]  </TASK>\r
[  114.298589] gfpctx-expect: end\r
[  114.300000] hardirqs last  enabled at (1): [<ffffffff8112a0b4>] vfs_write+0x73/0x143\r
[  114.300001] kmemleak: unreferenced object 0xffff888005e1c2c0 (size 64):\r
'''


def test_hash_pointers() -> None:
    line = ' #0: ffff888003a5c0f8 (&job->lock), at: [<ffffffff8112a0b4>] f+0x18/0x35'
    hashed = fixture.hash_pointers(line)
    assert 'ffff888003a5c0f8' not in hashed and 'ffffffff8112a0b4' not in hashed
    # the same width and region, the offsets as they were, stable
    assert hashed.startswith(' #0: ffff88') and '[<ffffff' in hashed
    assert len(hashed) == len(line) and hashed.endswith(' f+0x18/0x35')
    assert fixture.hash_pointers(line) == hashed
    # one address, one stand-in; two, two
    twice = fixture.hash_pointers('ffff888003a5c0f8 ffff888003a5c0f8 ffff888003a5c0f0')
    first, again, other = twice.split()
    assert first == again != other
    for kept in ('RAX: ffffffffffffffda', 'RBX: 0000000000000006', 'R12: 00000000004dfc00',
                 'mode:0xcc0(GFP_KERNEL)', 'address: 0000000000000008', 'sum 0xffffffff'):
        assert fixture.hash_pointers(kept) == kept
    assert fixture.hash_pointers('RSP: 002b:00007ffd44b13838').startswith('RSP: 002b:00007f')
    assert fixture.hash_pointers('object 0xffff888005e1c2c0 (size 64)').startswith(
        'object 0xffff88')


def test_report_with_its_window() -> None:
    keep = fixture.report_lines(LOG, 'might_sleep')
    # the begin marker, the report (not the line between), the end marker
    assert [k + 1 for k in keep] == [4, *range(6, 20), 20]
    text = fixture.record(LOG, keep)
    lines = text.splitlines()
    assert lines[0] == '[    0.000000] Linux version 6.12.117-gfpctx-debug (root@vm) #1 SMP PREEMPT'
    assert '\r' not in text and '\x1b' not in text and text.endswith('end\n')
    assert 'ffff888003a5c0f8' not in text and '00007ffd44b13838' not in text
    assert [(s.kind, s.function, s.expected, s.line_no) for s in scan(text)] == [
        ('might_sleep', 'gfpctx_call_alloc', True, 3)]
    # recording again gives the same bytes
    assert fixture.record(LOG, keep) == text
    with_before = fixture.report_lines(LOG, 'might_sleep', before=5)
    assert [k + 1 for k in with_before[:3]] == [4, 5, 6]  # not above the window


def test_a_cut_report_is_refused() -> None:
    keep = fixture.report_lines(LOG, 'might_sleep')
    with pytest.raises(fixture.FixtureError, match=r'reads might_sleep in gfpctx_call_alloc '
                       r'with 5 frames, expected, at line 6 of the log but might_sleep in \? '
                       r'with 1 frames at line 3 of the fixture'):
        fixture.record(LOG, keep[:7] + keep[-1:])
    with pytest.raises(fixture.FixtureError, match='expected, at line 6 of the log but '
                       'might_sleep in gfpctx_call_alloc with 5 frames at line 2 of'):
        # the end marker without the begin: the report unexpected
        fixture.record(LOG, keep[1:])
    with pytest.raises(fixture.FixtureError, match='17 lines, more than 10'):
        fixture.record(LOG, keep, max_lines=10)
    with pytest.raises(fixture.FixtureError, match=r'no report kasan:1 in the log \(0 of'):
        fixture.report_lines(LOG, 'kasan')


def test_ranges() -> None:
    assert fixture.ranges('2-3,7,9-9') == [1, 2, 6, 8]
    for bad in ('3-2', '0-1', 'a-b', '1-x'):
        with pytest.raises(fixture.FixtureError):
            fixture.ranges(bad)
    with pytest.raises(fixture.FixtureError, match='past the log'):
        fixture.record(LOG, fixture.ranges('20-40'))


def test_record_fixture_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / 'provoke.console.log'
    log.write_text(LOG)
    out = tmp_path / 'recorded.log'
    assert cli.main(['record-fixture', str(log), '--report', 'might_sleep:1',
                     '-o', str(out)]) == 0
    assert out.read_text() == fixture.record(LOG, fixture.report_lines(LOG, 'might_sleep'))
    assert capsys.readouterr().err == ('gfpctx-ci: record-fixture: 17 lines; might_sleep in '
                                       'gfpctx_call_alloc (expected)\n')
    assert cli.main(['record-fixture', str(log), '--lines', '21-22']) == 0
    said = capsys.readouterr()
    assert said.out.count('\n') == 3 and said.err.endswith('3 lines; kmemleak in ?\n')
    for argv, error in ((['--report', 'nosuch'], "'nosuch': not a report kind"),
                        (['--report', 'oops:x'], "'x': want the report's number"),
                        ([], 'give --report KIND'),
                        (['--report', 'oops', '--lines', '1-2'], 'give --report KIND'),
                        (['--lines', '1-2', '-o', str(tmp_path / 'no/such')],
                         'no/such: No such file')):
        with pytest.raises(SystemExit, match=error):
            cli.main(['record-fixture', str(log), *argv])


def test_a_report_the_log_folds_into_another_may_stand_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # sysrq's panic 40 lines after an unexpected soft lockup: the log reads
    # it as the lockup report's end, the cut of its own lines as an oops
    log = ('[   71.166545] watchdog: BUG: soft lockup - CPU#0 stuck for 21s! [insmod:143]\n'
           + '[   71.166546]  delay_tsc+0x5e/0xa0\n' * 40
           + '[   74.666055] sysrq: Trigger a crash\n'
           '[   74.666931] Kernel panic - not syncing: sysrq triggered crash\n'
           '[   74.668162] Call Trace:\n'
           '[   74.668356]  sysrq_handle_crash+0x1a/0x20\n')
    assert [s.kind for s in scan(log)] == ['soft_lockup']
    cut = fixture.record(log, fixture.ranges('42-45'))
    assert [(s.kind, s.function) for s in scan(cut)] == [('oops', 'sysrq_handle_crash')]
    # but trimming must not change how its lines read
    monkeypatch.setattr(fixture, 'trim', lambda line: line.replace('+0x', ' '))
    with pytest.raises(fixture.FixtureError, match='trimmed and hashed, the lines read '
                       'differently'):
        fixture.record(log, fixture.ranges('42-45'))
