"""gfpctx-ci: build or fetch a lane's kernel, build gfpctx.ko and the
kselftest target, boot under QEMU (a clean boot and, at the same time,
provoke boots that share warns.sh's and audit.sh's cells; or all in one
boot), and give a verdict from KTAP and the kernel log; or give that
verdict from logs a run or another system left (judge)."""
from __future__ import annotations

import argparse
import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import build, initramfs, kernel, lanes, newer, qemu, rulesdoc, shell, templates

PROVOKE = ("warns.sh", "audit.sh")  # tests that provoke splats: their own boot
TEST_MARGIN_S = 60           # added to the kselftest timeout of each test
DEFAULT_TEST_TIMEOUT_S = 45  # kselftest's default when no settings file


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


def boot_env(name: str, provoke_boots: int) -> list[str]:
    """The test knobs of one boot: a provoke boot of several takes its
    share of the cells (GFPCTX_SHARD=I/N, gfpctx_lib.sh)."""
    if provoke_boots < 2:
        return []
    for i in range(1, provoke_boots + 1):
        if name == provoke_boot_name(i):
            return [f"GFPCTX_SHARD={i}/{provoke_boots}"]
    return []


SECONDS_FILE = "seconds.json"  # per test script, of the lane's last run
# The seconds each script took on the debug lane (make run with three
# provoke boots, 2026-11-30; a provoking script's share): the split's
# weights for a lane that has no seconds.json of its own, as on every CI
# run from a fresh clone. Only the balance of the boots depends on them.
TYPICAL_S = {
    "contexts.sh": 42.0, "ok_cells.sh": 90.5, "inject.sh": 27.7, "fuzz.sh": 39.2,
    "bad_input.sh": 32.2, "permissions.sh": 26.9, "lifecycle.sh": 95.3,
    "pressure.sh": 93.8, "timing.sh": 14.9, "races.sh": 123.6,
    "warns.sh": 149.1, "audit.sh": 89.5,
}


