"""The runner's one pipeline, which run, check, bench and --dry-run all
take: prepare (the kernel, gfpctx.ko, the kselftest install, the
initramfs; or, for a dry run, the paths they have or will have), plan
(each boot's tests, QEMU command line and timeouts), boot, and judge
(KTAP and the kernel log into the verdict). A dry run prints the plan
the real run would boot."""
from __future__ import annotations

import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import build, initramfs, kernel, lanes, qemu, shell
from .settings import SettingsError, os_error, select_tests

PROVOKE = ("warns.sh", "audit.sh")  # tests that provoke splats: their own boot
TEST_MARGIN_S = 60           # added to the kselftest timeout of each test
DEFAULT_TEST_TIMEOUT_S = 45  # kselftest's default when no settings file
MODES = ("suite", "bench", "bare")


@dataclass
class Outcome:
    """One lane's run, for the exit code and `check`'s table."""

    lane: str
    release: str = "?"
    counts: dict[str, int] = field(default_factory=dict)
    splats: str = "-"
    boot_s: float | None = None
    suite_s: float | None = None
    script_s: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    skipped: str = ""  # why the lane could not run here, when it could not

    @property
    def passed(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Request:
    """What to run on a lane, the user's settings checked."""

    out: Path                           # this run's directory (OUT/<lane>)
    kernel: Path | None = None          # the user's own kernel, with kdir
    kdir: Path | None = None
    tests: str | None = None            # --tests: None for all
    env: tuple[str, ...] = ()           # checked --env words
    test_timeout: int | None = None
    one_boot: bool = False
    clean_boots: int = 1
    provoke_boots: int | None = None    # None: the lane's
    # "suite": the kselftest target; "bench": the benchmark (bench_args:
    # COUNT,PAIRS); "bare": a boot that runs nothing
    mode: str = "suite"
    bench_args: str = ""
    run_timeout_s: int = 0              # bench: the whole boot's limit

    def __post_init__(self) -> None:
        if (self.kernel is None) != (self.kdir is None):
            raise SettingsError("--kernel and --kdir go together")
        if self.mode not in MODES:
            raise SettingsError(f"mode {self.mode!r}: want one of {', '.join(MODES)}")


@dataclass(frozen=True)
class Prepared:
    """What the boots need: built, or for a dry run where it will be."""

    image: Path
    kdir: Path
    release: str
    install: Path                       # the kselftest install: builds gfpctx.ko
    initrd: Path
    tests: tuple[str, ...]              # the target's tests, in its order
    settings_root: Path | None          # holds gfpctx/settings
    accel: tuple[str, ...]              # -accel arguments


@dataclass(frozen=True)
class BootPlan:
    """One boot: its name, tests, QEMU command line, files, timeouts."""

    name: str
    tests: tuple[str, ...]
    argv: tuple[str, ...]
    console: Path
    ktap: Path
    timeouts: qemu.Timeouts


@dataclass(frozen=True)
class Plan:
    """A run: the lane, what it boots, and its boots."""

    lane: lanes.Lane
    request: Request
    prepared: Prepared
    boots: tuple[BootPlan, ...]


@dataclass
class Run:
    """A run's plan, its boots' results and, for the suite, the verdict."""

    plan: Plan
    boots: list[tuple[str, qemu.Boot]]
    outcome: Outcome | None


# --- the boots of the suite ---------------------------------------------

def split_boots(selected: list[str], one_boot: bool = False, shards: int = 1,
                seconds: dict[str, float] | None = None,
                provoke_boots: int = 1) -> list[tuple[str, list[str]]]:
    """(boot, tests) pairs: the clean tests in `shards` boots ("clean",
    "clean-2", ...) and `provoke_boots` boots ("provoke", "provoke-2",
    ...) that end with the provoking tests (lockdep turns itself off at
    its first report), each provoking a share of the cells (boot_env());
    or every test in one boot, "all", in the target's order, as kernel CI
    runs it.

    A provoke boot mostly waits (__might_resched() reports once a second
    per kernel), so it also takes clean tests, run before the provoking
    ones: each clean test goes, longest first by `seconds` (a previous
    run's; 1 s when unknown), to the boot with the least so far. Every
    boot keeps the target's order, the provoking tests last."""
    if one_boot:
        return [("all", selected)] if selected else []
    clean = [t for t in selected if t not in PROVOKE]
    provoke = [t for t in selected if t in PROVOKE]
    names = ["clean" if i == 0 else f"clean-{i + 1}"
             for i in range(max(1, min(shards, len(clean))))]
    weight = {t: (seconds or {}).get(t, 1.0) for t in selected}
    load = [0.0] * len(names)
    first_provoke = len(names)
    if provoke:
        nprovoke = max(1, provoke_boots)
        names += [provoke_boot_name(i) for i in range(1, nprovoke + 1)]
        # seconds.json holds a provoking test's time in one boot: its share
        load += [sum(weight[t] for t in provoke)] * nprovoke
    where: dict[str, int] = {}
    for test in sorted(clean, key=lambda t: -weight[t]):
        where[test] = min(range(len(names)), key=lambda i: (load[i], i))
        load[where[test]] += weight[test]
    boots = [(name, [t for t in clean if where[t] == i]) for i, name in enumerate(names)]
    for _, tests in boots[first_provoke:]:
        tests.extend(provoke)
    return [(name, tests) for name, tests in boots if tests]


def provoke_boot_name(i: int) -> str:
    """The i-th provoke boot's name, from 1: "provoke", "provoke-2", ..."""
    return "provoke" if i == 1 else f"provoke-{i}"


def boot_env(name: str, provoke_boots: int, sample: int = 1) -> list[str]:
    """The test knobs of one boot: the i-th provoke boot of n takes the
    i-th of every n * sample provoked cells (GFPCTX_SHARD=i/(n*sample),
    gfpctx_lib.sh); nothing for a clean boot, or for one provoke boot of
    all the cells."""
    shards = provoke_boots * sample
    if shards < 2:
        return []
    for i in range(1, provoke_boots + 1):
        if name == provoke_boot_name(i):
            return [f"GFPCTX_SHARD={i}/{shards}"]
    return []


SECONDS_FILE = "seconds.json"  # per test script, of the lane's last run
# The seconds each script took on the debug lane (five provoke boots,
# 2026-12-02; a provoking script's share): the split's
# weights for a lane that has no seconds.json of its own, as on every CI
# run from a fresh clone. Only the balance of the boots depends on them.
TYPICAL_S = {
    "contexts.sh": 50.6, "ok_cells.sh": 35.5, "inject.sh": 43.2, "fuzz.sh": 54.6,
    "bad_input.sh": 25.8, "permissions.sh": 28.9, "lifecycle.sh": 35.3,
    "pressure.sh": 31.2, "timing.sh": 11.5, "races.sh": 54.5,
    "warns.sh": 155.0, "audit.sh": 12.6,
}


def typical_seconds(sample: int = 1) -> dict[str, float]:
    """TYPICAL_S for a lane whose provoke boots take 1/sample of the
    cells that the debug lane's take (Lane.provoke_sample): the
    provoking scripts' shares shrink by as much."""
    return {t: s / sample if t in PROVOKE else s for t, s in TYPICAL_S.items()}


def last_seconds(out: Path) -> dict[str, float]:
    """The per-script seconds a previous run left in out, or nothing."""
    try:
        data = json.loads((out / SECONDS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items()
            if isinstance(k, str) and isinstance(v, (int, float))}


def record_seconds(out: Path, script_s: dict[str, float]) -> None:
    """Update out's per-script seconds with those of a run: a run of some
    scripts (TESTS=) keeps the others' figures for the next split."""
    if script_s:
        seconds = {**last_seconds(out), **script_s}
        (out / SECONDS_FILE).write_text(json.dumps(seconds, indent=1) + "\n")


def test_timeout_s(root: Path | None) -> int:
    """The gfpctx target's per-test timeout (its `settings` file under
    root: an installed kselftest tree, or the repository's selftests/)."""
    settings = root / "gfpctx" / "settings" if root else None
    if settings and settings.is_file():
        for line in settings.read_text().splitlines():
            if line.startswith("timeout="):
                value = line.split("=", 1)[1].strip()
                if not value.isdigit():
                    raise SettingsError(f"{settings}: {line!r}: want timeout=SECONDS")
                return int(value)
    return DEFAULT_TEST_TIMEOUT_S


TEST_PROGS = re.compile(r"^TEST_PROGS\s*(:=|\+=|=)(.*)$", re.M)


def source_tests() -> list[str]:
    """The target's tests as its Makefile lists them (TEST_PROGS), which
    its kselftest install copies: the names --tests may take."""
    makefile = build.SELFTESTS / "Makefile"
    text = makefile.read_text().replace("\\\n", " ")
    tests: list[str] = []
    for m in TEST_PROGS.finditer(text):
        tests = [*(tests if m.group(1) == "+=" else []), *m.group(2).split()]
    if not tests:
        raise SettingsError(f"{makefile}: no TEST_PROGS")
    return tests


def append_line(lane: lanes.Lane, tests: list[str], env: list[str] | tuple[str, ...] = (),
                test_timeout: int | None = None) -> list[str]:
    """The kernel command line: the lane's knobs, then the run's own."""
    timeout = [f"gfpctx_timeout={test_timeout}"] if test_timeout else []
    return [f"console={lane.arch.console}", *lanes.COMMON_CMDLINE, *lane.cmdline,
            *lane.env, *env, *timeout, f"gfpctx_tests={','.join(tests)}"]


# --- prepare, plan, boot, judge -----------------------------------------

def get_kernel(lane: lanes.Lane, image: Path | None, kdir: Path | None) -> kernel.Kernel:
    """The lane's kernel (or the user's), with its figures printed."""
    kern = kernel.get(lane, image, kdir)
    how = "build" if lane.source == "build" else "download"
    print(f"gfpctx-ci: {lane.name}: kernel {kern.release} ({kern.figure(how)})\n"
          f"  image {kern.image}\n  KDIR  {kern.kdir}", flush=True)
    return kern


def prepare(lane: lanes.Lane, request: Request, dry_run: bool = False) -> Prepared:
    """Build or fetch what the boots need; for a dry run, only name it."""
    out, suite = request.out, request.mode == "suite"
    if suite:  # a wrong test name fails before the kernel is built
        select_tests(source_tests(), request.tests)
    if dry_run:
        image, kdir = ((request.kernel, request.kdir) if request.kernel and request.kdir
                       else kernel.planned_paths(lane))
        return Prepared(image, kdir, "?", out / "kselftest", out / "initramfs.cpio.gz",
                        tuple(source_tests()) if suite else (), build.SELFTESTS.parent,
                        qemu.accel_guess(lane.arch))
    out.mkdir(parents=True, exist_ok=True)
    kern = get_kernel(lane, request.kernel, request.kdir)
    install = out / "kselftest"
    # The target builds the module (TEST_GEN_MODS_DIR): one build, any mode.
    module = build.install_kselftest(install, kern.kdir)
    kselftest = install if suite else None
    initrd = initramfs.build(out / "initramfs", out / "initramfs.cpio.gz",
                             kern.release, module, kselftest)
    return Prepared(kern.image, kern.kdir, kern.release, install, initrd,
                    tuple(build.test_list(kselftest)) if kselftest else (), kselftest,
                    qemu.accel(lane.arch, kern.image))  # probe once, before the boots


def boot_plan(lane: lanes.Lane, prep: Prepared, out: Path, name: str, tests: list[str],
              append: list[str], timeouts: qemu.Timeouts, suffix: str = ".ktap") -> BootPlan:
    """One boot of the plan; its files OUT/<name>.console.log, .tables.txt
    and the second serial port's, OUT/<name><suffix>."""
    ktap = out / f"{name}{suffix}"
    argv = qemu.command(lane.arch, prep.image, prep.initrd, ktap, out / f"{name}.tables.txt",
                        append, prep.accel, lane.memory, extra=lane.qemu_args)
    return BootPlan(name, tuple(tests), tuple(argv), out / f"{name}.console.log", ktap,
                    timeouts)


def plan(lane: lanes.Lane, request: Request, prep: Prepared) -> Plan:
    """The boots of the request: their tests, command lines and limits."""
    out = request.out
    head = [f"console={lane.arch.console}", *lanes.COMMON_CMDLINE, *lane.cmdline]
    if request.mode == "bench":
        # The benchmark prints no KTAP: only the boot and the whole run time out.
        boots = [boot_plan(lane, prep, out, "bench", [],
                           [*head, "gfpctx_mode=bench", f"gfpctx_bench={request.bench_args}"],
                           qemu.Timeouts(boot_s=lane.boot_timeout_s,
                                         test_s=request.run_timeout_s,
                                         run_s=request.run_timeout_s), ".raw")]
        return Plan(lane, request, prep, tuple(boots))
    if request.mode == "bare":
        boots = [boot_plan(lane, prep, out, "bare", [], [*head, "gfpctx_mode=bare"],
                           qemu.Timeouts(boot_s=lane.boot_timeout_s,
                                         test_s=lane.boot_timeout_s,
                                         run_s=2 * lane.boot_timeout_s), ".raw")]
        return Plan(lane, request, prep, tuple(boots))
    tests = select_tests(list(prep.tests), request.tests)
    per_test = (request.test_timeout or test_timeout_s(prep.settings_root)) + TEST_MARGIN_S
    nprovoke = request.provoke_boots or lane.provoke_boots
    split = split_boots(tests, request.one_boot, request.clean_boots,
                        last_seconds(out) or typical_seconds(lane.provoke_sample),
                        nprovoke) or [("clean", [])]
    emulated = qemu.emulated_words(prep.accel)
    return Plan(lane, request, prep, tuple(
        boot_plan(lane, prep, out, name, boot_tests,
                  append_line(lane, boot_tests,
                              [*request.env, *boot_env(name, nprovoke, lane.provoke_sample),
                               *emulated],
                              request.test_timeout),
                  qemu.Timeouts(boot_s=lane.boot_timeout_s, test_s=per_test,
                                run_s=lane.boot_timeout_s + per_test * (len(boot_tests) + 1)))
        for name, boot_tests in split))


def show(p: Plan) -> None:
    """A dry run's output: what is built where, and each boot's command."""
    prep = p.prepared
    print(f"kernel {prep.image}\nKDIR   {prep.kdir}", flush=True)
    # The cached tree is not extracted for a dry run: named, not looked up.
    shell.echo(["make", "-C", f"<{lanes.SOURCE_PACKAGE}>/tools/testing/selftests",
                "TARGETS=gfpctx", f"KDIR={prep.kdir}", f"-j{kernel.jobs()}",
                f"INSTALL_PATH={prep.install}", "install"])
    kselftest = " and the kselftest install" if p.request.mode == "suite" else ""
    print(f"initramfs {prep.initrd} (busybox, /init, gfpctx.ko{kselftest})")
    for boot in p.boots:
        print(f"boot {boot.name}: {','.join(boot.tests) or '-'}", flush=True)
        shell.echo(list(boot.argv))


Booter = Callable[..., qemu.Boot]


def before_init_log(b: BootPlan) -> Path:
    """Where boot_once() keeps the console log of a boot that stopped
    before the guest's /init started."""
    return b.console.with_name(b.console.name.replace(".console.log", ".before-init.log"))


def boot_once(lane: str, b: BootPlan, boot: Booter,
              progress: Callable[[str], None] | None = None) -> qemu.Boot:
    """One boot of the plan; booted a second time, once, when the kernel
    stopped before /init started (no start marker: an Oops or a hang while
    the kernel itself boots, before any of the suite or the module ran:
    QEMU TCG's view of the kernel's boot-time text patching has given
    "Oops: int3" there, see Documentation/gfpctx.rst, Known problems).
    The first log is kept (before_init_log()) and the retry is said."""
    kept = before_init_log(b)
    kept.unlink(missing_ok=True)
    result = boot(list(b.argv), b.console, b.ktap, b.timeouts, progress)
    if result.boot_s is None and result.error:
        b.console.replace(kept)
        print(f"gfpctx-ci: {lane}/{b.name}: the kernel stopped before /init started "
              f"({result.error}); booting once more, the first console log is {kept}",
              flush=True)
        result = boot(list(b.argv), b.console, b.ktap, b.timeouts, progress)
    print(f"gfpctx-ci: {lane}/{b.name}: boot {fmt(result.boot_s)} s, suite "
          f"{fmt(result.suite_s)} s, init rc {result.init_rc}"
          + (f", ERROR {result.error}" if result.error else ""), flush=True)
    return result


def execute(p: Plan, boot: Booter = qemu.boot,
            progress: Callable[[str], None] | None = None) -> list[tuple[str, qemu.Boot]]:
    """Boot the plan's boots at the same time: a provoke boot mostly waits
    out __might_resched()'s one report per second, a clean script mostly
    runs on one vCPU or waits."""
    def one(b: BootPlan) -> qemu.Boot:
        return boot_once(p.lane.name, b, boot, progress)

    with ThreadPoolExecutor(max_workers=max(1, len(p.boots))) as pool:
        futures = [(b.name, pool.submit(one, b)) for b in p.boots]
        return [(name, future.result()) for name, future in futures]


def run(lane: lanes.Lane, request: Request, dry_run: bool = False, boot: Booter = qemu.boot,
        progress: Callable[[str], None] | None = None,
        prepared: Prepared | None = None) -> Run:
    """Prepare, plan, boot and judge (the suite: verdict()); a dry run
    prints the plan (show()) and boots nothing."""
    prep = prepared or prepare(lane, request, dry_run)
    p = plan(lane, request, prep)
    if dry_run:
        show(p)
        return Run(p, [], None)
    boots = execute(p, boot, progress)
    outcome = (verdict(request.out, lane.name, prep.release, boots)
               if request.mode == "suite" else None)
    return Run(p, boots, outcome)


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}"


NO_KTAP = "no KTAP output"


def verdict(out: Path, lane: str, release: str,
            boots: list[tuple[str, qemu.Boot]]) -> Outcome:
    """KTAP + splats of the boots into junit.xml and summary.txt."""
    from . import ktap, report, splat  # the verdict half, imported when needed
    results, splats, outcome = [], [], Outcome(lane, release)
    for name, b in boots:
        result = ktap.parse(b.ktap)
        if not qemu.KTAP_RESULT.search(b.ktap.encode()) and NO_KTAP not in result.errors:
            result.errors.append(NO_KTAP)
        if b.error:
            result.errors.append(b.error)
        if b.ktap.strip():
            accepted, said = build.kunit_parse(out / f"{name}.ktap")
            print(f"gfpctx-ci: {lane}/{name}: kunit.py parse: {said}", flush=True)
            if not accepted and not result.errors and result.ok():
                result.errors.append(f"kunit.py parse does not accept the KTAP: {said}")
        results.append((name, result))
        splats += splat.scan(b.console)
        outcome.errors += [f"{name}: {e}" for e in result.errors]
        outcome.errors += [f"{name}: {t.name}: {t.status}" for _, t in result.leaves()
                           if t.status in ktap.FAILING]
    bad = splat.unexpected(splats)
    outcome.errors += [f"splat {s.kind}: {s.title} in {s.function}" for s in bad]
    # a test run in several boots (the provoke boots' shares): the longest
    outcome.script_s = {}
    for _, b in boots:
        for name, seconds in b.script_s.items():
            outcome.script_s[name] = max(seconds, outcome.script_s.get(name, 0.0))
    outcome.counts = {k: sum(r.counts()[k] for _, r in results)
                      for k in ("passed", "failed", "skipped")}
    outcome.splats = f"{len(bad)}/{len(splats) - len(bad)}"
    outcome.boot_s = max((b.boot_s for _, b in boots if b.boot_s is not None), default=None)
    # concurrent boots: the suite took as long as the longest
    outcome.suite_s = max((b.suite_s for _, b in boots if b.suite_s is not None),
                          default=None)
    report.write_junit(out / "junit.xml", lane, results, splats)
    record_seconds(out, outcome.script_s)
    text = report.summary(lane, release, results, splats,
                          outcome.boot_s, outcome.suite_s, outcome.script_s)
    (out / "summary.txt").write_text(text)
    print(text, end="")
    return outcome


def failed(lane: str, err: Exception) -> Outcome:
    """A lane that could not be built, fetched or booted: a failed outcome."""
    text = os_error(err) if isinstance(err, OSError) else str(err)
    print(f"gfpctx-ci: {lane}: {text}", file=sys.stderr)
    return Outcome(lane, errors=[text])
