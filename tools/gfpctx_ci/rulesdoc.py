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
# The lanes whose tables the document shows: 6.1, and a standard and a
# PREEMPT_RT kernel of 6.12 and of Debian's newest.
LANES = ('lts', 'stock', 'rt', 'newest', 'newest-rt')
# The tables of differences between kernels: the standard ones, with a
# debug kernel of the newest (lockdep checks PREEMPT_RT's lock nesting
# there), and the PREEMPT_RT ones.
DIFFERENCES = {
    'differences': ('lts', 'stock', 'newest', 'newest-debug'),
    'differences-rt': ('rt', 'newest-rt'),
}
# Every lane whose rules the document reads, in that order.
DIFF_LANES = tuple(dict.fromkeys(
    LANES + tuple(lane for lanes in DIFFERENCES.values() for lane in lanes)))


@dataclass(frozen=True)
class Rule:
    context: str
    cls: str
    alloc: str
    gfp: str
    verdict: str
    why: str = ''


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
                          words['gfp'], words['verdict'], words.get('why', '')))
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
    return _table(header, rows)


def _table(header: list[str], rows: list[list[str]]) -> str:
    """An rst simple table; the last column may be as long as it needs."""
    widths = [max(len(row[i]) for row in [header] + rows)
              for i in range(len(header))]
    rule_line = ' '.join('=' * w for w in widths)

    def fmt(row: list[str]) -> str:
        return ' '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip()

    lines = [rule_line, fmt(header), rule_line]
    lines += [fmt(row) for row in rows]
    lines.append(rule_line)
    return '\n'.join(lines)


def differences(lanes: dict[str, list[Rule]]) -> str:
    """An rst table of the cells whose verdict is not the same on every
    lane: a column per lane (its short verdict, - where the cell does not
    exist), then the rules that decided where the verdict is not ok."""
    cells: dict[tuple[str, str, str], dict[str, Rule]] = {}
    for lane, rules in lanes.items():
        for r in rules:
            cells.setdefault((r.context, r.alloc, r.gfp), {})[lane] = r
    rows = []
    for (ctx, alloc, gfp), by_lane in cells.items():
        if len({r.verdict for r in by_lane.values()}) < 2 and len(by_lane) == len(lanes):
            continue
        verdicts = [SHORT[by_lane[lane].verdict] if lane in by_lane else '-'
                    for lane in lanes]
        whys = _ordered([r.why for r in by_lane.values() if r.verdict != 'ok'])
        rows.append([ctx, alloc, gfp, *verdicts, ', '.join(whys)])
    if not rows:
        return 'No cell differs between the lanes.'
    return _table(['context', 'alloc', 'gfp', *lanes, 'why'], rows)


def _block(lane: str) -> re.Pattern[str]:
    # A whole name: the end marker of newest is no prefix of newest-rt's.
    return re.compile(re.escape(BEGIN.format(lane=lane)) + r'\n(?:.*?\n)?' +
                      re.escape(END.format(lane=lane)) + r'(?![\w-])', re.S)


def replace(doc: str, lane: str, table: str) -> str:
    """The document with the table of `lane` replaced."""
    pattern = _block(lane)
    if not pattern.search(doc):
        raise ValueError(f'no rules table markers for lane {lane}')
    body = f'\n{table}\n'
    return pattern.sub(lambda m: BEGIN.format(lane=lane) + '\n' + body +
                       '\n' + END.format(lane=lane), doc, count=1)


def blocks(lanes: dict[str, Path]) -> dict[str, str]:
    """The document's tables from the lanes' rules files: one per lane of
    LANES among them, and each table of DIFFERENCES whose lanes they all
    are."""
    rules = {lane: parse(path.read_text()) for lane, path in lanes.items()}
    tables = {lane: render(r) for lane, r in rules.items() if lane in LANES}
    for name, compared in DIFFERENCES.items():
        if set(compared) <= set(rules):
            tables[name] = differences({lane: rules[lane] for lane in compared})
    return tables


def check(doc_path: Path, lanes: dict[str, Path]) -> list[str]:
    """Tables of the document that differ from the lanes' rules files."""
    doc = doc_path.read_text()
    return [name for name, table in blocks(lanes).items()
            if replace(doc, name, table) != doc]


def write(doc_path: Path, lanes: dict[str, Path]) -> None:
    doc = doc_path.read_text()
    for name, table in blocks(lanes).items():
        doc = replace(doc, name, table)
    doc_path.write_text(doc)
