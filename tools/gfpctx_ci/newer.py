# SPDX-License-Identifier: GPL-2.0
"""Debian's newer suites, reached through a private apt configuration.

The host keeps its own apt setup (Debian 12 here); the newest kernels are
in Debian's newer suites on the same archive. This module writes an apt
configuration of its own under the cache, from the archive the host's
sources name, with SUITES instead of the host's suite, and only lists and
downloads with it: nothing is installed. SUITES are aliases (stable,
testing, ...), so the lanes follow Debian without a code change; their
codenames (trixie, ...), read from the aliases' Release files, are what
the configuration lists in the end, as a mirror may update an alias's
directory later than its codename's.

Errors: Unreachable (a KernelError) when no Debian archive is configured
on the host or the suites cannot be fetched; the lanes skip with it.
"""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from . import shell
from .kernel import KernelError, cache_dir, natural_key
from .lanes import ARCHES

SUITES = ("stable", "stable-updates", "stable-backports", "testing", "unstable")
SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# How long lists stay fresh, in seconds: a day's runs use one update.
FRESH_S = 24 * 3600


class Unreachable(KernelError):
    """Debian's newer suites cannot be reached from here."""


def _stanzas(text: str) -> list[dict[str, str]]:
    """deb822 stanzas (a .sources file) as field dicts, comments dropped."""
    stanzas: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    key = ""
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                stanzas.append(cur)
            cur, key = {}, ""
        elif line[0] in " \t" and key:
            cur[key] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            cur[key] = value.strip()
    return stanzas


def archive(paths: tuple[Path, ...] = SOURCES) -> tuple[str, str]:
    """(URI, Signed-By keyring) of the host's Debian archive: the first
    `deb` source whose suite is a release (no -security, -updates or
    -backports) with the main component."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.sources")) + sorted(path.glob("*.list")) \
            if path.is_dir() else [path]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            entries = [(s.get("types", ""), s.get("uris", ""), s.get("suites", ""),
                        s.get("components", ""), s.get("signed-by", ""))
                       for s in _stanzas(text)]
        else:
            entries = []
            for line in text.splitlines():
                m = re.match(r"^\s*(deb)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line)
                if m:
                    opts = dict(o.split("=", 1) for o in (m.group(2) or "").split()
                                if "=" in o)
                    entries.append((m.group(1), m.group(3), m.group(4), m.group(5),
                                    opts.get("signed-by", "")))
        for types, uris, suites, components, signed_by in entries:
            if "deb" not in types.split() or "main" not in components.split():
                continue
            if any("-" not in s for s in suites.split()) and uris:
                return uris.split()[0], signed_by or KEYRING
    raise Unreachable("no Debian archive among the host's apt sources "
                      f"({', '.join(map(str, paths))})")


def apt_dir() -> Path:
    return cache_dir() / "apt-newer"


def config(top: Path | None = None, paths: tuple[Path, ...] = SOURCES,
           suites: tuple[str, ...] = SUITES,
           arches: tuple[str, ...] | None = None) -> Path:
    """Write the private apt configuration of suites under top; its apt.conf.

    arches: the Debian architectures whose packages it lists, the first
    the default of apt-get download; the lanes' (lanes.ARCHES) unless given.
    """
    top = top or apt_dir()
    arches = arches or tuple(dict.fromkeys(a.debian for a in ARCHES.values()))
    uri, keyring = archive(paths)
    for sub in ("etc/sources.list.d", "etc/apt.conf.d", "etc/preferences.d",
                "state/lists/partial", "cache/archives/partial"):
        (top / sub).mkdir(parents=True, exist_ok=True)
    (top / "status").touch()
    (top / "etc/sources.list.d/debian.sources").write_text(
        "# written by gfpctx-ci from the host's Debian archive: never the host's setup\n"
        f"Types: deb deb-src\nURIs: {uri}\nSuites: {' '.join(suites)}\n"
        f"Components: main\nSigned-By: {keyring}\n")
    conf = top / "apt.conf"
    listed = " ".join(f'"{a}";' for a in arches)
    conf.write_text(f'Dir::Etc "{top}/etc";\nDir::State "{top}/state";\n'
                    f'Dir::State::status "{top}/status";\nDir::Cache "{top}/cache";\n'
                    f'APT::Architecture "{arches[0]}";\n'
                    f'APT::Architectures {{ {listed} }};\n'
                    'Acquire::Languages "none";\n'
                    # the cache is root's: no download as _apt
                    'APT::Sandbox::User "root";\n')
    return conf


def codenames(lists: Path) -> tuple[str, ...]:
    """The Codename of each suite whose Release file is in lists."""
    names = []
    for release in sorted(lists.glob("*Release")):
        m = re.search(r"^Codename:\s*(\S+)", release.read_text(errors="replace"), re.M)
        if m and m.group(1) not in names:
            names.append(m.group(1))
    return tuple(names)


def _update(suites: tuple[str, ...]) -> None:
    conf = config(suites=suites)
    try:
        shell.run(["apt-get", "-c", str(conf), "update", "-q"], quiet=True)
    except shell.CommandError as err:
        raise Unreachable(f"Debian's suites {', '.join(suites)} cannot be "
                          f"fetched: {err}") from None


# apt-cache's answers in this process, by arguments: several lanes (and
# lint) ask the same questions; the lists change only at an update.
_answers: dict[tuple[str, ...], str] = {}


def apt(args: list[str], cwd: Path | None = None) -> str:
    """apt-get or apt-cache with the private configuration, its lists
    updated at most once a FRESH_S: the aliases' first, then their
    codenames'. An apt-cache query is asked once per process."""
    stamp = apt_dir() / "updated"
    if not stamp.exists() or time.time() - stamp.stat().st_mtime > FRESH_S:
        _update(SUITES)
        _update(codenames(apt_dir() / "state/lists") or SUITES)
        stamp.touch()
        _answers.clear()
    query = args[0] in ("search", "show", "policy")
    if query and tuple(args) in _answers:
        return _answers[tuple(args)]
    answer = shell.run(["apt-cache" if query else "apt-get", "-c",
                        str(apt_dir() / "apt.conf"), *args], cwd=cwd, quiet=True)
    if query:
        _answers[tuple(args)] = answer
    return answer


