"""The `rules` query: may I call this allocator with this gfp in this
context? Each lane's verdict and why code, from the rules data the lanes'
modules printed (rulesdoc.load()), then what the verdicts and codes mean,
the kernel source of each rule and what to do instead (whys.py). The
names come from the data only: a context the module gains is known as
soon as its lanes' data are."""
from __future__ import annotations

import textwrap

from . import whys
from .rulesdoc import Rule

WIDTH = 79  # the answer's lines are wrapped to this


class QueryError(Exception):
    """A question that cannot be answered; the message is one line."""


class UnknownName(QueryError):
    """A name that no lane's data has; the message lists the valid ones."""


def split_names(values: list[str] | None) -> list[str]:
    """The names of a repeated option, each value a comma separated list
    (["timer,tasklet", "ipi"] -> ["timer", "tasklet", "ipi"]); blanks
    dropped, each name once, in the order given."""
    names = [n.strip() for v in values or [] for n in v.split(",")]
    return list(dict.fromkeys(n for n in names if n))


def pick(values: list[str] | None, valid: list[str], what: str) -> list[str]:
    """The names of `valid` that `values` (as for split_names()) ask for,
    matched without regard to case, in the order asked; all of `valid`
    when none is asked. Raises UnknownName naming the first unknown one
    and listing `valid`."""
    asked = split_names(values)
    if not asked:
        return list(valid)
    by_key = {name.lower(): name for name in valid}
    for name in asked:
        if name.lower() not in by_key:
            raise UnknownName(f"unknown {what} {name!r}; valid: {', '.join(valid)}")
    return list(dict.fromkeys(by_key[name.lower()] for name in asked))


def _ordered(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _wrap(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, width=WIDTH, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def cell_lines(cell: tuple[str, str, str], by_lane: dict[str, dict[tuple[str, str, str], Rule]],
               lanes: list[str]) -> list[str]:
    """A cell's header, then a line per lane: class, verdict, why; `-`
    where the lane's module has no such cell or the kernel no such
    context (with the module's reason)."""
    width = max(len(lane) for lane in lanes)
    lines = [" ".join(cell)]
    for lane in lanes:
        rule = by_lane[lane].get(cell)
        if rule is None:
            lines.append(f"  {lane:<{width}}  -  (the module of this lane has no such cell)")
        elif rule.unavailable:
            lines.append(f"  {lane:<{width}}  {rule.cls:<14} -      no such context on this "
                         f"kernel ({rule.unavailable})")
        else:
            lines.append(f"  {lane:<{width}}  {rule.cls:<14} {rule.verdict:<5}  {rule.why}")
    return lines


def legend(verdicts: list[str], codes: list[str]) -> list[str]:
    """What the verdicts and why codes seen mean (whys.py), in whys.py's
    order; a code whys.py lacks is said to be so."""
    lines = []
    for verdict in [v for v in whys.VERDICTS if v in verdicts]:
        lines += _wrap(f"{verdict}: {whys.VERDICTS[verdict]}")
    for code in [c for c in whys.WHYS if c in codes] + [c for c in codes if c not in whys.WHYS]:
        why = whys.WHYS.get(code)
        lines.append("")
        if why is None:
            lines.append(f"{code}: no description in tools/gfpctx_ci/whys.py")
            continue
        lines += _wrap(f"{code} ({why.verdict}): {why.meaning}")
        lines += _wrap(f"  kernel:  {why.source}", indent="           ")
        lines += _wrap(f"  instead: {why.instead}", indent="           ")
    return lines


def answer(rules: dict[str, list[Rule]], contexts: list[str] | None = None,
           allocs: list[str] | None = None, gfps: list[str] | None = None,
           lanes: list[str] | None = None) -> str:
    """The answer for the cells of the names asked (None or []: all), on
    the lanes asked, from `rules` (lane -> its rules, as rulesdoc.load()
    gives them): a block per cell, in the module's order, then the
    legend. Raises UnknownName for
    a name no lane has, QueryError when no lane has a cell of the names
    asked (an allocator may take GFP_KERNEL only)."""
    all_rules = [r for lane_rules in rules.values() for r in lane_rules]
    want_ctx = set(pick(contexts, _ordered([r.context for r in all_rules]), "context"))
    want_alloc = set(pick(allocs, _ordered([r.alloc for r in all_rules]), "alloc"))
    want_gfp = set(pick(gfps, _ordered([r.gfp for r in all_rules]), "gfp"))
    chosen = pick(lanes, list(rules), "lane")
    by_lane = {lane: {(r.context, r.alloc, r.gfp): r for r in rules[lane]} for lane in chosen}
    cells = [c for c in dict.fromkeys((r.context, r.alloc, r.gfp) for r in all_rules)
             if c[0] in want_ctx and c[1] in want_alloc and c[2] in want_gfp]
    if not cells:
        raise QueryError("no lane has a cell of these names (an allocator that takes "
                         "GFP_KERNEL only has no other gfp: see `allocs` in "
                         "Documentation/gfpctx.rst)")
    lines: list[str] = []
    seen = [by_lane[lane][c] for c in cells for lane in chosen if c in by_lane[lane]]
    for cell in cells:
        lines += cell_lines(cell, by_lane, chosen)
    lines.append("")
    lines += legend(_ordered([r.verdict for r in seen]), _ordered([r.why for r in seen]))
    lines += ["", "The lanes' kernels: tools/gfpctx-ci lanes."]
    return "\n".join(lines)
