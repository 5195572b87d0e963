"""Tests of tools/gfpctx_ci/kernel.py that need no build, download or VM:
kconfig fragments, cache keys, the Debian headers Makefile, user kernels."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci import kernel, lanes  # noqa: E402
from gfpctx_ci.kernel import KernelError  # noqa: E402

CONFIG = """\
#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_SMP=y
CONFIG_MODULES=m
# CONFIG_KASAN is not set
CONFIG_LOCALVERSION="-gfpctx-debug"
CONFIG_NR_CPUS=8
"""


def test_parse_config() -> None:
    assert kernel.parse_config(CONFIG) == {
        'CONFIG_SMP': 'y', 'CONFIG_MODULES': 'm', 'CONFIG_KASAN': 'n',
        'CONFIG_LOCALVERSION': '"-gfpctx-debug"', 'CONFIG_NR_CPUS': '8'}


def test_wanted_later_fragment_overrides() -> None:
    merged = kernel.wanted(['CONFIG_A=y\nCONFIG_B=y\n',
                            '# CONFIG_A is not set\nCONFIG_C=4\n'])
    assert merged == {'CONFIG_A': 'n', 'CONFIG_B': 'y', 'CONFIG_C': '4'}


def test_check_config_reports_asked_and_got() -> None:
    problems = kernel.check_config(CONFIG, [
        'CONFIG_SMP=y\nCONFIG_KASAN=y\nCONFIG_LOCKDEP=y\nCONFIG_NR_CPUS=8\n'])
    assert problems == ['CONFIG_KASAN: asked y, got n',
                        'CONFIG_LOCKDEP: asked y, got n (absent)']


def test_check_config_absent_is_n() -> None:
    fragment = '# CONFIG_KASAN is not set\nCONFIG_LOCKDEP=n\n# CONFIG_KCSAN is not set\n'
    assert kernel.check_config(CONFIG, [fragment]) == []


def test_check_config_string_values() -> None:
    assert kernel.check_config(CONFIG, ['CONFIG_LOCALVERSION="-other"\n']) == [
        'CONFIG_LOCALVERSION: asked "-other", got "-gfpctx-debug"']


def test_config_key() -> None:
    key = kernel.config_key('6.12.9-1', ['CONFIG_A=y\n', 'CONFIG_B=y\n'])
    assert key.startswith('6.12.9-1-')
    assert key == kernel.config_key('6.12.9-1', ['CONFIG_A=y\n', 'CONFIG_B=y\n'])
    assert key != kernel.config_key('6.12.9-1', ['CONFIG_A=y\n', 'CONFIG_B=n\n'])
    assert key != kernel.config_key('6.12.9-2', ['CONFIG_A=y\n', 'CONFIG_B=y\n'])
    # the boundary between fragments counts too
    assert (kernel.config_key('v', ['CONFIG_A=y\n', 'CONFIG_B=y\n'])
            != kernel.config_key('v', ['CONFIG_A=y\nCONFIG_B=y\n']))


HEADERS_MAKEFILE = """\
# Debian flavour Makefile
MAKEFLAGS += -rR
include /usr/src/linux-headers-6.12.9+deb12-common/Makefile
# keep: ./usr/src/x and foo/usr/src/y are not absolute
"""


def test_fix_headers_makefile(tmp_path: Path) -> None:
    root = tmp_path / 'root'
    kdir = root / 'usr/src/linux-headers-6.12.9+deb12-amd64'
    kdir.mkdir(parents=True)
    (kdir / 'Makefile').write_text(HEADERS_MAKEFILE)
    kernel.fix_headers_makefile(kdir, root)
    fixed = (kdir / 'Makefile').read_text()
    assert fixed == HEADERS_MAKEFILE.replace(
        'include /usr/src/', f'include {root}/usr/src/')
    kernel.fix_headers_makefile(kdir, root)
    assert (kdir / 'Makefile').read_text() == fixed


def test_user_kernel(tmp_path: Path) -> None:
    image, kdir = tmp_path / 'bzImage', tmp_path / 'build'
    with pytest.raises(KernelError, match='kernel.release'):
        kernel.user_kernel(image, kdir)
    image.write_bytes(b'MZ')
    with pytest.raises(KernelError):
        kernel.user_kernel(image, kdir)
    (kdir / 'include/config').mkdir(parents=True)
    (kdir / 'include/config/kernel.release').write_text('6.12.0-mine\n')
    kern = kernel.user_kernel(image, kdir)
    assert (kern.release, kern.image, kern.kdir) == (
        '6.12.0-mine', image.resolve(), kdir.resolve())
    assert kern.cached and kern.figure('build') == 'cache hit'


def test_user_kernel_without_image(tmp_path: Path) -> None:
    (tmp_path / 'include/config').mkdir(parents=True)
    (tmp_path / 'include/config/kernel.release').write_text('6.12.0\n')
    with pytest.raises(KernelError, match='need a kernel image'):
        kernel.user_kernel(tmp_path / 'missing-bzImage', tmp_path)


@pytest.mark.parametrize('given', ['image', 'kdir'])
def test_get_needs_image_and_kdir_together(tmp_path: Path, given: str) -> None:
    args = {given: tmp_path}
    with pytest.raises(KernelError, match='go together'):
        kernel.get(lanes.get('debug'), **args)


def test_cache_paths_follow_gfpctx_cache(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('GFPCTX_CACHE', str(tmp_path))
    assert kernel.cache_dir() == tmp_path
    image, kdir = kernel.debian_paths('6.12.9+deb12-amd64')
    root = tmp_path / 'debian/6.12.9+deb12-amd64/root'
    assert image == root / 'boot/vmlinuz-6.12.9+deb12-amd64'
    assert kdir == root / 'usr/src/linux-headers-6.12.9+deb12-amd64'


def test_debian_release() -> None:
    packages = ['linux-image-6.12.9+deb12-rt-amd64-unsigned',
                'linux-headers-6.12.9+deb12-rt-amd64']
    assert kernel.debian_release(packages) == '6.12.9+deb12-rt-amd64'


def test_check_config_skips_options_the_kernel_does_not_define() -> None:
    fragment = 'CONFIG_PROC_SYSCTL=y\nCONFIG_SYSCTL=y\n'
    config = 'CONFIG_SYSCTL=y\n'
    # 7.3: PROC_SYSCTL is gone, SYSCTL asks for /proc/sys
    assert kernel.check_config(config, [fragment], {'CONFIG_SYSCTL'}) == []
    # a kernel that defines both and has only one is told so
    assert kernel.check_config(config, [fragment],
                               {'CONFIG_SYSCTL', 'CONFIG_PROC_SYSCTL'}) == [
        'CONFIG_PROC_SYSCTL: asked y, got n (absent)']


def test_kconfig_symbols(tmp_path: Path) -> None:
    (tmp_path / 'fs/proc').mkdir(parents=True)
    (tmp_path / 'Kconfig').write_text('source "fs/proc/Kconfig"\nmenuconfig EXPERT\n\tbool\n')
    (tmp_path / 'fs/proc/Kconfig').write_text('config SYSCTL\n\tbool "x"\n  config  PROC_FS\n')
    (tmp_path / 'fs/proc/Kconfig.debug').write_text('# config NOT_ME\n')
    assert kernel.kconfig_symbols(tmp_path) == {
        'CONFIG_EXPERT', 'CONFIG_SYSCTL', 'CONFIG_PROC_FS'}
