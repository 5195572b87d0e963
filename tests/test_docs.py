"""Tests of the documentation's reference parts against the code. Each
test derives a list from the code (selftests/gfpctx/module/*.c and
gfpctx.h, the Makefile and `make help`, the argparse parser of tools/gfpctx_ci/cli.py,
the knobs selftests/gfpctx/*.sh and tools/ read, tools/gfpctx_ci/lanes.py)
and compares it, as a set, with the list README.md,
Documentation/gfpctx.rst (the module, its debugfs interface, the rules,
the kselftest target) or Documentation/gfpctx-ci.rst (the runner, its
lanes, results and benchmark) gives, each fact on the page where it
lives: the .rst's tables, definition lists and literals as docutils
parses them, README's Markdown tables, code blocks and code spans line
by line. A failure prints the difference. Both pages are also held to
the kernel's Documentation form: docutils clean, within 80 columns."""
from __future__ import annotations

import argparse
import errno
import functools
import re
import subprocess
import sys
from pathlib import Path

import docutils.core
import docutils.nodes as nodes

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))

from gfpctx_ci import build, cli, lanes  # noqa: E402

DOC = REPO / 'Documentation/gfpctx.rst'
CI_DOC = REPO / 'Documentation/gfpctx-ci.rst'
DOCS = (DOC, CI_DOC)
README = REPO / 'README.md'
MODULE = REPO / 'selftests/gfpctx/module'
SELFTESTS = REPO / 'selftests/gfpctx'
ERRNOS = frozenset(name for name in dir(errno) if re.fullmatch(r'E[A-Z0-9]+', name))


# --- the .rst, as docutils reads it ----------------------------------------

@functools.cache
def doctree(path: Path = DOC) -> nodes.document:
    return docutils.core.publish_doctree(
        path.read_text(), source_path=str(path),
        settings_overrides={'report_level': 5, 'halt_level': 5, 'file_insertion_enabled': False,
                            'raw_enabled': False})


def title(node: nodes.section) -> str:
    return node[0].astext() if node.children and isinstance(node[0], nodes.title) else ''


def section(*path: str, doc: Path = DOC) -> nodes.section:
    """The section of doc reached by these titles, each inside the one
    before."""
    node: nodes.Element = doctree(doc)
    for name in path:
        found = [s for s in node.findall(nodes.section) if title(s) == name]
        assert found, f'{doc.name}: no section {" / ".join(path)}'
        node = found[0]
    return node


def own(node: nodes.section) -> list[nodes.Element]:
    """A section's content without its subsections (and its title)."""
    return [c for c in node.children if not isinstance(c, (nodes.section, nodes.title))]


def tables(node: nodes.Element) -> list[list[list[str]]]:
    """The body rows of each table in node, a row as its cells' text."""
    return [[[' '.join(entry.astext().split()) for entry in row.findall(nodes.entry)]
             for row in body.findall(nodes.row)]
            for table in node.findall(nodes.table) for body in table.findall(nodes.tbody)]


def definitions(node: nodes.Element) -> list[tuple[list[str], str]]:
    """Each definition list item in node: the literals of its term and
    its definition's text."""
    return [([lit.astext() for lit in item[0].findall(nodes.literal)],
             ' '.join(item[1].astext().split()))
            for item in node.findall(nodes.definition_list_item)]


def literals(node: nodes.Element) -> list[str]:
    """The inline literals and the lines of the literal blocks in node."""
    found = [' '.join(lit.astext().split()) for lit in node.findall(nodes.literal)]
    for block in node.findall(nodes.literal_block):
        found += [line.strip() for line in block.astext().splitlines()]
    return found


def differ(what: str, code: set, doc: set, where: str = 'the doc') -> str:
    """An assertion message: what the code has that the doc has not, and
    the other way round."""
    return (f'{what}: in the code, not in {where}: {sorted(code - doc)}; '
            f'in {where}, not in the code: {sorted(doc - code)}')


def differ_by_key(what: str, code: dict, doc: dict, where: str = 'the doc') -> str:
    """An assertion message: each key whose value differs, (code, doc)."""
    keys = sorted(set(code) | set(doc))
    return f'{what}, (the code, {where}): ' + str(
        {k: (code.get(k), doc.get(k)) for k in keys if code.get(k) != doc.get(k)})


