"""Lane kernels: build the debug kernel from linux-source, fetch Debian
images + headers, or take a user's own; all cached outside the repo."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import settings, shell
from .lanes import SOURCE_PACKAGE, SOURCE_TARBALL, Lane

REPO = Path(__file__).resolve().parents[2]
_NOT_SET = re.compile(r"^# (CONFIG_\w+) is not set$")
_SET = re.compile(r"^(CONFIG_\w+)=(.*)$")


class KernelError(RuntimeError):
    """A lane kernel could not be built or fetched."""


@dataclass(frozen=True)
class Kernel:
    """A bootable kernel and the build tree modules build against."""

    image: Path
    kdir: Path
    release: str
    seconds: float
    cached: bool

    def figure(self, what: str) -> str:
        return "cache hit" if self.cached else f"{what} {self.seconds:.0f} s"


def cache_dir() -> Path:
    return settings.cache_env()


def jobs() -> str:
    return str(os.cpu_count() or 2)


# --- kconfig fragments --------------------------------------------------

def parse_config(text: str) -> dict[str, str]:
    """Options of a .config or fragment; `is not set` and `=n` read as "n"."""
    options: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if m := _SET.match(line):
            options[m.group(1)] = m.group(2)
        elif m := _NOT_SET.match(line):
            options[m.group(1)] = "n"
    return options


def wanted(fragments: list[str]) -> dict[str, str]:
    """What the fragments ask for, later fragments overriding earlier."""
    merged: dict[str, str] = {}
    for text in fragments:
        merged.update(parse_config(text))
    return merged


def check_config(config: str, fragments: list[str],
                 defined: set[str] | None = None) -> list[str]:
    """One message per fragment option the .config does not have as asked;
    with defined (the kernel's Kconfig symbols), options outside it are
    not asked."""
    have = parse_config(config)
    return [f"{name}: asked {value}, got {have.get(name, 'n (absent)')}"
            for name, value in wanted(fragments).items()
            if have.get(name, "n") != value and (defined is None or name in defined)]


def config_key(source_version: str, fragments: list[str]) -> str:
    """Cache key of a build: source version and the fragments' content."""
    digest = hashlib.sha256("\0".join(["tinyconfig", *fragments]).encode())
    return f"{source_version}-{digest.hexdigest()[:12]}"


# --- the debug lane: built from linux-source ----------------------------

def source_version() -> str:
    """Version of the installed linux-source package (the tarball's)."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", SOURCE_PACKAGE],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise KernelError(f"{SOURCE_PACKAGE} is not installed: run tools/install-deps") from None
    if not Path(SOURCE_TARBALL).is_file():
        raise KernelError(f"{SOURCE_TARBALL} missing: reinstall {SOURCE_PACKAGE}")
    return out.strip()


def extract_source(dest: Path, members: tuple[str, ...] = (),
                   tarball: str = SOURCE_TARBALL) -> None:
    """Extract a linux-source tarball (or only members of it) into dest."""
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    top = Path(tarball).name.removesuffix(".tar.xz")
    shell.run(["tar", "-xf", tarball, "-C", str(tmp), "--strip-components=1",
               *(f"{top}/{m}" for m in members)])
    tmp.rename(dest)


def selftest_tree() -> Path:
    """A linux-source tree holding the kselftest framework (tools/, scripts/)."""
    tree = cache_dir() / "src" / f"{SOURCE_PACKAGE}_{source_version()}"
    if not tree.is_dir():
        extract_source(tree, ("Makefile", "scripts", "tools"))
    return tree


_KCONFIG_SYMBOL = re.compile(r"^\s*(?:menu)?config\s+(\w+)", re.M)


def kconfig_symbols(src: Path) -> set[str]:
    """CONFIG_ names every Kconfig file of the source tree defines."""
    names: set[str] = set()
    for path in src.rglob("Kconfig*"):
        if path.is_file():
            names.update(f"CONFIG_{m}" for m in
                         _KCONFIG_SYMBOL.findall(path.read_text(errors="replace")))
    return names


def configure(src: Path, build: Path, fragments: list[Path]) -> None:
    """tinyconfig plus the fragments. A fragment option this kernel does
    not define (CONFIG_PROC_SYSCTL is CONFIG_SYSCTL from 7.3) is not
    asked of it: the fragments serve every kernel a lane builds."""
    make = ["make", "-C", str(src), f"O={build}"]
    shell.run([*make, "tinyconfig"], quiet=True)
    shell.run([str(src / "scripts/kconfig/merge_config.sh"), "-m", "-O", str(build),
               str(build / ".config"), *map(str, fragments)], quiet=True)
    shell.run([*make, "olddefconfig"], quiet=True)
    problems = check_config((build / ".config").read_text(),
                            [f.read_text() for f in fragments],
                            kconfig_symbols(src))
    if problems:
        raise KernelError("kernel config lacks options the fragments ask for:\n  "
                          + "\n  ".join(problems))


@dataclass(frozen=True)
class Source:
    """A Debian linux-source package: name, version, its tarball."""

    package: str
    version: str
    tarball: str

    def tree(self) -> Path:
        """The whole source, extracted once per version and shared by
        every O= build of it."""
        src = cache_dir() / "src" / f"{self.package}_{self.version}_full"
        if not src.is_dir():
            extract_source(src, tarball=self.tarball)
        return src


def unpack(debs: list[Path], root: Path) -> None:
    """dpkg -x each package into root: files only, nothing installed."""
    for deb in debs:
        shell.run(["dpkg", "-x", str(deb), str(root)])


def host_source() -> Source:
    return Source(SOURCE_PACKAGE, source_version(), SOURCE_TARBALL)


def newest_source() -> Source:
    """Debian's newest linux-source (newer.py), downloaded and unpacked."""
    from . import newer
    package = newer.newest_source()
    version = newer.version(package)
    top = cache_dir() / "debian" / f"{package}_{version}"
    tarball = top / "root/usr/src" / f"{package}.tar.xz"
    if not tarball.is_file():
        shutil.rmtree(top, ignore_errors=True)
        unpack(newer.download([package], top / "debs"), top / "root")
        if not tarball.is_file():
            raise KernelError(f"{tarball} missing after unpacking {package} {version}")
    return Source(package, version, str(tarball))


def lane_source(lane: Lane) -> Source:
    return newest_source() if lane.kernel_source == "newest" else host_source()


def debug_dir(fragments: list[Path], version: str | None = None) -> Path:
    """The cache directory of the debug build of these fragments from the
    source of this version (default: the host's linux-source)."""
    return cache_dir() / "kernels" / config_key(version or source_version(),
                                                [f.read_text() for f in fragments])


def build_debug(lane: Lane) -> Kernel:
    """The debug kernel, built once per (source version, fragments)."""
    fragments = [REPO / f for f in lane.fragments]
    missing = [str(f) for f in fragments if not f.is_file()]
    if missing:
        raise KernelError(f"missing kconfig fragment(s): {', '.join(missing)}")
    source = lane_source(lane)
    top = debug_dir(fragments, source.version)
    build, done = top / "build", top / "built"
    image = build / lane.arch.image
    start = time.monotonic()
    cached = done.exists()
    if not cached:
        shutil.rmtree(build, ignore_errors=True)
        src = source.tree()
        configure(src, build, fragments)
        shell.run(["make", "-C", str(src), f"O={build}", f"-j{jobs()}"])
        done.touch()
    release = (build / "include/config/kernel.release").read_text().strip()
    return Kernel(image, build, release, time.monotonic() - start, cached)


# --- Debian lanes: image + headers packages -----------------------------

def apt(args: list[str], cwd: Path | None = None) -> str:
    return shell.run(["apt-cache" if args[0] in ("search", "show") else "apt-get", *args],
                     cwd=cwd, quiet=True)


def natural_key(name: str) -> list[int | str]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def resolve(lane: Lane) -> list[str]:
    """Packages of the lane's newest image whose headers exist too:
    image, headers, and the headers' common and kbuild dependencies."""
    assert lane.debian is not None
    deb = lane.debian
    images = sorted((line.split(" - ")[0] for line in
                     apt(["search", "--names-only", deb.image_regex]).splitlines()),
                    key=natural_key, reverse=True)
    for image in images:
        abi = image.removeprefix("linux-image-").removesuffix(f"-{deb.flavour}-unsigned")
        try:
            info = apt(["show", "--no-all-versions", deb.headers_package(abi)])
        except shell.CommandError:
            continue
        depends = next((line for line in info.splitlines() if line.startswith("Depends:")), "")
        extra = [d.strip().split(" ")[0] for d in depends[len("Depends:"):].split(",")
                 if d.strip().startswith(("linux-headers-", "linux-kbuild-"))]
        return [image, deb.headers_package(abi), *extra]
    raise KernelError(f"no {deb.flavour} image with headers matches {deb.image_regex}: "
                      "run apt-get update?")


def fix_headers_makefile(kdir: Path, root: Path) -> None:
    """Point the flavour Makefile's absolute /usr/src includes into root."""
    makefile = kdir / "Makefile"
    text = makefile.read_text()
    fixed = re.sub(r"(?<![\w/.-])/usr/src/", f"{root}/usr/src/", text)
    if fixed != text:
        makefile.write_text(fixed)


def debian_release(packages: list[str]) -> str:
    """The kernel release of resolve()'s packages (its image's name)."""
    return packages[0].removeprefix("linux-image-").removesuffix("-unsigned")


def debian_paths(release: str) -> tuple[Path, Path]:
    """Image and KDIR of an unpacked Debian kernel in the cache."""
    root = cache_dir() / "debian" / release / "root"
    return root / "boot" / f"vmlinuz-{release}", root / "usr/src" / f"linux-headers-{release}"


def fetch_debian(lane: Lane) -> Kernel:
    """The lane's Debian image and a headers tree usable as KDIR."""
    start = time.monotonic()
    packages = resolve(lane)
    release = debian_release(packages)
    top = cache_dir() / "debian" / release
    root, done = top / "root", top / "unpacked"
    cached = done.exists()
    if not cached:
        debs = top / "debs"
        shutil.rmtree(top, ignore_errors=True)
        debs.mkdir(parents=True)
        apt(["download", *packages], cwd=debs)
        unpack(sorted(debs.glob("*.deb")), root)
        fix_headers_makefile(debian_paths(release)[1], root)
        done.touch()
    image, kdir = debian_paths(release)
    for path in (kdir / "Makefile", image):
        if not path.exists():
            raise KernelError(f"{path} missing after unpacking {', '.join(packages)}")
    return Kernel(image, kdir, release, time.monotonic() - start, cached)


def newest_paths(release: str) -> tuple[Path, Path]:
    """Image and KDIR of a newest-kernel lane in the cache."""
    top = cache_dir() / "debian" / release
    return top / "root/usr/lib/modules" / release / "vmlinuz", top / "build"


def fetch_newest(lane: Lane) -> Kernel:
    """Debian's newest image of the lane's flavour, and a module tree for
    it: its linux-source, prepared (olddefconfig, modules_prepare) with
    the image's own config and release, and the image's Module.symvers.
    Debian's headers package needs the compiler Debian built with (gcc-14
    for 7.3), which an older host lacks; the prepared tree takes the
    host's."""
    from . import newer
    assert lane.debian is not None
    start = time.monotonic()
    source = newest_source()
    release, packages = newer.kernel_packages(source.package, lane.debian.flavour)
    top = cache_dir() / "debian" / release
    root, done = top / "root", top / "prepared"
    image, build = newest_paths(release)
    cached = done.exists()
    if not cached:
        shutil.rmtree(top, ignore_errors=True)
        unpack(newer.download(packages, top / "debs"), root)
        config = root / "usr/lib/modules" / release / "config"
        symvers = root / "usr/src" / f"linux-headers-{release}" / "Module.symvers"
        for path in (image, config, symvers):
            if not path.is_file():
                raise KernelError(f"{path} missing after unpacking {', '.join(packages)}")
        build.mkdir(parents=True)
        shutil.copy(config, build / ".config")
        make = ["make", "-C", str(source.tree()), f"O={build}", f"KERNELRELEASE={release}"]
        shell.run([*make, "olddefconfig"], quiet=True)
        shell.run([*make, f"-j{jobs()}", "modules_prepare"], quiet=True)
        shutil.copy(symvers, build / "Module.symvers")
        done.touch()
    return Kernel(image, build, release, time.monotonic() - start, cached)


def user_kernel(image: Path, kdir: Path) -> Kernel:
    """A user's own kernel image and build tree."""
    release_file = kdir / "include/config/kernel.release"
    if not image.is_file() or not release_file.is_file():
        raise KernelError(f"need a kernel image ({image}) and a built tree with "
                          f"include/config/kernel.release ({kdir})")
    return Kernel(image.resolve(), kdir.resolve(), release_file.read_text().strip(), 0.0, True)


def get(lane: Lane, image: Path | None = None, kdir: Path | None = None) -> Kernel:
    """The lane's kernel: the user's own when given, else built or fetched."""
    if image or kdir:
        if not (image and kdir):
            raise KernelError("--kernel and --kdir go together")
        return user_kernel(image, kdir)
    if lane.source == "build":
        return build_debug(lane)
    return fetch_newest(lane) if lane.kernel_source == "newest" else fetch_debian(lane)


def planned_paths(lane: Lane) -> tuple[Path, Path]:
    """Image and KDIR the lane's kernel has (or will have) in the cache,
    building and downloading nothing."""
    from . import newer
    newest = lane.kernel_source == "newest"
    if lane.source == "build":
        version = newer.version(newer.newest_source()) if newest else None
        build = debug_dir([REPO / f for f in lane.fragments], version) / "build"
        return build / lane.arch.image, build
    if newest:
        assert lane.debian is not None
        return newest_paths(newer.kernel_packages(newer.newest_source(),
                                                  lane.debian.flavour)[0])
    return debian_paths(debian_release(resolve(lane)))
