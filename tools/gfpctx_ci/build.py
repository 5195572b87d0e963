"""Per-lane builds from the repository: gfpctx.ko and the installed
kselftest target."""
from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import kernel, shell

REPO = kernel.REPO
SELFTESTS = REPO / "selftests" / "gfpctx"
MODULE_SOURCES = SELFTESTS / "module"
# gfpctx.ko in an installed kselftest tree: lib.mk's TEST_GEN_MODS_DIR.
MODULE_KO = Path("gfpctx") / "module" / "gfpctx.ko"
_BUILD_PRODUCTS = ("*.o", "*.ko", "*.mod", "*.mod.c", ".*.cmd", "Module.symvers",
                   "modules.order", ".tmp_versions")


class BuildError(RuntimeError):
    """The module or the kselftest target could not be built."""


def checkpatch() -> list[str]:
    """checkpatch.pl --strict --no-tree -f findings in the C sources."""
    script = kernel.selftest_tree() / "scripts/checkpatch.pl"
    sources = sorted(s for s in [*MODULE_SOURCES.glob("*.[ch]"), *SELFTESTS.glob("*.[ch]")]
                     if not s.name.endswith(".mod.c"))  # kbuild's, in a built tree
    problems = []
    for source in sources:
        try:
            shell.run([str(script), "--strict", "--no-tree", "--quiet", "-f", str(source)],
                      quiet=True)
        except shell.CommandError:
            problems.append(f"checkpatch: {source.relative_to(REPO)}")
    return problems


def shellcheck() -> list[str]:
    """shellcheck findings in the POSIX sh scripts (the kselftest target's,
    run by busybox in the guest, and the host's)."""
    scripts = [*sorted(p.name for p in SELFTESTS.glob("*.sh"))]
    guest = [str(p) for p in sorted((REPO / "tools/guest").iterdir())]
    problems = []
    for cwd, files in ((SELFTESTS, scripts), (REPO, [*guest, "tools/install-deps"])):
        try:
            shell.run(["shellcheck", "-s", "sh", "-x", *files], cwd=cwd, quiet=True)
        except shell.CommandError:
            problems.append(f"shellcheck: {cwd.relative_to(REPO) or '.'}")
    return problems


def rst_check(doc: Path) -> list[str]:
    """docutils' warnings and errors on an rst document (Debian's
    python3-docutils), as Documentation/ is built with them."""
    try:
        import docutils.core
        import docutils.utils
    except ImportError:
        return ["python3-docutils missing: run tools/install-deps"]
    try:
        docutils.core.publish_string(doc.read_text(), source_path=str(doc), writer_name="null",
                                     settings_overrides={"halt_level": 2, "report_level": 2,
                                                         "warning_stream": False})
    except docutils.utils.SystemMessage as err:
        return [f"{doc.resolve().relative_to(REPO)}: {err}"]
    return []


def strict_build(kdir: Path, workdir: Path, check: Path | None = None) -> list[str]:
    """The warnings of a W=1 C=1 build of the module against kdir, with
    check as the checker (default: the host's sparse). Kbuild skipping
    the checker (it is not up to date for the kernel) is one of them."""
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(MODULE_SOURCES, workdir, ignore=shutil.ignore_patterns(*_BUILD_PRODUCTS))
    out = shell.run(["make", "-C", str(workdir), f"KDIR={kdir}", "W=1", "C=1",
                     *([f"CHECK={check}"] if check else [])], quiet=True)
    return [line for line in out.splitlines()
            if "warning:" in line or "error:" in line or "sparse:" in line
            or "not available or not up to date" in line]


def install_kselftest(install_path: Path, kdir: Path) -> Path:
    """Install selftests/gfpctx with the 6.12 tree's kselftest framework
    into install_path, as a kernel tree's `make kselftest-install` does:
    lib.mk builds the target's module against kdir (TEST_GEN_MODS_DIR)
    and installs it beside the scripts, at MODULE_KO. Return the .ko.

    lib.mk builds a target inside tools/testing/selftests, so the target is
    copied into the cached tree, which every run on the machine shares: the
    copy, build and install hold an exclusive flock(2) on a file of that
    tree, or two runs at once (two clones, two lanes) would build each
    other's half-copied sources; the copy is fresh, without the objects of
    a build in the repository, so lanes never share objects."""
    if not (MODULE_SOURCES / "Makefile").is_file():
        raise BuildError(f"{MODULE_SOURCES}/Makefile missing")
    tree = kernel.selftest_tree() / "tools/testing/selftests"
    target = tree / "gfpctx"
    with open(tree / ".gfpctx-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(SELFTESTS, target, ignore=shutil.ignore_patterns(*_BUILD_PRODUCTS))
        shutil.rmtree(install_path, ignore_errors=True)
        shell.run(["make", "-C", str(tree), "TARGETS=gfpctx", f"KDIR={kdir}",
                   f"-j{kernel.jobs()}", f"INSTALL_PATH={install_path}", "install"],
                  quiet=True)
    if not (install_path / "run_kselftest.sh").is_file():
        raise BuildError(f"kselftest install made no {install_path}/run_kselftest.sh")
    ko = install_path / MODULE_KO
    if not ko.is_file():
        raise BuildError(f"kselftest install made no {ko}")
    return ko


def kunit_parse(ktap: Path) -> tuple[bool, str]:
    """The kernel's own KTAP parser (tools/testing/kunit/kunit.py parse) on
    a KTAP file: whether it parses it with no test failed, crashed or in
    error, and its closing "Testing complete" line (or its last line).
    kunit.py comes from linux-source-6.12: where that is not installed
    (`judge` on another host) it is not run, which is accepted and said
    ("not run: ...")."""
    try:
        script = kernel.selftest_tree() / "tools/testing/kunit/kunit.py"
    except kernel.KernelError as err:
        return True, f"not run: {err}"
    proc = subprocess.run([sys.executable, str(script), "parse", str(ktap)],
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    last = next((line for line in reversed(lines) if "Testing complete" in line),
                lines[-1] if lines else proc.stderr.strip()[-200:])
    said = last.split("] ", 1)[-1]
    # Its exit code is 1 for a run of skips only: read its closing line.
    accepted = ("Testing complete" in said
                and not re.search(r"(failed|crashed|errors): [1-9]", said))
    return accepted, said


def test_list(install_path: Path) -> list[str]:
    """Test names (e.g. warns.sh) of the installed gfpctx target."""
    listing = install_path / "kselftest-list.txt"
    return [line.split(":", 1)[1] for line in listing.read_text().splitlines()
            if line.startswith("gfpctx:")]
