"""Tests of tools/install-deps: it installs every Debian package whose
programs (and files, and Python modules) gfpctx needs. The needs are
derived from the code: the Makefiles, tools/install-deps and .ci/run (a
small sh and make reader), tools/ and tests/ (ast: the programs passed
to subprocess and shell.run, the imports, the absolute paths); plus a
short declared list of what the kernel's build and the kselftest install
run that our code cannot see, each with where the kernel does it. Each
need must be a row of install-deps' NEEDS table, and the row's package
one the script installs; where the host has it, dpkg must agree. The
needs of the host tests alone (make test's recipe, tests/ and the
install-deps they run) must be install-deps' HOST_TESTS list, what
--host-tests installs."""
from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path, PurePath

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))

from gfpctx_ci import kernel, lanes  # noqa: E402

INSTALL_DEPS = REPO / 'tools/install-deps'
PYTHON_SOURCES = (*sorted((REPO / 'tools/gfpctx_ci').glob('*.py')), REPO / 'tools/gfpctx-ci',
                  *sorted((REPO / 'tests').glob('*.py')))
SH_SOURCES = (INSTALL_DEPS, REPO / '.ci/run')
MAKEFILES = (REPO / 'Makefile', REPO / 'selftests/gfpctx/module/Makefile')
# tools/guest/ and selftests/ run in the guest, under its busybox: not here.

# What the kernel's build and the kselftest install run (or read) that
# our code cannot see: (need, who, file in linux-source, text there).
# build.install_kselftest runs `make -C tools/testing/selftests install`;
# kernel.build_debug makes the debug lane's kernel; build.strict_build a
# C=1 build; `make install` is modules_install against KDIR;
# build.checkpatch and kernel.configure run the two scripts by path.
KERNEL_NEEDS = (
    ('rsync', 'kselftest install', 'tools/testing/selftests/lib.mk',
     'rsync -a --copy-unsafe-links $(INSTALL_LIST) $(INSTALL_PATH)/'),
    ('mkdir', 'kselftest install', 'tools/testing/selftests/Makefile',
     'mkdir -p $(INSTALL_PATH)/kselftest'),
    ('install', 'kselftest install', 'tools/testing/selftests/Makefile',
     'install -m 744 run_kselftest.sh $(INSTALL_PATH)/'),
    ('readlink', 'kselftest install', 'tools/testing/selftests/Makefile', 'readlink -e'),
    ('rm', 'kselftest install', 'tools/testing/selftests/Makefile', 'rm -f $(TEST_LIST)'),
    ('gcc', 'kselftest install', 'tools/testing/selftests/lib.mk', 'CC := $(CROSS_COMPILE)gcc'),
    ('gcc', 'kernel build', 'Makefile', 'CC = $(CROSS_COMPILE)gcc'),
    ('ld', 'kernel build', 'Makefile', 'LD = $(CROSS_COMPILE)ld'),
    ('flex', 'kernel build', 'Makefile', 'LEX = flex'),
    ('flex', 'kernel build', 'scripts/Makefile.host', 'cmd_flex = $(LEX) -o$@ -L $<'),
    ('bison', 'kernel build', 'Makefile', 'YACC = bison'),
    ('awk', 'kernel build', 'Makefile', 'AWK = awk'),
    ('bc', 'kernel build', 'Kbuild', 'echo $(CONFIG_HZ) | bc -q $<'),
    ('gzip', 'kernel build', 'init/Kconfig', 'default KERNEL_GZIP'),
    ('gzip', 'kernel build', 'scripts/Makefile.lib',
     'cmd_gzip = cat $(real-prereqs) | $(KGZIP) -n -f -9 > $@'),
    ('cat', 'kernel build', 'scripts/Makefile.lib', 'cmd_gzip = cat $(real-prereqs)'),
    ('file:/usr/include/gelf.h', 'kernel build (objtool: CONFIG_UNWINDER_ORC)',
     'tools/objtool/include/objtool/elf.h', '#include <gelf.h>'),
    ('file:/usr/include/openssl/evp.h', 'kernel build (signed modules)', 'scripts/sign-file.c',
     '#include <openssl/evp.h>'),
    ('sparse', 'C=1 build', 'Makefile', 'CHECK = sparse'),
    # Debian's headers ship a vmlinux and CONFIG_DEBUG_INFO_BTF_MODULES:
    # every module built against them gets its BTF from pahole.
    ('pahole', 'module build (BTF, Debian headers)', 'scripts/Makefile.modfinal',
     '$(PAHOLE) -J $(PAHOLE_FLAGS)'),
    ('depmod', 'modules_install', 'scripts/depmod.sh', ': ${DEPMOD:=depmod}'),
    ('xz', 'modules_install', 'scripts/Makefile.modinst', 'cmd_xz = $(XZ) --check=crc32'),
    ('zstd', 'modules_install', 'scripts/Makefile.modinst', 'cmd_zstd = $(ZSTD) --rm -f -q $<'),
    ('perl', 'checkpatch.pl', 'scripts/checkpatch.pl', '#!/usr/bin/env perl'),
    ('sh', 'merge_config.sh', 'scripts/kconfig/merge_config.sh', '#!/bin/sh'),
    ('mktemp', 'merge_config.sh', 'scripts/kconfig/merge_config.sh', 'mktemp ./.tmp.config'),
    ('cat', 'merge_config.sh', 'scripts/kconfig/merge_config.sh', 'cat $INITFILE > $TMP_FILE'),
    ('sed', 'merge_config.sh', 'scripts/kconfig/merge_config.sh', 'sed -i "/$CFG[ =]/d"'),
    ('grep', 'merge_config.sh', 'scripts/kconfig/merge_config.sh', 'grep -q -w $CFG $TMP_FILE'),
    ('cp', 'merge_config.sh', 'scripts/kconfig/merge_config.sh', 'cp -T -- "$TMP_FILE"'),
    ('make', 'merge_config.sh', 'scripts/kconfig/merge_config.sh',
     'make KCONFIG_ALLCONFIG=$TMP_FILE'),
)
# The kernel's scripts our code runs by path: their needs are above.
KERNEL_SCRIPTS = frozenset(who for _, who, _, _ in KERNEL_NEEDS if who.endswith(('.pl', '.sh')))