def errno_words(text: str) -> set[str]:
    return {word for word in re.findall(r'\bE[A-Z0-9]+\b', text) if word in ERRNOS}


def text(nodes_: list[nodes.Element]) -> str:
    return ' '.join(n.astext() for n in nodes_)


# --- README.md ------------------------------------------------------------

def readme_part(heading: str) -> list[str]:
    """The lines of README's `## heading` part."""
    lines = README.read_text().splitlines()
    start = lines.index(f'## {heading}') + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith('## ')), len(lines))
    return lines[start:end]


def readme_code() -> list[str]:
    """README's code: the lines of its indented code blocks and its `spans`."""
    text_ = README.read_text()
    return ([line.strip() for line in text_.splitlines() if line.startswith('    ')]
            + [' '.join(span.split()) for span in re.findall(r'`([^`\n]+)`', text_)])


# --- the module's C --------------------------------------------------------

def c_text(path: Path) -> str:
    """A C source without its comments."""
    return re.sub(r'//[^\n]*', '', re.sub(r'/\*.*?\*/', ' ', path.read_text(), flags=re.S))


@functools.cache
def module_sources() -> dict[str, str]:
    return {p.name: c_text(p) for p in sorted(MODULE.glob('*.[ch]'))}


@functools.cache
def defines() -> dict[str, str]:
    found = {}
    for source in module_sources().values():
        for name, value in re.findall(r'^#define\s+(\w+)\s+(.+?)\s*$', source, re.M):
            found[name] = value
    return found


# The kernel's constants the module's tables use, on x86-64 with 4 KiB
# pages: include/linux/mmzone.h, and SLUB's 2 * PAGE_SIZE in
# include/linux/slab.h.
KERNEL_CONSTANTS = {'PAGE_ALLOC_COSTLY_ORDER': 3, 'KMALLOC_MAX_CACHE_SIZE': 8192}


def c_int(expr: str) -> int:
    """The value of a constant the module uses: a number, a SZ_ size, one
    of KERNEL_CONSTANTS or a #define of those."""
    expr = expr.strip()
    if expr in KERNEL_CONSTANTS:
        return KERNEL_CONSTANTS[expr]
    if expr in defines():
        return c_int(defines()[expr])
    sizes = re.fullmatch(r'SZ_(\d+)([KMG]?)', expr)
    if sizes:
        return int(sizes.group(1)) << {'': 0, 'K': 10, 'M': 20, 'G': 30}[sizes.group(2)]
    number = re.fullmatch(r'(0x[0-9a-fA-F]+|\d+)[uUlL]*', expr)
    assert number, f'module: cannot read the constant {expr!r}'
    return int(number.group(1), 0)


@functools.cache
def functions() -> dict[str, str]:
    """The module's functions: name -> body (both, where #ifdef gives two)."""
    found: dict[str, str] = {}
    header = re.compile(r'^[a-z][\w \t*]*?\b(\w+)\(([^;{}]*?)\)\s*\n\{\n(.*?)^\}', re.M | re.S)
    for source in module_sources().values():
        for name, _, body in header.findall(source):
            found[name] = found.get(name, '') + body
    return found


@functools.cache
def members() -> dict[str, set[str]]:
    """Function pointer members of the module's tables: member -> the
    functions assigned to it (`.fire = gfpctx_fire_ipi`)."""
    found: dict[str, set[str]] = {}
    for source in module_sources().values():
        for member, name in re.findall(r'\.(\w+)\s*=\s*(\w+)', source):
            if name in functions():
                found.setdefault(member, set()).add(name)
    return found


