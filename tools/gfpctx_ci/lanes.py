"""The lanes: each a kernel the gfpctx suite runs on, and the
architectures they boot as under QEMU, as data."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .settings import SettingsError

SOURCE_TARBALL = "/usr/src/linux-source-6.12.tar.xz"
SOURCE_PACKAGE = "linux-source-6.12"


# Debian's qemu-system-data: a BIOS that boots a kernel faster than SeaBIOS
QBOOT = Path("/usr/share/qemu/qboot.rom")


@dataclass(frozen=True)
class Arch:
    """How QEMU boots a kernel of one architecture; adding an architecture
    is adding an entry to ARCHES (and its QEMU package to
    tools/install-deps)."""

    name: str                         # the kernel's ARCH, e.g. x86_64
    debian: str                       # Debian's (dpkg's) name, e.g. amd64
    qemu: str                         # the QEMU system emulator
    image: str                        # the kernel image in a built tree
    console: str                      # the guest's console device
    # The runner's two output channels (1: KTAP, 2: the module's tables):
    # the QEMU arguments of channel n writing to {path}, and the guest's
    # device of channel n, which /init gets as gfpctx_ktap= and
    # gfpctx_tables= on the kernel command line. Legacy `-serial file:`
    # takes its path verbatim, commas included (qemu_chr_parse_compat()).
    channel: tuple[str, ...] = ("-serial", "file:{path}")
    channel_dev: str = "ttyS{n}"
    machine: str | None = None        # -machine, None for QEMU's default
    cpu: str | None = None            # -cpu, None for QEMU's default
    bios: Path | None = None          # -bios, when the file exists here
    # "auto": KVM when a guest really runs with it here, else TCG; "tcg":
    # always emulated (a guest of another architecture than the host's)
    accel: str = "auto"
    qemu_args: tuple[str, ...] = ()   # any other QEMU arguments

    def channel_args(self, n: int, path: Path) -> list[str]:
        """The QEMU arguments of output channel n (1 or 2) into path."""
        return [a.format(n=n, path=path) for a in self.channel]

    def args(self) -> list[str]:
        """The QEMU arguments of the architecture's machine."""
        bios = ["-bios", str(self.bios)] if self.bios and self.bios.is_file() else []
        return [*(["-machine", self.machine] if self.machine else []),
                *(["-cpu", self.cpu] if self.cpu else []), *bios, *self.qemu_args]


ARCHES: dict[str, Arch] = {arch.name: arch for arch in (
    Arch(name="x86_64", debian="amd64", qemu="qemu-system-x86_64",
         image="arch/x86/boot/bzImage", console="ttyS0", bios=QBOOT),
)}
ACCELS = ("auto", "tcg")


@dataclass(frozen=True)
class DebianKernel:
    """A Debian kernel package set, resolved to its newest version."""

    image_regex: str      # apt-cache search pattern of the image package
    flavour: str          # e.g. amd64, rt-amd64

    def headers_package(self, abi: str) -> str:
        return f"linux-headers-{abi}-{self.flavour}"


@dataclass(frozen=True)
class Lane:
    """One lane: where its kernel comes from and how it boots."""

    name: str
    description: str
    source: str                          # "build" (linux-source) or "debian"
    arch: Arch = ARCHES["x86_64"]
    # "host": Debian 12's (linux-source-6.12 installed, images from the
    # host's suites); "newest": Debian's newest linux-source and images,
    # from its newer suites (newer.py)
    kernel_source: str = "host"
    fragments: tuple[str, ...] = ()      # kconfig fragments, repo-relative
    debian: DebianKernel | None = None
    memory: str = "1G"
    qemu_args: tuple[str, ...] = ()
    cmdline: tuple[str, ...] = ()
    env: tuple[str, ...] = ()            # GFPCTX_* knobs for the lane's tests
    boot_timeout_s: int = 300
    # guests that share the provoked cells: a kernel that reports them
    # (DEBUG_ATOMIC_SLEEP) spends a second on each (pipeline.split_boots())
    provoke_boots: int = 1
    # the provoke boots take together 1/provoke_sample of the provoked
    # cells, the I-th of every provoke_boots * provoke_sample each
    # (pipeline.boot_env()): where another lane already checks each
    # cell's report and this one looks for something else
    provoke_sample: int = 1

    def provoke_text(self) -> str:
        """The provoke boots as the lanes table shows them: "3", or
        "3 of 9" for three boots that take one ninth of the cells each."""
        if self.provoke_sample == 1:
            return str(self.provoke_boots)
        return f"{self.provoke_boots} of {self.provoke_boots * self.provoke_sample}"


# Debian's kernels, no debug option: 20 unload races (a fifth of the
# script's default 100, which `make stress` runs on the debug lane).
DEBIAN_ENV = ("GFPCTX_RACES=20",)

# Debug kernels (lockdep and kmemleak under TCG): 8 unload races (two of
# each kind) and 20 load cycles, 100 and 500 in `make stress`; 512 MiB,
# what the suite needs (the hog of pressure.sh fills it twice as fast as
# 1 GiB).
DEBUG_ENV = ("GFPCTX_RACES=8", "GFPCTX_CYCLES=20")
DEBUG_MEMORY = "512M"
DEBUG_BOOT_TIMEOUT_S = 120
# Debug kernels report every provoked cell, one a second: five guests
# share them (warns.sh), mostly waiting, beside the clean one. Measured
# on two host cores (make run, debug): 3 guests 350.5 s of suite, 5 guests
# 228.2 s, 8 guests 248.6 s (the CPU is then the limit).
DEBUG_PROVOKE_BOOTS = 5

