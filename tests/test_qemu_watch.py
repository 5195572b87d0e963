"""Tests of tools/gfpctx_ci/qemu.py: markers, timeouts and the command
line, with host commands standing in for QEMU (nothing boots)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci import qemu  # noqa: E402
from gfpctx_ci.qemu import Timeouts, Watch  # noqa: E402
from gfpctx_ci.lanes import ARCHES, Arch  # noqa: E402

TIMEOUTS = Timeouts(boot_s=30, test_s=20, run_s=100)


def started(tmp_path: Path, timeouts: Timeouts = TIMEOUTS) -> Watch:
    watch = Watch(tmp_path / 'x.ktap', timeouts)
    watch.line('[    1.234567] gfpctx-ci: start\n')
    return watch


def test_markers(tmp_path: Path) -> None:
    watch = Watch(tmp_path / 'x.ktap', TIMEOUTS)
    watch.line('Linux version 6.12\n')
    assert watch.started is None and watch.ended is None
    watch.line('gfpctx-ci: start\n')
    assert watch.started is not None and watch.init_rc is None
    watch.line('gfpctx-ci: end rc=3\n')
    assert watch.ended is not None and watch.init_rc == 3


def test_no_timeout_at_first(tmp_path: Path) -> None:
    assert Watch(tmp_path / 'x.ktap', TIMEOUTS).expired() is None
    assert started(tmp_path).expired() is None


def test_boot_timeout_without_start_marker(tmp_path: Path) -> None:
    watch = Watch(tmp_path / 'x.ktap', TIMEOUTS)
    watch.t0 -= 29
    assert watch.expired() is None
    watch.t0 -= 2
    error = watch.expired()
    assert error is not None and error.startswith('boot timeout')
    assert 'within 30 s' in error


def test_no_boot_timeout_once_started(tmp_path: Path) -> None:
    watch = started(tmp_path)
    watch.t0 -= 31
    assert watch.expired() is None


def test_test_timeout_without_new_result_line(tmp_path: Path) -> None:
    watch = started(tmp_path)
    watch.progress -= 21
    error = watch.expired()
    assert error is not None and error.startswith('test timeout')
    assert 'after 0 result lines' in error


def test_new_result_line_resets_progress(tmp_path: Path) -> None:
    ktap = tmp_path / 'x.ktap'
    watch = started(tmp_path)
    ktap.write_text('TAP version 13\n1..2\n# selftests: gfpctx: contexts.sh\n')
    watch.progress -= 21
    assert watch.expired().startswith('test timeout')   # no result line yet
    with ktap.open('a') as f:
        f.write('# ok 1 lists\nok 1 selftests: gfpctx: contexts.sh\n')
    watch.progress -= 21
    assert watch.expired() is None                      # progress: 2 lines
    assert watch.results == 2
    watch.progress -= 21
    assert 'after 2 result lines' in watch.expired()    # no more since
    with ktap.open('a') as f:
        f.write('not ok 2 selftests: gfpctx: inject.sh\n')
    assert watch.expired() is None


def test_no_test_timeout_after_end_marker(tmp_path: Path) -> None:
    watch = started(tmp_path)
    watch.line('gfpctx-ci: end rc=0\n')
    watch.progress -= 21
    assert watch.expired() is None


@pytest.mark.parametrize('phase', ['booting', 'testing', 'ended'])
def test_run_timeout(tmp_path: Path, phase: str) -> None:
    watch = Watch(tmp_path / 'x.ktap', Timeouts(boot_s=300, test_s=300, run_s=60))
    if phase != 'booting':
        watch.line('gfpctx-ci: start\n')
    if phase == 'ended':
        watch.line('gfpctx-ci: end rc=0\n')
    watch.t0 -= 61
    error = watch.expired()
    assert error is not None and error.startswith('run timeout')


def test_command_serial_ports(tmp_path: Path) -> None:
    arch = Arch(name='x86_64', debian='amd64', qemu='qemu-system-x86_64', image='bzImage', console='ttyS0',
                machine='q35', bios=tmp_path / 'nosuch.rom')
    argv = qemu.command(arch, tmp_path / 'bzImage', tmp_path / 'initrd.gz',
                        tmp_path / 'clean.ktap', tmp_path / 'clean.tables.txt',
                        ['console=ttyS0', 'gfpctx_tests=a.sh,b.sh'], ('-accel', 'tcg'),
                        memory='2G', extra=('-cpu', 'max'))
    # the arch's machine; no -bios where the file is missing
    assert argv[:5] == ['qemu-system-x86_64', '-accel', 'tcg', '-machine', 'q35']
    assert '-bios' not in argv
    serials = [argv[i + 1] for i, a in enumerate(argv) if a == '-serial']
    assert serials == ['stdio', f'file:{tmp_path}/clean.ktap',
                       f'file:{tmp_path}/clean.tables.txt']
    assert argv[argv.index('-m') + 1] == '2G'
    assert argv[argv.index('-kernel') + 1] == f'{tmp_path}/bzImage'
    assert argv[argv.index('-initrd') + 1] == f'{tmp_path}/initrd.gz'
    # the guest's /init learns where the channels are from its command line
    assert argv[argv.index('-append') + 1] == \
        'console=ttyS0 gfpctx_tests=a.sh,b.sh gfpctx_ktap=ttyS1 gfpctx_tables=ttyS2'
    assert argv[-2:] == ['-cpu', 'max']


def test_command_channels_are_arch_data(tmp_path: Path) -> None:
    # a machine without three UARTs: virtio consoles, hvc1 and hvc2
    arch = Arch(name='arm64', debian='arm64', qemu='qemu-system-aarch64', image='Image', console='ttyAMA0',
                machine='virt', qemu_args=('-device', 'virtio-serial-device'),
                channel=('-chardev', 'file,id=c{n},path={path}',
                         '-device', 'virtconsole,chardev=c{n}'),
                channel_dev='hvc{n}')
    argv = qemu.command(arch, tmp_path / 'Image', tmp_path / 'i', tmp_path / 'k.ktap',
                        tmp_path / 't.txt', ['console=ttyAMA0'], ())
    assert argv.count('-serial') == 1
    assert f'file,id=c1,path={tmp_path}/k.ktap' in argv
    assert f'file,id=c2,path={tmp_path}/t.txt' in argv
    assert argv[argv.index('-append') + 1] == \
        'console=ttyAMA0 gfpctx_ktap=hvc1 gfpctx_tables=hvc2'


# QEMU takes the path of the legacy `-serial file:PATH` verbatim
# (qemu_chr_parse_compat): commas are not doubled there.
def test_command_serial_path_with_comma(tmp_path: Path) -> None:
    argv = qemu.command(ARCHES['x86_64'], tmp_path / 'k', tmp_path / 'i',
                        tmp_path / 'a,b.ktap', tmp_path / 't', [], ())
    assert f'file:{tmp_path}/a,b.ktap' in argv


def boot(tmp_path: Path, script: str, timeouts: Timeouts) -> tuple[qemu.Boot, float]:
    ktap = tmp_path / 'clean.ktap'
    start = time.monotonic()
    result = qemu.boot(['sh', '-c', script, 'sh', str(ktap)],
                       tmp_path / 'console.log', ktap, timeouts)
    return result, time.monotonic() - start


def test_boot_test_timeout_kills_the_guest(tmp_path: Path) -> None:
    result, seconds = boot(tmp_path, "echo 'gfpctx-ci: start'; exec sleep 30",
                           Timeouts(boot_s=5, test_s=1, run_s=10))
    assert seconds < 5
    assert result.error is not None and 'test timeout' in result.error
    assert result.boot_s is not None and result.suite_s is None
    assert result.init_rc is None
    assert 'gfpctx-ci: start' in result.console


def test_boot_exit_without_end_marker(tmp_path: Path) -> None:
    result, seconds = boot(tmp_path, "echo 'gfpctx-ci: start'; echo 'Kernel panic'",
                           Timeouts(boot_s=5, test_s=1, run_s=10))
    assert seconds < 5
    assert result.error is not None and 'without the end marker' in result.error
    assert 'Kernel panic' in result.console


def test_boot_with_both_markers(tmp_path: Path) -> None:
    script = ("echo 'gfpctx-ci: start'; printf 'TAP version 13\\nok 1 a\\n' > \"$1\"; "
              "printf 'gfpctx-ci: end rc=0\\r\\n'")
    result, seconds = boot(tmp_path, script, Timeouts(boot_s=5, test_s=1, run_s=10))
    assert seconds < 5
    assert result.error is None
    assert result.init_rc == 0
    assert result.ktap == 'TAP version 13\nok 1 a\n'
    assert result.console == 'gfpctx-ci: start\ngfpctx-ci: end rc=0\n'
    assert result.boot_s is not None and result.suite_s is not None
    assert (tmp_path / 'console.log').read_text() == result.console


def test_script_seconds(tmp_path: Path) -> None:
    """Each script's seconds: from run_kselftest.sh's line before it to its
    result line, as the host sees them arrive."""
    watch = started(tmp_path)
    ktap = tmp_path / 'x.ktap'
    ktap.write_text('TAP version 13\n1..2\n# timeout set to 900\n'
                    '# selftests: gfpctx: a.sh\n# TAP version 13\n')
    assert watch.read_ktap(100.0) == 0
    ktap.write_text(ktap.read_text() + '# ok 1 x\nok 1 selftests: gfpctx: a.sh\n'
                    '# selftests: gfpctx: b.sh\n')
    assert watch.read_ktap(112.5) == 2
    ktap.write_text(ktap.read_text() + 'not ok 2 selftests: gfpctx: b.sh # exit=1\n')
    watch.read_ktap(120.0)
    watch.read_ktap(130.0)  # seen once: the first sight counts
    assert watch.script_s == {'a.sh': 12.5, 'b.sh': 7.5}