def reachable(root: str, stop: frozenset[str] = frozenset()) -> set[str]:
    """The module's functions root calls, directly or through the tables'
    function pointers (`job->ctx->fire(job)`), root included, not
    descending into those of stop."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen or name in stop:
            continue
        assert name in functions(), f'module: no function {name}'
        seen.add(name)
        body = functions()[name]
        todo += [f for f in re.findall(r'\b(\w+)\s*\(', body) if f in functions()]
        todo += [f for m in re.findall(r'->(\w+)\s*\(', body) for f in members().get(m, ())]
    return seen


# Kernel functions whose errors the module returns as they are, with the
# errnos they can give it: (function, errnos, where).
KERNEL_ERRNOS = (
    ('memdup_user_nul', {'EFAULT', 'ENOMEM'}, 'mm/util.c: copy_from_user() or kmalloc() failed'),
    ('mutex_lock_killable', {'EINTR'}, 'kernel/locking/mutex.c: a fatal signal'),
)


def errnos(root: str, stop: frozenset[str] = frozenset()) -> set[str]:
    """The errnos root can return: the -EXXX the module's code reachable
    from it writes, and those of KERNEL_ERRNOS' functions it calls."""
    found = set()
    for name in reachable(root, stop):
        body = functions()[name]
        found |= set(re.findall(r'-(E[A-Z0-9]+)\b', body))
        for call, given, _ in KERNEL_ERRNOS:
            if re.search(rf'\b{call}\s*\(', body):
                found |= given
    return found


def words(root: str, stop: frozenset[str] = frozenset()) -> set[str]:
    """The words a write handler compares its input with: the string
    literals of strcmp() and str_has_prefix() reachable from root."""
    return {word for name in reachable(root, stop) for word in
            re.findall(r'\b(?:strcmp|str_has_prefix)\([^,()]*(?:\([^()]*\))?[^,()]*,\s*"([^"]*)"\)',
                       functions()[name])}


COPY = frozenset({'gfpctx_copy_words'})  # the write rules every control file shares


# --- the debugfs files -------------------------------------------------------

def module_files() -> set[tuple[str, str]]:
    """(name, mode) of each file the module creates in its debugfs
    directory; a directory as name/ with no mode."""
    found = set()
    for source in module_sources().values():
        found |= set(re.findall(r'\bdebugfs_create_\w+\(\s*"([^"]+)"\s*,\s*(0[0-7]+)', source))
        found |= {(f'{name}/', '') for name in re.findall(
            r'\b(?:fault_create_debugfs_attr|debugfs_create_dir)\(\s*"([^"]+)"', source)}
    return found


def test_debugfs_files() -> None:
    code = module_files()
    assert ('run', '0200') in code and ('fail_alloc/', '') in code, code
    rows = tables(section('The debugfs interface'))[0]
    doc = {(row[0], row[1]) for row in rows}
    assert code == doc, differ('debugfs files (name, mode)', code, doc, 'the doc\'s table')
    # each file has a subsection of the debugfs interface; audit a section
    documented = {title(s) for s in section('The debugfs interface').findall(nodes.section)}
    documented |= {'audit'} if title(section('Audit mode')) == 'Audit mode' else set()
    names = {name for name, _ in code}
    assert names <= documented, f'debugfs files without a section: {sorted(names - documented)}'


# --- the keys of a job ---------------------------------------------------------

def job_keys() -> dict[str, str]:
    """The keys of a job (job.c's gfpctx_keys): enum name -> word."""
    found = dict(re.findall(r'\[GFPCTX_KEY_(\w+)\]\s*=\s*"(\w+)"', module_sources()['job.c']))
    assert found, 'job.c: no gfpctx_keys table'
    return found


def key_limits() -> dict[str, tuple[int | str, int | str, int]]:
    """key -> (least, largest, default) of the numeric keys of a job,
    from gfpctx_job_parse() and gfpctx_job_check_size(); the largest
    size is per cell ("the cell's limit": its allocator's, less with
    __GFP_NOFAIL)."""
    keys, parse = job_keys(), functions()['gfpctx_job_parse']
    limits: dict[str, tuple[int | str, int | str, int]] = {}
    for _field, default, key, least, largest in re.findall(
            r'job->(\w+)\s*=\s*(\w+);\s*if\s*\(val\[GFPCTX_KEY_(\w+)\]\s*&&\s*'
            r'gfpctx_parse_uint\(val\[GFPCTX_KEY_\3\],\s*(\w+),\s*(\w+)', parse):
        limits[keys[key]] = (c_int(least), c_int(largest), c_int(default))
    size = functions()['gfpctx_job_check_size']
    for word in ('size', 'order'):
        default = re.search(rf'job->{word}\s*=\s*(\w+);', size)
        least = re.search(rf'gfpctx_parse_uint\({word},\s*(\w+),\s*max\b', size)
        cell = re.search(r'\bmax\s*=\s*gfpctx_cell_max\(alloc,\s*job->gfp\)', size)
        assert default and least and cell, f'job.c: cannot read the limits of {word}='
        limits[word] = (c_int(least.group(1)), "the cell's limit", c_int(default.group(1)))
    return limits