def last_seconds(out: Path) -> dict[str, float]:
    """The per-script seconds a previous run left in out, or nothing."""
    try:
        data = json.loads((out / SECONDS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in data.items()
            if isinstance(k, str) and isinstance(v, (int, float))}


def test_timeout_s(kselftest: Path | None) -> int:
    """The gfpctx target's per-test timeout (its `settings` file)."""
    settings = kselftest / "gfpctx" / "settings" if kselftest else None
    if settings and settings.is_file():
        for line in settings.read_text().splitlines():
            if line.startswith("timeout="):
                return int(line.split("=", 1)[1])
    return DEFAULT_TEST_TIMEOUT_S


def select_tests(available: list[str], wanted: str | None) -> list[str]:
    if not wanted:
        return available
    chosen = [t.strip() for t in wanted.split(",") if t.strip()]
    unknown = [t for t in chosen if t not in available]
    if unknown:
        raise SystemExit(f"gfpctx-ci: unknown test(s) {', '.join(unknown)}; "
                         f"installed: {', '.join(available)}")
    return chosen


# Test knobs a run may pass to the guest's tests: the kernel hands
# name=value words it does not know to init's environment.
ENV_NAME = re.compile(r"^GFPCTX_[A-Z0-9_]+$")
ENV_VALUE = re.compile(r"^[A-Za-z0-9_.,:+-]*$")


def parse_env(words: list[str] | None) -> list[str]:
    """--env NAME=VALUE words, checked: GFPCTX_* names, plain values."""
    out = []
    for word in words or []:
        name, eq, value = word.partition("=")
        if not eq or not ENV_NAME.match(name) or not ENV_VALUE.match(value):
            raise SystemExit(f"gfpctx-ci: --env {word!r}: want GFPCTX_NAME=value, the value "
                             "of letters, digits and _.,:+-")
        out.append(word)
    return out


def append_line(lane: lanes.Lane, tests: list[str], env: list[str] = (),
                test_timeout: int | None = None) -> list[str]:
    """The kernel command line: the lane's knobs, then the run's own."""
    timeout = [f"gfpctx_timeout={test_timeout}"] if test_timeout else []
    return [*lanes.COMMON_CMDLINE, *lane.cmdline, *lane.env, *env, *timeout,
            f"gfpctx_tests={','.join(tests)}"]


def get_kernel(lane: lanes.Lane, args: argparse.Namespace) -> kernel.Kernel:
    kern = kernel.get(lane, args.kernel, args.kdir)
    how = "build" if lane.source == "build" else "download"
    print(f"gfpctx-ci: {lane.name}: kernel {kern.release} ({kern.figure(how)})\n"
          f"  image {kern.image}\n  KDIR  {kern.kdir}", flush=True)
    return kern


def verdict(out: Path, lane: str, release: str,
            boots: list[tuple[str, qemu.Boot]]) -> Outcome:
    """KTAP + splats of the boots into junit.xml and summary.txt."""
    from . import ktap, report, splat  # the verdict half, imported when needed
    results, splats, outcome = [], [], Outcome(lane, release)
    for name, boot in boots:
        result = ktap.parse(boot.ktap)
        if not qemu.KTAP_RESULT.search(boot.ktap.encode()):
            result.errors.append("no KTAP output")
        if boot.error:
            result.errors.append(boot.error)
        if boot.ktap.strip():
            accepted, said = build.kunit_parse(out / f"{name}.ktap")
            print(f"gfpctx-ci: {lane}/{name}: kunit.py parse: {said}", flush=True)
            if not accepted and not result.errors and result.ok():
                result.errors.append(f"kunit.py parse does not accept the KTAP: {said}")
        results.append((name, result))
        splats += splat.scan(boot.console)
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
    if outcome.script_s:
        (out / SECONDS_FILE).write_text(json.dumps(outcome.script_s, indent=1) + "\n")
    text = report.summary(lane, release, results, splats,
                          outcome.boot_s, outcome.suite_s, outcome.script_s)
    (out / "summary.txt").write_text(text)
    print(text, end="")
    return outcome


def run_lane(args: argparse.Namespace, lane: lanes.Lane) -> Outcome:
    out = Path(args.out) / lane.name
    out.mkdir(parents=True, exist_ok=True)
    kern = get_kernel(lane, args)
    kselftest = out / "kselftest"
    module = build.install_kselftest(kselftest, kern.kdir)
    tests = select_tests(build.test_list(kselftest), args.tests)
    initrd = initramfs.build(out / "initramfs", out / "initramfs.cpio.gz",
                             kern.release, module, kselftest)
    per_test = (args.test_timeout or test_timeout_s(kselftest)) + TEST_MARGIN_S
    env = parse_env(args.env)
    nprovoke = args.provoke_boots or lane.provoke_boots
    plan = split_boots(tests, args.one_boot, args.clean_boots or 1,
                       last_seconds(out) or TYPICAL_S, nprovoke) or [("clean", [])]
    emulated = qemu.emulated_words(qemu.accel(kern.image))  # probe once, before the boots

    def one_boot(name: str, boot_tests: list[str]) -> qemu.Boot:
        timeouts = qemu.Timeouts(boot_s=lane.boot_timeout_s, test_s=per_test,
                                 run_s=lane.boot_timeout_s + per_test * (len(boot_tests) + 1))
        argv = qemu.command(kern.image, initrd, out / f"{name}.ktap",
                            out / f"{name}.tables.txt",
                            append_line(lane, boot_tests,
                                        [*env, *boot_env(name, nprovoke), *emulated],
                                        args.test_timeout),
                            lane.memory, extra=lane.qemu_args)
        boot = qemu.boot(argv, out / f"{name}.console.log", out / f"{name}.ktap", timeouts)
        print(f"gfpctx-ci: {lane.name}/{name}: boot {fmt(boot.boot_s)} s, suite "
              f"{fmt(boot.suite_s)} s, init rc {boot.init_rc}"
              + (f", ERROR {boot.error}" if boot.error else ""), flush=True)
        return boot

    # The boots run at the same time: the provoke boot mostly waits out
    # __might_resched()'s one report per second, a clean script mostly
    # runs on one vCPU or waits.
    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        futures = [(name, pool.submit(one_boot, name, boot_tests))
                   for name, boot_tests in plan]
        boots = [(name, future.result()) for name, future in futures]
    return verdict(out, lane.name, kern.release, boots)


def dry_run(args: argparse.Namespace, lane: lanes.Lane) -> None:
    """Print what run would do, building and booting nothing."""
    out = Path(args.out) / lane.name
    image, kdir = ((args.kernel, args.kdir) if args.kernel
                   else kernel.planned_paths(lane))
    print(f"kernel {image}\nKDIR   {kdir}", flush=True)
    # The cached tree is not extracted for a dry run: named, not looked up.
    shell.echo(["make", "-C", f"<{kernel.SOURCE_PACKAGE}>/tools/testing/selftests",
                "TARGETS=gfpctx", f"KDIR={kdir}",
                f"INSTALL_PATH={out / 'kselftest'}", "install"])
    tests = [t for t in (args.tests or "").split(",") if t]
    nprovoke = args.provoke_boots or lane.provoke_boots
    default = ([("all", ["<all>"])] if args.one_boot else
               [("clean", ["<all-but-" + "-".join(PROVOKE) + ">"])] +
               [(provoke_boot_name(i), list(PROVOKE)) for i in range(1, nprovoke + 1)])
    accel_args = qemu.accel_guess()
    for name, boot_tests in split_boots(tests, args.one_boot,
                                        args.clean_boots or 1,
                                        last_seconds(out) or TYPICAL_S, nprovoke) or default:
        shell.echo(qemu.command(image, out / "initramfs.cpio.gz", out / f"{name}.ktap",
                                out / f"{name}.tables.txt",
                                append_line(lane, boot_tests,
                                            [*parse_env(args.env),
                                             *boot_env(name, nprovoke),
                                             *qemu.emulated_words(accel_args)],
                                            args.test_timeout),
                                lane.memory, accel_args=accel_args, extra=lane.qemu_args))


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: want a whole number, 1 or more")
    return value


LINUX_VERSION = re.compile(r"Linux version (\S+)")
JUDGED = "judged"  # the boot name of a console log judged on its own


def boot_from_files(console: Path, ktap: Path) -> qemu.Boot:
    """A boot as the files it left: its console log and its KTAP (the same
    file where the KTAP went to the console). A console with the runner's
    start marker but not its end marker is a boot that did not finish."""
    text = console.read_text(errors="replace")
    end = qemu.END.search(text)
    error = None
    if qemu.START.search(text) and not end:
        error = "the console has the runner's start marker but not its end marker"
    return qemu.Boot(console=text, ktap=ktap.read_text(errors="replace"),
                     boot_s=None, suite_s=None,
                     init_rc=int(end.group(1)) if end else None, error=error)


def judged_boots(args: argparse.Namespace) -> tuple[str, list[tuple[str, Path, Path]]]:
    """(lane, [(boot, console, ktap)]) of judge's arguments: every
    <boot>.ktap of a lane's out/<lane> directory with its
    <boot>.console.log, or one console log and its KTAP."""
    if args.dir:
        pairs = [(k.stem, k.with_name(f"{k.stem}.console.log"), k)
                 for k in sorted(args.dir.glob("*.ktap"))]
        if not pairs:
            raise SystemExit(f"gfpctx-ci: judge: no <boot>.ktap in {args.dir}")
        return args.dir.resolve().name, pairs
    if not args.console:
        raise SystemExit("gfpctx-ci: judge: give a lane's out/<lane> directory, or --console")
    return args.lane_name, [(JUDGED, args.console, args.ktap or args.console)]


def cmd_judge(args: argparse.Namespace) -> int:
    """The verdict of an earlier run's files, or of a console log and KTAP
    captured elsewhere (a board's serial log, a CI job's log): the same
    summary, JUnit XML and exit status as `run`."""
    import shutil
    import tempfile
    lane, pairs = judged_boots(args)
    try:
        boots = [(name, boot_from_files(console, ktap)) for name, console, ktap in pairs]
    except OSError as err:
        raise SystemExit(f"gfpctx-ci: judge: {err.filename}: {err.strerror}") from None
    release = next((m.group(1) for _, b in boots for m in [LINUX_VERSION.search(b.console)]
                    if m), "unknown")
    with tempfile.TemporaryDirectory(prefix="gfpctx-judge-") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for name, _, ktap in pairs:
            if (out / f"{name}.ktap").resolve() != ktap.resolve():
                shutil.copyfile(ktap, out / f"{name}.ktap")
        outcome = verdict(out, lane, release, boots)
    return 0 if outcome.passed else 1


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}"


