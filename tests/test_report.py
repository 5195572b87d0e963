"""Tests of tools/gfpctx_ci/report.py: JUnit read back, summary text."""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci.ktap import KtapResult, parse  # noqa: E402
from gfpctx_ci.report import SPLAT_FRAMES, summary, write_junit  # noqa: E402
from gfpctx_ci.splat import Splat, scan  # noqa: E402

DATA = Path(__file__).resolve().parent / 'data'
CLEAN_KTAP = 'TAP version 13\n1..1\n# selftests: gfpctx: contexts.sh\n' \
             '# TAP version 13\n# 1..2\n# ok 1 lists\n' \
             '# ok 2 ipi # SKIP needs 2 CPUs\n' \
             'ok 1 selftests: gfpctx: contexts.sh\n'


def ktap(name: str) -> KtapResult:
    return parse((DATA / name).read_text())


def splats() -> list[Splat]:
    """The expected reports of the debug lane's provoke boot, then the
    unexpected ones of a newest-debug boot (both recorded)."""
    return [*scan((DATA / 'judge/debug/provoke.console.log').read_text()),
            *scan((DATA / 'recorded_newest-debug_boot.log').read_text())]


def junit(tmp_path: Path, results: list[tuple[str, KtapResult]],
          found: list[Splat]) -> ET.Element:
    path = tmp_path / 'junit.xml'
    write_junit(path, 'debug', results, found)
    return ET.parse(path).getroot()


def test_junit_suites_and_testcases(tmp_path: Path) -> None:
    root = junit(tmp_path, [('clean', ktap('kselftest_clean.ktap')),
                            ('warns', ktap('kselftest_timeout.ktap'))],
                 splats())
    assert root.tag == 'testsuites'
    suites = root.findall('testsuite')
    assert [s.get('name') for s in suites] == [
        'debug.clean', 'debug.warns', 'debug.dmesg']
    clean, warns, dmesg = suites
    assert (clean.get('tests'), clean.get('failures'),
            clean.get('skipped')) == ('13', '1', '3')
    # 6 counted tests and one testcase for the KTAP errors
    assert (warns.get('tests'), warns.get('failures')) == ('7', '3')
    assert (dmesg.get('tests'), dmesg.get('failures')) == ('4', '4')
    assert (root.get('tests'), root.get('failures'),
            root.get('skipped')) == ('24', '8', '3')


def test_junit_testcase_details(tmp_path: Path) -> None:
    root = junit(tmp_path, [('clean', ktap('kselftest_clean.ktap'))], [])
    cases = root.findall("testsuite[@name='debug.clean']/testcase")
    assert {c.get('classname') for c in cases} == {
        'gfpctx.contexts.sh', 'gfpctx.ok_cells.sh', 'gfpctx.inject.sh',
        'gfpctx.bad_input.sh', 'gfpctx.lifecycle.sh'}
    failed = [c for c in cases if c.find('failure') is not None]
    assert [c.get('name') for c in failed] == [
        'fail_next=3 in timer context gives failed=3']
    failure = failed[0].find('failure')
    assert failure.get('type') == 'fail'
    assert 'expected failed=3 injected=3' in failure.text
    skipped = {c.get('name'): c.find('skipped').get('message')
               for c in cases if c.find('skipped') is not None}
    assert skipped == {
        'ipi available': 'needs 2 CPUs',
        'bh_work kmalloc GFP_ATOMIC': 'needs WQ_BH',
        'lifecycle.sh': 'kmemleak not available (CONFIG_DEBUG_KMEMLEAK=n)'}


def test_junit_splats_and_ktap_errors(tmp_path: Path) -> None:
    root = junit(tmp_path, [('clean', ktap('kselftest_crash.ktap'))],
                 splats())
    names = [c.get('name') for c in
             root.findall("testsuite[@name='debug.dmesg']/testcase")]
    assert names == ['splat: warning in __alloc_workqueue',
                     'splat: lockdep in gfpctx_call_alloc',
                     'splat: might_sleep in gfpctx_free_one',
                     'splat: oops in gfpctx_call_alloc']
    failure = root.find("testsuite[@name='debug.dmesg']/testcase/failure")
    assert failure.get('message') == ('WARNING: kernel/workqueue.c:5938 at '
                                      '__alloc_workqueue+0xe3/0x63b, CPU#1: modprobe/49')
    crash = root.find("testsuite[@name='debug.clean']")
    cut = crash.find("testcase[@name='ok_cells.sh']/failure")
    assert cut.get('type') == 'error'
    errors = crash.find("testcase[@classname='gfpctx.ktap']/failure")
    assert errors.text.count('\n') == 2


def test_junit_clean_dmesg_has_a_passing_case(tmp_path: Path) -> None:
    root = junit(tmp_path, [('clean', parse(CLEAN_KTAP))], [])
    dmesg = root.find("testsuite[@name='debug.dmesg']")
    assert [c.get('name') for c in dmesg] == ['no unexpected splat']
    assert root.get('failures') == '0'


