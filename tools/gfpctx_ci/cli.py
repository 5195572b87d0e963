"""gfpctx-ci: build or fetch a lane's kernel, build gfpctx.ko and the
kselftest target, boot under QEMU (a clean boot and, at the same time,
provoke boots that share warns.sh's and audit.sh's cells; or all in one
boot), and give a verdict from KTAP and the kernel log; or give that
verdict from logs a run or another system left (judge)."""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import NoReturn

from . import build, kernel, lanes, newer, pipeline, qemu, rulesdoc, settings, shell, templates
from .pipeline import Outcome, fmt
from .settings import SettingsError, os_error

# The documentation pages `lint` puts through docutils.
DOCS = tuple(build.REPO / "Documentation" / name for name in ("gfpctx.rst", "gfpctx-ci.rst"))


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
            raise SettingsError(f"no <boot>.ktap in {args.dir}")
        return args.dir.resolve().name, pairs
    if not args.console:
        raise SettingsError("give a lane's out/<lane> directory, or --console")
    return args.lane_name, [(JUDGED, args.console, args.ktap or args.console)]


def cmd_judge(args: argparse.Namespace) -> int:
    """The verdict of an earlier run's files, or of a console log and KTAP
    captured elsewhere (a board's serial log, a CI job's log): the same
    summary, JUnit XML and exit status as `run`."""
    import shutil
    import tempfile
    lane, pairs = judged_boots(args)
    boots = [(name, boot_from_files(console, ktap)) for name, console, ktap in pairs]
    release = next((m.group(1) for _, b in boots for m in [LINUX_VERSION.search(b.console)]
                    if m), "unknown")
    with tempfile.TemporaryDirectory(prefix="gfpctx-judge-") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for name, _, ktap in pairs:
            if (out / f"{name}.ktap").resolve() != ktap.resolve():
                shutil.copyfile(ktap, out / f"{name}.ktap")
        outcome = pipeline.verdict(out, lane, release, boots)
    return 0 if outcome.passed else 1


def cmd_record_fixture(args: argparse.Namespace) -> int:
    """One report (or windows of lines) of a console log, trimmed and its
    addresses hashed, as a fixture of tests/data."""
    from . import fixture, splat
    if bool(args.report) == bool(args.lines):
        raise SystemExit("gfpctx-ci: record-fixture: give --report KIND[:N] or --lines")
    try:
        text = args.log.read_text(errors="replace")
        if args.report:
            kind, _, nth = args.report.partition(":")
            if kind not in dict(splat.PATTERNS):
                raise fixture.FixtureError(f"{kind!r}: not a report kind of the scanner")
            if nth and not nth.isdigit():
                raise fixture.FixtureError(f"{nth!r}: want the report's number, 1 or more")
            keep = fixture.report_lines(text, kind, int(nth or 1), args.before)
        else:
            keep = fixture.ranges(args.lines)
        out = fixture.record(text, keep, args.max_lines)
        if args.output:
            args.output.write_text(out)
        else:
            sys.stdout.write(out)
    except fixture.FixtureError as err:
        raise SystemExit(f"gfpctx-ci: record-fixture: {args.log}: {err}") from None
    except OSError as err:
        raise SystemExit(f"gfpctx-ci: record-fixture: {err.filename}: {err.strerror}") from None
    reports = splat.scan(out)
    print(f"gfpctx-ci: record-fixture: {out.count(chr(10))} lines; "
          + (", ".join(f"{s.kind} in {s.function or '?'}"
                       f"{' (expected)' if s.expected else ''}" for s in reports)
             or "no report"), file=sys.stderr)
    return 0

def request(args: argparse.Namespace, lane: lanes.Lane) -> pipeline.Request:
    """The pipeline's request of run's (or check's) arguments."""
    return pipeline.Request(out=Path(args.out) / lane.name, kernel=args.kernel, kdir=args.kdir,
                            tests=args.tests, env=settings.parse_env(args.env),
                            test_timeout=args.test_timeout, one_boot=args.one_boot,
                            clean_boots=args.clean_boots or 1,
                            provoke_boots=args.provoke_boots)


