"""Tests of tools/gfpctx_ci/build.py and of the kselftest target's
Makefile: the kselftest install, with the module lib.mk builds."""
from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))

from gfpctx_ci import build, kernel, shell  # noqa: E402


def test_install_holds_the_tree_lock_while_it_copies_and_builds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two runs share the cached tree: the copy and the make run under an
    # exclusive flock, which another run cannot take meanwhile.
    tree = tmp_path / 'src' / 'tools/testing/selftests'
    tree.mkdir(parents=True)
    install = tmp_path / 'install'
    kdir = tmp_path / 'kdir'
    seen = []

    def fake_run(argv: list[str], quiet: bool = False) -> str:
        with open(tree / '.gfpctx-install.lock', 'w') as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        seen.append((argv, (tree / 'gfpctx' / 'Makefile').is_file()))
        install.mkdir()
        (install / 'run_kselftest.sh').write_text('')
        (install / build.MODULE_KO).parent.mkdir(parents=True)
        (install / build.MODULE_KO).write_text('')
        return ''

    monkeypatch.setattr(kernel, 'selftest_tree', lambda: tmp_path / 'src')
    monkeypatch.setattr(shell, 'run', fake_run)
    assert build.install_kselftest(install, kdir) == install / build.MODULE_KO
    assert seen and seen[0][1], 'make ran before the target was copied'
    assert f'KDIR={kdir}' in seen[0][0], seen
    # and the lock is free again afterwards
    with open(tree / '.gfpctx-install.lock', 'w') as after:
        fcntl.flock(after, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_install_without_the_module_is_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A lib.mk without TEST_GEN_MODS_DIR installs the scripts only.
    tree = tmp_path / 'src' / 'tools/testing/selftests'
    tree.mkdir(parents=True)
    install = tmp_path / 'install'

    def fake_run(argv: list[str], quiet: bool = False) -> str:
        install.mkdir()
        (install / 'run_kselftest.sh').write_text('')
        return ''

    monkeypatch.setattr(kernel, 'selftest_tree', lambda: tmp_path / 'src')
    monkeypatch.setattr(shell, 'run', fake_run)
    with pytest.raises(build.BuildError, match='made no .*gfpctx/module/gfpctx.ko'):
        build.install_kselftest(install, tmp_path / 'kdir')


def cached_selftests() -> Path:
    """tools/testing/selftests of the runner's cached linux-source tree,
    whose lib.mk builds a target's modules (TEST_GEN_MODS_DIR); the test
    skips without it (it is extracted by the first run)."""
    try:
        tree = kernel.cache_dir() / 'src' / f'{kernel.SOURCE_PACKAGE}_{kernel.source_version()}'
    except kernel.KernelError as err:
        pytest.skip(str(err))
    selftests = tree / 'tools/testing/selftests'
    lib_mk = selftests / 'lib.mk'
    if not lib_mk.is_file() or 'TEST_GEN_MODS_DIR' not in lib_mk.read_text(errors='replace'):
        pytest.skip(f'no lib.mk with TEST_GEN_MODS_DIR in {selftests}')
    return selftests


def test_target_builds_its_module_against_its_tree_and_installs_it_beside_the_scripts(
        tmp_path: Path) -> None:
    # The target copied into a kernel tree, `make -n install` with lib.mk:
    # the module is built against that tree (no KDIR given), its .ko
    # installed in the dir the scripts load it from (gfpctx_lib.sh) and
    # the runner takes it from (build.MODULE_KO).
    framework = cached_selftests()
    selftests = tmp_path / 'tools/testing/selftests'
    selftests.mkdir(parents=True)
    for name in ('lib.mk', 'kselftest.h', 'kselftest_harness.h', 'kselftest'):
        (selftests / name).symlink_to(framework / name)
    target = selftests / 'gfpctx'
    shutil.copytree(REPO / 'selftests/gfpctx', target)
    # The tree's kbuild, which prints what it was asked to build.
    (tmp_path / 'Makefile').write_text('modules:\n\t@echo kbuild $(CURDIR) M=$(M)\n')
    install = tmp_path / 'install'
    out = subprocess.run(['make', '-n', '-C', str(target), f'INSTALL_PATH={install}', 'install'],
                         capture_output=True, text=True, env={'PATH': '/usr/bin:/bin'})
    assert out.returncode == 0, out.stderr
    assert f'kbuild {tmp_path} M={target}/module' in out.stdout, out.stdout
    mods = re.search(r'^rsync .* (\S+)/\*\.ko (\S+)$', out.stdout, re.M)
    assert mods, out.stdout
    assert Path(mods[2]) == install / mods[1], mods[0]
    assert build.MODULE_KO == Path('gfpctx') / mods[1] / 'gfpctx.ko', mods[0]
    lib = (target / 'gfpctx_lib.sh').read_text()
    assert f'GFPCTX_KO=$DIR/{mods[1]}/gfpctx.ko' in lib


def test_the_module_build_hands_the_kernel_no_o_of_the_selftests(tmp_path: Path) -> None:
    # The kselftest Makefile runs a target with O=<output> (empty without
    # one); the kernel's Makefile takes O only from its command line, so it
    # must arrive there as an environment variable, if at all, while the
    # module's other command-line words (W=1, C=1) still do.
    kdir = tmp_path / 'kdir'
    kdir.mkdir()
    (kdir / 'Makefile').write_text(
        'modules:\n\t@echo "O:$(origin O) W:$(origin W)"\n')
    for o in ('O=', f'O={tmp_path}'):
        out = subprocess.run(['make', '-s', '-C', str(build.MODULE_SOURCES), f'KDIR={kdir}',
                              o, 'W=1', 'modules'], capture_output=True, text=True,
                             check=True).stdout
        assert 'O:environment W:command line' in out, (o, out)
