# SPDX-License-Identifier: GPL-2.0
"""Record a test fixture from a real console log: one kernel report (or
windows of lines) cut out, trimmed, and its addresses hashed.

The cut keeps the log's "Linux version" line (which kernel printed it),
the report from its first line to its "---[ end trace" line, and, for a
report inside a "gfpctx-expect" window, the window's begin and end
markers, so that the scanner reads the fixture as it read the log.

Addresses are hashed as the kernel hashes %p (ptr_to_id()): a kernel or
user address (ffff8880035c4000, 0x00007ffd1234abc0, [<ffffffff8112a0b4>])
becomes a stable stand-in of the same width that keeps the region its
first six digits name, derived from the address alone, so one address
is one stand-in everywhere and recording again gives the same bytes.
Function offsets (+0x5e/0xa0), register values below user space, error
values, sizes and line numbers stay.
"""
from __future__ import annotations

import hashlib
import re

from . import splat

# A 64-bit kernel address (ffff8..., 0xffffffff8...) or a user one
# (0x7ffd..., 00005555...), 16 hex digits, not inside a longer word, and
# not an error value (-4095..-1, e.g. RAX: ffffffffffffffda).
ADDRESS = re.compile(r'(?<![\w])(0x)?(?!fffffffffffff)'
                     r'((?:ffff[89a-f]|0000[1-7])[0-9a-f]{11})(?![\w])')
# The head an address keeps: its region (direct map ffff88, vmalloc
# ffffc9, kernel text ffffff, user stack 00007f), not where in it.
HEAD = 6
ESCAPE = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]')
MAX_LINES = 120


class FixtureError(Exception):
    pass


def hash_pointers(line: str) -> str:
    """The line with each address replaced by its stand-in."""
    return ADDRESS.sub(_stand_in, line)


def _stand_in(match: re.Match[str]) -> str:
    address = match.group(2)
    digest = hashlib.sha256(address.encode()).hexdigest()
    return (match.group(1) or '') + address[:HEAD] + digest[:16 - HEAD]


def trim(line: str) -> str:
    """A console line without carriage returns, NULs, terminal escapes
    (SeaBIOS clears the screen) and trailing blanks."""
    return ESCAPE.sub('', line.replace('\r', '').replace('\x00', '')).rstrip()


def report_lines(text: str, kind: str, nth: int = 1, before: int = 0) -> list[int]:
    """0-based indexes of the lines to keep for the nth report of this
    kind as splat.scan() finds it: the report with the `before` lines
    above its first (lockdep's "=====" rule), its end line, and the
    expect window's markers around it."""
    lines = text.replace('\r\n', '\n').split('\n')
    found = [s for s in splat.scan(text) if s.kind == kind]
    if not 1 <= nth <= len(found):
        raise FixtureError(f"no report {kind}:{nth} in the log "
                           f"({len(found)} of that kind)")
    report = found[nth - 1]
    first = report.line_no - 1
    messages = [splat.log_message(line) for line in lines]
    last = first + len(splat.report_lines(kind, messages, first))
    if last + 1 < len(lines) and splat.END.match(messages[last + 1]):
        last += 1
    keep = list(range(max(first - before, 0), last + 1))
    if report.expected:
        begin = max(i for i in range(first) if _marker(messages[i]) == 'begin')
        keep = [i for i in keep if i > begin]
        end = next((i for i in range(last + 1, len(lines))
                    if _marker(messages[i])), None)
        keep = [begin] + keep + ([end] if end is not None else [])
    return keep


def _marker(message: str) -> str | None:
    match = splat.MARKER.search(message)
    return match.group(1) if match else None


def ranges(spec: str) -> list[int]:
    """0-based indexes of "FIRST-LAST[,FIRST-LAST]..." (1-based, inclusive)."""
    keep: list[int] = []
    for part in spec.split(','):
        first, _, last = part.partition('-')
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise FixtureError(f"{part!r}: want FIRST-LAST line numbers") from None
        if not 1 <= low <= high:
            raise FixtureError(f"{part!r}: want 1 <= FIRST <= LAST")
        keep += range(low - 1, high)
    return keep


def record(text: str, keep: list[int], max_lines: int = MAX_LINES) -> str:
    """The kept lines (and the "Linux version" line), trimmed and hashed.
    Fails if the scanner reads a report of the kept lines differently in
    the fixture than in the log or than in the lines as they were, or if
    the fixture is over max_lines."""
    lines = text.replace('\r\n', '\n').split('\n')
    if keep and max(keep) >= len(lines):
        raise FixtureError(f"line {max(keep) + 1} is past the log's end "
                           f"({len(lines)} lines)")
    banner = [i for i, line in enumerate(lines) if 'Linux version' in line][:1]
    chosen = sorted(set(banner + keep))
    out = '\n'.join(hash_pointers(trim(lines[i])) for i in chosen) + '\n'
    if max_lines and len(chosen) > max_lines:
        raise FixtureError(f"{len(chosen)} lines, more than {max_lines}")
    now = splat.scan(out)
    # each report of the log that starts in the cut reads the same in it
    # (a report the log takes as part of an earlier one may stand alone)
    at = {report.line_no: report for report in now}
    for old in splat.scan(text):
        if old.line_no - 1 in chosen:
            new = at.get(chosen.index(old.line_no - 1) + 1)
            if _reading(old) != _reading(new):
                raise FixtureError(f"the scanner reads {_said(old, 'the log')} but "
                                   f"{_said(new, 'the fixture')}; cut the whole report")
    raw = splat.scan('\n'.join(lines[i] for i in chosen))
    if list(map(_reading, raw)) != list(map(_reading, now)):
        raise FixtureError("trimmed and hashed, the lines read differently")
    return out


def _reading(report: splat.Splat | None) -> tuple[object, ...] | None:
    """What the scanner reads in a report, but for where it is and its
    title (which may hold an address)."""
    if report is None:
        return None
    return report.kind, report.function, report.expected, report.frames


def _said(report: splat.Splat | None, where: str) -> str:
    if report is None:
        return f"no such report in {where}"
    return (f"{report.kind} in {report.function or '?'} with {len(report.frames)} frames"
            f"{', expected,' if report.expected else ''} at line {report.line_no} of {where}")
