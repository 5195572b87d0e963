"""Tests of tools/gfpctx_ci/cli.py that build and boot nothing: the boot
split, test selection, timeouts, argument parsing, rules-doc, dry runs."""
from __future__ import annotations

import functools
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci import cli, kernel, lanes, newer, pipeline, qemu, rulesdoc, settings  # noqa: E402

RULES = ('context=task class=process alloc=kmalloc gfp=GFP_KERNEL verdict=ok why=-\n'
         'context=task class=process alloc=kmalloc gfp=GFP_ATOMIC verdict=ok why=-\n')
DOC = ''.join(f'.. rules-table-begin: {name}\nold\n.. rules-table-end: {name}\n\n'
              for name in (*rulesdoc.LEGENDS, *rulesdoc.LANES, *rulesdoc.DIFFERENCES))


def test_split_boots() -> None:
    # one test each: the provoke boot, 1 s ahead, gets no clean test
    assert pipeline.split_boots(['contexts.sh', 'warns.sh', 'inject.sh']) == [
        ('clean', ['contexts.sh', 'inject.sh']), ('provoke', ['warns.sh'])]


def test_split_boots_drops_empty_boots() -> None:
    assert pipeline.split_boots(['warns.sh']) == [('provoke', ['warns.sh'])]
    assert pipeline.split_boots(['contexts.sh']) == [('clean', ['contexts.sh'])]
    assert pipeline.split_boots([]) == []


def test_split_boots_provoke_boot_takes_clean_tests_first() -> None:
    tests = ['a.sh', 'b.sh', 'c.sh', 'd.sh', 'warns.sh', 'audit.sh']
    seconds = {'a.sh': 40.0, 'b.sh': 30.0, 'c.sh': 20.0, 'd.sh': 10.0,
               'warns.sh': 70.0, 'audit.sh': 10.0}
    # a 40 | provoke 80; b -> clean 70; c -> clean 90? no: 70 < 80, clean
    # 90; d -> provoke 90: the provoking tests stay last
    assert pipeline.split_boots(tests, seconds=seconds) == [
        ('clean', ['a.sh', 'b.sh', 'c.sh']),
        ('provoke', ['d.sh', 'warns.sh', 'audit.sh'])]


def test_split_boots_one_boot_keeps_the_order() -> None:
    tests = ['contexts.sh', 'warns.sh', 'inject.sh', 'audit.sh']
    assert pipeline.split_boots(tests, one_boot=True) == [('all', tests)]
    assert pipeline.split_boots([], one_boot=True) == []


def test_split_boots_shards_by_seconds() -> None:
    tests = ['a.sh', 'b.sh', 'c.sh', 'd.sh', 'warns.sh']
    seconds = {'a.sh': 10.0, 'b.sh': 50.0, 'c.sh': 20.0, 'd.sh': 25.0,
               'warns.sh': 60.0}
    # longest first to the least loaded: b | d, c (45) | and a to clean-2
    # too (45 < 50 < 60)
    assert pipeline.split_boots(tests, shards=2, seconds=seconds) == [
        ('clean', ['b.sh']), ('clean-2', ['a.sh', 'c.sh', 'd.sh']),
        ('provoke', ['warns.sh'])]
    # unknown seconds: one each, so in turn; the provoke boot, 1 s
    # ahead, gets one only when the others have caught up
    assert pipeline.split_boots(tests, shards=2) == [
        ('clean', ['a.sh', 'c.sh']), ('clean-2', ['b.sh', 'd.sh']),
        ('provoke', ['warns.sh'])]
    assert pipeline.split_boots([*tests, 'e.sh'], shards=2) == [
        ('clean', ['a.sh', 'c.sh']), ('clean-2', ['b.sh', 'd.sh']),
        ('provoke', ['e.sh', 'warns.sh'])]
    # never more shards than tests
    assert pipeline.split_boots(['a.sh'], shards=3) == [('clean', ['a.sh'])]


def test_split_boots_provoke_boots_share_the_cells() -> None:
    tests = ['a.sh', 'b.sh', 'warns.sh', 'audit.sh']
    seconds = {'a.sh': 100.0, 'b.sh': 30.0, 'warns.sh': 30.0, 'audit.sh': 10.0}
    # the seconds of a provoking test are its share's: each provoke boot
    # starts at 40 s; a -> clean (100), b -> provoke (70)
    assert pipeline.split_boots(tests, seconds=seconds, provoke_boots=3) == [
        ('clean', ['a.sh']), ('provoke', ['b.sh', 'warns.sh', 'audit.sh']),
        ('provoke-2', ['warns.sh', 'audit.sh']),
        ('provoke-3', ['warns.sh', 'audit.sh'])]
    assert pipeline.split_boots(['warns.sh'], provoke_boots=2) == [
        ('provoke', ['warns.sh']), ('provoke-2', ['warns.sh'])]
    # no provoking test, no provoke boot
    assert pipeline.split_boots(['a.sh'], provoke_boots=3) == [('clean', ['a.sh'])]
    # one boot: no sharing
    assert pipeline.split_boots(tests, one_boot=True, provoke_boots=3) == [('all', tests)]