def test_summary_fail() -> None:
    text = summary('debug', '6.12.117-gfpctx-debug',
                   [('clean', ktap('kselftest_clean.ktap')),
                    ('warns', ktap('kselftest_timeout.ktap'))],
                   splats(), 2.04, 61.26)
    lines = text.splitlines()
    assert lines[:8] == [
        'lane     debug',
        'kernel   6.12.117-gfpctx-debug',
        'passed   13',
        'failed   3',
        'skipped  3',
        'splats   4 unexpected, 6 expected',
        'boot     2.0 s',
        'suite    61.3 s',
    ]
    assert 'FAIL   clean: inject.sh / fail_next=3 in timer context gives ' \
           'failed=3: fail' in lines
    assert 'FAIL   warns: warns.sh: timeout: 45 seconds' in lines
    assert 'SPLAT  might_sleep: BUG: sleeping function called from invalid ' \
           'context at mm/vmalloc.c:3495 in gfpctx_free_one ' \
           '(console line 332; trace: dump_stack_lvl < __might_resched < vfree < ' \
           'gfpctx_free_one < gfpctx_run_batch < gfpctx_fire_spinlock < gfpctx_job_run < ' \
           'gfpctx_run_write < ...)' in lines
    assert sum(line.startswith('KTAP ') for line in lines) == 2
    assert lines[-1] == 'RESULT: FAIL'


def test_summary_pass_and_no_results() -> None:
    expected_only = [s for s in splats() if s.expected]
    text = summary('debug', 'k', [('clean', parse(CLEAN_KTAP))],
                   expected_only, 1.0, 2.0)
    assert 'splats   0 unexpected, 6 expected' in text
    assert text.endswith('RESULT: PASS\n')
    assert summary('debug', 'k', [], [], 0, 0).endswith('RESULT: FAIL\n')


def test_summary_script_seconds() -> None:
    text = summary('debug', 'k', [('clean', parse(CLEAN_KTAP))], [], 1.0, 2.0,
                   {'ok_cells.sh': 31.25, 'warns.sh': 77.0})
    lines = text.splitlines()
    at = lines.index('suite    2.0 s')
    assert lines[at + 1:at + 3] == ['  ok_cells.sh        31.2 s',
                                    '  warns.sh           77.0 s']


def test_summary_shortens_a_long_trace() -> None:
    """An unexpected report's trace is cut at SPLAT_FRAMES frames."""
    frames = tuple(f'f{i}' for i in range(SPLAT_FRAMES + 2))
    bad = Splat(kind='warning', line_no=7, title='WARNING: x', function='f0',
                expected=False, frames=frames)
    line = [x for x in summary('stock', 'k', [], [bad], 1.0, 2.0).splitlines()
            if x.startswith('SPLAT')][0]
    assert line.endswith('; trace: ' + ' < '.join(frames[:SPLAT_FRAMES]) + ' < ...)')


def test_busybox_timeout_in_summary_and_junit(tmp_path: Path) -> None:
    """A script busybox's timeout killed is a timeout for CI, too."""
    result = ktap('kselftest_busybox_timeout.ktap')
    assert 'FAIL   clean: pressure.sh: timeout: exit=143: killed by ' \
           'SIGTERM, as by busybox timeout' in \
           summary('debug', 'k', [('clean', result)], [], 1.0, 2.0)
    root = junit(tmp_path, [('clean', result)], [])
    failure = root.find("testsuite[@name='debug.clean']/testcase"
                        "[@name='pressure.sh']/failure")
    assert failure.get('type') == 'timeout'


def test_junit_names_unique_within_a_suite(tmp_path: Path) -> None:
    """A description repeated in one script gets its test number; one
    repeated across scripts gets its script; other names stay as they
    are. Every suite's testcase names are then unique."""
    root = junit(tmp_path, [('clean', ktap('kselftest_repeated_names.ktap')),
                            ('warns', ktap('kselftest_timeout.ktap'))],
                 splats())
    for suite in root.findall('testsuite'):
        names = [c.get('name') for c in suite.findall('testcase')]
        assert len(names) == len(set(names)), suite.get('name')
    cases = root.findall("testsuite[@name='debug.clean']/testcase")
    assert [(c.get('classname'), c.get('name')) for c in cases] == [
        ('gfpctx.contexts.sh', 'contexts.sh: module loads'),
        ('gfpctx.contexts.sh', 'contexts.sh: no splat in the kernel log'),
        ('gfpctx.races.sh', 'contexts to race in: 5'),
        ('gfpctx.races.sh', 'no splat in the kernel log #2'),
        ('gfpctx.races.sh', 'writers race with unload'),
        ('gfpctx.races.sh', 'no splat in the kernel log #4'),
        ('gfpctx.lifecycle.sh', 'lifecycle.sh: module loads'),
        ('gfpctx.lifecycle.sh', 'lifecycle.sh: no splat in the kernel log')]


def test_not_ok_parent_with_passing_subtests(tmp_path: Path) -> None:
    """A bare "not ok" suite whose subtests all passed is a failed test
    of its own in the counts, the summary and the JUnit XML."""
    result = ktap('ktap_v1_not_ok_parent.ktap')
    assert result.counts() == {'passed': 4, 'failed': 1, 'skipped': 0}
    assert not result.ok()
    lines = summary('debug', 'k', [('clean', result)], [], 1.0, 2.0
                    ).splitlines()
    assert [line for line in lines if line.startswith('FAIL')] == [
        'FAIL   clean: gfpctx_rules: fail: not ok, though its subtests '
        'passed']
    assert "KTAP   clean: line 14: 'gfpctx_rules' failed while all its " \
           'subtests passed' in lines
    root = junit(tmp_path, [('clean', result)], [])
    failure = root.find("testsuite[@name='debug.clean']/testcase"
                        "[@name='gfpctx_rules']/failure")
    assert failure.get('message') == \
        'fail: not ok, though its subtests passed'