# Needs of ours the readers below do not see: (need, file, text there).
REPO_NEEDS = (
    ('dkms', 'README.md', 'dkms install gfpctx/0.1'),
    # The helpers are linked statically: libc.a.
    ('file:/usr/lib/x86_64-linux-gnu/libc.a', 'selftests/gfpctx/Makefile', 'LDFLAGS += -static'),
    # tar runs xz on the .tar.xz.
    ('xz', 'tools/gfpctx_ci/kernel.py', 'shell.run(["tar", "-xf", tarball'),
    # The private apt configuration signs the newer suites with it.
    ('file:/usr/share/keyrings/debian-archive-keyring.gpg', 'tools/gfpctx_ci/newer.py',
     'KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"'),
)

# What the host tests hand to the runner's code to run, which the reader
# of tests/ cannot see: (need, file, text there).
HOST_TEST_NEEDS = (
    ('sh', 'tests/test_qemu_watch.py', "qemu.boot(['sh', '-c', script"),
    ('sleep', 'tests/test_qemu_watch.py', 'exec sleep 30'),
)

RUNNERS = frozenset(('shell.run', 'subprocess.run', 'subprocess.Popen', 'subprocess.call',
                     'subprocess.check_call', 'subprocess.check_output'))
UNREADABLE_RUNNERS = re.compile(r'^os\.(system|popen|exec\w*|spawn\w*)$')
SH_BUILTINS = frozenset(('.', ':', '[', 'break', 'cd', 'command', 'continue', 'echo', 'eval',
                         'exec', 'exit', 'export', 'false', 'local', 'printf', 'read', 'readonly',
                         'return', 'set', 'shift', 'test', 'trap', 'true', 'umask', 'unset',
                         'wait'))
SH_KEYWORDS = frozenset(('!', '{', '}', 'if', 'then', 'else', 'elif', 'fi', 'while', 'until',
                         'do', 'done', 'esac'))
SH_PUNCTUATION = '();<>|&\n'
DEBIAN_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'  # where packages put programs

Needs = dict[str, list[str]]  # need -> where it comes from


def add(needs: Needs, need: str, where: str) -> None:
    needs.setdefault(need, []).append(where)


# --- install-deps' table and what the script installs -------------------

def table(text: str) -> dict[str, str]:
    """install-deps' NEEDS table: need -> package. Raises ValueError on a
    row that is not two words."""
    block = re.search(r"^NEEDS='\n(.*?)^'$", text, re.S | re.M)
    if not block:
        raise ValueError("install-deps has no NEEDS='...' table")
    rows = {}
    for line in block.group(1).splitlines():
        words = line.split()
        if len(words) != 2:
            raise ValueError(f'NEEDS row is not "need package": {line!r}')
        rows[words[0]] = words[1]
    return rows


def host_tests(text: str) -> list[str]:
    """install-deps' HOST_TESTS list: the needs (rows of NEEDS) of the
    host tests alone."""
    block = re.search(r"^HOST_TESTS='\n(.*?)^'$", text, re.S | re.M)
    if not block:
        raise ValueError("install-deps has no HOST_TESTS='...' list")
    return block.group(1).split()


