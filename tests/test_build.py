"""Tests of tools/gfpctx_ci/build.py: the kselftest install."""
from __future__ import annotations

import fcntl
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci import build, kernel, shell  # noqa: E402


def test_install_holds_the_tree_lock_while_it_copies_and_builds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two runs share the cached tree: the copy and the make run under an
    # exclusive flock, which another run cannot take meanwhile.
    tree = tmp_path / 'src' / 'tools/testing/selftests'
    tree.mkdir(parents=True)
    install = tmp_path / 'install'
    seen = []

    def fake_run(argv: list[str], quiet: bool = False) -> str:
        with open(tree / '.gfpctx-install.lock', 'w') as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        seen.append((argv, (tree / 'gfpctx' / 'Makefile').is_file()))
        install.mkdir()
        (install / 'run_kselftest.sh').write_text('')
        return ''

    monkeypatch.setattr(kernel, 'selftest_tree', lambda: tmp_path / 'src')
    monkeypatch.setattr(shell, 'run', fake_run)
    assert build.install_kselftest(install) == install
    assert seen and seen[0][1], 'make ran before the target was copied'
    # and the lock is free again afterwards
    with open(tree / '.gfpctx-install.lock', 'w') as after:
        fcntl.flock(after, fcntl.LOCK_EX | fcntl.LOCK_NB)
