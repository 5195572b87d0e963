# SPDX-License-Identifier: GPL-2.0
"""Parse the KTAP that run_kselftest.sh (or a KTAP v1 producer) prints.

Two nesting styles are understood: kselftest's, where a script's own KTAP
is prefixed with "# " by the runner, and KTAP v1's indented subtests.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, NamedTuple

VERSION = re.compile(r'(K?TAP version \d+)\s*$')
CHILD_VERSION = re.compile(r'^([#\s]*[#\s])K?TAP version \d+\s*$')
TIMESTAMP = re.compile(r'^\[\s*\d+\.\d+\]\s?')
PLAN = re.compile(r'^1\.\.(\d+)\s*(?:#\s*(?:SKIP\b\s*)?(.*))?$')
RESULT = re.compile(r'^(ok|not ok)\s+(\d+)\b\s*(?:-\s+)?([^#]*?)\s*'
                    r'(?:#\s*(.*))?$')
DIRECTIVE = re.compile(r'^(SKIP|XFAIL|XPASS|TODO|TIMEOUT|ERROR)\b\s*(.*)$',
                       re.IGNORECASE)
SELFTEST_HEADER = re.compile(r'^#\s*(selftests: .+?)\s*$')
EXIT = re.compile(r'^exit=(\d+)$')

# Exit codes of a test that timeout(1) stopped, as "not ok ... # exit=<n>"
# shows them: kselftest's runner.sh turns 124 (GNU timeout) into
# "# TIMEOUT <n> seconds" but prints the others as they are: 143 when
# busybox's timeout sent SIGTERM, 137 when `timeout -k` sent SIGKILL.
TIMEOUT_EXITS = {
    124: 'timed out',
    137: 'killed by SIGKILL, as by timeout -k (or the OOM killer)',
    143: 'killed by SIGTERM, as by busybox timeout',
}

FAILING = ('fail', 'timeout', 'error')
# The reason of a bare "not ok" whose subtests all passed.
NOT_OK_PARENT = 'not ok, though its subtests passed'


@dataclass
class KtapTest:
    number: int
    name: str
    status: str  # 'pass', 'fail', 'skip', 'xfail', 'timeout', 'error'
    reason: str = ''
    subtests: list[KtapTest] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


@dataclass
class KtapResult:
    tests: list[KtapTest]
    plan: int | None
    errors: list[str]

    def leaves(self) -> Iterator[tuple[list[KtapTest], KtapTest]]:
        """Yield (ancestors, test) for every test that counts.

        A test with subtests counts through its subtests; if it failed
        (bad exit code, timeout, cut off) while none of them failed, it
        also counts itself, so that the failure is never invisible.
        """
        for test in self.tests:
            yield from _leaves([], test)

    def counts(self) -> dict[str, int]:
        counts = {'passed': 0, 'failed': 0, 'skipped': 0}
        for _, test in self.leaves():
            counts[_bucket(test.status)] += 1
        return counts

    def ok(self) -> bool:
        return (not self.errors and bool(self.tests)
                and self.plan == len(self.tests)
                and self.counts()['failed'] == 0)


class _Line(NamedTuple):
    no: int  # 1-based line number in the input text
    text: str


@dataclass
class _Block:
    """One level of KTAP: the tests after a version line."""
    tests: list[KtapTest]
    plan: int | None
    skip_reason: str


def parse(text: str) -> KtapResult:
    lines = _split(text)
    start = _find_version(lines)
    if start is None:
        return KtapResult(tests=[], plan=None, errors=['no KTAP output'])
    errors: list[str] = []
    block = _parse_block(_top_level(lines, start), 'top level', errors)
    if block.plan is None:
        errors.append('top level: no plan line')
    if not block.tests:
        errors.append('top level: no test results')
    return KtapResult(tests=block.tests, plan=block.plan, errors=errors)


def _split(text: str) -> list[_Line]:
    raw = text.replace('\r\n', '\n').split('\n')
    return [_Line(no, line.strip('\r\x00').rstrip())
            for no, line in enumerate(raw, start=1)]


def _find_version(lines: list[_Line]) -> int | None:
    for index, line in enumerate(lines):
        if VERSION.search(line.text):
            return index
    return None


def _top_level(lines: list[_Line], start: int) -> list[_Line]:
    """The lines after the version line, with its line prefix removed.

    A printk timestamp before the version line is removed from every
    line; an indent is removed where present; other garbage in front of
    the version line (serial noise) concerns that line only.
    """
    version = lines[start].text
    found = VERSION.search(version)
    assert found is not None  # start is a version line
    prefix = version[:found.start()]
    result = []
    for line in lines[start + 1:]:
        text = line.text
        if TIMESTAMP.match(prefix):
            text = TIMESTAMP.sub('', text, count=1)
        elif prefix and not prefix.strip() and text.startswith(prefix):
            text = text[len(prefix):]
        result.append(_Line(line.no, text))
    return result


def _parse_block(lines: list[_Line], where: str,
                 errors: list[str]) -> _Block:
    block = _Block(tests=[], plan=None, skip_reason='')
    log: list[str] = []
    pending: _Block | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        child = CHILD_VERSION.match(line.text)
        if child:
            end = _child_end(lines, index + 1)
            sub_lines = _strip_prefix(lines[index + 1:end], child.group(1))
            pending = _parse_block(sub_lines, f'block at line {line.no}',
                                   errors)
            log.extend(raw.text for raw in lines[index:end])
            index = end
            continue
        index += 1
        result = RESULT.match(line.text)
        if result:
            test = _make_test(result, pending, log)
            _check_test(test, result.group(1) == 'ok', block,
                        f'line {line.no}', errors)
            block.tests.append(test)
            log, pending = [], None
        elif block.plan is None and (plan := PLAN.match(line.text)):
            block.plan = int(plan.group(1))
            block.skip_reason = plan.group(2) or ''
        elif VERSION.match(line.text):
            errors.append(f'line {line.no}: second version line')
        else:
            log.append(line.text)
    _close_block(block, pending, log, where, errors)
    return block


def _child_end(lines: list[_Line], index: int) -> int:
    """Index of the first line after a nested block: the parent's result
    line, a new version line at the parent's level, or the end."""
    while index < len(lines):
        text = lines[index].text
        if RESULT.match(text) or VERSION.match(text):
            return index
        index += 1
    return index


