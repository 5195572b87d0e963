# SPDX-License-Identifier: GPL-2.0
"""Report a lane's results: JUnit XML for CI systems, a summary for humans."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from .ktap import FAILING, KtapResult, KtapTest
from .splat import Splat, unexpected

SCRIPT = re.compile(r'^selftests: [^:]+: (.+)$')
SUMMARY_ITEMS = 20  # failure lines shown before "... more"


def write_junit(path: str | Path, lane: str,
                results: list[tuple[str, KtapResult]],
                splats: list[Splat]) -> None:
    root = ET.Element('testsuites', name=f'gfpctx.{lane}')
    for boot, result in results:
        _ktap_suite(root, f'{lane}.{boot}', result)
    _splat_suite(root, f'{lane}.dmesg', splats)
    _totals(root, root.findall('testsuite'))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(path, encoding='utf-8', xml_declaration=True)


def summary(lane: str, kernel: str, results: list[tuple[str, KtapResult]],
            splats: list[Splat], boot_s: float | None, suite_s: float | None,
            script_s: dict[str, float] | None = None) -> str:
    """The human summary; script_s: seconds per test script, if known."""
    counts = _total_counts(results)
    bad = unexpected(splats)
    lines = [
        f'lane     {lane}',
        f'kernel   {kernel}',
        f'passed   {counts["passed"]}',
        f'failed   {counts["failed"]}',
        f'skipped  {counts["skipped"]}',
        f'splats   {len(bad)} unexpected, {len(splats) - len(bad)} expected',
        f'boot     {_seconds(boot_s)}',
        f'suite    {_seconds(suite_s)}',
    ]
    lines += [f'  {name:<16} {seconds:6.1f} s'
              for name, seconds in (script_s or {}).items()]
    problems = _problem_lines(results, bad)
    lines += problems[:SUMMARY_ITEMS]
    if len(problems) > SUMMARY_ITEMS:
        lines.append(f'... {len(problems) - SUMMARY_ITEMS} more '
                     '(see the JUnit XML)')
    passed = bool(results) and all(r.ok() for _, r in results) and not bad
    lines.append(f'RESULT: {"PASS" if passed else "FAIL"}')
    return '\n'.join(lines) + '\n'


def _seconds(value: float | None) -> str:
    """'12.3 s', or '-' where the time is not known (judged logs)."""
    return '-' if value is None else f'{value:.1f} s'


def _ktap_suite(root: ET.Element, name: str, result: KtapResult) -> None:
    suite = ET.SubElement(root, 'testsuite', name=name)
    leaves = list(result.leaves())
    for (ancestors, test), case_name in zip(leaves, _case_names(leaves)):
        _testcase(suite, ancestors, test, case_name)
    if result.errors:
        case = ET.SubElement(suite, 'testcase', classname='gfpctx.ktap',
                             name='KTAP output well formed')
        failure = ET.SubElement(case, 'failure', type='ktap',
                                message=result.errors[0])
        failure.text = '\n'.join(result.errors)


def _case_names(leaves: list[tuple[list[KtapTest], KtapTest]]) -> list[str]:
    """The JUnit name of each (ancestors, test), unique within the suite.

    A name is the test's path below its top-level test (its script, which
    the classname names). A name repeated within one script gets the test
    numbers of that path (' #7', ' #2.7'); one still repeated across
    scripts gets its script in front ('races.sh: ...'). Neither depends
    on the script's place in the boot, so names stay from run to run.
    """
    tops = [_short((ancestors + [test])[0].name) for ancestors, test in leaves]
    paths = [ancestors[1:] + [test] for ancestors, test in leaves]
    names = [': '.join(_short(t.name) for t in path) for path in paths]
    in_script = Counter(zip(tops, names))
    names = [f'{name} #{".".join(str(t.number) for t in path)}'
             if in_script[top, name] > 1 else name
             for top, name, path in zip(tops, names, paths)]
    in_suite = Counter(names)
    return [f'{top}: {name}' if in_suite[name] > 1 else name
            for top, name in zip(tops, names)]


def _testcase(suite: ET.Element, ancestors: list[KtapTest], test: KtapTest,
              name: str) -> None:
    top = ancestors[0] if ancestors else test
    case = ET.SubElement(suite, 'testcase',
                         classname=f'gfpctx.{_short(top.name)}', name=name)
    if test.status == 'skip':
        ET.SubElement(case, 'skipped', message=test.reason)
    elif test.status in FAILING:
        failure = ET.SubElement(case, 'failure', type=test.status,
                                message=_describe(test))
        failure.text = '\n'.join(test.log)


def _splat_suite(root: ET.Element, name: str, splats: list[Splat]) -> None:
    suite = ET.SubElement(root, 'testsuite', name=name)
    bad = unexpected(splats)
    for splat in bad:
        case = ET.SubElement(suite, 'testcase', classname='gfpctx.dmesg',
                             name=f'splat: {splat.kind} in '
                                  f'{splat.function or "unknown"}')
        failure = ET.SubElement(case, 'failure', type=splat.kind,
                                message=splat.title)
        failure.text = f'console log line {splat.line_no}: {splat.title}'
    if not bad:
        ET.SubElement(suite, 'testcase', classname='gfpctx.dmesg',
                      name='no unexpected splat')


def _totals(element: ET.Element, suites: list[ET.Element]) -> None:
    """Set tests/failures/skipped/errors on each suite and on the root."""
    totals = {'tests': 0, 'failures': 0, 'skipped': 0, 'errors': 0}
    for suite in suites:
        counts = {
            'tests': len(suite.findall('testcase')),
            'failures': len(suite.findall('testcase/failure')),
            'skipped': len(suite.findall('testcase/skipped')),
            'errors': 0,
        }
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        element.set(key, str(value))


def _total_counts(results: list[tuple[str, KtapResult]]) -> dict[str, int]:
    total = {'passed': 0, 'failed': 0, 'skipped': 0}
    for _, result in results:
        for key, value in result.counts().items():
            total[key] += value
    return total


def _problem_lines(results: list[tuple[str, KtapResult]],
                   bad: list[Splat]) -> list[str]:
    lines = []
    for boot, result in results:
        for ancestors, test in result.leaves():
            if test.status in FAILING:
                path = ' / '.join(_short(t.name) for t in ancestors + [test])
                lines.append(f'FAIL   {boot}: {path}: {_describe(test)}')
        lines += [f'KTAP   {boot}: {error}' for error in result.errors]
    lines += [f'SPLAT  {s.kind}: {s.title} in {s.function or "unknown"} '
              f'(console line {s.line_no}{_called_from(s)})' for s in bad]
    return lines


# Frames of an unexpected report the summary names: enough to tell, from
# a CI log alone, the path that reached it.
SPLAT_FRAMES = 8


def _called_from(splat: Splat) -> str:
    """'; trace: f < g < h' (innermost first), or '' without a trace."""
    if not splat.frames:
        return ''
    more = ' < ...' if len(splat.frames) > SPLAT_FRAMES else ''
    return '; trace: ' + ' < '.join(splat.frames[:SPLAT_FRAMES]) + more


def _short(name: str) -> str:
    """"selftests: gfpctx: ok_cells.sh" -> "ok_cells.sh"."""
    match = SCRIPT.match(name)
    return match.group(1) if match else name


def _describe(test: KtapTest) -> str:
    return f'{test.status}: {test.reason}' if test.reason else test.status