def run_section() -> nodes.section:
    return section('The debugfs interface', 'run')


def synopsis() -> dict[str, set[str]]:
    """The run synopsis's words: key -> its values (| alternatives; a
    <placeholder> is left out)."""
    block = next(iter(run_section().findall(nodes.literal_block))).astext()
    found: dict[str, set[str]] = {}
    for key, value in re.findall(r'(\w+)=(\S+?)(?=[\]\s|]|$)', block):
        found.setdefault(key, set()).update(
            v for v in value.split('|') if v and not v.startswith('<'))
    for key, value in re.findall(r'(\w+)=([\w|]+)\]', block):
        found.setdefault(key, set()).update(value.split('|'))
    return found


def test_run_keys() -> None:
    code = set(job_keys().values())
    doc = {lit for terms, _ in definitions(run_section()) for lit in terms}
    assert code == doc, differ('job keys', code, doc, 'the terms of run\'s list')
    shown = set(synopsis())
    assert code == shown, differ('job keys', code, shown, 'the run synopsis')


def test_run_key_values() -> None:
    # the words a key takes, as job.c compares them, against the synopsis
    code = words('gfpctx_job_parse')
    doc = {v for values in synopsis().values() for v in values}
    assert code == doc, differ('values of run\'s keys', code, doc, 'the run synopsis')


def test_run_key_limits() -> None:
    code = key_limits()
    assert set(code) == {'count', 'timeout_ms', 'size', 'order'}, code
    doc = {}
    for terms, definition in definitions(run_section()):
        if len(terms) == 1 and terms[0] in code:
            span = re.search(r"(\d+) to (\d+|the cell's limit)", definition)
            default = re.search(r'Default (\d+)', definition)
            assert span and default, f'run: {terms[0]}: no "N to M" or "Default N": {definition}'
            least, largest = span.groups()
            doc[terms[0]] = (int(least), int(largest) if largest.isdigit() else largest,
                             int(default.group(1)))
    assert code == doc, differ_by_key('key limits (least, largest, default)', code, doc)


def allocator_limits() -> dict[str, str]:
    """alloc -> its size column as the doc writes it (`size= 1 .. 4 MiB`,
    `order= 0 .. 10`), from allocators.c's table and job.c's limits."""
    table = module_sources()['allocators.c']
    table = table[table.index('gfpctx_allocs[] = {'):]
    table = table[:table.index('\n};')]
    limits = key_limits()
    found = {}
    # an entry: from its name to the next one's (#ifdef lines between)
    for entry in re.findall(r'\.name\s*=.*?(?=\.name\s*=|\Z)', table, re.S):
        name = re.search(r'\.name\s*=\s*"(\w+)"', entry)
        assert name, f'allocators.c: an entry without a name: {entry}'
        if 'GFPCTX_ALLOC_ORDER' in entry:
            order = re.search(r'\.max_order\s*=\s*(\w+)', entry)
            assert order, f'allocators.c: {name.group(1)}: no max_order'
            found[name.group(1)] = f'order= {limits["order"][0]} .. {c_int(order.group(1))}'
            continue
        size = re.search(r'\.max_size\s*=\s*(\w+)', entry)
        assert size, f'allocators.c: {name.group(1)}: no max_size'
        found[name.group(1)] = f'size= {limits["size"][0]} .. {human(c_int(size.group(1)))}'
    return found


def human(size: int) -> str:
    for unit, shift in (('GiB', 30), ('MiB', 20), ('KiB', 10)):
        if size >= 1 << shift and not size % (1 << shift):
            return f'{size >> shift} {unit}'
    return f'{size} B'


def test_allocator_limits() -> None:
    code = allocator_limits()
    rows = tables(section('What the module checks', 'Allocators'))[0]
    doc = {row[0]: row[3] for row in rows}
    assert code == doc, differ_by_key('allocators\' sizes', code, doc, 'the Allocators table')