# A lane whose kernel is out of reach here: the file its run leaves, the reason.
SKIPPED = "skipped.txt"
# A lane that cannot be built or fetched fails; check goes on to the next.
FAILURES = (kernel.KernelError, build.BuildError, shell.CommandError)


def safe_run(lane: lanes.Lane, req: pipeline.Request,
             failures: tuple[type[Exception], ...] = FAILURES) -> Outcome:
    """The pipeline's run, with a build or fetch failure (or any of
    failures) turned into a failed outcome, and a kernel source out of
    reach into a skipped one, whose reason is left in OUT/<lane>/SKIPPED
    for rules-doc."""
    (req.out / SKIPPED).unlink(missing_ok=True)
    try:
        outcome = pipeline.run(lane, req).outcome
        assert outcome is not None
        return outcome
    except newer.Unreachable as err:
        print(f"gfpctx-ci: {lane.name}: SKIP: {err}", file=sys.stderr)
        req.out.mkdir(parents=True, exist_ok=True)
        (req.out / SKIPPED).write_text(f"{err}\n")
        return Outcome(lane.name, skipped=str(err))
    except failures as err:
        return pipeline.failed(lane.name, err)


def cmd_run(args: argparse.Namespace) -> int:
    lane = lanes.get(args.lane)
    req = request(args, lane)
    if args.dry_run:
        pipeline.run(lane, req, dry_run=True)
        return 0
    outcome = safe_run(lane, req)
    for error in outcome.errors:
        print(f"gfpctx-ci: {lane.name}: FAIL: {error}", file=sys.stderr)
    if outcome.skipped:
        return 4  # kselftest's KSFT_SKIP
    return 0 if outcome.passed else 1


def cmd_check(args: argparse.Namespace) -> int:
    chosen = [lanes.get(name) for name in lanes.names(args.lanes)]
    requests = [(lane, request(args, lane)) for lane in chosen]  # all checked first
    outcomes = [safe_run(lane, req, (*FAILURES, OSError)) for lane, req in requests]
    rows: list[tuple[str, ...]] = [("lane", "kernel", "pass", "fail", "skip", "splats",
                                     "boot s", "suite s", "result")]
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
        if args.planned and not args.print:
            print("gfpctx-ci: kernel: --planned goes with --print kdir|image", file=sys.stderr)
            return 2
        if args.planned:
            image, kdir = kernel.planned_paths(lanes.get(args.lane))
            print(kdir if args.print == "kdir" else image)
        elif args.print:
            kern = kernel.get(lanes.get(args.lane), args.kernel, args.kdir)
            print(kern.kdir if args.print == "kdir" else kern.image)
        else:
            pipeline.get_kernel(lanes.get(args.lane), args.kernel, args.kdir)
    except (kernel.KernelError, shell.CommandError) as err:
        print(f"gfpctx-ci: {err}", file=sys.stderr)
        return 1
    return 0


def cmd_rules_doc(args: argparse.Namespace) -> int:
    """Check (or rewrite) the lanes' rules data against the tables their
    clean boots dumped, and Documentation's generated blocks against that
    data and whys.py."""
    dumps = {lane: Path(args.out) / lane / "clean.tables.txt"
             for lane in rulesdoc.DATA_LANES}
    missing = [lane for lane, path in dumps.items() if not path.is_file()]
    # a lane whose run skipped (its kernel out of reach) is not checked
    skipped = {lane: (path.parent / SKIPPED).read_text().strip() for lane, path in dumps.items()
               if lane in missing and (path.parent / SKIPPED).is_file()}
    for lane, why in skipped.items():
        print(f"gfpctx-ci: rules-doc: {lane}: not checked, its run skipped: {why}",
              file=sys.stderr)
    missing = [lane for lane in missing if lane not in skipped]
    present = {lane: p for lane, p in dumps.items() if lane not in missing and lane not in skipped}
    sources = sorted(build.MODULE_SOURCES.glob("*.[ch]"))
    older = rulesdoc.older_dumps(present, sources)
    if older:
        print(f"gfpctx-ci: rules-doc: {', '.join(str(dumps[lane]) for lane in older)} "
              f"older than the module's sources ({build.MODULE_SOURCES}): run "
              f"{', '.join(older)} again (make run LANE=<lane> TESTS=contexts.sh "
              f"OUT={args.out})", file=sys.stderr)
        return 1
    try:
        if args.write:
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
                  f"run the {', '.join(rulesdoc.DATA_LANES)} lanes first", file=sys.stderr)
            return 1
        stale_data = rulesdoc.stale_data(present, args.data)
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
              f"{', '.join(present)} lanes")
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