def test_boot_env_names_the_shard() -> None:
    assert pipeline.boot_env('provoke', 3) == ['GFPCTX_SHARD=1/3']
    assert pipeline.boot_env('provoke-3', 3) == ['GFPCTX_SHARD=3/3']
    assert pipeline.boot_env('clean', 3) == []
    assert pipeline.boot_env('provoke', 1) == []
    assert pipeline.boot_env('provoke-4', 3) == []


def test_boot_env_samples_the_cells() -> None:
    # three boots of a third of the cells: shards 1, 2, 3 of 9
    assert pipeline.boot_env('provoke', 3, sample=3) == ['GFPCTX_SHARD=1/9']
    assert pipeline.boot_env('provoke-3', 3, sample=3) == ['GFPCTX_SHARD=3/9']
    assert pipeline.boot_env('clean', 3, sample=3) == []
    # one boot of a half
    assert pipeline.boot_env('provoke', 1, sample=2) == ['GFPCTX_SHARD=1/2']
    assert lanes.get('kasan').provoke_text() == '3 of 9'
    assert lanes.get('debug').provoke_text() == '5'


def test_provoke_boots_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ('0', '-1', 'two'):
        with pytest.raises(SystemExit):
            cli.parser().parse_args(['run', '--provoke-boots', bad])
        assert 'want a whole number, 1 or more' in capsys.readouterr().err
    assert cli.parser().parse_args(['run', '--provoke-boots', '2']).provoke_boots == 2


def test_last_seconds(tmp_path: Path) -> None:
    assert pipeline.last_seconds(tmp_path) == {}
    (tmp_path / pipeline.SECONDS_FILE).write_text('{"a.sh": 3, "b.sh": "x"}')
    assert pipeline.last_seconds(tmp_path) == {'a.sh': 3.0}
    (tmp_path / pipeline.SECONDS_FILE).write_text('not json')
    assert pipeline.last_seconds(tmp_path) == {}


def test_record_seconds_keeps_the_other_scripts(tmp_path: Path) -> None:
    pipeline.record_seconds(tmp_path, {})
    assert not (tmp_path / pipeline.SECONDS_FILE).exists()
    pipeline.record_seconds(tmp_path, {'a.sh': 3.0, 'b.sh': 4.0})
    pipeline.record_seconds(tmp_path, {'b.sh': 5.0})
    assert pipeline.last_seconds(tmp_path) == {'a.sh': 3.0, 'b.sh': 5.0}


def test_select_tests() -> None:
    available = ['contexts.sh', 'inject.sh', 'warns.sh']
    assert settings.select_tests(available, None) == available
    assert settings.select_tests(available, ' warns.sh , contexts.sh,') == [
        'warns.sh', 'contexts.sh']
    with pytest.raises(settings.SettingsError, match='unknown test.*nope.sh'):
        settings.select_tests(available, 'contexts.sh,nope.sh')
    with pytest.raises(settings.SettingsError, match='none named'):
        settings.select_tests(available, ',')


def test_test_timeout_s(tmp_path: Path) -> None:
    assert pipeline.test_timeout_s(None) == pipeline.DEFAULT_TEST_TIMEOUT_S
    assert pipeline.test_timeout_s(tmp_path) == pipeline.DEFAULT_TEST_TIMEOUT_S
    (tmp_path / 'gfpctx').mkdir()
    (tmp_path / 'gfpctx' / 'settings').write_text('# per-test\ntimeout=900\n')
    assert pipeline.test_timeout_s(tmp_path) == 900


def test_append_line() -> None:
    line = pipeline.append_line(cli.lanes.get('debug'), ['a.sh', 'b.sh'])
    assert line[0] == 'console=ttyS0'
    assert line[-1] == 'gfpctx_tests=a.sh,b.sh'


def test_parser_run() -> None:
    args = cli.parser().parse_args(['run', '--lane', 'rt', '--tests', 'a.sh'])
    assert (args.lane, args.tests, args.func) == ('rt', 'a.sh', cli.cmd_run)
    assert not args.dry_run and args.kernel is None