# Every lane's kernel command line, after console=<the arch's console>
COMMON_CMDLINE = ("ignore_loglevel", "printk.time=1", "panic=-1", "oops=panic")

LANES: dict[str, Lane] = {lane.name: lane for lane in (
    Lane(name="debug",
         description="tinyconfig + debug options, built from "
                     f"{SOURCE_PACKAGE}: the whole suite, warnings included",
         source="build",
         fragments=("tools/kconfig/base.config", "selftests/gfpctx/config"),
         env=DEBUG_ENV, memory=DEBUG_MEMORY, boot_timeout_s=DEBUG_BOOT_TIMEOUT_S,
         provoke_boots=DEBUG_PROVOKE_BOOTS),
    Lane(name="kasan",
         description="the debug lane plus KASAN (generic, vmalloc): memory "
                     "safety of the module itself",
         source="build",
         fragments=("tools/kconfig/base.config", "selftests/gfpctx/config",
                    "tools/kconfig/kasan.config"),
         # KASAN's shadow takes an eighth of the memory and its quarantine a
         # thirty-second: 768 MiB. pressure.sh's hog fills 2 GiB in some
         # 230 s under KASAN, and again after each OOM kill.
         memory="768M",
         # KASAN under TCG runs the module some ten times slower: smaller
         # counts, the same checks; three guests take a third of the
         # provoked cells (the debug lane, the same kernel without KASAN,
         # checks the reports of all of them).
         env=("GFPCTX_COUNT=100", "GFPCTX_CYCLES=10", "GFPCTX_FUZZ_WRITES=2000",
              "GFPCTX_RACES=5"),
         boot_timeout_s=180, provoke_boots=3, provoke_sample=3),
    Lane(name="stock",
         description="Debian 6.12 amd64 image + headers: what a "
                     "distribution user gets; warning checks skip",
         source="debian",
         debian=DebianKernel(r"^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$",
                             "amd64"),
         env=DEBIAN_ENV),
    Lane(name="rt",
         description="Debian 6.12 PREEMPT_RT image + headers: the RT rules",
         source="debian",
         debian=DebianKernel(r"^linux-image-6\.12\.[0-9]+\+deb12-rt-amd64-unsigned$",
                             "rt-amd64"),
         env=DEBIAN_ENV),
    Lane(name="newest",
         description="Debian's newest amd64 image (from its newer suites), "
                     "the module built against its linux-source prepared "
                     "with the image's config",
         source="debian", kernel_source="newest",
         debian=DebianKernel("", "amd64"),
         env=DEBIAN_ENV),
    Lane(name="newest-rt",
         description="Debian's newest PREEMPT_RT image, as newest",
         source="debian", kernel_source="newest",
         debian=DebianKernel("", "rt-amd64"),
         env=DEBIAN_ENV),
    Lane(name="newest-debug",
         description="the debug lane's fragments on Debian's newest "
                     "linux-source (PROVE_RAW_LOCK_NESTING on with lockdep)",
         source="build", kernel_source="newest",
         fragments=("tools/kconfig/base.config", "tools/kconfig/sysctl.config",
                    "selftests/gfpctx/config"),
         env=DEBUG_ENV, memory=DEBUG_MEMORY, boot_timeout_s=DEBUG_BOOT_TIMEOUT_S,
         provoke_boots=DEBUG_PROVOKE_BOOTS),
    Lane(name="lts",
         description="Debian 6.1 amd64 image + headers: an older API",
         source="debian",
         debian=DebianKernel(r"^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$",
                             "amd64"),
         env=DEBIAN_ENV),
)}


class UnknownLane(SettingsError, KeyError):
    """A lane name that is not in LANES."""

    def __str__(self) -> str:
        return str(self.args[0])


def get(name: str) -> Lane:
    """The lane called name, or an UnknownLane naming the known lanes."""
    try:
        return LANES[name]
    except KeyError:
        raise UnknownLane(f"unknown lane {name!r}; lanes: {', '.join(LANES)}") from None


def names(text: str) -> list[str]:
    """The lanes of a comma separated list, each checked."""
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    if not chosen:
        raise SettingsError(f"{text!r}: no lane named; lanes: {', '.join(LANES)}")
    for name in chosen:
        get(name)
    return chosen


def columns(rows: Sequence[Sequence[str]]) -> str:
    """Rows as left-aligned columns, the last one unpadded."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([*(f"{c:<{w}}" for c, w in zip(r, widths)), r[-1]])
                     for r in rows)


def table(only: list[str] | None = None) -> str:
    """The lanes (or only those named) as a text table, then their
    architectures'."""
    shown = [get(name) for name in only] if only else list(LANES.values())
    rows = [("lane", "arch", "kernel", "provoke boots", "what")]
    for lane in shown:
        where = "newest " if lane.kernel_source == "newest" else ""
        kind = (f"built {where}({', '.join(lane.fragments)})" if lane.source == "build"
                else f"debian {where}{lane.debian.flavour if lane.debian else '?'}")
        rows.append((lane.name, lane.arch.name, kind, lane.provoke_text(),
                     lane.description))
    arches = [("arch", "debian", "qemu", "accel", "console", "channels", "image",
               "machine arguments")]
    arches += [(a.name, a.debian, a.qemu, a.accel, a.console,
                ",".join(a.channel_dev.format(n=n) for n in (1, 2)), a.image,
                " ".join(a.args()) or "-")
               for a in dict.fromkeys(lane.arch for lane in shown)]
    return f"{columns(rows)}\n\n{columns(arches)}"
