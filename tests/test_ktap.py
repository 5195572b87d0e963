"""Tests of tools/gfpctx_ci/ktap.py on recorded and hand-made KTAP."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci.ktap import KtapResult, parse  # noqa: E402

DATA = Path(__file__).resolve().parent / 'data'


def load(name: str) -> KtapResult:
    return parse((DATA / name).read_bytes().decode('utf-8', 'replace'))


def statuses(result: KtapResult) -> list[tuple[str, str]]:
    return [(test.name, test.status) for _, test in result.leaves()]


def test_kselftest_run_with_crs_garbage_skips_and_a_failure() -> None:
    result = load('kselftest_clean.ktap')
    assert result.plan == 5
    assert [t.name for t in result.tests] == [
        'selftests: gfpctx: contexts.sh', 'selftests: gfpctx: ok_cells.sh',
        'selftests: gfpctx: inject.sh', 'selftests: gfpctx: bad_input.sh',
        'selftests: gfpctx: lifecycle.sh']
    assert [t.status for t in result.tests] == [
        'pass', 'pass', 'fail', 'pass', 'skip']
    assert result.counts() == {'passed': 9, 'failed': 1, 'skipped': 3}
    assert result.errors == []
    assert not result.ok()


def test_kselftest_nested_details() -> None:
    result = load('kselftest_clean.ktap')
    contexts, ok_cells, inject, bad_input, lifecycle = result.tests
    assert [(t.number, t.status, t.reason) for t in contexts.subtests] == [
        (1, 'pass', ''), (2, 'pass', ''), (3, 'skip', 'needs 2 CPUs')]
    assert ok_cells.subtests[2].name == 'bh_work kmalloc GFP_ATOMIC'
    assert ok_cells.subtests[2].reason == 'needs WQ_BH'
    assert len(ok_cells.subtests) == 4
    failed = inject.subtests[1]
    assert failed.status == 'fail'
    assert failed.log == [
        '# stats: context=timer alloc=kmalloc gfp=GFP_ATOMIC attempts=10 '
        'ok=8 failed=2 injected=2', '# expected failed=3 injected=3']
    assert inject.reason == 'exit=1'
    assert '# selftests: gfpctx: inject.sh' in inject.log
    assert '# not ok 2 fail_next=3 in timer context gives failed=3' \
        in inject.log
    assert len(bad_input.subtests) == 2  # the malformed line is no result
    assert lifecycle.subtests == []
    assert lifecycle.reason == \
        'kmemleak not available (CONFIG_DEBUG_KMEMLEAK=n)'


def test_recorded_clean_boot() -> None:
    # the debug lane's clean boot, as run_kselftest.sh wrote it (a whole
    # recorded KTAP; tests/data/README)
    result = load('judge/debug/clean.ktap')
    assert result.plan == 6
    assert [t.name.rsplit(' ', 1)[1] for t in result.tests] == [
        'contexts.sh', 'ok_cells.sh', 'inject.sh', 'lifecycle.sh', 'fuzz.sh', 'pressure.sh']
    assert [t.status for t in result.tests] == ['pass'] * 6
    assert result.counts() == {'passed': 813, 'failed': 0, 'skipped': 2}
    assert [t.reason for _, t in result.leaves() if t.status == 'skip'] == [
        'no such cell here (vmalloc_nonblocking=no)', 'all available']
    assert result.errors == [] and result.ok()


def test_run_cut_off_by_a_crash() -> None:
    result = load('kselftest_crash.ktap')
    assert result.plan == 3
    assert len(result.tests) == 2
    cut = result.tests[1]
    assert (cut.number, cut.name, cut.status) == (
        2, 'selftests: gfpctx: ok_cells.sh', 'error')
    assert len(cut.subtests) == 2
    assert result.counts() == {'passed': 3, 'failed': 1, 'skipped': 0}
    assert result.errors == [
        'block at line 12: plan of 4 tests, 2 results',
        'top level: selftests: gfpctx: ok_cells.sh: no result line, '
        'output cut off',
        'top level: plan of 3 tests, 2 results']
    assert not result.ok()


def test_timeout_and_bad_exit_with_passing_subtests() -> None:
    result = load('kselftest_timeout.ktap')
    warns, lifecycle = result.tests
    assert (warns.status, warns.reason) == ('timeout', '45 seconds')
    assert (lifecycle.status, lifecycle.reason) == ('fail', 'exit=1')
    assert statuses(result) == [
        ('timer kmalloc GFP_KERNEL warns with might_sleep', 'pass'),
        ('spinlock vmalloc GFP_KERNEL warns with might_sleep', 'pass'),
        ('selftests: gfpctx: warns.sh', 'timeout'),
        ('load and unload 10 times', 'pass'),
        ('kmemleak clean after unload', 'pass'),
        ('selftests: gfpctx: lifecycle.sh', 'fail')]
    assert result.counts() == {'passed': 4, 'failed': 2, 'skipped': 0}
    assert result.errors == [
        'block at line 5: plan of 3 tests, 2 results',
        "line 18: 'selftests: gfpctx: lifecycle.sh' failed (exit=1) while "
        'all its subtests passed']


def test_busybox_timeout_is_a_timeout() -> None:
    """busybox's timeout kills with SIGTERM: runner.sh prints exit=143,
    not TIMEOUT; the script is a timeout all the same, and its passed
    subtests make no "failed while all its subtests passed" error."""
    result = load('kselftest_busybox_timeout.ktap')
    pressure, inject = result.tests
    assert (pressure.status, pressure.reason) == (
        'timeout', 'exit=143: killed by SIGTERM, as by busybox timeout')
    assert (inject.status, inject.reason) == ('fail', 'exit=1')
    assert statuses(result)[2] == ('selftests: gfpctx: pressure.sh',
                                   'timeout')
    assert result.counts() == {'passed': 3, 'failed': 2, 'skipped': 0}
    assert result.errors == ['block at line 5: plan of 24 tests, 2 results']


def test_timeout_exit_codes() -> None:
    """124 (GNU timeout), 137 (SIGKILL, timeout -k) and 143 (SIGTERM) are
    timeouts on a not ok line; other exit codes, and ok lines, are not."""
    def first(line: str) -> tuple[str, str]:
        test = parse(f'TAP version 13\n1..1\n{line}\n').tests[0]
        return test.status, test.reason
    for code in (124, 137, 143):
        status, reason = first(f'not ok 1 x.sh # exit={code}')
        assert status == 'timeout' and reason.startswith(f'exit={code}: ')
    for code in (1, 2, 139, 1430):
        assert first(f'not ok 1 x.sh # exit={code}') == (
            'fail', f'exit={code}')
    assert first('ok 1 x.sh # exit=143') == ('pass', 'exit=143')


def test_ktap_v1_indented_nesting_and_directives() -> None:
    result = load('ktap_v1_nested.ktap')
    assert result.plan == 3
    assert statuses(result) == [
        ('kmalloc', 'pass'), ('kzalloc', 'pass'), ('pages', 'skip'),
        ('expected_fail', 'xfail'), ('slow_case', 'timeout'),
        ('broken', 'error'), ('plain_leaf', 'pass')]
    edge = result.tests[1]
    assert [t.reason for t in edge.subtests] == [
        'known bug', '30 seconds', 'could not set up']
    assert edge.subtests[1].log == ['# slow_case: still waiting']
    assert result.tests[0].subtests[0].subtests[1].log == [
        '# kzalloc: 100/100']
    assert result.tests[2].reason == 'rcode=0'
    assert result.counts() == {'passed': 4, 'failed': 2, 'skipped': 1}
    assert result.errors == [
        'line 11: "not ok ... # SKIP" for \'pages\' (Linaro-style parsers '
        'count it as a failure)']


def test_all_passed_is_ok() -> None:
    result = parse('TAP version 13\n1..2\nok 1 a\nok 2 b # SKIP why\n')
    assert result.ok()
    assert result.counts() == {'passed': 1, 'failed': 0, 'skipped': 1}


def test_no_ktap_output() -> None:
    result = parse('[    2.0] Kernel panic - not syncing: VFS\n')
    assert result.errors == ['no KTAP output']
    assert result.tests == [] and result.plan is None
    assert not result.ok()


def test_empty_run_is_not_ok() -> None:
    result = parse('TAP version 13\n1..0\n')
    assert result.errors == ['top level: no test results']
    assert not result.ok()


def test_missing_plan() -> None:
    result = parse('KTAP version 1\nok 1 a\n')
    assert result.errors == ['top level: no plan line']
    assert not result.ok()


def test_more_results_than_plan() -> None:
    result = parse('TAP version 13\n1..1\nok 1 a\nok 2 b\n')
    assert result.errors == ['top level: plan of 1 tests, 2 results']
    assert not result.ok()


def test_duplicate_and_out_of_order_numbers() -> None:
    result = parse('TAP version 13\n1..3\nok 1 a\nok 1 b\nok 3 c\n')
    assert result.errors == [
        'line 4: test number 1, expected 2 (duplicate or out of order)']
    result = parse('TAP version 13\n1..2\nok 2 a\nok 1 b\n')
    assert len(result.errors) == 2
    assert not result.ok()


def test_timestamped_console_ktap() -> None:
    text = ('[    1.000000] random: crng init done\n'
            '[    1.100000] KTAP version 1\n'
            '[    1.100001] 1..1\n'
            '[    1.100002]     KTAP version 1\n'
            '[    1.100003]     1..1\n'
            '[    1.100004]     ok 1 inner\n'
            '[    1.100005] ok 1 outer\n')
    result = parse(text)
    assert result.ok()
    assert result.tests[0].subtests[0].name == 'inner'


def test_parent_ok_with_failing_subtest() -> None:
    text = 'TAP version 13\n1..1\n# TAP version 13\n# 1..1\n' \
           '# not ok 1 inner\nok 1 outer\n'
    result = parse(text)
    assert result.errors == ["line 6: 'outer' reported ok but a subtest "
                             'failed']
    assert result.counts() == {'passed': 0, 'failed': 1, 'skipped': 0}


def test_xpass_fails() -> None:
    result = parse('TAP version 13\n1..1\nok 1 # XPASS surprise\n')
    test = result.tests[0]
    assert (test.name, test.status, test.reason) == (
        '', 'fail', 'XPASS surprise')
    assert not result.ok()


def test_serial_noise_on_the_version_line() -> None:
    result = parse('\x00\x1b[0mTAP version 13\r\n1..1\r\n\r\nok 1 a\r\n')
    assert result.ok()
    assert result.tests[0].name == 'a'


def test_recorded_skip_keeps_its_reason(tmp_path: Path) -> None:
    """A skip as the scripts print it (Documentation/dev-tools/ktap.rst:
    `ok N description # SKIP reason`), recorded on the debug lane, reaches
    the parser and the JUnit XML with its description and reason apart."""
    from gfpctx_ci import report
    text = (DATA / 'recorded_contexts.ktap').read_text()
    result = parse(text)
    assert result.ok() and not result.errors
    script = result.tests[0]
    skipped = [t for t in script.subtests if t.status == 'skip']
    assert [(t.name, t.reason) for t in skipped] == [
        ('unavailable context refused with EOPNOTSUPP', 'all available')]
    junit = tmp_path / 'junit.xml'
    report.write_junit(junit, 'debug', [('clean', result)], [])
    assert ('<skipped message="all available"' in junit.read_text())