def run_script(text: str, hide: str | None = None, args: tuple[str, ...] = (),
               dpkg_query: str | None = None) -> subprocess.CompletedProcess:
    """Run install-deps (the given text) as a user that is not root, with
    dpkg-query seeing nothing installed (hide=None), or what the host has
    but the packages named in hide, or being the sh text dpkg_query;
    apt-get is a stub that fails. Changes nothing on the host; returns
    the finished run."""
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = Path(tmp) / 'bin'
        bin_dir.mkdir()
        dpkg_query = dpkg_query or (
            'exit 1' if hide is None else
            f'for last; do :; done\ncase " {hide} " in *" $last "*) exit 1 ;; esac\n'
            'exec /usr/bin/dpkg-query "$@"')
        for name, body in (('dpkg-query', dpkg_query), ('id', 'echo 1000'), ('apt-get', 'exit 99')):
            (bin_dir / name).write_text(f'#!/bin/sh\n{body}\n')
            (bin_dir / name).chmod(0o755)
        script = Path(tmp) / 'install-deps'
        script.write_text(text)
        env = {**os.environ, 'PATH': f'{bin_dir}:{DEBIAN_PATH}'}
        return subprocess.run(['sh', str(script), *args], env=env, capture_output=True,
                              text=True)


def missing(run: subprocess.CompletedProcess) -> list[str]:
    """The packages a run of install-deps as non-root said it would
    install: those of its "missing Debian packages:" line."""
    found = re.search(r'^install-deps: missing Debian packages: (.*)$', run.stderr, re.M)
    return found.group(1).split() if found else []


def installed_by(text: str) -> list[str]:
    """The packages install-deps (the given text) installs on a host that
    has none of them."""
    return missing(run_script(text))


def check(text: str, needs: Needs) -> list[str]:
    """Needs install-deps (the given text) does not cover: those with no
    NEEDS row, and those whose package it does not install."""
    rows, packages = table(text), set(installed_by(text))
    problems = []
    for need, wheres in sorted(needs.items()):
        by = ', '.join(sorted(set(wheres)))
        if need not in rows:
            problems.append(f'{need} (needed by {by}): no row in NEEDS')
        elif rows[need] not in packages:
            problems.append(f'{need} (needed by {by}): install-deps does not install '
                            f'{rows[need]}')
    return problems


# --- sh ------------------------------------------------------------------

def substitutions(word: str) -> list[str]:
    """The $(...) command substitutions in a word (not $((...)))."""
    found, start = [], word.find('$(')
    while start >= 0:
        end = closing(word, start + 1)
        if not word.startswith('$((', start):
            found.append(word[start + 2:end])
        start = word.find('$(', end)
    return found