def mypy_check(cache: Path) -> list[str]:
    """mypy's findings in the runner, as mypy.ini asks (--strict)."""
    try:
        shell.run(["mypy", "--config-file", str(build.REPO / "mypy.ini"), "--cache-dir",
                   str(cache), "tools/gfpctx_ci"], cwd=build.REPO, quiet=True)
    except FileNotFoundError:
        return ["mypy missing: run tools/install-deps"]
    except shell.CommandError:
        return ["mypy: tools/gfpctx_ci"]
    return []


def cmd_lint(args: argparse.Namespace) -> int:
    """checkpatch --strict on every C source; shellcheck on the scripts;
    Documentation/gfpctx.rst and gfpctx-ci.rst through docutils; mypy on
    the runner;
    actionlint on the GitHub workflow and gitlab-ci-local
    on .gitlab-ci.yml, their lanes those of the lanes table; W=1 C=1
    (sparse) module builds against each Debian lane's headers, any
    warning being a failure."""
    problems = []
    try:
        problems += build.checkpatch()
        problems += build.shellcheck()
        problems += [p for doc in DOCS for p in build.rst_check(doc)]
        problems += mypy_check(Path(args.out) / "lint" / "mypy")
        problems += templates.check()
    except (kernel.KernelError, build.BuildError, shell.CommandError) as err:
        problems.append(str(err))
    for name in args.lanes.split(","):
        lane = lanes.get(name)
        try:
            kern = kernel.get(lane)
            # Debian 12's sparse is too old for the newest kernels' Kbuild.
            check = newer.sparse() if lane.kernel_source == "newest" else None
            problems += [f"{name}: {w}" for w in
                         build.strict_build(kern.kdir, Path(args.out) / "lint" / name, check)]
        except newer.Unreachable as err:
            print(f"gfpctx-ci: lint: {name}: SKIP: {err}", file=sys.stderr)
        except (kernel.KernelError, build.BuildError, shell.CommandError) as err:
            problems.append(f"{name}: {err}")
    for problem in problems:
        print(f"gfpctx-ci: lint: {problem}", file=sys.stderr)
    print(f"gfpctx-ci: lint: {'FAIL' if problems else 'clean'} "
          f"(checkpatch --strict; shellcheck; docutils; mypy; actionlint; gitlab-ci-local; "
          f"W=1 C=1 on {args.lanes})")
    return 1 if problems else 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Boot the lane once in bench mode: a table, plots and cost ratios;
    then, unless --no-suite, a bare boot and the whole suite, timed."""
    from . import bench, splat
    lane = lanes.get(args.lane)
    out = Path(args.out) / "bench"
    req = pipeline.Request(out=out, kernel=args.kernel, kdir=args.kdir, mode="bench",
                           bench_args=f"{args.count},{args.pairs}",
                           run_timeout_s=args.timeout)
    # the bare boot takes the bench boot's kernel and initramfs
    bare_req = pipeline.Request(out=out, kernel=args.kernel, kdir=args.kdir, mode="bare")
    suite_req = pipeline.Request(out=out / "suite" / lane.name, kernel=args.kernel,
                                 kdir=args.kdir)
    if args.dry_run:
        prep = pipeline.prepare(lane, req, dry_run=True)
        for one in (req, bare_req) if args.suite else (req,):
            pipeline.run(lane, one, dry_run=True, prepared=prep)
        if args.suite:
            pipeline.run(lane, suite_req, dry_run=True)
        return 0
    # the plots come last: say now, not after the boot, that they cannot
    if importlib.util.find_spec("matplotlib") is None:
        print(f"gfpctx-ci: bench: no matplotlib for {sys.executable} (Debian's "
              "python3-matplotlib, which make deps installs): run make bench, or "
              "/usr/bin/python3 tools/gfpctx-ci bench", file=sys.stderr)
        return 2
    try:
        prep = pipeline.prepare(lane, req)
    except FAILURES as err:
        pipeline.failed("bench", err)
        return 1

    def progress(line: str) -> None:
        if line.startswith("gfpctx-bench:"):
            print(line.rstrip(), flush=True)

    _, boot = pipeline.run(lane, req, progress=progress, prepared=prep).boots[0]
    result = bench.parse(boot.ktap)
    errors = result.errors + ([boot.error] if boot.error else [])
    errors += [f"splat {s.kind}: {s.title} in {s.function}"
               for s in splat.unexpected(splat.scan(boot.console))]
    if not result.rows:
        errors.append("no benchmark line from the guest")
    text = "\n".join([f"gfpctx bench: {lane.name} lane, kernel {prep.release}, "
                      f"count={args.count}, boot {fmt(boot.boot_s)} s, "
                      f"run {fmt(boot.suite_s)} s (ns per call)",
                      "", bench.table(result.rows), "", *bench.ratios(result)])
    if args.suite:
        try:
            suite = bench_suite(lane, prep, bare_req, suite_req)
        except (*FAILURES, OSError, SuiteError) as err:
            suite = []
            errors.append(os_error(err) if isinstance(err, OSError) else str(err))
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


class SuiteError(RuntimeError):
    """The bare boot or the suite of `bench` gave no timing."""


def bench_suite(lane: lanes.Lane, prep: pipeline.Prepared, bare_req: pipeline.Request,
                suite_req: pipeline.Request) -> list[str]:
    """The lane's whole suite (as `run` runs it) against a bare boot of the
    same kernel, in one run: a slowdown shows as a larger ratio whatever
    the machine's speed. Returns the report lines, or raises SuiteError."""
    _, bare = pipeline.run(lane, bare_req, prepared=prep).boots[0]
    if bare.error or bare.boot_s is None or bare.suite_s is None:
        raise SuiteError(f"bare boot: {bare.error or 'no start or end marker'}")
    bare_s = bare.boot_s + bare.suite_s
    outcome = pipeline.run(lane, suite_req).outcome
    assert outcome is not None
    if outcome.boot_s is None or outcome.suite_s is None:
        raise SuiteError(f"suite: {'; '.join(outcome.errors) or 'no timing'}")
    whole = outcome.boot_s + outcome.suite_s
    lines = [f"suite: {lane.name} lane, bare boot {bare_s:.1f} s; boot and suite "
             f"{whole:.1f} s = {whole / bare_s:.1f} x the bare boot"
             + ("" if outcome.passed else f" (FAILED: {outcome.errors[0]})")]
    lines += [f"  {name:<16} {seconds:6.1f} s = {seconds / bare_s:5.2f} x the bare boot"
              for name, seconds in outcome.script_s.items()]
    return lines


