"""Tests of tools/gfpctx_ci/initramfs.py: the newc cpio writer."""
from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci import initramfs  # noqa: E402


def fields(header: bytes) -> list[int]:
    """The 13 hex fields of a newc header."""
    return [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]


def test_cpio_header() -> None:
    for name in ('a', 'ab', 'abc', 'abcd', 'dev/console'):
        head = initramfs.cpio_header(name, stat.S_IFREG | 0o644, 5, 7)
        assert head.startswith(b'070701')
        assert len(head) % 4 == 0
        assert head[110:110 + len(name) + 1] == name.encode() + b'\0'
        assert set(head[110 + len(name):]) == {0}
        ino, mode, uid, gid, nlink, _, size, *_, namesize, check = fields(head)
        assert (ino, mode, uid, gid, nlink, size) == (7, 0o100644, 0, 0, 1, 5)
        assert (namesize, check) == (len(name) + 1, 0)


def test_cpio_entry_pads_data() -> None:
    for data in (b'', b'x', b'xyzzy', b'1234'):
        entry = initramfs.cpio_entry('f', stat.S_IFREG | 0o644, data, 1)
        head = initramfs.cpio_header('f', stat.S_IFREG | 0o644, len(data), 1)
        assert len(entry) % 4 == 0
        assert entry[len(head):len(head) + len(data)] == data
        assert set(entry[len(head) + len(data):]) <= {0}


def test_device_node_header() -> None:
    head = initramfs.cpio_header('dev/console', stat.S_IFCHR | 0o600, 0, 1, (5, 1))
    assert fields(head)[9:11] == [5, 1]


def stage(tmp_path: Path) -> Path:
    root = tmp_path / 'stage'
    (root / 'bin').mkdir(parents=True)
    (root / 'bin/busybox').write_bytes(b'\x7fELF not really')
    (root / 'bin/sh').symlink_to('/bin/busybox')
    (root / 'init').write_text('#!/bin/sh\necho hi\n')
    (root / 'init').chmod(0o755)
    return root


def test_pack_walks_the_archive(tmp_path: Path) -> None:
    archive = initramfs.pack(stage(tmp_path))
    names, pos = [], 0
    while True:
        assert pos % 4 == 0
        head = archive[pos:pos + 110]
        assert head[:6] == b'070701'
        f = fields(head)
        name = archive[pos + 110:pos + 110 + f[11] - 1].decode()
        names.append(name)
        pos += len(initramfs.cpio_header(name, 0, 0, 0))
        data = archive[pos:pos + f[6]]
        if name == 'bin/sh':
            assert stat.S_ISLNK(f[1]) and data == b'/bin/busybox'
        if name == 'init':
            assert f[1] == stat.S_IFREG | 0o755 and data == b'#!/bin/sh\necho hi\n'
        pos += f[6] + (-f[6] % 4)
        if name == 'TRAILER!!!':
            break
    assert pos == len(archive)
    assert names == ['dev/console', '.', 'bin', 'bin/busybox', 'bin/sh', 'init',
                     'TRAILER!!!']


CPIO = shutil.which('cpio', path='/usr/bin:/bin')


def test_pack_read_by_host_cpio(tmp_path: Path) -> None:
    if CPIO is None:
        pytest.skip('host cpio (/usr/bin/cpio) not installed')
    archive = tmp_path / 'initramfs.cpio'
    archive.write_bytes(initramfs.pack(stage(tmp_path)))
    listing = subprocess.run([CPIO, '-t', '--quiet', '-F', str(archive)],
                             capture_output=True, text=True, check=True)
    assert listing.stdout.splitlines() == [
        'dev/console', '.', 'bin', 'bin/busybox', 'bin/sh', 'init']
    assert listing.stderr == ''
    verbose = subprocess.run([CPIO, '-tv', '--quiet', '--numeric-uid-gid', '-F',
                              str(archive)], capture_output=True, text=True, check=True)
    console, *_, sh, init = verbose.stdout.splitlines()
    # a char device 5,1 owned by root, ahead of everything else
    assert console.split()[:6] == ['crw-------', '1', '0', '0', '5,', '1']
    assert console.endswith(' dev/console')
    assert init.split()[2:4] == ['0', '0']
    assert sh.startswith('lrwxrwxrwx') and sh.endswith('bin/sh -> /bin/busybox')
    assert init.startswith('-rwxr-xr-x')


def test_init_says_its_markers_through_the_kernel_log() -> None:
    # the runner's start and end markers must not depend on the console
    # UART's interrupt, which the kernel may disable (see say() in init)
    init = (Path(__file__).resolve().parents[1] / 'tools' / 'guest' / 'init').read_text()
    lines = [line.strip() for line in init.splitlines() if '"gfpctx-ci: ' in line]
    assert lines and all(line.startswith('say ') for line in lines), lines
