"""Tests of tools/gfpctx_ci/lanes.py: the lanes as data."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))

from gfpctx_ci import lanes  # noqa: E402


def test_get_unknown_lane_lists_lanes() -> None:
    with pytest.raises(KeyError) as err:
        lanes.get('nope')
    assert 'nope' in str(err.value)
    for name in lanes.LANES:
        assert name in str(err.value)


def test_get() -> None:
    assert lanes.get('rt').debian.flavour == 'rt-amd64'
    assert lanes.get('debug').source == 'build'


@pytest.mark.parametrize('name', list(lanes.LANES))
def test_lane_is_complete(name: str) -> None:
    lane = lanes.LANES[name]
    assert lane.name == name
    assert lane.description
    assert lane.boot_timeout_s > 0
    assert lane.source in ('build', 'debian')
    assert lane.kernel_source in ('host', 'newest')
    if lane.source == 'debian':
        assert lane.debian is not None
        assert lane.debian.headers_package('6.12.9+deb12').startswith('linux-headers-')
    else:
        assert lane.fragments


def test_debug_lane_fragments_exist() -> None:
    for fragment in lanes.get('debug').fragments:
        assert (REPO / fragment).is_file(), fragment


def test_table_mentions_every_lane() -> None:
    lanes_part, arches_part = lanes.table().split('\n\n')
    lines = lanes_part.splitlines()
    assert lines[0].split() == ['lane', 'arch', 'kernel', 'provoke', 'boots', 'what']
    assert [line.split()[0] for line in lines[1:]] == list(lanes.LANES)
    assert 'debian rt-amd64' in lanes.table()
    assert [line.split()[0] for line in arches_part.splitlines()] == ['arch', *lanes.ARCHES]
    assert 'qemu-system-x86_64' in arches_part


def test_table_of_some_lanes() -> None:
    lines = lanes.table(['rt', 'debug']).split('\n\n')[0].splitlines()
    assert [line.split()[0] for line in lines[1:]] == ['rt', 'debug']
    with pytest.raises(lanes.UnknownLane, match="unknown lane 'nope'"):
        lanes.table(['nope'])


@pytest.mark.parametrize('name', list(lanes.ARCHES))
def test_arch_is_complete(name: str) -> None:
    arch = lanes.ARCHES[name]
    assert arch.name == name
    assert arch.qemu.startswith('qemu-system-')
    assert arch.image.startswith(f'arch/') and arch.console
    assert arch.accel in lanes.ACCELS


def test_arch_args() -> None:
    arch = lanes.Arch(name='aarch64', debian='arm64', qemu='qemu-system-aarch64', image='arch/arm64/boot/Image',
                      console='ttyAMA0', machine='virt', cpu='max', accel='tcg',
                      qemu_args=('-device', 'x'))
    assert arch.args() == ['-machine', 'virt', '-cpu', 'max', '-device', 'x']


def test_lane_names() -> None:
    assert lanes.names(' rt,stock ') == ['rt', 'stock']
    for bad in ('rt,nope', ',', ''):
        with pytest.raises(lanes.SettingsError):
            lanes.names(bad)