def test_bounded_cost() -> None:
    # each limit of a job, as the doc writes it, in "Bounded cost"
    limits = {'GFPCTX_MAX_COUNT': str(c_int('GFPCTX_MAX_COUNT')),
              'GFPCTX_MAX_TIMEOUT_MS': str(c_int('GFPCTX_MAX_TIMEOUT_MS')),
              'GFPCTX_DEF_TIMEOUT_MS': f"{c_int('GFPCTX_DEF_TIMEOUT_MS') // 1000} s",
              'GFPCTX_MAX_HELD_BYTES': human(c_int('GFPCTX_MAX_HELD_BYTES')),
              'GFPCTX_BATCH_BYTES': human(c_int('GFPCTX_BATCH_BYTES')),
              'GFPCTX_MAX_BATCH': f"{c_int('GFPCTX_MAX_BATCH')} attempts",
              'GFPCTX_POOL_MIN_NR': f"reserve of {c_int('GFPCTX_POOL_MIN_NR')}",
              'GFPCTX_MAX_WRITE': f"{c_int('GFPCTX_MAX_WRITE')} bytes",
              'GFPCTX_MAX_ORDER': f"order {c_int('GFPCTX_MAX_ORDER')}"}
    doc = ' '.join(section('Bounded cost').astext().split())
    missing = {name: value for name, value in limits.items() if value not in doc}
    assert missing == {}, f'Bounded cost does not say: {missing}'


# --- what the other control files take -----------------------------------------

def test_write_words() -> None:
    inject = {lit.split('=')[0] + ('=' if '=' in lit else '') for terms, _ in
              definitions(section('The debugfs interface', 'inject')) for lit in terms}
    audit = {row[0] for row in tables(section('Audit mode'))[0]}
    stats = set(literals(section('The debugfs interface', 'stats')))
    code = {'inject': words('gfpctx_inject_write', COPY),
            'audit': words('gfpctx_audit_write', COPY),
            'stats': words('gfpctx_stats_write', COPY)}
    assert code['inject'] == inject, differ('words of inject', code['inject'], inject,
                                           'its list')
    assert code['audit'] == audit, differ('words of audit', code['audit'], audit, 'its table')
    assert code['stats'] <= stats, differ('words of stats', code['stats'], stats, 'its section')
    limit = str(c_int('GFPCTX_INJECT_MAX'))
    assert f'0 to {limit}' in section('The debugfs interface', 'inject').astext(), limit


# --- errnos --------------------------------------------------------------------

def test_kernel_errnos_are_called() -> None:
    for call, _, where in KERNEL_ERRNOS:
        assert any(re.search(rf'\b{call}\s*\(', body) for body in functions().values()), \
            f'KERNEL_ERRNOS: the module no longer calls {call} ({where})'


def test_run_errnos() -> None:
    code = errnos('gfpctx_run_write')
    assert {'EINVAL', 'EPERM', 'EOPNOTSUPP', 'ETIMEDOUT', 'EINTR'} <= code, code
    doc = {row[0] for row in tables(run_section())[0]} & ERRNOS
    assert code == doc, differ('errnos of a write to run', code, doc, 'run\'s results table')


def test_write_errnos() -> None:
    # the rules every write shares: the debugfs section's own text
    shared, intro = errnos('gfpctx_copy_words'), errno_words(
        text(own(section('The debugfs interface'))))
    assert shared == intro, differ('errnos of every write', shared, intro,
                                   'the debugfs interface\'s own text')
    for name, where in (('stats', section('The debugfs interface', 'stats')),
                        ('inject', section('The debugfs interface', 'inject')),
                        ('audit', section('Audit mode'))):
        code, doc = errnos(f'gfpctx_{name}_write', COPY), errno_words(where.astext())
        assert code == doc, differ(f'errnos of a write to {name}', code, doc, 'its section')


# --- make targets ------------------------------------------------------------------

def make_rules() -> dict[str, tuple[list[str], list[str]]]:
    """The Makefile's rules: target -> (prerequisites, recipe lines)."""
    rules: dict[str, tuple[list[str], list[str]]] = {}
    current = None
    for line in (REPO / 'Makefile').read_text().replace('\\\n', ' ').splitlines():
        if line.startswith('\t') and current:
            rules[current][1].append(line.strip())
            continue
        found = re.match(r'^([a-z][\w-]*)\s*:(?!=)\s*(.*)$', line)
        current = found.group(1) if found else None
        if current:
            rules[current] = (found.group(2).split(), [])
    return rules


