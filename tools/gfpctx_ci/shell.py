"""Running host commands, each echoed so a user can rerun it by hand."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path


class CommandError(RuntimeError):
    """A host command failed."""


def echo(argv: list[str], cwd: Path | None = None) -> None:
    prefix = f"(cd {shlex.quote(str(cwd))} && " if cwd else ""
    suffix = ")" if cwd else ""
    print(f"$ {prefix}{shlex.join(argv)}{suffix}", file=sys.stderr, flush=True)


def run(argv: list[str], cwd: Path | None = None, quiet: bool = False,
        env: dict[str, str] | None = None) -> str:
    """Run argv, echoed; return stdout (when quiet) or stream it.

    Raises CommandError naming the command when it fails; a quiet
    command's output is shown then."""
    echo(argv, cwd)
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(argv, cwd=cwd, env=full_env, text=True,
                          stdout=subprocess.PIPE if quiet else None,
                          stderr=subprocess.STDOUT if quiet else None)
    if proc.returncode != 0:
        if quiet and proc.stdout:
            sys.stderr.write(proc.stdout[-4000:])
        raise CommandError(f"command failed (exit {proc.returncode}): {shlex.join(argv)}")
    return proc.stdout or ""
