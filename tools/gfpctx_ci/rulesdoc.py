"""The rules tables of Documentation/gfpctx.rst, made from what the module's
debugfs `rules` file printed on a lane, so the document cannot drift from
the code: `check` fails when the document differs from the regenerated
table."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHORT = {'ok': 'ok', 'warns': 'W', 'fatal': 'F'}
BEGIN = '.. rules-table-begin: {lane}'
END = '.. rules-table-end: {lane}'
# The lanes whose tables the document shows: a standard and a PREEMPT_RT kernel.
LANES = ('stock', 'rt')


@dataclass(frozen=True)
class Rule:
    context: str
    cls: str
    alloc: str
    gfp: str
    verdict: str


def parse(text: str) -> list[Rule]:
    """Rules lines (`context=.. class=.. alloc=.. gfp=.. verdict=..`)."""
    rules = []
    for line in text.splitlines():
        words = dict(w.split('=', 1) for w in line.split() if '=' in w)
        if not {'context', 'class', 'alloc', 'gfp', 'verdict'} <= set(words):
            continue
        if words['verdict'] not in SHORT:
            raise ValueError(f'unknown verdict in: {line}')
        rules.append(Rule(words['context'], words['class'], words['alloc'],
                          words['gfp'], words['verdict']))
    if not rules:
        raise ValueError('no rules lines found')
    return rules


def _ordered(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def render(rules: list[Rule]) -> str:
    """An rst simple table: a row per context, a column per allocator,
    each cell the verdicts of its gfp masks, in the module's order (the
    order of the rules lines: GFP_KERNEL/GFP_ATOMIC/GFP_NOWAIT today)."""
    contexts = _ordered([r.context for r in rules])
    allocs = _ordered([r.alloc for r in rules])
    gfps = _ordered([r.gfp for r in rules])
    verdict = {(r.context, r.alloc, r.gfp): r.verdict for r in rules}
    cls = {r.context: r.cls for r in rules}
    header = ['context', 'class'] + allocs
    rows = []
    for ctx in contexts:
        cells = []
        for alloc in allocs:
            found = [SHORT[verdict[(ctx, alloc, g)]] for g in gfps
                     if (ctx, alloc, g) in verdict]
            cells.append('/'.join(found))
        rows.append([ctx, cls[ctx]] + cells)
    widths = [max(len(row[i]) for row in [header] + rows)
              for i in range(len(header))]
    rule_line = ' '.join('=' * w for w in widths)

    def fmt(row: list[str]) -> str:
        return ' '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip()

    lines = [rule_line, fmt(header), rule_line]
    lines += [fmt(row) for row in rows]
    lines.append(rule_line)
    return '\n'.join(lines)


def _block(lane: str) -> re.Pattern[str]:
    return re.compile(re.escape(BEGIN.format(lane=lane)) + r'\n(?:.*?\n)?' +
                      re.escape(END.format(lane=lane)), re.S)


def replace(doc: str, lane: str, table: str) -> str:
    """The document with the table of `lane` replaced."""
    pattern = _block(lane)
    if not pattern.search(doc):
        raise ValueError(f'no rules table markers for lane {lane}')
    body = f'\n{table}\n'
    return pattern.sub(lambda m: BEGIN.format(lane=lane) + '\n' + body +
                       '\n' + END.format(lane=lane), doc, count=1)


def check(doc_path: Path, lanes: dict[str, Path]) -> list[str]:
    """Lanes whose table in the document differs from their rules file."""
    doc = doc_path.read_text()
    stale = []
    for lane, rules_path in lanes.items():
        table = render(parse(rules_path.read_text()))
        if replace(doc, lane, table) != doc:
            stale.append(lane)
    return stale


def write(doc_path: Path, lanes: dict[str, Path]) -> None:
    doc = doc_path.read_text()
    for lane, rules_path in lanes.items():
        doc = replace(doc, lane, render(parse(rules_path.read_text())))
    doc_path.write_text(doc)
