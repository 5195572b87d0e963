"""Boot a lane kernel under QEMU, as its architecture's data
(lanes.ARCHES) says: console (first serial port) streamed to a log, KTAP
(second) to a file, markers from the guest's /init, and timeouts."""
from __future__ import annotations

import functools
import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

from . import settings, shell
from .kernel import cache_dir
from .lanes import Arch

START = re.compile(r"gfpctx-ci: start\b")
END = re.compile(r"gfpctx-ci: end rc=(\d+)")
KTAP_RESULT = re.compile(rb"^[ \t]*(?:#[ \t]*)*(?:not )?ok \d+", re.M)
# run_kselftest.sh's line before a test, and its result line after it
SCRIPT_START = re.compile(rb"^# selftests: [^:\s]+: (\S+)$", re.M)
SCRIPT_END = re.compile(rb"^(?:not )?ok \d+ selftests: [^:\s]+: (\S+)", re.M)


@dataclass(frozen=True)
class Timeouts:
    """boot: no start marker within; test: no new KTAP result line within;
    run: the whole boot, all in seconds."""

    boot_s: float
    test_s: float
    run_s: float


@dataclass(frozen=True)
class Boot:
    """What one boot gave: console text, KTAP text, figures, and the error
    (a fired timeout, or an end without the end marker) if any."""

    console: str
    ktap: str
    boot_s: float | None
    suite_s: float | None
    init_rc: int | None
    error: str | None
    # seconds each test script took, as seen from the host (to 0.5 s)
    script_s: dict[str, float] = field(default_factory=dict)