def cmd_lanes(args: argparse.Namespace) -> int:
    for name in args.names:
        lanes.get(name)
    print(lanes.table(args.names or None))
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
    top = Parser(prog="gfpctx-ci", description=__doc__)
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
    run.add_argument("--test-timeout", type=positive, metavar="S",
                     help="each test's kselftest timeout in seconds (default: the "
                     "target's settings file)")
    run.add_argument("--one-boot", action="store_true",
                     help="run every test in one boot, in the target's order, as kernel "
                     "CI runs run_kselftest.sh (default: the lane's provoke boots run "
                     "the provoking tests, each with a share of the cells, at the same "
                     "time as the clean boot, and take clean tests too)")
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
    kern.add_argument("--planned", action="store_true",
                      help="with --print: the path the lane's kernel has or will have in "
                      "the cache, downloading and building no kernel (the newest lanes "
                      "may refresh their apt lists, at most once a day)")
    kern.set_defaults(func=cmd_kernel)
    docs = sub.add_parser("rules-doc", help="check the rules data (tools/gfpctx_ci/rules/) "
                          "against the tables the lanes' runs dumped, and Documentation's "
                          "rules lists against that data")
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
    record = sub.add_parser(
        "record-fixture", help="cut one kernel report (or windows of lines) out of a "
        "console log, trimmed and its addresses hashed, as a test fixture",
        description="Cut a fixture for tests/data out of a console log: the report "
        "as the scanner finds it (with its expect window's markers) or the lines "
        "asked, and the log's 'Linux version' line; carriage returns, terminal "
        "escapes and trailing blanks dropped, and each address (ffff888..., "
        "[<ffffffff...>], 0x7ff...) replaced by a stable stand-in of the same "
        "width, as the kernel hashes %p. Fails if the scanner reads a report "
        "differently in the fixture than in the log.",
        epilog="example: tools/gfpctx-ci record-fixture out/debug/provoke.console.log "
        "--report lockdep --before 2 -o tests/data/recorded_debug_lockdep.log")
    record.add_argument("log", type=Path, help="the console log")
    record.add_argument("--report", metavar="KIND[:N]",
                        help="the Nth report of this kind (default: the first), "
                        "e.g. might_sleep, lockdep:2")
    record.add_argument("--lines", metavar="FIRST-LAST[,FIRST-LAST]",
                        help="these lines (1-based, inclusive) instead of a report")
    record.add_argument("--before", type=int, default=0, metavar="N",
                        help="with --report, also the N lines above its first (e.g. "
                        "lockdep's rule and blank line)")
    record.add_argument("--max-lines", type=int, default=120, metavar="N",
                        help="fail if the fixture is longer (default 120; 0: no limit)")
    record.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write the fixture here (default: standard output)")
    record.set_defaults(func=cmd_record_fixture)
    lint = sub.add_parser("lint", help="checkpatch --strict on the C sources, shellcheck on "
                          "the scripts, docutils on the documentation, mypy --strict on "
                          "the runner, actionlint and "
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
    bench.add_argument("--count", type=positive, default=3200,
                       help="allocations per job (default 3200, of which one in 64 is "
                       "timed; a tenth for 1 and 4 MiB)")
    bench.add_argument("--no-suite", dest="suite", action="store_false",
                       help="skip the suite part: the lane's whole suite timed against "
                       "a bare boot of its kernel")
    bench.add_argument("--pairs", type=positive, default=9,
                       help="alternated pairs for each cost ratio (default 9)")
    bench.add_argument("--timeout", type=positive, default=1800,
                       help="seconds the bench boot may take (default 1800)")
    bench.add_argument("--dry-run", action="store_true",
                       help="print the kernel, module and QEMU commands of the bench "
                       "boot, the bare boot and the suite; build and boot nothing")
    bench.set_defaults(func=cmd_bench)
    lanes_ = sub.add_parser("lanes", help="print the lanes table (each lane's architecture, "
                            "kernel, provoke boots) and the architectures' QEMU data")
    lanes_.add_argument("names", nargs="*", metavar="LANE",
                        help="only these lanes (an unknown name is an error, exit status 2)")
    lanes_.set_defaults(func=cmd_lanes)
    return top


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors are one line (exit status 2),
    as the runner's other errors, pointing at --help rather than printing
    the whole usage; its subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Run a command; a bad settings value or a file the command cannot
    read or write is one line on stderr and exit status 2, as argparse's
    usage errors."""
    args = parser().parse_args(argv)
    if getattr(args, "out", None):
        # make runs elsewhere (-C) with it: never relative
        args.out = str(Path(args.out).resolve())
    try:
        status: int = args.func(args)
    except SettingsError as err:
        print(f"gfpctx-ci: {args.command}: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): quiet, as Python's documentation
        # of signal handling advises, and no flush error at exit either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as err:
        print(f"gfpctx-ci: {args.command}: {os_error(err)}", file=sys.stderr)
        return 2
    except (kernel.KernelError, shell.CommandError) as err:
        # a kernel that cannot be had (a package missing, apt failing)
        print(f"gfpctx-ci: {args.command}: {err}", file=sys.stderr)
        return 1
    return status