def make_targets() -> tuple[set[str], dict[str, str]]:
    """The targets a user makes, and the aliases: a rule without recipe
    whose one prerequisite is a target (all: module); the default goal,
    the first rule, is '' (plain `make`)."""
    rules = make_rules()
    aliases = {t: pre[0] for t, (pre, recipe) in rules.items()
               if not recipe and len(pre) == 1 and pre[0] in rules}
    aliases[''] = next(iter(rules))
    while any(a in aliases for a in aliases.values()):
        aliases = {k: aliases.get(v, v) for k, v in aliases.items()}
    return set(rules) - set(aliases), aliases


def made(command: str) -> str | None:
    """The target a `make ...` command line makes ('' for the default),
    None for a make of another tree (-C) or not a make at all."""
    words = re.split(r'\s{2,}', re.sub(r'^[#$] ', '', command.strip()))[0].split()
    if not words or words[0] != 'make' or '-C' in words:
        return None
    target = next((w for w in words[1:] if not w.startswith(('-', '[')) and '=' not in w), '')
    return target if re.fullmatch(r'[a-z][\w-]*|', target) else None


def test_make_targets() -> None:
    targets, aliases = make_targets()
    assert {'run', 'check', 'test', 'help'} <= targets and aliases[''] == 'module', aliases
    out = subprocess.run(['make', '-s', '--no-print-directory', '-C', str(REPO), 'help'],
                         capture_output=True, text=True, check=True).stdout
    listed = {aliases.get(t, t) for line in out.splitlines() if (t := made(line)) is not None}
    assert listed == targets, differ('make targets', targets, listed, 'make help')
    readme = {aliases.get(t, t) for part in ('The two commands', 'Other targets')
              for line in readme_part(part) if line.startswith('    ')
              and (t := made(line)) is not None}
    assert readme == targets, differ('make targets', targets, readme,
                                     'README\'s two commands and other targets')
    mentioned = {t for line in documentation()
                 if (t := made(line)) is not None}
    unknown = mentioned - targets - set(aliases)
    assert unknown == set(), f'make targets the documentation names, no rule\'s: {unknown}'


# --- the runner's commands and options ------------------------------------------

def commands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings
            if o.startswith('--') and o != '--help'}


def documentation() -> list[str]:
    """Every literal of both .rst pages and every code line and span of
    README."""
    return [*(lit for doc in DOCS for lit in literals(doctree(doc))), *readme_code()]


def invocations(lines: list[str]) -> list[tuple[str, set[str]]]:
    """(command, --options after it) of each `gfpctx-ci COMMAND ...` in
    lines, and of each line that starts `COMMAND --` (``run --dry-run``)."""
    names = '|'.join(re.escape(c) for c in commands())
    return [(found.group(1), set(re.findall(r'(?<![\w-])--[a-z][\w-]*', found.group(2))))
            for line in lines
            for found in [re.search(r'gfpctx-ci ([a-z][\w-]*)(.*)', line)
                          or re.match(rf'({names})( --.*)', line)]
            if found]


def test_cli_commands_and_options() -> None:
    cmds = commands()
    lines = documentation()
    used = invocations(lines)
    unknown = {(c, tuple(sorted(o - options(cmds[c]))) if c in cmds else ())
               for c, o in used if c not in cmds or o - options(cmds[c])}
    assert unknown == set(), ('gfpctx-ci commands, or options of a command, the documentation '
                              f'gives and the parser has not: {unknown}')
    loose = {o for line in lines for o in re.findall(r'^--[a-z][\w-]*', line)}
    every = set().union(*(options(p) for p in cmds.values()))
    assert loose - every == set(), f'--options the documentation names, unknown: {loose - every}'
    unnamed = set(cmds) - {c for c, _ in used}
    assert unnamed == set(), f'gfpctx-ci commands the documentation never names: {unnamed}'
    said = ' '.join([*(doctree(doc).astext() for doc in DOCS), README.read_text()])
    undocumented = {o for o in every if not re.search(rf'(?<![\w-]){o}(?![\w-])', said)}
    assert undocumented == set(), f'gfpctx-ci options documented nowhere: {sorted(undocumented)}'


