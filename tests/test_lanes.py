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
    lines = lanes.table().splitlines()
    assert lines[0].split() == ['lane', 'kernel', 'provoke', 'boots', 'what']
    assert [line.split()[0] for line in lines[1:]] == list(lanes.LANES)
    assert 'debian rt-amd64' in lanes.table()