def closing(text: str, opening: int) -> int:
    """Index of the parenthesis closing the one at text[opening]."""
    depth = 0
    for i in range(opening, len(text)):
        depth += {'(': 1, ')': -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise ValueError(f'unbalanced parentheses: {text[opening:]!r}')


def sh_words(text: str) -> list[str]:
    """The words and operators of a sh text; each newline is an operator
    (kept after a comment, which would eat it, by a ';' after it)."""
    lex = shlex.shlex(text.replace('\\\n', ' ').replace('\n', '\n;'), posix=True,
                      punctuation_chars=SH_PUNCTUATION)
    lex.whitespace_split = True
    lex.whitespace = ' \t\r'
    return list(lex)


def sh_needs(text: str) -> list[str]:
    """The programs a sh text runs (absolute ones by basename): the words
    in command position, in $(...) too. Builtins, assignments and the
    repository's own scripts (relative paths) and the text's own
    functions are left out; a command that is a variable is returned as
    is ($CC), for the check to report."""
    functions = set(re.findall(r'^\s*([A-Za-z_]\w*)\s*\(\s*\)', text, re.M))
    needs: list[str] = []
    at_command, redirect, pattern, skip_to = True, False, False, ''
    for word in sh_words(text):
        for sub in substitutions(word):
            needs += sh_needs(sub)
        if skip_to:
            if word == skip_to:
                pattern, skip_to = skip_to == 'in', ''
                at_command = not pattern
        elif set(word) <= set(SH_PUNCTUATION):
            redirect = '<' in word or '>' in word
            if ';;' in word:
                pattern = True
            elif pattern and ')' in word:
                pattern, at_command = False, True
            elif not redirect:
                at_command = True
        elif redirect:
            redirect = False
        elif pattern:
            pattern = word != 'esac'
        elif at_command:
            if word in ('for', 'case'):
                skip_to = 'do' if word == 'for' else 'in'
            elif word not in SH_KEYWORDS and not re.match(r'^[A-Za-z_]\w*=', word):
                at_command = False
                if word.startswith('$'):
                    needs.append(word)
                elif word not in SH_BUILTINS | functions and (word.startswith('/')
                                                              or '/' not in word):
                    needs.append(PurePath(word).name)
    return needs


def shebang_needs(text: str) -> list[str]:
    """The interpreter of a script's #! line (and env's program)."""
    if not text.startswith('#!'):
        return []
    words = text.splitlines()[0][2:].split()
    names = [PurePath(words[0]).name]
    return names + words[1:2] if names == ['env'] else names


# --- make ----------------------------------------------------------------

def make_variables(text: str) -> dict[str, str]:
    """The variables a Makefile sets (=, :=, ?=, += appends)."""
    variables = {'MAKE': 'make'}
    for line in text.replace('\\\n', ' ').splitlines():
        found = re.match(r'^([A-Za-z_]\w*)\s*([?:+]?)=\s*(.*)$', line)
        if found:
            name, how, value = found.groups()
            if how == ':':  # expanded at once: its own old value, not itself
                value = value.replace(f'$({name})', variables.get(name, ''))
            variables[name] = (f'{variables.get(name, "")} {value}' if how == '+'
                               else value)
    return variables


def make_expand(text: str, variables: dict[str, str], shells: list[str], depth: int = 0) -> str:
    """text with the Makefile's variables expanded ($@ and unknown ones
    as X) and the bodies of $(shell ...) appended to shells; other
    functions ($(if ...), $(foreach ...)) expand to X: here they only
    make arguments."""
    if depth > 20:
        raise ValueError(f'make variables nest too deep: {text!r}')
    out, i = [], 0
    while i < len(text):
        if text.startswith('$$', i):
            out.append('$')
            i += 2
        elif text.startswith('$(', i):
            end = closing(text, i + 1)
            inner = text[i + 2:end]
            if inner in variables:
                out.append(make_expand(variables[inner], variables, shells, depth + 1))
            else:
                body = make_expand(inner, variables, shells, depth + 1)
                if inner.startswith('shell '):
                    shells.append(body.removeprefix('shell '))
                out.append('X')
            i = end + 1
        elif text[i] == '$':
            out.append('X')
            i += 2
        else:
            out.append(text[i])
            i += 1
    return ''.join(out)


def make_needs(text: str) -> list[str]:
    """The programs a Makefile's recipes and $(shell ...) run, and the
    /bin/sh make runs them with."""
    variables, shells, recipes = make_variables(text), [], []
    for value in variables.values():
        make_expand(value, variables, shells)
    for line in text.replace('\\\n', ' ').splitlines():
        if line.startswith('\t'):
            recipes.append(make_expand(line.strip().lstrip('@+-'), variables, shells))
    needs = [need for command in (*recipes, *shells) for need in sh_needs(command)]
    return ['sh', *needs] if needs else []


# --- Python --------------------------------------------------------------

class PythonReader:
    """The needs one Python file shows: the program (argv[0]) of each call
    of a subprocess function or shell.run, the modules it imports that
    are not the standard library's, and its absolute path constants."""

    def __init__(self, path: Path) -> None:
        self.where = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
        self.tree = ast.parse(path.read_text(), str(path))
        self.constants = {t.id: node.value for node in self.tree.body
                          if isinstance(node, ast.Assign)
                          for t in node.targets if isinstance(t, ast.Name)}
        self.needs: Needs = {}
        self.unread: list[str] = []

    def read(self) -> PythonReader:
        """Read the file; return self, with needs and unread (the call
        sites whose program could not be named) filled in."""
        scopes = [node for node in ast.walk(self.tree)
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for scope in [None, *scopes]:
            body = scope.body if scope else [n for n in self.tree.body
                                             if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            for node in (n for stmt in body for n in ast.walk(stmt)):
                if isinstance(node, ast.Call):
                    self.call(node, scope)
                elif isinstance(node, ast.List) and node.elts:
                    self.listed_constant(node.elts[0])
        self.imports()
        self.paths()
        return self

    def call(self, node: ast.Call, scope: ast.FunctionDef | None) -> None:
        name = ast.unparse(node.func)
        where = f'{self.where}:{node.lineno}'
        if UNREADABLE_RUNNERS.match(name):
            self.unread.append(f'{where}: {name}(): use shell.run or subprocess.run')
        if name == 'pytest.importorskip' and node.args:
            for module in self.word(node.args[0], scope) or []:
                add(self.needs, f'import:{module}', where)
        for keyword in node.keywords:
            self.arch_qemu(keyword)
        if name not in RUNNERS or not node.args:
            return
        programs = self.argv0(node.args[0], scope)
        if programs is None:
            self.unread.append(f'{where}: {ast.unparse(node.args[0])}')
        for program in programs or []:  # [] when argv is the caller's
            if program.endswith(('.pl', '.sh')) and program not in KERNEL_SCRIPTS:
                self.unread.append(f'{where}: {program}: not in KERNEL_NEEDS')
            elif program not in KERNEL_SCRIPTS:
                add(self.needs, program, where)

    def arch_qemu(self, keyword: ast.keyword) -> None:
        """An architecture's QEMU (lanes.Arch(qemu="qemu-system-x86_64"),
        whose command line qemu.command() starts with) is a program run;
        the tests' own Arch entries boot nothing."""
        value = keyword.value
        if keyword.arg == 'qemu' and not str(self.where).startswith('tests/') \
                and isinstance(value, ast.Constant) \
                and isinstance(value.value, str):
            add(self.needs, value.value, f'{self.where}:{value.lineno}')

    def listed_constant(self, first: ast.expr) -> None:
        """A list opening with a module constant naming a program (QEMU
        in qemu.command(), whose caller runs it) is a program run."""
        if isinstance(first, ast.Name) and first.id in self.constants:
            value = self.constants[first.id]
            if isinstance(value, ast.Constant) and isinstance(value.value, str) \
                    and re.match(r'^[\w.+-]+$', value.value):
                add(self.needs, value.value, f'{self.where}:{first.lineno}')

    def argv0(self, node: ast.expr, scope: ast.FunctionDef | None) -> list[str] | None:
        """The programs an argv expression starts with; [] when it is a
        parameter of scope (the callers are read instead), None when it
        cannot be read."""
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            first = node.elts[0]
            if isinstance(first, ast.Starred):
                return self.argv0(first.value, scope)
            return self.word(first, scope)
        if isinstance(node, ast.Name):
            value = self.lookup(node.id, scope)
            return value if isinstance(value, list) else (
                None if value is None else self.argv0(value, scope))
        return None

    def word(self, node: ast.expr, scope: ast.FunctionDef | None) -> list[str] | None:
        """The program names (basenames) an argv word can be; None when
        it cannot be read."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [PurePath(node.value).name]
        if isinstance(node, ast.Name):
            value = self.lookup(node.id, scope)
            return value if isinstance(value, list) or value is None else self.word(value, scope)
        if isinstance(node, ast.Call) and node.args and ast.unparse(node.func) in (
                'str', 'Path', 'os.fspath', 'shutil.which'):
            return self.word(node.args[0], scope)
        if isinstance(node, ast.Attribute) and ast.unparse(node) == 'sys.executable':
            return ['python3']
        if isinstance(node, ast.Attribute) and node.attr == 'qemu':
            return []  # an Arch's, read where the Arch entries are (arch_qemu)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self.word(node.right, scope)
        if isinstance(node, ast.IfExp):
            body, orelse = self.word(node.body, scope), self.word(node.orelse, scope)
            return None if body is None or orelse is None else body + orelse
        return None

    def lookup(self, name: str, scope: ast.FunctionDef | None) -> ast.expr | list[str] | None:
        """What a name holds: [] for a parameter of scope, the value last
        assigned to it in scope or at module level, None when unknown."""
        if scope:
            args = scope.args
            if name in [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]:
                return []
            assigned = [node.value for node in ast.walk(scope) if isinstance(node, ast.Assign)
                        for t in node.targets if isinstance(t, ast.Name) and t.id == name]
            if assigned:
                return assigned[-1]
        return self.constants.get(name)

    def imports(self) -> None:
        local = {'gfpctx_ci', *(p.stem for p in PYTHON_SOURCES)}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split('.')[0]
                if top not in sys.stdlib_module_names and top not in local:
                    add(self.needs, f'import:{top}', f'{self.where}:{node.lineno}')

    def paths(self) -> None:
        """Module constants that are absolute paths: files the code reads."""
        for name, value in self.constants.items():
            if isinstance(value, ast.Call) and ast.unparse(value.func) == 'Path' and value.args:
                value = value.args[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, str) \
                    and re.match(r'^/[\w./+-]+$', value.value):
                add(self.needs, f'file:{value.value}', f'{self.where}: {name}')


# --- all of it -----------------------------------------------------------

def derived_needs() -> tuple[Needs, list[str]]:
    """The needs the code shows, each with where; and the places whose
    program could not be read."""
    needs: Needs = {}
    unread = []
    for path in PYTHON_SOURCES:
        reader = PythonReader(path).read()
        for need, wheres in reader.needs.items():
            needs.setdefault(need, []).extend(wheres)
        unread += reader.unread
    for path in (*SH_SOURCES, REPO / 'tools/gfpctx-ci'):
        for need in shebang_needs(path.read_text()):
            add(needs, need, f'{path.relative_to(REPO)} (#!)')
    for path in SH_SOURCES:
        for need in sh_needs(path.read_text()):
            add(needs, need, str(path.relative_to(REPO)))
    for path in MAKEFILES:
        for need in make_needs(path.read_text()):
            add(needs, need, str(path.relative_to(REPO)))
    return needs, unread


def all_needs() -> Needs:
    """Derived and declared needs, each with where."""
    needs, _ = derived_needs()
    for need, who, path, _ in KERNEL_NEEDS:
        add(needs, need, f'{who} (linux {path})')
    for need, path, _ in (*REPO_NEEDS, *HOST_TEST_NEEDS):
        add(needs, need, path)
    return needs


def recipe(text: str, target: str) -> list[str]:
    """The recipe lines of a Makefile's rule for target."""
    lines = text.replace('\\\n', ' ').splitlines()
    for i, line in enumerate(lines):
        if re.match(rf'^{re.escape(target)}\s*:(?!=)', line):
            body = []
            for next_line in lines[i + 1:]:
                if not next_line.startswith('\t'):
                    break
                body.append(next_line.strip().lstrip('@+-'))
            return body
    raise ValueError(f'the Makefile has no rule for {target}')


def host_test_needs() -> Needs:
    """What `make test` needs, each with where: make and the sh it runs
    the recipe with, the programs of the test rule's recipe, the
    programs and modules of tests/ (the reader), the programs of
    install-deps, which the tests run (run_script), and HOST_TEST_NEEDS."""
    needs: Needs = {}
    text = (REPO / 'Makefile').read_text()
    variables, shells = make_variables(text), []
    commands = [make_expand(line, variables, shells) for line in recipe(text, 'test')]
    for need in ['make', 'sh', *(n for c in (*commands, *shells) for n in sh_needs(c))]:
        add(needs, need, 'Makefile (test)')
    for path in sorted((REPO / 'tests').glob('*.py')):
        for need, wheres in PythonReader(path).read().needs.items():
            needs.setdefault(need, []).extend(wheres)
    script = INSTALL_DEPS.read_text()
    for need in [*shebang_needs(script), *sh_needs(script)]:
        add(needs, need, 'tools/install-deps (run by tests/test_deps.py)')
    for need, path, _ in HOST_TEST_NEEDS:
        add(needs, need, path)
    return needs


def squeeze(text: str) -> str:
    """text with each run of white space made one space."""
    return ' '.join(text.split())


# --- the host: dpkg, linux-source -------------------------------------

def links(path: str) -> list[str]:
    """path, the symbolic links it goes through, and its target."""
    chain = [path]
    while os.path.islink(chain[-1]) and len(chain) < 10:
        target = os.path.join(os.path.dirname(chain[-1]), os.readlink(chain[-1]))
        chain.append(os.path.normpath(target))
    return [*chain, os.path.realpath(path)]


def aliases(path: str) -> list[str]:
    """path, the links on the way to its target and the target, each
    also under its /usr-merged alias (dpkg knows only one of the two)."""
    return sorted({alias for name in links(path) for alias in
                   (name, name[4:] if name.startswith('/usr/') else f'/usr{name}')})


@functools.cache
def dpkg_owners(paths: tuple[str, ...]) -> dict[str, set[str]]:
    """path -> the packages `dpkg -S` says own it, for those of paths it
    knows (one dpkg run)."""
    out = subprocess.run(['dpkg', '-S', *paths], capture_output=True, text=True).stdout
    found: dict[str, set[str]] = {}
    for line in out.splitlines():
        packages, sep, path = line.partition(': ')
        if sep and not line.startswith('diversion '):
            found.setdefault(path, set()).update(p.split(':')[0] for p in packages.split(', '))
    return found


def owners(path: str) -> set[str]:
    """The packages dpkg says own path (or a link on the way to its
    target, or the target), asking dpkg once for every row's path."""
    paths = [p for need in table(INSTALL_DEPS.read_text()) if (p := host_path(need))]
    known = dpkg_owners(tuple(sorted({a for p in [*paths, path] for a in aliases(p)})))
    return {package for name in aliases(path) for package in known.get(name, ())}


@functools.cache
def depends() -> dict[str, set[str]]:
    """Installed package -> the packages it depends on (virtual ones
    resolved to their installed providers)."""
    out = subprocess.run(['dpkg-query', '-W', '-f=${Package}\t${Provides}\t${Depends}, '
                          '${Pre-Depends}\n'], capture_output=True, text=True, check=True).stdout
    provided: dict[str, set[str]] = {}
    declared: dict[str, set[str]] = {}
    for line in out.splitlines():
        package, provides, deps = line.split('\t')
        for name in re.findall(r'(?:^|,)\s*([\w.+-]+)', provides):
            provided.setdefault(name, set()).add(package)
        declared.setdefault(package, set()).update(re.findall(r'(?:^|[,|])\s*([\w.+-]+)', deps))
    return {package: {p for dep in deps for p in provided.get(dep, set()) | {dep}}
            for package, deps in declared.items()}


@functools.cache
def providers() -> dict[str, set[str]]:
    """Name -> the installed packages that provide it (NodeSource's
    nodejs provides npm): install-deps counts them as that package."""
    out = subprocess.run(['dpkg-query', '-W', '-f=${db:Status-Abbrev}\t${Package}\t'
                          '${Provides}\n'], capture_output=True, text=True, check=True).stdout
    found: dict[str, set[str]] = {}
    for line in out.splitlines():
        status, package, provides = line.split('\t')
        if status.startswith('ii'):
            for name in re.findall(r'(?:^|,)\s*([\w.+-]+)', provides):
                found.setdefault(name, set()).add(package)
    return found


def close(package: str, graph: dict[str, set[str]], depth: int = 1) -> set[str]:
    """package and the packages it depends on, depth levels down (1: its
    direct dependencies, as perl on perl-base, gcc on gcc-12)."""
    found, level = {package}, {package}
    for _ in range(depth):
        level = {dep for p in level for dep in graph.get(p, ())} - found
        found |= level
    return found


def host_path(need: str) -> str | None:
    """Where the host has a need (a Debian program, a file, a Python
    module of this interpreter), or None."""
    kind, _, name = need.rpartition(':')
    if kind == 'file':
        return name if Path(name).exists() else None
    if kind == 'import':
        spec = importlib.util.find_spec(name)
        return spec.origin if spec else None
    return shutil.which(need, path=DEBIAN_PATH)


def kernel_tree(tmp_path: Path) -> Path | None:
    """A linux-source 6.12 tree with the files KERNEL_NEEDS cites: the
    runner's extracted one, else those files extracted into tmp_path."""
    cached = sorted((kernel.cache_dir() / 'src').glob(f'{lanes.SOURCE_PACKAGE}_*_full'))
    if cached:
        return cached[-1]
    if not Path(lanes.SOURCE_TARBALL).is_file():
        return None
    top = Path(lanes.SOURCE_TARBALL).name.removesuffix('.tar.xz')
    files = sorted({f'{top}/{path}' for _, _, path, _ in KERNEL_NEEDS})
    subprocess.run(['tar', '-xf', lanes.SOURCE_TARBALL, '-C', str(tmp_path),
                    '--strip-components=1', *files], check=True)
    return tmp_path


# --- the tests -----------------------------------------------------------

def test_install_deps_installs_its_table() -> None:
    text = INSTALL_DEPS.read_text()
    packages = list(dict.fromkeys(table(text).values()))
    run = run_script(text)
    assert run.returncode == 1, run.stderr
    assert missing(run) == packages
    assert f'sudo apt-get install {" ".join(packages)}' in run.stderr


def test_host_tests_list_is_what_the_host_tests_need() -> None:
    # both ways: make test installs all the host tests need, and no more
    needs, listed = host_test_needs(), host_tests(INSTALL_DEPS.read_text())
    unlisted = {n: sorted(set(w)) for n, w in needs.items() if n not in listed}
    assert unlisted == {}, f'needed by the host tests, not in HOST_TESTS: {unlisted}'
    unneeded = [n for n in listed if n not in needs]
    assert unneeded == [], f'in HOST_TESTS, not needed by the host tests: {unneeded}'


def test_install_deps_host_tests_installs_their_packages_only() -> None:
    text = INSTALL_DEPS.read_text()
    rows, listed = table(text), host_tests(text)
    run = run_script(text, args=('--host-tests',))
    assert run.returncode == 1, run.stderr
    assert missing(run) == list(dict.fromkeys(p for n, p in rows.items() if n in listed))
    assert 'qemu-system-x86' not in missing(run)
    assert 'python3-pytest' in missing(run)


def test_install_deps_rejects_a_host_test_need_without_row() -> None:
    text = INSTALL_DEPS.read_text().replace("HOST_TESTS='\n", "HOST_TESTS='\nfrobnicate\n")
    run = run_script(text, args=('--host-tests',))
    assert run.returncode == 2
    assert 'HOST_TESTS names frobnicate, which has no row in NEEDS' in run.stderr


def test_install_deps_rejects_an_unknown_option() -> None:
    run = run_script(INSTALL_DEPS.read_text(), args=('--host',))
    assert run.returncode == 2
    assert 'usage: install-deps [--host-tests]' in run.stderr


def test_install_deps_rejects_a_row_without_package() -> None:
    run = run_script(re.sub(r'^flex\s+flex$', 'flex', INSTALL_DEPS.read_text(), flags=re.M))
    assert run.returncode == 2
    assert 'row without a package' in run.stderr


def test_install_deps_counts_a_provided_package_present() -> None:
    # NodeSource's nodejs provides npm: Debian's npm, which conflicts with
    # it, must not be installed over it. Nothing else is installed here.
    text = INSTALL_DEPS.read_text()
    provides = ('case "$*" in *Provides*) printf "ii |nodejs-doc, npm (= 10.9.2)\\n'
                'un |npm\\n" ;; *) exit 1 ;; esac')
    run = run_script(text, dpkg_query=provides)
    assert run.returncode == 1, run.stderr
    assert missing(run) == [p for p in dict.fromkeys(table(text).values()) if p != 'npm']


def test_every_program_is_read() -> None:
    needs, unread = derived_needs()
    assert unread == []
    for program in ('make', 'tar', 'dpkg', 'dpkg-query', 'depmod', 'shellcheck', 'apt-get',
                    'apt-cache', 'qemu-system-x86_64', 'busybox', 'python3', 'cpio', 'grep',
                    'bash', 'sh', 'uname', 'import:pytest', 'import:docutils',
                    'import:matplotlib', f'file:{lanes.SOURCE_TARBALL}'):
        assert program in needs, program


def test_every_need_is_installed() -> None:
    assert check(INSTALL_DEPS.read_text(), all_needs()) == []


def test_check_reports_rsync_missing() -> None:
    text = INSTALL_DEPS.read_text()
    without = re.sub(r'^rsync\s+rsync\n', '', text, flags=re.M)
    assert without != text
    problems = check(without, all_needs())
    assert [p for p in problems if p.startswith('rsync ')] == [
        'rsync (needed by kselftest install (linux tools/testing/selftests/lib.mk)): '
        'no row in NEEDS']
    assert 'rsync' not in installed_by(without)


@pytest.mark.skipif(not Path('/usr/bin/dpkg-query').exists(), reason='no dpkg-query')
def test_install_deps_installs_rsync_when_missing() -> None:
    run = run_script(INSTALL_DEPS.read_text(), hide='rsync')
    assert run.returncode == 1
    assert 'rsync' in missing(run)


def test_sh_needs() -> None:
    text = ('#!/bin/sh\nset -eu\nX=$(uname -r) # a comment\nfor p in a b; do\n'
            '\tif ! dpkg-query -W "$p" 2>/dev/null |\n\t     grep -q ok; then echo "$(id -u)"; fi\n'
            'done\ncase " $X " in\n*" a "*) ;;\n*) rm -f x >&2 ;;\nesac\n'
            'cd "$(dirname "$0")/.."\ntools/install-deps\n/usr/bin/python3 -c 1 && $CC x\n'
            'in_list() {\n\tfor w; do [ "$w" = "$1" ] && return 0; done\n}\nin_list a b\n')
    assert sh_needs(text) == ['uname', 'dpkg-query', 'grep', 'id', 'rm', 'dirname', 'python3',
                              '$CC']


def test_make_needs() -> None:
    text = ('PY ?= /usr/bin/python3\nCI := $(PY) tools/x\nK = $(or $(KDIR),$(shell uname -r))\n'
            'all:\n\t$(MAKE) -C m K=$(K)\n\t@test -n "$(A)" || { echo "u"; exit 2; }\n'
            '\t$(CI) run \\\n\t\t--x\n\t-rm -rf $(OUT)\n')
    assert sorted(set(make_needs(text))) == ['make', 'python3', 'rm', 'sh', 'uname']


def test_python_reader(tmp_path: Path) -> None:
    source = tmp_path / 'example.py'
    source.write_text(
        'import os, subprocess, sys\nimport yaml\nfrom . import shell\n'
        'TOOL = "/usr/bin/tool"\nQEMU = "qemu-system-x86_64"\n'
        'def a(tree, argv):\n'
        '    shell.run(["rsync", "-a"])\n'
        '    make = ["make", "-C", str(tree)]\n'
        '    shell.run([*make, "tinyconfig"])\n'
        '    subprocess.run([sys.executable, str(tree / "kunit.py")])\n'
        '    subprocess.Popen(argv)\n'
        '    shell.run([str(tree / "scripts/checkpatch.pl"), "-f"])\n'
        '    shell.run([str(TOOL), "x"])\n'
        '    shell.run(["apt-cache" if argv else "apt-get", "show"])\n'
        '    return [QEMU, "-m", "1G"]\n'
        'def b(tree, name):\n'
        '    shell.run([str(tree / "new.sh")])\n'
        '    shell.run([f"{name}-config"])\n'
        '    os.system("ls")\n'
        'X = Arch(name="riscv64", qemu="qemu-system-riscv64")\n')
    reader = PythonReader(source).read()
    assert {need: sorted(set(w)) for need, w in reader.needs.items()} == {
        'rsync': ['example.py:7'], 'make': ['example.py:9'], 'python3': ['example.py:10'],
        'tool': ['example.py:13'], 'apt-cache': ['example.py:14'],
        'apt-get': ['example.py:14'], 'qemu-system-x86_64': ['example.py:15'],
        'import:yaml': ['example.py:2'], 'file:/usr/bin/tool': ['example.py: TOOL'],
        'qemu-system-riscv64': ['example.py:20']}
    assert reader.unread == ['example.py:17: new.sh: not in KERNEL_NEEDS',
                             "example.py:18: [f'{name}-config']",
                             'example.py:19: os.system(): use shell.run or subprocess.run']


@pytest.mark.skipif(shutil.which('dpkg') is None, reason='not a Debian host')
@pytest.mark.parametrize('need,package', table(INSTALL_DEPS.read_text()).items())
def test_dpkg_agrees(need: str, package: str) -> None:
    path = host_path(need)
    if path is None:
        pytest.skip(f'{need} not on this host')
    found = owners(path)
    if not found:
        pytest.skip(f'{path}: no package owns it')
    if found & (close(package, depends()) | providers().get(package, set())):
        return
    if any(link.startswith('/etc/alternatives/') for link in links(path)):
        pytest.skip(f'{path}: chosen by update-alternatives from {", ".join(sorted(found))}')
    pytest.fail(f'{need}: {path} is from {", ".join(sorted(found))}, not from {package}, '
                'what it depends on or what provides it')


def test_kernel_needs_cite_the_kernel(tmp_path: Path) -> None:
    tree = kernel_tree(tmp_path)
    if tree is None:
        pytest.skip(f'{lanes.SOURCE_TARBALL} missing: run tools/install-deps')
    for need, who, path, text in KERNEL_NEEDS:
        assert squeeze(text) in squeeze((tree / path).read_text()), (need, who, path)


def test_repo_needs_cite_the_repo() -> None:
    for need, path, text in (*REPO_NEEDS, *HOST_TEST_NEEDS):
        assert squeeze(text) in squeeze((REPO / path).read_text()), (need, path)