def test_cli_command_list() -> None:
    # the doc's list of the commands: every command, each with its options
    listed = {}
    for terms, definition in definitions(section('Running the suite', 'The runner\'s commands',
                                                 doc=CI_DOC)):
        assert len(terms) == 1 and terms[0].startswith('tools/gfpctx-ci '), terms
        listed[terms[0].split()[1]] = set(re.findall(r'(?<![\w-])--[a-z][\w-]*', definition))
    cmds = commands()
    assert set(listed) == set(cmds), differ('gfpctx-ci commands', set(cmds), set(listed),
                                            'the doc\'s list of the runner\'s commands')
    wrong = {c: sorted(o - options(cmds[c])) for c, o in listed.items() if o - options(cmds[c])}
    assert wrong == {}, f'the runner\'s commands: options a command does not have: {wrong}'
    untold = {c: sorted(options(cmds[c]) - o) for c, o in listed.items() if options(cmds[c]) - o}
    assert untold == {}, f'the runner\'s commands: options left out: {untold}'


# --- environment knobs ---------------------------------------------------------------

def sh_text(path: Path) -> str:
    """A sh script without its comment lines and trailing comments."""
    return '\n'.join(re.sub(r'(^|\s)#.*$', '', line) for line in path.read_text().splitlines())


def script_knobs() -> dict[str, tuple[set[str], str | None]]:
    """The knobs the selftests read from their environment: knob ->
    (the scripts expanding it, its default where it is a plain word). A
    knob is a GFPCTX_* variable no script assigns but by a default of its
    own (X=${X:-...}), or any variable with such a default."""
    scripts = {p.name: sh_text(p) for p in sorted(SELFTESTS.glob('*.sh'))}
    assigned, self_default, found = set(), set(), {}
    for text_ in scripts.values():
        for name, value in re.findall(r'^\s*(?:local\s+)?([A-Za-z_]\w*)=(\S*)', text_, re.M):
            if value.startswith(f'${{{name}:-') and name.isupper():
                self_default.add(name)
            else:
                assigned.add(name)
    for script, text_ in scripts.items():
        for name in re.findall(r'\$\{?(\w+)', text_):
            if (name.startswith('GFPCTX_') and name not in assigned) or name in self_default:
                found.setdefault(name, (set(), None))[0].add(script)
    for script, text_ in scripts.items():
        for name, default in re.findall(r'\$\{(\w+):-([^}$]*)\}', text_):
            if name in found:
                found[name] = (found[name][0], default)
    return found


def host_knobs() -> set[str]:
    """The GFPCTX_* variables tools/ reads from the host's environment."""
    return {name for path in (REPO / 'tools/gfpctx_ci').glob('*.py') for name in
            re.findall(r'(?:environ\.get\(|environ\[|getenv\()\s*"(GFPCTX_\w+)"',
                       path.read_text())}


def knob_table() -> dict[str, tuple[set[str], str]]:
    rows = tables(section('The kselftest target', 'Environment knobs'))[0]
    return {row[0]: (set(row[1].replace(',', ' ').split()), row[2]) for row in rows}


def test_knobs() -> None:
    code, doc = script_knobs(), knob_table()
    assert {'GFPCTX_COUNT', 'GFPCTX_SHARD', 'KTAP_HELPERS'} <= set(code), code
    assert set(code) == set(doc), differ('knobs the selftests read', set(code), set(doc),
                                         'the doc\'s knobs table')
    wrong = {k: (sorted(code[k][0]), sorted(doc[k][0])) for k in code if code[k][0] != doc[k][0]}
    assert wrong == {}, f'knobs: the scripts reading them (code, doc): {wrong}'
    defaults = {k: (code[k][1], doc[k][1]) for k in code
                if code[k][1] and ' '.join(code[k][1].split()) != doc[k][1]}
    assert defaults == {}, f'knobs: defaults (code, doc): {defaults}'


