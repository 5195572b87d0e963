"""The guest's initramfs: busybox, /init, the module, the kselftest tree."""
from __future__ import annotations

import gzip
import os
import shutil
import stat
from pathlib import Path

from . import shell

GUEST = Path(__file__).resolve().parents[1] / "guest"
BUSYBOX = Path("/bin/busybox")
# (path, mode, major, minor) device nodes the kernel needs before /init runs
DEVICES = (("dev/console", stat.S_IFCHR | 0o600, 5, 1),)


def cpio_header(name: str, mode: int, size: int, ino: int,
                rdev: tuple[int, int] = (0, 0), nlink: int = 1) -> bytes:
    """A newc header plus the NUL-terminated name, padded to 4 bytes."""
    fields = (ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], len(name) + 1, 0)
    head = b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
    return head + b"\0" * (-len(head) % 4)


def cpio_entry(name: str, mode: int, data: bytes, ino: int,
               rdev: tuple[int, int] = (0, 0)) -> bytes:
    return cpio_header(name, mode, len(data), ino, rdev) + data + b"\0" * (-len(data) % 4)


def pack(stage: Path) -> bytes:
    """The stage directory (owned by root in the archive) as a newc cpio."""
    out = []
    ino = 1
    for name, mode, major, minor in DEVICES:
        out.append(cpio_entry(name, mode, b"", ino, (major, minor)))
        ino += 1
    for path in sorted([stage, *stage.rglob("*")]):
        name = "." if path == stage else str(path.relative_to(stage))
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            data = os.readlink(path).encode()
        elif stat.S_ISREG(st.st_mode):
            data = path.read_bytes()
        else:
            data = b""
        out.append(cpio_entry(name, st.st_mode, data, ino))
        ino += 1
    out.append(cpio_header("TRAILER!!!", 0, 0, 0, nlink=1))
    return b"".join(out)


def add_busybox(stage: Path) -> None:
    (stage / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, stage / "bin/busybox")
    applets = shell.run([str(BUSYBOX), "--list-full"], quiet=True).split()
    for applet in applets:
        link = stage / applet
        if applet != "bin/busybox" and not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("/bin/busybox")


def add_module(stage: Path, module: Path, release: str) -> None:
    extra = stage / "lib/modules" / release / "extra"
    extra.mkdir(parents=True)
    shutil.copy2(module, extra / "gfpctx.ko")
    for listing in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        (extra.parent / listing).touch()  # depmod warns when they are missing
    shell.run(["depmod", "-b", str(stage), release])


def add_guest_files(stage: Path) -> None:
    for d in ("dev", "proc", "sys", "tmp", "etc", "root"):
        (stage / d).mkdir(exist_ok=True)
    shutil.copy2(GUEST / "init", stage / "init")
    shutil.copy2(GUEST / "bench", stage / "bin/gfpctx-bench")
    timeout = stage / "usr/bin/timeout"
    timeout.unlink(missing_ok=True)
    shutil.copy2(GUEST / "timeout", timeout)
    # nobody: permissions.sh opens every control file as an unprivileged user
    (stage / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                      "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (stage / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")


def build(stage: Path, image: Path, release: str, module: Path | None,
          kselftest: Path | None) -> Path:
    """Make stage/ and pack it into image (gzip'd newc cpio); return image."""
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    add_busybox(stage)
    add_guest_files(stage)
    if module:
        add_module(stage, module, release)
    if kselftest:
        shutil.copytree(kselftest, stage / "kselftest", symlinks=True)
    image.write_bytes(gzip.compress(pack(stage), compresslevel=1))
    return image