def version(package: str) -> str:
    """The candidate version of package in the newer suites."""
    for line in apt(["show", "--no-all-versions", package]).splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    raise KernelError(f"{package}: no version in the newer suites")


def newest_source() -> str:
    """The newest linux-source-X.Y package name."""
    names = [line.split(" - ")[0] for line in
             apt(["search", "--names-only", r"^linux-source-[0-9]+\.[0-9]+$"]).splitlines()]
    if not names:
        raise Unreachable("no linux-source package in Debian's newer suites")
    return max(names, key=natural_key)


def kernel_packages(source: str, flavour: str) -> tuple[str, list[str]]:
    """(release, packages) of the flavour's kernel built from the same
    Debian version as source: the binary (vmlinuz), base (config) and
    headers (Module.symvers) packages."""
    want = version(source)
    series = re.escape(source.removeprefix("linux-source-"))
    pattern = rf"^linux-binary-{series}\.[0-9]+\+[a-z0-9]+-{re.escape(flavour)}$"
    binaries = sorted((line.split(" - ")[0] for line in
                       apt(["search", "--names-only", pattern]).splitlines()),
                      key=natural_key, reverse=True)
    for binary in binaries:
        if version(binary) != want:
            continue
        release = binary.removeprefix("linux-binary-")
        return release, [binary, f"linux-base-{release}", f"linux-headers-{release}"]
    raise KernelError(f"no linux-binary-*-{flavour} of {source} {want} in the newer suites")


def download(packages: list[str], dest: Path) -> list[Path]:
    """Download packages (no dependencies) into dest; the .deb files."""
    dest.mkdir(parents=True, exist_ok=True)
    apt(["download", *packages], cwd=dest)
    return sorted(dest.glob("*.deb"))


def sparse() -> Path:
    """A sparse that checks Debian's newest kernels, built once from
    Debian's newest sparse source: from 7.x the kernel's
    scripts/checker-valid.sh asks for __typeof_unqual__, which Debian 12's
    sparse 0.6.4 lacks, and Kbuild then skips C=1 with a warning; the
    newer suites' binary needs a newer glibc than the host's."""
    ver = version("sparse")
    top = cache_dir() / "tools" / f"sparse_{ver}"
    binary = top / "src" / "sparse"
    if binary.is_file():
        return binary
    shutil.rmtree(top, ignore_errors=True)
    top.mkdir(parents=True)
    apt(["source", "--download-only", f"sparse={ver}"], cwd=top)
    dsc = next(top.glob("sparse_*.dsc"), None)
    if dsc is None:
        raise KernelError(f"no sparse {ver} source in the newer suites")
    shell.run(["dpkg-source", "-x", str(dsc), str(top / "src")], quiet=True)
    # Debian's Makefile names the compiler Debian builds it with.
    shell.run(["make", "-C", str(top / "src"), "CC=gcc", "HAVE_LLVM=no", "HAVE_GTK=no",
               "HAVE_SQLITE=no", "sparse"], quiet=True)
    return binary
