"""Tests of tools/gfpctx_ci/newer.py that download nothing: the host's
Debian archive found in its apt sources, the private configuration, the
suites' codenames."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci import newer  # noqa: E402

DEB822 = """\
Types: deb
# a comment
URIs: http://archive.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://archive.example/debian
Suites: bookworm-updates bookworm
Components: main contrib
Signed-By: /usr/share/keyrings/k.gpg
"""


def test_archive_from_deb822(tmp_path: Path) -> None:
    (tmp_path / 'debian.sources').write_text(DEB822)
    assert newer.archive((tmp_path / 'sources.list', tmp_path)) == (
        'http://archive.example/debian', '/usr/share/keyrings/k.gpg')


def test_archive_from_one_line_format(tmp_path: Path) -> None:
    (tmp_path / 'sources.list').write_text(
        '# deb http://old.example/debian bookworm main\n'
        'deb http://archive.example/debian-security bookworm-security main\n'
        'deb [arch=amd64] http://archive.example/debian bookworm main\n')
    assert newer.archive((tmp_path / 'sources.list',)) == (
        'http://archive.example/debian', newer.KEYRING)


def test_archive_none_is_unreachable(tmp_path: Path) -> None:
    (tmp_path / 'other.sources').write_text(
        'Types: deb\nURIs: http://x.example/repo\nSuites: stable-security\n'
        'Components: main\n')
    with pytest.raises(newer.Unreachable, match='no Debian archive'):
        newer.archive((tmp_path,))


def test_config_is_private(tmp_path: Path) -> None:
    (tmp_path / 'src').mkdir()
    (tmp_path / 'src/debian.sources').write_text(DEB822)
    conf = newer.config(tmp_path / 'apt', (tmp_path / 'src',), ('trixie', 'sid'))
    text = conf.read_text()
    for key in ('Dir::Etc', 'Dir::State', 'Dir::State::status', 'Dir::Cache'):
        assert f'{key} "{tmp_path}/apt' in text
    sources = (tmp_path / 'apt/etc/sources.list.d/debian.sources').read_text()
    assert 'Suites: trixie sid\n' in sources
    assert 'URIs: http://archive.example/debian\n' in sources
    assert 'Signed-By: /usr/share/keyrings/k.gpg\n' in sources
    # the lanes' architectures, from lanes.ARCHES: amd64 today
    assert 'APT::Architecture "amd64";\nAPT::Architectures { "amd64"; };\n' in text


def test_config_lists_the_given_architectures(tmp_path: Path) -> None:
    (tmp_path / 'src').mkdir()
    (tmp_path / 'src/debian.sources').write_text(DEB822)
    text = newer.config(tmp_path / 'apt', (tmp_path / 'src',), ('trixie',),
                        ('arm64', 'amd64')).read_text()
    assert 'APT::Architecture "arm64";\nAPT::Architectures { "arm64"; "amd64"; };\n' in text


def test_codenames(tmp_path: Path) -> None:
    (tmp_path / 'x_dists_stable_InRelease').write_text('Suite: stable\nCodename: trixie\n')
    (tmp_path / 'x_dists_stable-backports_InRelease').write_text(
        'Origin: Debian\nCodename: trixie-backports\n')
    (tmp_path / 'x_dists_trixie_InRelease').write_text('Codename: trixie\n')
    (tmp_path / 'x_dists_stable_main_binary-amd64_Packages').write_text('Codename: no\n')
    assert newer.codenames(tmp_path) == ('trixie-backports', 'trixie')


def test_apt_asks_a_query_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('GFPCTX_CACHE', str(tmp_path))
    (tmp_path / 'apt-newer').mkdir()
    (tmp_path / 'apt-newer' / 'updated').touch()       # lists fresh: no update
    calls: list[list[str]] = []

    def run(argv: list[str], cwd: Path | None = None, quiet: bool = False) -> str:
        calls.append(argv)
        return f'answer {len(calls)}'

    monkeypatch.setattr(newer.shell, 'run', run)
    monkeypatch.setattr(newer, '_answers', {})
    assert newer.apt(['show', 'sparse']) == 'answer 1'
    assert newer.apt(['show', 'sparse']) == 'answer 1'
    assert newer.apt(['show', 'linux-source-7.3']) == 'answer 2'
    newer.apt(['download', 'sparse'])
    newer.apt(['download', 'sparse'])                   # apt-get: each time
    assert [c[0] for c in calls] == ['apt-cache', 'apt-cache', 'apt-get', 'apt-get']
