# SPDX-License-Identifier: GPL-2.0
"""Find kernel splats (BUG, WARNING, lockdep, KASAN, ...) in a console log.

One Splat per report. A splat is expected when it lies inside a window
the tests declared with "gfpctx-expect: begin kind=... [func=PREFIX]" and
"gfpctx-expect: end" kernel log lines, is of a declared kind, and, when
the marker names func=PREFIX, has a frame of a function starting with
PREFIX. A window ends at its end marker, at the next begin marker, or
WINDOW_S seconds of log time after it began (a test killed inside its
window does not leave it open to the end of the log).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = re.compile(r'^\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])?\s?'
                    r'|^\[\s*[TC]\d+\]\s?')
TIME = re.compile(r'^\[\s*(\d+\.\d+)\]')
MARKER = re.compile(r'gfpctx-expect:\s+(begin|end)\b(.*)$')
KIND_WORD = re.compile(r'\bkind=(\S+)')
FUNC_WORD = re.compile(r'\bfunc=(\S+)')
# The longest a window stays open, in seconds of log time: a job's longest
# deadline (GFPCTX_MAX_TIMEOUT_MS, 60 s) plus the wait for
# __might_resched()'s rate limit and some slack.
WINDOW_S = 75.0
END = re.compile(r'^-+\[ end (trace|Kernel panic)')
PANIC = re.compile(r'^Kernel panic - not syncing')
CALL_TRACE = re.compile(r'^\s*Call Trace:')
FRAME = re.compile(r'^(?:kmemleak: )?\s*(\? )?(?:\[<[0-9a-f]+>\] )?'
                   r'([A-Za-z_][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+')
TITLE_FUNC = re.compile(r'(?:\bat (?:\S+:\d+ )?| in )'
                        r'([A-Za-z_][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+')
RIP = re.compile(r'^RIP: [0-9a-f]{4}:([A-Za-z_][\w.$]*)\+0x')

# Report frames that say nothing about where the problem is.
MACHINERY = re.compile(r'^(dump_stack|show_stack|__+might_|might_|__warn'
                       r'|report_bug|handle_bug|panic'
                       # lockdep's own frames of a report
                       r'|print_usage_bug|print_irq_inversion_bug|mark_lock'
                       r'|__lock_acquire|lock_acquire|lock_release|valid_state'
                       r'|check_usage|check_irq_usage|check_prev_add|validate_chain)')

# (kind, pattern on the log message), first match wins.
_PATTERNS = [
    ('might_sleep', r'BUG: sleeping function called from invalid context'),
    ('atomic_sleep', r'BUG: scheduling while atomic'),
    # `[ BUG: Invalid wait context ]`: lockdep's check of PREEMPT_RT
    # lock nesting (print_lock_invalid_wait_context(), lockdep.c)
    ('lockdep', r'(\[ BUG: Invalid wait context \]'
                r'|WARNING: (inconsistent lock state'
                r'|possible (circular locking|recursive locking'
                r'|irq lock inversion)'
                r'|suspicious RCU usage|bad unlock balance|bad contention'
                r'|held lock freed|Nested lock was not taken'
                r'|lock held when returning to user space'
                r'|chain_key collision|\S+-safe -> \S+-unsafe lock order'
                r'|\S+ still has locks held)'
                r'|INFO: possible irq lock inversion'
                r'|INFO: trying to register non-static key'
                r'|BUG: (MAX_(LOCKDEP|STACK_TRACE|LOCK_DEPTH)\w*'
                r'|looking up invalid subclass'
                r'|key \S+ has not been registered))'),
    ('kasan', r'BUG: KASAN:'),
    ('kmemleak', r'(kmemleak: )?(\d+ new suspected memory leaks'
                 r'|unreferenced object 0x)'),
    ('soft_lockup', r'(watchdog: )?BUG: soft lockup'),
    ('hard_lockup', r'((NMI )?watchdog: )?(CPU\d+: )?'
                    r'Watchdog detected hard LOCKUP'),
    ('rcu_stall', r'(rcu: )?INFO: rcu_\w+ '
                  r'(self-)?detected (expedited )?stall'),
    ('hung_task', r'INFO: task .+ blocked for more than'),
    ('bad_page', r'BUG: Bad page'),
    ('list_corruption', r'list_(add|del) corruption'),
    ('ubsan', r'UBSAN:'),
    ('oops', r'(Oops:|BUG: unable to handle|BUG: kernel NULL pointer'
             r'|kernel BUG at|general protection fault|Kernel panic'
             r'|Unable to handle kernel)'),
    ('warning', r'WARNING:'),
    ('bug', r'BUG:'),
]
PATTERNS = [(kind, re.compile(rx)) for kind, rx in _PATTERNS]

# A start line of the second kind inside an open report of the first is
# the same report: list corruption ends in WARN or BUG, a page fault's
# "BUG: unable to handle" comes before its "Oops:", kmemleak prints each
# object before its count.
SAME_REPORT = {
    'list_corruption': ('warning', 'oops', 'bug'),
    'oops': ('oops',),
    'kmemleak': ('kmemleak',),
}
REPORT_LINES = 120


@dataclass
class Splat:
    kind: str
    line_no: int  # 1-based line of the report's first line in the log
    title: str
    function: str
    expected: bool
    # the reliable frames of its call trace, innermost first (may be empty)
    frames: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    """What an open "gfpctx-expect: begin" marker declares."""
    kinds: frozenset[str]
    func: str  # a prefix one of the report's frames must have, or ''
    since: float | None  # log time of the marker, when the log has one

    def admits(self, kind: str, frames: list[str]) -> bool:
        return kind in self.kinds and (
            not self.func or any(f.startswith(self.func) for f in frames))


def scan(console_text: str) -> list[Splat]:
    lines = console_text.replace('\r\n', '\n').split('\n')
    messages = [log_message(line) for line in lines]
    splats: list[Splat] = []
    window: Window | None = None
    open_report = False
    for index, message in enumerate(messages):
        now = _time(lines[index])
        if window and window.since is not None and now is not None \
                and now - window.since > WINDOW_S:
            window = None
        marker = MARKER.search(message)
        if marker:
            window = _marker(marker, now)
            continue
        if END.match(message):
            open_report = False
            continue
        kind = _kind(message)
        if kind is None or _same_report(splats, kind, index, open_report,
                                        message):
            continue
        names = _Names.of(kind, messages, index)
        function = names.blamed()
        expected = window is not None and window.admits(kind, names.all())
        splats.append(Splat(kind=kind, line_no=index + 1,
                            title=message.strip(), function=function,
                            expected=expected, frames=tuple(names.trace)))
        open_report = True
    return splats


def unexpected(splats: list[Splat]) -> list[Splat]:
    return [splat for splat in splats if not splat.expected]


def log_message(line: str) -> str:
    """A console line's kernel message: without its printk time and
    caller prefix, carriage returns and NULs (what the patterns match)."""
    return PREFIX.sub('', line.strip('\r\x00').rstrip(), count=1)


def _time(line: str) -> float | None:
    match = TIME.match(line.strip('\r\x00'))
    return float(match.group(1)) if match else None


def _marker(match: re.Match[str], now: float | None) -> Window | None:
    """The window a begin marker opens (kind=a kind=b or kind=a,b, and an
    optional func=PREFIX); None for an end marker."""
    if match.group(1) == 'end':
        return None
    kinds = frozenset(kind for word in KIND_WORD.findall(match.group(2))
                      for kind in word.split(',') if kind)
    func = FUNC_WORD.search(match.group(2))
    return Window(kinds, func.group(1) if func else '', now)


def _kind(message: str) -> str | None:
    if message[:1].isspace():
        return None
    for kind, pattern in PATTERNS:
        if pattern.match(message):
            return kind
    return None


def _same_report(splats: list[Splat], kind: str, index: int,
                 open_report: bool, message: str) -> bool:
    if not splats or index + 1 - splats[-1].line_no > REPORT_LINES:
        return False
    if PANIC.match(message):  # the end of the report, unless that passed
        return not splats[-1].expected
    return open_report and kind in SAME_REPORT.get(splats[-1].kind, ())


@dataclass(frozen=True)
class _Names:
    """The functions a report names, read once: its title's ("at
    file:line func+0x.." or "in func+0x.."), its RIP lines', and its call
    trace's reliable frames, without module names or suffixes."""
    title: str | None
    rips: list[str]
    trace: list[str]

    @classmethod
    def of(cls, kind: str, messages: list[str], index: int) -> _Names:
        title = TITLE_FUNC.search(messages[index])
        report = report_lines(kind, messages, index)
        return cls(_symbol(title.group(1)) if title else None,
                   [_symbol(m.group(1)) for m in map(RIP.match, report) if m],
                   _trace_symbols(report))

    def blamed(self) -> str:
        """The function the report blames: the title's; else, gfpctx_
        symbols first, the first RIP and the trace, skipping report
        machinery (dump_stack, __might_resched, ...)."""
        if self.title:
            return self.title
        symbols = [s for s in self.rips[:1] + self.trace
                   if not MACHINERY.match(s)]
        ours = [s for s in symbols if s.startswith('gfpctx_')]
        return (ours or symbols or [''])[0]

    def all(self) -> list[str]:
        """Every function the report names (for an expect window's func=)."""
        return ([self.title] if self.title else []) + self.rips + self.trace


def report_lines(kind: str, messages: list[str], index: int) -> list[str]:
    """The messages (as log_message() gives them) after the report of kind
    starting at messages[index], up to its end: at most REPORT_LINES, to
    the first end line, expect-window marker or report of another kind."""
    lines = []
    for message in messages[index + 1:index + 1 + REPORT_LINES]:
        if END.match(message) or MARKER.search(message):
            break
        other = _kind(message)
        if other is not None and not PANIC.match(message) \
                and other not in SAME_REPORT.get(kind, ()):
            break
        lines.append(message)
    return lines


def _trace_symbols(report: list[str]) -> list[str]:
    """Reliable frames (no "? ") after "Call Trace:", else of the report."""
    traces = [i for i, line in enumerate(report) if CALL_TRACE.match(line)]
    frames = map(FRAME.match, report[traces[0]:] if traces else report)
    return [_symbol(f.group(2)) for f in frames if f and not f.group(1)]


def _symbol(symbol: str) -> str:
    """gfpctx_fn.isra.0 -> gfpctx_fn (compiler clones name the function)."""
    return symbol.split('.', 1)[0]