def test_parser_rejects_unknown_lane(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.parser().parse_args(['run', '--lane', 'nope'])
    assert exit_.value.code == 2
    assert 'nope' in capsys.readouterr().err


def test_parser_other_commands() -> None:
    p = cli.parser()
    args = p.parse_args(['kernel', '--print', 'kdir'])
    assert (args.print, args.lane, args.func) == ('kdir', 'debug', cli.cmd_kernel)
    args = p.parse_args(['rules-doc', '--write'])
    assert args.write and args.func == cli.cmd_rules_doc
    assert args.doc.name == 'gfpctx.rst'
    args = p.parse_args(['lint'])
    assert (args.lanes, args.func) == ('stock,rt,lts,newest,newest-rt', cli.cmd_lint)
    with pytest.raises(SystemExit):
        p.parse_args([])


def test_rules_doc_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc, data = tmp_path / 'gfpctx.rst', tmp_path / 'rules'
    doc.write_text(DOC)
    argv = ['rules-doc', '--out', str(tmp_path / 'out'), '--doc', str(doc), '--data', str(data)]
    assert cli.main(argv) == 1                       # no tables dumped yet
    assert f"run the {', '.join(rulesdoc.DATA_LANES)} lanes first" in capsys.readouterr().err
    for lane in rulesdoc.DATA_LANES:
        (tmp_path / 'out' / lane).mkdir(parents=True)
        (tmp_path / 'out' / lane / 'clean.tables.txt').write_text(RULES)
    assert cli.main(argv) == 1                       # no data, document stale
    err = capsys.readouterr().err
    assert f'{data}/stock.txt differs from what the module reports on the stock lane' in err
    assert 'the why block differs' in err and 'rerun with --write' in err
    assert cli.main([*argv, '--write']) == 0
    assert '- ``task`` (process):\n\n  - kmalloc: ok' in doc.read_text()
    assert (data / 'newest-debug.txt').read_text() == rulesdoc.data_text(
        'newest-debug', rulesdoc.parse(RULES))
    assert cli.main(argv) == 0
    # a lane's module now says otherwise: its data are stale, not the rest
    (tmp_path / 'out' / 'rt' / 'clean.tables.txt').write_text(RULES.replace('why=-', 'why=x'))
    capsys.readouterr()
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.count('differs') == 1 and 'rt.txt differs' in err


def test_rules_doc_write_keeps_the_data_of_lanes_not_dumped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc, data = tmp_path / 'gfpctx.rst', tmp_path / 'rules'
    doc.write_text(DOC)
    data.mkdir()
    (data / 'rt.txt').write_text(rulesdoc.data_text('rt', rulesdoc.parse(RULES)))
    (tmp_path / 'out' / 'stock').mkdir(parents=True)
    (tmp_path / 'out' / 'stock' / 'clean.tables.txt').write_text(RULES)
    assert cli.main(['rules-doc', '--out', str(tmp_path / 'out'), '--doc', str(doc),
                     '--data', str(data), '--write']) == 0
    out = capsys.readouterr().out
    assert 'written from stock; kept the data of lts, rt, newest' in out
    assert sorted(p.name for p in data.iterdir()) == ['rt.txt', 'stock.txt']
    assert rulesdoc.check(doc, data) == []


def test_rules_doc_refuses_dumps_older_than_the_module(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc, data = tmp_path / 'gfpctx.rst', tmp_path / 'rules'
    doc.write_text(DOC)
    for lane in ('stock', 'rt'):
        (tmp_path / 'out' / lane).mkdir(parents=True)
        (tmp_path / 'out' / lane / 'clean.tables.txt').write_text(RULES)
    os.utime(tmp_path / 'out' / 'rt' / 'clean.tables.txt', (0, 0))
    argv = ['rules-doc', '--out', str(tmp_path / 'out'), '--doc', str(doc), '--data', str(data)]
    for extra in ([], ['--write']):
        assert cli.main([*argv, *extra]) == 1
        err = capsys.readouterr().err
        assert f"{tmp_path}/out/rt/clean.tables.txt older than the module's sources" in err
        assert 'stock' not in err.split('run ', 1)[1]
    assert not data.exists() and doc.read_text() == DOC


def test_rules_command_answers_from_the_checked_in_data(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(['rules', '--context', 'timer', '--alloc', 'kmalloc',
                     '--gfp', 'GFP_KERNEL']) == 0
    out = capsys.readouterr().out
    assert out.startswith('timer kmalloc GFP_KERNEL\n')
    for lane in rulesdoc.DATA_LANES:
        assert f'  {lane} ' in out
    assert out.count(' warns  blocking-gfp-in-atomic') == len(rulesdoc.DATA_LANES)
    assert 'blocking-gfp-in-atomic (warns): ' in out and 'instead: ' in out


def test_rules_command_repeated_and_comma_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(['rules', '--context', 'timer,tasklet', '--context', 'ipi',
                     '--alloc', 'vmalloc', '--lane', 'rt', '--lane', 'newest-rt']) == 0
    heads = [line for line in capsys.readouterr().out.splitlines()
             if line.endswith(' vmalloc GFP_KERNEL')]
    assert heads == ['timer vmalloc GFP_KERNEL', 'tasklet vmalloc GFP_KERNEL',
                     'ipi vmalloc GFP_KERNEL']


def test_rules_command_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(['rules', '--context', 'timer', '--gfp', 'GFP_KERNAL']) == 2
    captured = capsys.readouterr()
    assert captured.out == ''
    err = captured.err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("gfpctx-ci: rules: unknown gfp 'GFP_KERNAL'; valid: GFP_KERNEL, ")


def test_rules_command_no_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(['rules', '--data', str(tmp_path)]) == 1
    assert 'no rules data in' in capsys.readouterr().err


def test_rules_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(['rules', '--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert 'no VM' in text and 'comma separated list' in text
    assert 'exit status 2' in text and '--context timer --alloc kmalloc --gfp GFP_KERNEL' in text


def dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[str, list[str]]:
    """(stdout, QEMU command lines) of `run --dry-run` with a kernel of
    tmp_path and the extra arguments."""
    monkeypatch.setenv('GFPCTX_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setenv('GFPCTX_ACCEL', 'tcg')
    assert cli.main(['run', '--dry-run', '--kernel', str(tmp_path / 'bzImage'),
                     '--kdir', str(tmp_path / 'kdir'), '--out', str(tmp_path / 'out'),
                     *extra]) == 0
    captured = capsys.readouterr()
    return captured.out, [line for line in captured.err.splitlines() if 'qemu-system' in line]


def test_dry_run_prints_both_boots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out, qemu_lines = dry_run(tmp_path, monkeypatch, capsys,
                              '--tests', 'contexts.sh,warns.sh')
    assert f'kernel {tmp_path}/bzImage' in out
    # the debug lane's provoke boots share the cells
    assert len(qemu_lines) == 1 + cli.lanes.DEBUG_PROVOKE_BOOTS
    assert 'gfpctx_tests=contexts.sh' in qemu_lines[0]
    assert 'out/debug/clean.ktap' in qemu_lines[0]
    assert 'GFPCTX_SHARD' not in qemu_lines[0]
    assert 'gfpctx_tests=warns.sh' in qemu_lines[1]
    assert 'out/debug/provoke.ktap' in qemu_lines[1]
    assert f'GFPCTX_SHARD=1/{cli.lanes.DEBUG_PROVOKE_BOOTS}' in qemu_lines[1]
    assert 'out/debug/provoke-2.ktap' in qemu_lines[2]
    assert not (tmp_path / 'out').exists()            # nothing built


def test_emulated_guests_get_the_nmi_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    _, qemu_lines = dry_run(tmp_path, monkeypatch, capsys, '--tests', 'contexts.sh')
    assert f'gfpctx_nmi_longest_ns={cli.qemu.TCG_NMI_LONGEST_NS}' in qemu_lines[0]
    assert cli.qemu.emulated_words(cli.qemu.KVM) == []


def test_dry_run_provoke_boots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    _, qemu_lines = dry_run(tmp_path, monkeypatch, capsys,
                            '--tests', 'warns.sh', '--provoke-boots', '1')
    assert len(qemu_lines) == 1 and 'GFPCTX_SHARD' not in qemu_lines[0]


def test_relative_out_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # make -C elsewhere must see the same out/: main() resolves it.
    monkeypatch.chdir(tmp_path)
    assert cli.main(['rules-doc', '--out', 'out']) == 1
    assert str(tmp_path / 'out' / 'stock' / 'clean.tables.txt') in capsys.readouterr().err


def test_rst_check_reports_a_broken_document(tmp_path: Path) -> None:
    pytest.importorskip('docutils', reason='python3-docutils not installed')
    from gfpctx_ci import build
    good = build.REPO / 'Documentation' / 'gfpctx.rst'
    assert build.rst_check(good) == []
    bad = build.REPO / 'out' / 'broken.rst'
    bad.parent.mkdir(exist_ok=True)
    bad.write_text('Title\n=====\n\n`unclosed reference_\n\n.. unknown-directive::\n')
    try:
        assert build.rst_check(bad)
    finally:
        bad.unlink()


def test_env_words_go_on_the_kernel_command_line() -> None:
    env = settings.parse_env(['GFPCTX_FUZZ_WRITES=100000', 'GFPCTX_FUZZ_SEED=7'])
    line = pipeline.append_line(cli.lanes.get('debug'), ['fuzz.sh'], env)
    assert line[-3:] == ['GFPCTX_FUZZ_WRITES=100000', 'GFPCTX_FUZZ_SEED=7',
                         'gfpctx_tests=fuzz.sh']


@pytest.mark.parametrize('word', ['FOO=1', 'GFPCTX_X', 'GFPCTX_X=a b', 'GFPCTX_X=$(id)',
                                  'gfpctx_x=1'])
def test_env_words_are_checked(word: str) -> None:
    with pytest.raises(settings.SettingsError, match='want GFPCTX_NAME=value'):
        settings.parse_env([word])


CLEAN_KTAP = ('TAP version 13\n1..1\n# selftests: gfpctx: contexts.sh\n'
              '# TAP version 13\n# 1..1\n# ok 1 module loads\n'
              '# # Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n'
              'ok 1 selftests: gfpctx: contexts.sh\n')
CONSOLE = ('[    0.000000] Linux version 6.12.117-gfpctx-debug (root@vm) #1\n'
           'gfpctx-ci: start release=6.12.117-gfpctx-debug cpus=2 uptime=3.00\n'
           '{splat}gfpctx-ci: end rc=0\n')
WARNING = ('[    5.000000] WARNING: CPU: 1 PID: 90 at kernel/foo.c:1 foo+0x1/0x2\n'
           '[    5.000001] Call Trace:\n[    5.000002]  <TASK>\n'
           '[    5.000003]  bar+0x1/0x2\n[    5.000004]  </TASK>\n'
           '[    5.000005] ---[ end trace 0000000000000000 ]---\n')


def judge_dir(tmp_path: Path, console: str, ktap: str = CLEAN_KTAP) -> Path:
    lane = tmp_path / 'out' / 'debug'
    lane.mkdir(parents=True)
    (lane / 'clean.ktap').write_text(ktap)
    (lane / 'clean.console.log').write_text(console)
    return lane


def test_judge_gives_the_run_verdict(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    lane = judge_dir(tmp_path, CONSOLE.format(splat=''))
    assert cli.main(['judge', str(lane)]) == 0
    out = capsys.readouterr().out
    assert 'lane     debug' in out and 'kernel   6.12.117-gfpctx-debug' in out
    assert 'boot     -' in out and out.endswith('RESULT: PASS\n')
    assert sorted(p.name for p in lane.iterdir()) == ['clean.console.log', 'clean.ktap']


def test_judge_without_linux_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    # a board's log judged on a host without linux-source-6.12: the same
    # verdict, kunit.py's second opinion said not to have run
    def missing() -> Path:
        raise kernel.KernelError('linux-source-6.12 is not installed: run tools/install-deps')
    monkeypatch.setattr('gfpctx_ci.kernel.selftest_tree', missing)
    lane = judge_dir(tmp_path, CONSOLE.format(splat=''))
    assert cli.main(['judge', str(lane)]) == 0
    out = capsys.readouterr().out
    assert 'kunit.py parse: not run: linux-source-6.12 is not installed' in out
    assert out.endswith('RESULT: PASS\n')
    lane = judge_dir(tmp_path / 'bad', CONSOLE.format(splat=WARNING))
    assert cli.main(['judge', str(lane)]) == 1


def test_judge_fails_an_unexpected_splat(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    lane = judge_dir(tmp_path, CONSOLE.format(splat=WARNING))
    assert cli.main(['judge', str(lane), '--out', str(tmp_path / 'j')]) == 1
    out = capsys.readouterr().out
    assert 'SPLAT  warning: WARNING: CPU: 1 PID: 90 at kernel/foo.c:1 foo+0x1/0x2 ' \
           'in foo (console line 3; trace: bar)' in out
    assert (tmp_path / 'j' / 'junit.xml').is_file()
    assert out.endswith((tmp_path / 'j' / 'summary.txt').read_text())


def test_judge_fails_a_boot_that_did_not_finish(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    lane = judge_dir(tmp_path, CONSOLE.format(splat='').replace('gfpctx-ci: end rc=0\n', ''))
    assert cli.main(['judge', str(lane)]) == 1
    assert "KTAP   clean: the console has the runner's start marker but not its end " \
           "marker" in capsys.readouterr().out


def test_judge_a_console_with_its_ktap_inside(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # a board's serial log: kernel lines and run_kselftest.sh's KTAP, no markers
    log = tmp_path / 'serial.log'
    log.write_text('[    0.000000] Linux version 6.1.0-57-amd64 (x) #1\n'
                   + CLEAN_KTAP.replace('# ok 1 module loads\n',
                                        '# ok 1 module loads\n[    9.1] eth0: link up\n'))
    assert cli.main(['judge', '--console', str(log), '--lane', 'lava']) == 0
    out = capsys.readouterr().out
    assert 'lane     lava' in out and 'kernel   6.1.0-57-amd64' in out
    assert 'passed   1' in out


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """stderr of a command that must fail with exit status 2 and one line."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f'gfpctx-ci: {argv[0]}: '), err
    return err[0]


def test_judge_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert 'no <boot>.ktap in' in one_line_error(capsys, ['judge', str(tmp_path)])
    assert 'give a lane' in one_line_error(capsys, ['judge'])
    assert one_line_error(capsys, ['judge', '--console', str(tmp_path / 'nope.log')]) \
        == f'gfpctx-ci: judge: {tmp_path}/nope.log: No such file or directory'
    lane = judge_dir(tmp_path, CONSOLE.format(splat=''))
    (tmp_path / 'file').write_text('')
    assert 'Not a directory' in one_line_error(
        capsys, ['judge', str(lane), '--out', str(tmp_path / 'file' / 'j')])


def test_judge_says_no_ktap_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lane = judge_dir(tmp_path, CONSOLE.format(splat=''), ktap='')
    assert cli.main(['judge', str(lane)]) == 1
    assert capsys.readouterr().out.count('no KTAP output') == 1


def test_settings_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    run = ['run', '--dry-run', '--out', str(tmp_path / 'out')]
    kernel = ['--kernel', str(tmp_path / 'bzImage'), '--kdir', str(tmp_path / 'kdir')]
    assert "unknown test(s) nosuch.sh; the target has: contexts.sh" in one_line_error(
        capsys, [*run, *kernel, '--tests', 'nosuch.sh'])
    assert 'want GFPCTX_NAME=value' in one_line_error(capsys, [*run, *kernel, '--env', 'X=1'])
    assert '--kernel and --kdir go together' in one_line_error(
        capsys, [*run, '--kernel', str(tmp_path / 'bzImage')])
    assert "unknown lane 'typo'; lanes: debug," in one_line_error(
        capsys, ['check', '--lanes', 'stock,typo'])
    assert "unknown lane 'typo'" in one_line_error(capsys, ['lanes', 'rt', 'typo'])
    monkeypatch.setenv('GFPCTX_ACCEL', 'kwm')
    assert "GFPCTX_ACCEL='kwm': want kvm or tcg" in one_line_error(capsys, [*run, *kernel])
    monkeypatch.setenv('GFPCTX_ACCEL', 'tcg')
    monkeypatch.setenv('GFPCTX_CACHE', ' ')
    assert 'GFPCTX_CACHE is empty' in one_line_error(capsys, [*run, *kernel])


def test_a_file_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / 'file').write_text('')
    out = tmp_path / 'file' / 'out'
    assert one_line_error(capsys, ['run', '--tests', 'contexts.sh', '--out', str(out)]) \
        == f'gfpctx-ci: run: {out}/debug/skipped.txt: Not a directory'


def fake_prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Stub the building half of the pipeline (a kernel of tmp_path, the
    target installed as its source lists it) and its boots; return the
    QEMU command lines the run boots."""
    from gfpctx_ci import build, initramfs, kernel, qemu
    image, kdir = tmp_path / 'bzImage', tmp_path / 'kdir'
    monkeypatch.setattr(kernel, 'get', lambda lane, i, k: kernel.Kernel(
        image, kdir, '6.12.0-test', 0.0, True))

    def install(path: Path, kdir: Path) -> Path:
        (path / 'gfpctx').mkdir(parents=True)
        (path / 'kselftest-list.txt').write_text(
            ''.join(f'gfpctx:{t}\n' for t in pipeline.source_tests()))
        (path / 'gfpctx' / 'settings').write_text(
            (build.SELFTESTS / 'settings').read_text())
        return path / build.MODULE_KO
    monkeypatch.setattr(build, 'install_kselftest', install)
    monkeypatch.setattr(initramfs, 'build', lambda stage, initrd, *rest: initrd)
    booted: list[list[str]] = []

    def boot(argv: list[str], *rest: object) -> qemu.Boot:
        booted.append(argv)
        return qemu.Boot(console='', ktap='', boot_s=1.0, suite_s=1.0, init_rc=0, error=None)
    monkeypatch.setattr(pipeline, 'run', functools.partial(pipeline.run, boot=boot))
    return booted


@pytest.mark.parametrize('extra', [(), ('--tests', 'warns.sh,contexts.sh'), ('--one-boot',),
                                   ('--clean-boots', '2', '--env', 'GFPCTX_RACES=3')])
def test_dry_run_prints_what_run_boots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str],
                                       extra: tuple[str, ...]) -> None:
    _, printed = dry_run(tmp_path, monkeypatch, capsys, *extra)
    booted = fake_prepared(tmp_path, monkeypatch)
    assert cli.main(['run', '--kernel', str(tmp_path / 'bzImage'),
                     '--kdir', str(tmp_path / 'kdir'), '--out', str(tmp_path / 'out'),
                     *extra]) == 1                  # the stubbed boots give no KTAP
    assert booted
    assert sorted(booted) == sorted(shlex.split(line[2:]) for line in printed)


def test_bench_dry_run_prints_what_bench_boots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv('GFPCTX_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setenv('GFPCTX_ACCEL', 'tcg')
    argv = ['bench', '--kernel', str(tmp_path / 'bzImage'), '--kdir', str(tmp_path / 'kdir'),
            '--out', str(tmp_path / 'out'), '--count', '64']
    assert cli.main([*argv, '--dry-run']) == 0
    printed = [shlex.split(line[2:]) for line in capsys.readouterr().err.splitlines()
               if line.startswith('$ qemu-system')]
    booted = fake_prepared(tmp_path, monkeypatch)
    assert cli.main(argv) == 1                      # the stubbed boots give no KTAP
    # the bench boot, the bare boot, then the suite's clean and provoke boots
    assert [argv[argv.index('-append') + 1].split()[-3] for argv in booted[:2]] == [
        'gfpctx_bench=64,9', 'gfpctx_mode=bare']
    assert len(booted) == 4 and sorted(booted) == sorted(printed)


def test_bench_without_matplotlib_says_so_before_booting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # run by a python3 without Debian's python3-matplotlib (a pyenv's):
    # a one-line error at once, no boot and no traceback after it
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'matplotlib' else find_spec(name, *a))
    booted = fake_prepared(tmp_path, monkeypatch)
    assert cli.main(['bench', '--kernel', str(tmp_path / 'bzImage'),
                     '--kdir', str(tmp_path / 'kdir'), '--out', str(tmp_path / 'out')]) == 2
    assert booted == []
    err = capsys.readouterr().err
    assert 'gfpctx-ci: bench: no matplotlib for ' in err and 'make bench' in err


RECORDED_LANE = Path(__file__).resolve().parent / 'data' / 'judge' / 'debug'


def test_judge_recorded_lane_passes(capsys: pytest.CaptureFixture[str]) -> None:
    # the debug lane's out/ of a real run, trimmed (tests/data/README)
    assert cli.main(['judge', str(RECORDED_LANE)]) == 0
    out = capsys.readouterr().out
    assert 'lane     debug\nkernel   6.12.117-gfpctx-debug\npassed   1189\n' \
           'failed   0\nskipped  2\nsplats   0 unexpected, 6 expected\n' in out
    assert out.endswith('RESULT: PASS\n')


def test_judge_recorded_lane_with_a_planted_report_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a recorded WARNING, without its expect window, in the clean boot
    lane = tmp_path / 'debug'
    shutil.copytree(RECORDED_LANE, lane)
    report = [line for line in (RECORDED_LANE.parent.parent / 'recorded_debug_warning.log')
              .read_text().splitlines(keepends=True)
              if 'gfpctx-expect' not in line and 'Linux version' not in line]
    console = (lane / 'clean.console.log').read_text().splitlines(keepends=True)
    console[300:300] = report
    (lane / 'clean.console.log').write_text(''.join(console))
    assert cli.main(['judge', str(lane)]) == 1
    out = capsys.readouterr().out
    assert 'splats   1 unexpected, 6 expected' in out
    assert 'SPLAT  warning: WARNING: CPU: 1 PID: 2101 at kernel/sched/core.c:8654 ' \
           '__might_sleep+0x4b/0x5e in __might_sleep (console line 303; trace: ' in out
    assert out.endswith('RESULT: FAIL\n')


def test_bench_help_names_its_own_default_lane(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.parser().parse_args(['bench']).lane == 'stock'
    with pytest.raises(SystemExit):
        cli.parser().parse_args(['bench', '--help'])
    assert 'the lane (default: stock)' in ' '.join(capsys.readouterr().out.split())
    assert cli.parser().parse_args(['run']).lane == 'debug'


def test_typical_seconds_cover_the_target() -> None:
    """Every script of the target has a typical time, and no other name."""
    makefile = (Path(__file__).resolve().parents[1] / 'selftests/gfpctx/Makefile').read_text()
    progs = makefile.split('TEST_PROGS :=', 1)[1].split('TEST_FILES', 1)[0]
    assert set(pipeline.TYPICAL_S) == set(progs.replace('\\', ' ').split())
    assert all(s > 0 for s in pipeline.TYPICAL_S.values())


def test_make_fails_fast_on_a_lane_typo() -> None:
    """make run LANE=typo stops before make deps installs anything."""
    import subprocess
    repo = Path(__file__).resolve().parents[1]
    make = ['make', '-n', '--no-print-directory', '-C', str(repo)]
    for goal, setting in (('run', 'LANE=typo'), ('check', 'LANES=rt,typo'),
                          ('bench', 'BENCH_LANE=typo')):
        proc = subprocess.run([*make, goal, setting], capture_output=True, text=True)
        assert proc.returncode == 2 and proc.stdout == '', (goal, proc.stdout)
        assert "gfpctx-ci: lanes: unknown lane 'typo'; lanes: debug," in proc.stderr
    proc = subprocess.run([*make, 'run', 'LANE=rt'], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith('tools/install-deps\n')


def test_source_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--tests names are checked against the target's Makefile, as lib.mk reads it."""
    assert pipeline.source_tests()[0] == 'contexts.sh'
    from gfpctx_ci import build
    monkeypatch.setattr(build, 'SELFTESTS', tmp_path)
    (tmp_path / 'Makefile').write_text('TEST_PROGS := a.sh \\\n\tb.sh\nTEST_FILES := x.sh\n'
                                       'TEST_PROGS += c.sh\n')
    assert pipeline.source_tests() == ['a.sh', 'b.sh', 'c.sh']
    (tmp_path / 'Makefile').write_text('TEST_FILES := x.sh\n')
    with pytest.raises(settings.SettingsError, match='no TEST_PROGS'):
        pipeline.source_tests()


def test_a_closed_pipe_is_quiet() -> None:
    # `gfpctx-ci rules ... | head -n 1`: no traceback, no error line
    tool = Path(__file__).resolve().parents[1] / 'tools' / 'gfpctx-ci'
    proc = subprocess.Popen([sys.executable, str(tool), 'rules'],  # 600 KB
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 1 and err == b'', err


def test_kernel_planned_needs_print(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(['kernel', '--lane', 'stock', '--planned']) == 2
    assert '--planned goes with --print' in capsys.readouterr().err


def test_kernel_planned_fetches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv('GFPCTX_CACHE', str(tmp_path))
    monkeypatch.setattr('gfpctx_ci.kernel.resolve',
                        lambda lane: ['linux-image-9.9.9-amd64-unsigned'])
    monkeypatch.setattr('gfpctx_ci.kernel.get', functools.partial(pytest.fail, 'fetched'))
    assert cli.main(['kernel', '--lane', 'stock', '--print', 'kdir', '--planned']) == 0
    assert capsys.readouterr().out == \
        f'{tmp_path}/debian/9.9.9-amd64/root/usr/src/linux-headers-9.9.9-amd64\n'
    assert list(tmp_path.iterdir()) == []


def test_make_clean_without_a_kernel_tree_downloads_nothing(tmp_path: Path) -> None:
    # `make clean` on a host without headers once fetched the stock lane's
    if Path(f'/lib/modules/{os.uname().release}/build').exists():
        pytest.skip('the running kernel has headers here: make clean takes them')
    repo = Path(__file__).resolve().parents[1]
    cache = tmp_path / 'cache'
    env = {'PATH': '/usr/bin:/bin', 'GFPCTX_CACHE': str(cache), 'HOME': str(tmp_path)}
    out = subprocess.run(['make', '-s', '-C', str(repo), 'clean', 'KDIR=',
                          f'OUT={tmp_path / "out"}'], env=env, capture_output=True, text=True, check=True)
    assert 'no kernel tree' in out.stdout
    assert not cache.exists()


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(['run', '--lane', 'nope'])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and "invalid choice: 'nope'" in err
    assert err.endswith('(see gfpctx-ci run --help)\n')


def test_a_kernel_that_cannot_be_had_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # run --dry-run before `make deps`: no linux-source-6.12 yet
    def missing() -> str:
        raise kernel.KernelError('linux-source-6.12 is not installed: run tools/install-deps')
    monkeypatch.setattr('gfpctx_ci.kernel.source_version', missing)
    assert cli.main(['run', '--dry-run', '--out', str(tmp_path)]) == 1
    assert capsys.readouterr().err == \
        'gfpctx-ci: run: linux-source-6.12 is not installed: run tools/install-deps\n'


def test_a_lane_out_of_reach_skips_and_rules_doc_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # without Debian's newer suites the newest lanes skip; rules-doc
    # checks the other lanes and says which it did not
    def unreachable(lane: object, req: object, dry_run: bool = False) -> object:
        raise newer.Unreachable("Debian's suites trixie cannot be reached")
    monkeypatch.setattr('gfpctx_ci.pipeline.run', unreachable)
    out = tmp_path / 'out'
    assert cli.main(['run', '--lane', 'newest', '--out', str(out)]) == 4
    assert (out / 'newest' / 'skipped.txt').read_text() == \
        "Debian's suites trixie cannot be reached\n"
    doc, data = tmp_path / 'gfpctx.rst', tmp_path / 'rules'
    doc.write_text(DOC)
    for lane in rulesdoc.DATA_LANES:
        if lane != 'newest':
            (out / lane).mkdir(parents=True)
            (out / lane / 'clean.tables.txt').write_text(RULES)
    argv = ['rules-doc', '--out', str(out), '--doc', str(doc), '--data', str(data)]
    assert cli.main([*argv, '--write']) == 0
    capsys.readouterr()
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert "rules-doc: newest: not checked, its run skipped: Debian's suites" in captured.err
    assert 'newest,' not in captured.out and 'newest-rt' in captured.out


def test_lint_skips_a_lane_out_of_reach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from gfpctx_ci import build, templates
    for name in ('checkpatch', 'shellcheck'):
        monkeypatch.setattr(build, name, lambda: [])
    monkeypatch.setattr(build, 'rst_check', lambda doc: [])
    monkeypatch.setattr(cli, 'mypy_check', lambda cache: [])
    monkeypatch.setattr(templates, 'check', lambda: [])
    built = []

    def get(lane: object) -> object:
        if getattr(lane, 'kernel_source') == 'newest':
            raise newer.Unreachable('no Debian archive among the host\'s apt sources')
        return kernel.Kernel(tmp_path / 'bzImage', tmp_path / 'kdir', '6.12.0', 0.0, True)
    monkeypatch.setattr(kernel, 'get', get)
    monkeypatch.setattr(build, 'strict_build',
                        lambda kdir, out, check: built.append(out.name) or [])
    assert cli.main(['lint', '--lanes', 'stock,newest', '--out', str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "lint: newest: SKIP: no Debian archive" in captured.err
    assert built == ['stock'] and 'lint: clean' in captured.out


def test_typical_seconds_shrink_the_sampled_shares() -> None:
    # a lane provoking a third of the cells: a third of each provoking
    # script's typical share, the clean scripts' seconds unchanged
    third = pipeline.typical_seconds(3)
    for test, seconds in pipeline.TYPICAL_S.items():
        expected = seconds / 3 if test in pipeline.PROVOKE else seconds
        assert third[test] == pytest.approx(expected)
    assert pipeline.typical_seconds() == pipeline.TYPICAL_S


def boot_result(started: bool, error: str | None) -> qemu.Boot:
    return qemu.Boot(console='', ktap='', boot_s=1.0 if started else None,
                     suite_s=None, init_rc=None, error=error)


def test_a_boot_stopped_before_init_is_booted_once_more(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = pipeline.BootPlan('clean', ('a.sh',), ('qemu',), tmp_path / 'clean.console.log',
                          tmp_path / 'clean.ktap', qemu.Timeouts(1, 1, 1))
    crash = 'guest ended (QEMU exit 0) without the end marker'
    results = [boot_result(False, crash), boot_result(True, None)]

    def boot(argv: list[str], console: Path, *_: object) -> qemu.Boot:
        console.write_text(f'boot {len(results)}\n')
        return results.pop(0)

    got = pipeline.boot_once('stock', b, boot)
    assert got.boot_s == 1.0 and not results
    assert (tmp_path / 'clean.before-init.log').read_text() == 'boot 2\n'
    assert (tmp_path / 'clean.console.log').read_text() == 'boot 1\n'
    assert 'stopped before /init started' in capsys.readouterr().out


@pytest.mark.parametrize('first', [
    boot_result(True, 'guest ended (QEMU exit 0) without the end marker'),
    boot_result(False, None),
])
def test_a_boot_that_reached_init_is_not_booted_again(tmp_path: Path,
                                                      first: qemu.Boot) -> None:
    # a crash once /init ran may be the module's: judged, never retried
    b = pipeline.BootPlan('clean', ('a.sh',), ('qemu',), tmp_path / 'clean.console.log',
                          tmp_path / 'clean.ktap', qemu.Timeouts(1, 1, 1))
    (tmp_path / 'clean.before-init.log').write_text('an earlier run\n')
    calls = []

    def boot(argv: list[str], console: Path, *_: object) -> qemu.Boot:
        calls.append(argv)
        return first

    assert pipeline.boot_once('stock', b, boot) is first
    assert len(calls) == 1
    assert not (tmp_path / 'clean.before-init.log').exists()