def test_knobs_set_elsewhere_exist() -> None:
    # what the Makefile, the lanes and the documentation set or name
    knobs, host = set(script_knobs()), host_knobs()
    assert {'GFPCTX_CACHE', 'GFPCTX_ACCEL'} <= host, host
    makefile = set(re.findall(r'\b(GFPCTX_\w+)=', (REPO / 'Makefile').read_text()))
    lane_env = {word.split('=')[0] for lane in lanes.LANES.values() for word in lane.env}
    placeholders = {a.metavar.split('=')[0] for p in commands().values() for a in p._actions
                    if isinstance(a.metavar, str) and a.metavar.startswith('GFPCTX_')}
    named = set(re.findall(r'\b(GFPCTX_[A-Z0-9_]*[A-Z0-9])', ' '.join(
        [*(doctree(doc).astext() for doc in DOCS), README.read_text()])))
    assert makefile - knobs - host == set(), \
        f'the Makefile sets knobs nothing reads: {makefile - knobs - host}'
    assert lane_env - knobs == set(), f'lanes.py sets knobs no script reads: {lane_env - knobs}'
    unknown = named - knobs - host - placeholders
    assert unknown == set(), f'knobs the documentation names, read by nothing: {unknown}'
    # the host's knobs are the runner's: its page names them
    untold = host - set(re.findall(r'\b(GFPCTX_\w+)', ' '.join(literals(doctree(CI_DOC)))))
    assert untold == set(), f'host knobs {CI_DOC.name} does not name: {untold}'


# --- lanes -------------------------------------------------------------------------

def test_lanes() -> None:
    code = set(lanes.LANES)
    readme = {line.split('|')[1].strip() for line in readme_part('Lanes')
              if line.startswith('|') and not re.fullmatch(r'[|\s:-]+', line)} - {'lane'}
    assert readme == code, differ('lanes', code, readme, 'README\'s lanes table')
    doc = section('Lanes', doc=CI_DOC)
    listed = {row[0] for row in tables(doc)[0]}
    named = listed | {lit for lit in literals(doc) if lit in code}
    assert listed <= code and named == code, differ('lanes', code, named,
                                                    f'{CI_DOC.name}\'s Lanes section')
    makefile = (REPO / 'Makefile').read_text()
    default = re.search(r'^LANE \?= (\S+)$', makefile, re.M).group(1)
    every = set(re.search(r'^LANES \?= (\S+)$', makefile, re.M).group(1).split(','))
    assert every == code, f'the Makefile\'s LANES: {sorted(every)}'
    others = code - {default}
    choices = [set(found.split('|')) for line in documentation()
               for found in re.findall(r'^LANE=([\w|-]+\|[\w|-]+)', line)]
    assert choices and all(c == others for c in choices), (
        f'LANE=a|b|... lists: want {sorted(others)}, found {[sorted(c) for c in choices]}')


def test_lane_settings() -> None:
    # the doc's table of each lane's memory, boot timeout, provoke boots, knobs
    rows = next(rows for rows in tables(section('Lanes', doc=CI_DOC)) if len(rows[0]) == 5)
    doc = {row[0]: tuple(row[1:]) for row in rows}
    code = {lane.name: (lane.memory, f'{lane.boot_timeout_s} s', lane.provoke_text(),
                        ' '.join(lane.env) or '-') for lane in lanes.LANES.values()}
    assert doc == code, differ_by_key('lane settings (memory, boot timeout, provoke boots, '
                                      'knobs)', code, doc, 'the doc\'s table')


# --- the kernel's Documentation form --------------------------------------------------

def test_pages_within_80_columns() -> None:
    # as Documentation/ is written: a tab counts 8 columns
    long = [f'{doc.name}:{n}: {len(line.expandtabs(8))} columns'
            for doc in DOCS for n, line in enumerate(doc.read_text().splitlines(), 1)
            if len(line.expandtabs(8)) > 80]
    assert long == [], f'lines over 80 columns: {long[:10]} ({len(long)} in all)'


def test_pages_pass_docutils() -> None:
    assert [problem for doc in DOCS for problem in build.rst_check(doc)] == []


def test_pages_link_each_other() -> None:
    for doc, other in ((DOC, CI_DOC), (CI_DOC, DOC)):
        assert f'Documentation/{other.name}' in doctree(doc).astext(), \
            f'{doc.name} does not name Documentation/{other.name}'


def test_lint_checks_both_pages() -> None:
    assert set(DOCS) <= set(cli.DOCS), f'gfpctx-ci lint checks {cli.DOCS}'