def safe_run(args: argparse.Namespace, lane: lanes.Lane) -> Outcome:
    """run_lane, with a build or fetch failure turned into a failed outcome,
    and a kernel source out of reach into a skipped one."""
    try:
        return run_lane(args, lane)
    except newer.Unreachable as err:
        print(f"gfpctx-ci: {lane.name}: SKIP: {err}", file=sys.stderr)
        return Outcome(lane.name, skipped=str(err))
    except (kernel.KernelError, build.BuildError, shell.CommandError) as err:
        print(f"gfpctx-ci: {lane.name}: {err}", file=sys.stderr)
        return Outcome(lane.name, errors=[str(err)])


def cmd_run(args: argparse.Namespace) -> int:
    lane = lanes.get(args.lane)
    if args.dry_run:
        dry_run(args, lane)
        return 0
    outcome = safe_run(args, lane)
    for error in outcome.errors:
        print(f"gfpctx-ci: {lane.name}: FAIL: {error}", file=sys.stderr)
    if outcome.skipped:
        return 4  # kselftest's KSFT_SKIP
    return 0 if outcome.passed else 1


def cmd_check(args: argparse.Namespace) -> int:
    outcomes = [safe_run(args, lanes.get(name)) for name in args.lanes.split(",")]
    rows = [("lane", "kernel", "pass", "fail", "skip", "splats", "boot s", "suite s",
             "result")]
    for o in outcomes:
        rows.append((o.lane, o.release, *(str(o.counts.get(k, "-")) for k in
                                           ("passed", "failed", "skipped")),
                     o.splats, fmt(o.boot_s), fmt(o.suite_s),
                     f"SKIP ({o.skipped[:60]})" if o.skipped else
                     "PASS" if o.passed else f"FAIL ({o.errors[0][:60]})"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print("\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows))
    return 0 if all(o.passed for o in outcomes) else 1


def cmd_kernel(args: argparse.Namespace) -> int:
    try:
        if args.print:
            kern = kernel.get(lanes.get(args.lane), args.kernel, args.kdir)
            print(kern.kdir if args.print == "kdir" else kern.image)
        else:
            get_kernel(lanes.get(args.lane), args)
    except (kernel.KernelError, shell.CommandError) as err:
        print(f"gfpctx-ci: {err}", file=sys.stderr)
        return 1
    return 0


def cmd_rules_doc(args: argparse.Namespace) -> int:
    """Check (or rewrite) the lanes' rules data against the tables their
    clean boots dumped, and Documentation's generated blocks against that
    data and whys.py."""
    dumps = {lane: Path(args.out) / lane / "clean.tables.txt"
             for lane in rulesdoc.DIFF_LANES}
    missing = [lane for lane, path in dumps.items() if not path.is_file()]
    try:
        if args.write:
            present = {lane: p for lane, p in dumps.items() if lane not in missing}
            rulesdoc.write_data(present, args.data)
            rulesdoc.write(args.doc, args.data)
            kept = (f"; kept the data of {', '.join(missing)} (no clean.tables.txt "
                    f"under {args.out})" if missing else "")
            print(f"gfpctx-ci: rules-doc: {args.data} written from "
                  f"{', '.join(present) or 'no lane'}{kept}; {args.doc} rendered")
            return 0
        if missing:
            print(f"gfpctx-ci: rules-doc: no tables from "
                  f"{', '.join(str(dumps[lane]) for lane in missing)}: "
                  f"run the {', '.join(rulesdoc.DIFF_LANES)} lanes first", file=sys.stderr)
            return 1
        stale_data = rulesdoc.stale_data(dumps, args.data)
        stale = rulesdoc.check(args.doc, args.data)
    except (OSError, ValueError) as err:
        print(f"gfpctx-ci: rules-doc: {err}", file=sys.stderr)
        return 1
    for lane in stale_data:
        print(f"gfpctx-ci: rules-doc: {rulesdoc.data_path(args.data, lane)} differs from "
              f"what the module reports on the {lane} lane; rerun with --write",
              file=sys.stderr)
    for name in stale:
        print(f"gfpctx-ci: rules-doc: {args.doc}: the {name} block differs from "
              f"what {args.data} and whys.py render; rerun with --write",
              file=sys.stderr)
    if not stale_data and not stale:
        print(f"gfpctx-ci: rules-doc: {args.data} and {args.doc} match the "
              f"{', '.join(dumps)} lanes")
    return 1 if stale_data or stale else 0


def cmd_rules(args: argparse.Namespace) -> int:
    """Answer from the checked-in rules data, booting nothing: per cell,
    each lane's verdict and why, and what each why means."""
    from . import query
    try:
        rules = rulesdoc.load(args.data)
        if not rules:
            raise query.QueryError(f"no rules data in {args.data}: run "
                                   "`tools/gfpctx-ci rules-doc --write` after the lanes")
        text = query.answer(rules, args.context, args.alloc, args.gfp, args.lane)
    except query.UnknownName as err:
        print(f"gfpctx-ci: rules: {err}", file=sys.stderr)
        return 2
    except (OSError, ValueError, query.QueryError) as err:
        print(f"gfpctx-ci: rules: {err}", file=sys.stderr)
        return 1
    print(text)
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    """checkpatch --strict on every C source; shellcheck on the scripts;
    Documentation/gfpctx.rst
    through docutils; actionlint on the GitHub workflow and gitlab-ci-local
    on .gitlab-ci.yml, their lanes those of the lanes table; W=1 C=1
    (sparse) module builds against each Debian lane's headers, any
    warning being a failure."""
    problems = []
    try:
        problems += build.checkpatch()
        problems += build.shellcheck()
        problems += build.rst_check(build.REPO / "Documentation/gfpctx.rst")
        problems += templates.check()
        for name in args.lanes.split(","):
            lane = lanes.get(name)
            kern = kernel.get(lane)
            # Debian 12's sparse is too old for the newest kernels' Kbuild.
            check = newer.sparse() if lane.kernel_source == "newest" else None
            problems += [f"{name}: {w}" for w in
                         build.strict_build(kern.kdir, Path(args.out) / "lint" / name, check)]
    except (kernel.KernelError, build.BuildError, shell.CommandError) as err:
        problems.append(str(err))
    for problem in problems:
        print(f"gfpctx-ci: lint: {problem}", file=sys.stderr)
    print(f"gfpctx-ci: lint: {'FAIL' if problems else 'clean'} "
          f"(checkpatch --strict; shellcheck; docutils; actionlint; gitlab-ci-local; "
          f"W=1 C=1 on {args.lanes})")
    return 1 if problems else 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Boot the lane once in bench mode: a table, plots and cost ratios."""
    from . import bench, splat
    lane = lanes.get(args.lane)
    out = Path(args.out) / "bench"
    out.mkdir(parents=True, exist_ok=True)
    try:
        kern = get_kernel(lane, args)
        module = build.install_kselftest(out / "kselftest", kern.kdir)
        initrd = initramfs.build(out / "initramfs", out / "initramfs.cpio.gz",
                                 kern.release, module, None)
    except (kernel.KernelError, build.BuildError, shell.CommandError) as err:
        print(f"gfpctx-ci: bench: {err}", file=sys.stderr)
        return 1
    # The benchmark prints no KTAP: only the boot and the whole run time out.
    timeouts = qemu.Timeouts(boot_s=lane.boot_timeout_s, test_s=args.timeout,
                             run_s=args.timeout)
    append = [*lanes.COMMON_CMDLINE, *lane.cmdline, "gfpctx_mode=bench",
              f"gfpctx_bench={args.count},{args.pairs}"]
    argv = qemu.command(kern.image, initrd, out / "bench.raw", out / "tables.txt", append,
                        lane.memory, extra=lane.qemu_args)

    def progress(line: str) -> None:
        if line.startswith("gfpctx-bench:"):
            print(line.rstrip(), flush=True)

    boot = qemu.boot(argv, out / "console.log", out / "bench.raw", timeouts, progress)
    result = bench.parse(boot.ktap)
    errors = result.errors + ([boot.error] if boot.error else [])
    errors += [f"splat {s.kind}: {s.title} in {s.function}"
               for s in splat.unexpected(splat.scan(boot.console))]
    if not result.rows:
        errors.append("no benchmark line from the guest")
    text = "\n".join([f"gfpctx bench: {lane.name} lane, kernel {kern.release}, "
                      f"count={args.count}, boot {fmt(boot.boot_s)} s, "
                      f"run {fmt(boot.suite_s)} s (ns per call)",
                      "", bench.table(result.rows), "", *bench.ratios(result)])
    if args.suite:
        try:
            suite = bench_suite(args, lane, kern, initrd, out)
        except (kernel.KernelError, build.BuildError, shell.CommandError) as err:
            suite = []
            errors.append(str(err))
        text += "\n\n" + "\n".join(suite)
    (out / "bench.txt").write_text(text + "\n")
    print(text)
    for size, over in bench.over_limit(result).items():
        print(f"gfpctx-ci: bench: WARNING: timing each call of kmalloc {bench.human(size)} "
              f"costs {over:.3f}x, not below {bench.OVERHEAD_LIMIT:.2f}: per-call figures "
              "of allocations this cheap are inflated by the clock reads", file=sys.stderr)
    if result.rows:
        for path in bench.plot(result.rows, out):
            print(f"gfpctx-ci: bench: wrote {path}")
    print(f"gfpctx-ci: bench: wrote {out / 'bench.txt'}")
    for error in errors:
        print(f"gfpctx-ci: bench: FAIL: {error}", file=sys.stderr)
    return 1 if errors else 0


def bench_suite(args: argparse.Namespace, lane: lanes.Lane, kern: kernel.Kernel,
                initrd: Path, out: Path) -> list[str]:
    """The lane's whole suite (as `run` runs it) against a bare boot of the
    same kernel, in one run: a slowdown shows as a larger ratio whatever
    the machine's speed. Returns the report lines, or raises BuildError."""
    timeouts = qemu.Timeouts(boot_s=lane.boot_timeout_s, test_s=lane.boot_timeout_s,
                             run_s=2 * lane.boot_timeout_s)
    append = [*lanes.COMMON_CMDLINE, *lane.cmdline, "gfpctx_mode=bare"]
    argv = qemu.command(kern.image, initrd, out / "bare.raw", out / "bare.tables.txt",
                        append, lane.memory, extra=lane.qemu_args)
    bare = qemu.boot(argv, out / "bare.console.log", out / "bare.raw", timeouts)
    if bare.error or bare.boot_s is None or bare.suite_s is None:
        raise build.BuildError(f"bare boot: {bare.error or 'no start or end marker'}")
    bare_s = bare.boot_s + bare.suite_s
    run_args = argparse.Namespace(out=str(out / "suite"), kernel=args.kernel, kdir=args.kdir,
                                  tests=None, env=None, test_timeout=None, one_boot=False,
                                  clean_boots=None, provoke_boots=None)
    outcome = run_lane(run_args, lane)
    if outcome.boot_s is None or outcome.suite_s is None:
        raise build.BuildError(f"suite: {'; '.join(outcome.errors) or 'no timing'}")
    whole = outcome.boot_s + outcome.suite_s
    lines = [f"suite: {lane.name} lane, bare boot {bare_s:.1f} s; boot and suite "
             f"{whole:.1f} s = {whole / bare_s:.1f} x the bare boot"
             + ("" if outcome.passed else f" (FAILED: {outcome.errors[0]})")]
    lines += [f"  {name:<16} {seconds:6.1f} s = {seconds / bare_s:5.2f} x the bare boot"
              for name, seconds in outcome.script_s.items()]
    return lines


def cmd_lanes(args: argparse.Namespace) -> int:
    print(lanes.table())
    return 0


def add_kernel_args(parser: argparse.ArgumentParser, lane: str = "debug") -> None:
    parser.add_argument("--lane", default=lane, choices=list(lanes.LANES),
                        help=f"the lane (default: {lane})")
    parser.add_argument("--kernel", type=Path, metavar="BZIMAGE",
                        help="this kernel image instead of the lane's (with --kdir)")
    parser.add_argument("--kdir", type=Path, metavar="DIR",
                        help="build tree of --kernel, to build the module against")


RULES_DATA = rulesdoc.DATA_DIR
RULES_DATA_HELP = "the lanes' rules data (default: tools/gfpctx_ci/rules/)"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="gfpctx-ci", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build, boot and run the gfpctx kselftests on one lane")
    add_kernel_args(run)
    run.add_argument("--out", default=str(build.REPO / "out"),
                     help="results go to OUT/<lane>/ (default: out/ in the repository)")
    run.add_argument("--tests", metavar="T1,T2",
                     help="run only these tests of the gfpctx target (e.g. contexts.sh)")
    run.add_argument("--env", action="append", metavar="GFPCTX_NAME=VALUE",
                     help="pass a knob to the guest's tests, e.g. GFPCTX_FUZZ_WRITES=100000 "
                     "(repeatable)")
    run.add_argument("--test-timeout", type=int, metavar="S",
                     help="each test's kselftest timeout in seconds (default: the "
                     "target's settings file)")
    run.add_argument("--one-boot", action="store_true",
                     help="run every test in one boot, in the target's order, as kernel "
                     "CI runs run_kselftest.sh (default: the provoking tests in a "
                     "second boot, at the same time)")
    run.add_argument("--clean-boots", type=positive, metavar="N",
                     help="spread the clean tests over N guests at once (default 1), "
                     "longest first by the seconds of the lane's last run")
    run.add_argument("--provoke-boots", type=positive, metavar="N",
                     help="share the provoked cells among N guests at once, each "
                     "with GFPCTX_SHARD=I/N (default: the lane's, see `lanes`)")
    run.add_argument("--dry-run", action="store_true",
                     help="print the kernel, module and QEMU commands; build and boot nothing")
    run.set_defaults(func=cmd_run)
    check = sub.add_parser("check", help="run every lane, print a table of lane results; "
                           "fails if any lane failed")
    check.add_argument("--lanes", default=",".join(lanes.LANES),
                       help="comma separated lanes (default: all)")
    check.add_argument("--out", default=str(build.REPO / "out"), help="as for run")
    check.set_defaults(func=cmd_check, tests=None, kernel=None, kdir=None, env=None,
                       test_timeout=None, one_boot=False, clean_boots=None,
                       provoke_boots=None)
    kern = sub.add_parser("kernel", help="fetch or build a lane's kernel only; print the "
                          "kernel image and KDIR paths")
    add_kernel_args(kern)
    kern.add_argument("--print", choices=("kdir", "image"),
                      help="print only this path (for scripts and make)")
    kern.set_defaults(func=cmd_kernel)
    docs = sub.add_parser("rules-doc", help="check the rules data (tools/gfpctx_ci/rules/) "
                          "against the tables the lanes' runs dumped, and Documentation's "
                          "rules tables against that data")
    docs.add_argument("--out", default=str(build.REPO / "out"), help="as for run")
    docs.add_argument("--doc", type=Path, default=build.REPO / "Documentation/gfpctx.rst",
                      help="the document (default: Documentation/gfpctx.rst)")
    docs.add_argument("--data", type=Path, default=RULES_DATA, metavar="DIR",
                      help=RULES_DATA_HELP)
    docs.add_argument("--write", action="store_true",
                      help="instead of checking, write the data of every lane that has a "
                      "dump under OUT (keeping the others') and render the document from it")
    docs.set_defaults(func=cmd_rules_doc)
    rules = sub.add_parser(
        "rules", help="may this allocator take this gfp in this context? each lane's "
        "verdict, why, kernel source and what to do instead, from the checked-in rules "
        "data (no VM)",
        description="Each lane's verdict for the cells asked, from the rules its module "
        "reported (checked in under tools/gfpctx_ci/rules/; no VM), then what each "
        "verdict and why code means, the kernel source the rule follows and what to "
        "do instead. Each option may be repeated or given a comma separated list; "
        "an option left out means all. A name none of the lanes knows is an error: "
        "one line listing the valid names, exit status 2.",
        epilog="example: tools/gfpctx-ci rules --context timer --alloc kmalloc "
        "--gfp GFP_KERNEL")
    rules.add_argument("--context", action="append", metavar="NAME[,NAME]",
                       help="execution context, e.g. timer, spinlock, shared_irq "
                       "(a request_irq() handler)")
    rules.add_argument("--alloc", action="append", metavar="NAME[,NAME]",
                       help="allocator, e.g. kmalloc, vmalloc, kvmalloc")
    rules.add_argument("--gfp", action="append", metavar="NAME[,NAME]",
                       help="gfp mask, e.g. GFP_KERNEL (case does not matter)")
    rules.add_argument("--lane", action="append", metavar="NAME[,NAME]",
                       help="lane, e.g. stock, rt, newest-rt")
    rules.add_argument("--data", type=Path, default=RULES_DATA, metavar="DIR",
                       help=RULES_DATA_HELP)
    rules.set_defaults(func=cmd_rules)
    judge = sub.add_parser("judge", help="the verdict of files a run left (out/<lane>) "
                           "or of a console log and KTAP captured elsewhere")
    judge.add_argument("dir", nargs="?", type=Path,
                       help="a lane's out/<lane> directory: each <boot>.ktap with "
                       "its <boot>.console.log")
    judge.add_argument("--console", type=Path, metavar="LOG",
                       help="a console (kernel) log captured elsewhere")
    judge.add_argument("--ktap", type=Path, metavar="FILE",
                       help="its KTAP (default: the console log itself, where "
                       "run_kselftest.sh printed to the console)")
    judge.add_argument("--lane", dest="lane_name", default="board", metavar="NAME",
                       help="the name the summary and JUnit give the logs (default: board)")
    judge.add_argument("--out", metavar="DIR", help="write summary.txt and junit.xml (and the KTAP, "
                       "for kunit.py) here (default: print only)")
    judge.set_defaults(func=cmd_judge)
    lint = sub.add_parser("lint", help="checkpatch --strict on the C sources, shellcheck on "
                          "the scripts, docutils on the documentation, actionlint and "
                          "gitlab-ci-local on the CI templates, W=1 C=1 (sparse) "
                          "builds of the module")
    lint.add_argument("--lanes", default="stock,rt,lts,newest,newest-rt",
                      help="lanes whose headers to build against "
                           "(default: stock,rt,lts,newest,newest-rt)")
    lint.add_argument("--out", default=str(build.REPO / "out"), help="as for run")
    lint.set_defaults(func=cmd_lint)
    bench = sub.add_parser("bench", help="boot a lane once and measure median and p99 ns "
                           "per allocation and free; table, plots, cost ratios")
    add_kernel_args(bench, lane="stock")
    bench.add_argument("--out", default=str(build.REPO / "out"),
                       help="results go to OUT/bench/ (default: out/ in the repository)")
    bench.add_argument("--count", type=int, default=3200,
                       help="allocations per job (default 3200, of which one in 64 is "
                       "timed; a tenth for 1 and 4 MiB)")
    bench.add_argument("--no-suite", dest="suite", action="store_false",
                       help="skip the suite part: the lane's whole suite timed against "
                       "a bare boot of its kernel")
    bench.add_argument("--pairs", type=int, default=9,
                       help="alternated pairs for each cost ratio (default 9)")
    bench.add_argument("--timeout", type=int, default=1800,
                       help="seconds the whole run may take (default 1800)")
    bench.set_defaults(func=cmd_bench)
    sub.add_parser("lanes", help="print the lanes table").set_defaults(func=cmd_lanes)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "out", None):
        # make runs elsewhere (-C) with it: never relative
        args.out = str(Path(args.out).resolve())
    return args.func(args)