def _strip_prefix(lines: list[_Line], prefix: str) -> list[_Line]:
    bare = prefix.rstrip()
    result = []
    for line in lines:
        text = line.text
        if text.startswith(prefix):
            text = text[len(prefix):]
        elif text == bare:
            text = ''
        result.append(_Line(line.no, text))
    return result


def _make_test(match: re.Match[str], sub: _Block | None,
               log: list[str]) -> KtapTest:
    ok = match.group(1) == 'ok'
    status, reason = _status(ok, (match.group(4) or '').strip())
    test = KtapTest(number=int(match.group(2)), name=match.group(3),
                    status=status, reason=reason, log=log)
    if sub is not None:
        test.subtests = sub.tests
        if status == 'skip' and not reason:
            test.reason = sub.skip_reason
    return test


def _status(ok: bool, comment: str) -> tuple[str, str]:
    """(status, reason) of a result line from its ok and its comment."""
    exit_code = EXIT.match(comment)
    killed = TIMEOUT_EXITS.get(int(exit_code.group(1))) if exit_code else None
    if killed and not ok:
        return 'timeout', f'{comment}: {killed}'
    directive = DIRECTIVE.match(comment)
    if not directive:
        return ('pass' if ok else 'fail'), comment
    word, rest = directive.group(1).upper(), directive.group(2).strip()
    status = {'SKIP': 'skip', 'XFAIL': 'xfail', 'TODO': 'xfail',
              'XPASS': 'fail', 'TIMEOUT': 'timeout', 'ERROR': 'error'}[word]
    if word == 'XPASS':
        return status, f'XPASS {rest}'.strip()
    if status in ('skip', 'xfail') or not ok:
        return status, rest
    return 'pass', comment


def _check_test(test: KtapTest, ok_line: bool, block: _Block, here: str,
                errors: list[str]) -> None:
    """Add to errors what is wrong with test; a failed parent whose
    subtests passed gets NOT_OK_PARENT as its reason if it had none."""
    expected = len(block.tests) + 1
    if test.number != expected:
        errors.append(f'{here}: test number {test.number}, expected '
                      f'{expected} (duplicate or out of order)')
    if test.status == 'skip' and not ok_line:
        errors.append(f'{here}: "not ok ... # SKIP" for {test.name!r} '
                      '(Linaro-style parsers count it as a failure)')
    failed_sub = any(_failed(sub) for sub in test.subtests)
    if test.subtests and test.status == 'fail' and not failed_sub:
        why = f' ({test.reason})' if test.reason else ''
        errors.append(f'{here}: {test.name!r} failed{why} '
                      'while all its subtests passed')
        test.reason = test.reason or NOT_OK_PARENT
    if test.status in ('pass', 'skip', 'xfail') and failed_sub:
        errors.append(f'{here}: {test.name!r} reported ok but a subtest '
                      'failed')


def _close_block(block: _Block, pending: _Block | None, log: list[str],
                 where: str, errors: list[str]) -> None:
    header = next((m.group(1) for m in map(SELFTEST_HEADER.match, log) if m),
                  None)
    if pending is not None or header is not None:
        name = header or ''
        test = KtapTest(number=len(block.tests) + 1, name=name,
                        status='error', log=log,
                        reason='no result line: output cut off (crash?)')
        test.subtests = pending.tests if pending else []
        errors.append(f'{where}: {name or "last test"}: no result line, '
                      'output cut off')
        block.tests.append(test)
    if block.plan is not None and block.plan != len(block.tests):
        errors.append(f'{where}: plan of {block.plan} tests, '
                      f'{len(block.tests)} results')


def _failed(test: KtapTest) -> bool:
    if test.status in FAILING:
        return True
    return any(_failed(sub) for sub in test.subtests)


def _leaves(ancestors: list[KtapTest],
            test: KtapTest) -> Iterator[tuple[list[KtapTest], KtapTest]]:
    if not test.subtests:
        yield ancestors, test
        return
    for sub in test.subtests:
        yield from _leaves(ancestors + [test], sub)
    if test.status in FAILING and not any(_failed(s) for s in test.subtests):
        yield ancestors, test


def _bucket(status: str) -> str:
    if status in FAILING:
        return 'failed'
    return 'skipped' if status == 'skip' else 'passed'