def guest_runs(arch: Arch, accel_args: list[str], image: Path, wait_s: float = 15.0) -> bool:
    """Whether image really boots with accel_args: its first console line
    ("Linux version") must show up within wait_s."""
    argv = [arch.qemu, *accel_args, *arch.args(), "-m", "256", "-nographic", "-no-reboot",
            "-monitor", "none", "-serial", "stdio", "-kernel", str(image),
            "-append", f"console={arch.console} earlyprintk=serial,{arch.console} panic=-1"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    lines: "queue.Queue[bytes | None]" = queue.Queue()
    threading.Thread(target=read_lines, args=(proc.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + wait_s
    try:
        while (left := deadline - time.monotonic()) > 0:
            line = lines.get(timeout=left)
            if line is None or b"Linux version" in line:
                return line is not None
        return False
    except queue.Empty:
        return False
    finally:
        stop(proc)


TCG = ("-accel", "tcg,thread=multi")
KVM = ("-accel", "kvm")


# Under TCG a guest runs some tens of times slower than on hardware: the
# kernel's report of an NMI handler slower than 1 ms (nmi_check_duration(),
# arch/x86/kernel/nmi.c; debugfs x86/nmi_longest_ns) would fire for one
# emulated allocation (up to 9 ms measured here). /init sets this instead.
TCG_NMI_LONGEST_NS = 50_000_000


def emulated_words(accel_args: tuple[str, ...]) -> list[str]:
    """Kernel command line words for the guest's /init that make up for
    emulation's slowness: [] with KVM."""
    return [f"gfpctx_nmi_longest_ns={TCG_NMI_LONGEST_NS}"] if accel_args == TCG else []


def accel_memo(arch: Arch) -> Path:
    """Where the KVM probe's answer is kept until the host reboots."""
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return cache_dir() / f"accel-{arch.name}-{boot_id}"


def accel_guess(arch: Arch) -> tuple[str, ...]:
    """-accel arguments without probing: TCG for an arch that is always
    emulated, else GFPCTX_ACCEL, the memo, else TCG."""
    if arch.accel == "tcg":
        return TCG
    memo = accel_memo(arch)
    choice = settings.accel_env() or (memo.read_text() if memo.exists() else "tcg")
    return KVM if choice == "kvm" else TCG


@functools.cache
def accel(arch: Arch, image: Path) -> tuple[str, ...]:
    """-accel arguments: TCG for an arch that is always emulated;
    GFPCTX_ACCEL=kvm|tcg forces; else KVM when image really boots with it
    (/dev/kvm may open and yet run nothing), else TCG."""
    memo = accel_memo(arch)
    if arch.accel == "auto" and not settings.accel_env() and not memo.exists():
        usable = (os.access("/dev/kvm", os.R_OK | os.W_OK)
                  and guest_runs(arch, list(KVM), image))
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text("kvm" if usable else "tcg")
    choice = accel_guess(arch)
    if choice == TCG and arch.accel == "auto":
        print(f"gfpctx-ci: TCG (KVM does not run a guest here or GFPCTX_ACCEL=tcg; "
              f"remove {memo} to probe again)", file=sys.stderr)
    return choice


def command(arch: Arch, image: Path, initrd: Path, ktap: Path, tables: Path,
            append: list[str], accel_args: tuple[str, ...], memory: str = "1G",
            extra: tuple[str, ...] = ()) -> list[str]:
    """The QEMU command line of one boot: the console on the first serial
    port, KTAP to the file ktap (the arch's output channel 1), the
    module's contexts and rules to tables (channel 2); the kernel command
    line append, then the channels' guest devices for /init."""
    devices = [f"gfpctx_ktap={arch.channel_dev.format(n=1)}",
               f"gfpctx_tables={arch.channel_dev.format(n=2)}"]
    return [arch.qemu, *accel_args, *arch.args(), "-m", memory, "-smp", "2", "-nographic",
            "-no-reboot", "-monitor", "none", "-serial", "stdio",
            *arch.channel_args(1, ktap), *arch.channel_args(2, tables),
            "-kernel", str(image), "-initrd", str(initrd),
            "-append", " ".join([*append, *devices]), *extra]


def read_lines(stream: IO[bytes], lines: "queue.Queue[bytes | None]") -> None:
    for line in iter(stream.readline, b""):
        lines.put(line)
    lines.put(None)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Watch:
    """Markers, progress and deadlines of one boot."""

    def __init__(self, ktap: Path, timeouts: Timeouts) -> None:
        self.ktap, self.timeouts = ktap, timeouts
        self.t0 = time.monotonic()
        self.started: float | None = None
        self.ended: float | None = None
        self.init_rc: int | None = None
        self.progress = self.t0
        self.results = 0
        self.script_start: dict[str, float] = {}
        self.script_s: dict[str, float] = {}

    def line(self, text: str) -> None:
        now = time.monotonic()
        if self.started is None and START.search(text):
            self.started = self.progress = now
        elif m := END.search(text):
            self.ended, self.init_rc = now, int(m.group(1))

    def read_ktap(self, now: float) -> int:
        """KTAP result lines so far; notes when each script starts and ends."""
        try:
            data = self.ktap.read_bytes()
        except FileNotFoundError:
            return 0
        for m in SCRIPT_START.finditer(data):
            self.script_start.setdefault(m.group(1).decode(), now)
        for m in SCRIPT_END.finditer(data):
            name = m.group(1).decode()
            if name not in self.script_s and name in self.script_start:
                self.script_s[name] = now - self.script_start[name]
        return len(KTAP_RESULT.findall(data))

    def expired(self) -> str | None:
        """The fired timeout, named, or None."""
        now = time.monotonic()
        t = self.timeouts
        if now - self.t0 > t.run_s:
            return f"run timeout: the boot took more than {t.run_s:.0f} s"
        if self.started is None:
            if now - self.t0 > t.boot_s:
                return f"boot timeout: no start marker within {t.boot_s:.0f} s"
            return None
        if self.ended is None:
            count = self.read_ktap(now)
            if count != self.results:
                self.results, self.progress = count, now
            elif now - self.progress > t.test_s:
                return (f"test timeout: no new KTAP result line within {t.test_s:.0f} s "
                        f"(after {count} result lines)")
        return None


def boot(argv: list[str], console_log: Path, ktap: Path, timeouts: Timeouts,
         progress: Callable[[str], None] | None = None) -> Boot:
    """Run one boot: stream the console to console_log, watch the timeouts,
    kill QEMU when one fires; each console line also goes to progress."""
    shell.echo(argv)
    ktap.unlink(missing_ok=True)
    watch = Watch(ktap, timeouts)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    lines: "queue.Queue[bytes | None]" = queue.Queue()
    threading.Thread(target=read_lines, args=(proc.stdout, lines), daemon=True).start()
    error = None
    with console_log.open("w", encoding="utf-8", errors="replace") as log:
        while True:
            try:
                raw = lines.get(timeout=0.5)
            except queue.Empty:
                raw = b""
            if raw is None:
                break
            if raw:
                text = raw.decode("utf-8", errors="replace").replace("\r", "")
                if END.search(text):  # the last results, before the end
                    watch.read_ktap(time.monotonic())
                log.write(text)
                log.flush()
                watch.line(text)
                if progress:
                    progress(text)
            if error := watch.expired():
                break
    stop(proc)
    if error is None and watch.ended is None:
        error = (f"guest ended (QEMU exit {proc.returncode}) without the end marker: "
                 "crash, panic or early exit; see the console log")
    return Boot(console=console_log.read_text(errors="replace"),
                ktap=ktap.read_text(errors="replace") if ktap.exists() else "",
                boot_s=None if watch.started is None else watch.started - watch.t0,
                suite_s=(None if watch.started is None or watch.ended is None
                         else watch.ended - watch.started),
                init_rc=watch.init_rc, error=error, script_s=watch.script_s)
