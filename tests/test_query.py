"""Tests of tools/gfpctx_ci/query.py: the offline `rules` query."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci import query, rulesdoc, whys  # noqa: E402

STOCK = """\
context=task class=process alloc=kmalloc gfp=GFP_KERNEL verdict=ok why=allowed
context=task class=process alloc=kmalloc gfp=GFP_ATOMIC verdict=ok why=allowed
context=task class=process alloc=vmalloc gfp=GFP_KERNEL verdict=ok why=allowed
context=timer class=softirq alloc=kmalloc gfp=GFP_KERNEL verdict=warns why=blocking-gfp-in-atomic
context=timer class=softirq alloc=kmalloc gfp=GFP_ATOMIC verdict=ok why=allowed
context=timer class=softirq alloc=vmalloc gfp=GFP_KERNEL verdict=fatal why=vmalloc-in-interrupt-bugs
context=shared_irq class=hardirq alloc=kmalloc gfp=GFP_KERNEL verdict=warns why=blocking-gfp-in-atomic
"""
# the RT lane: shared_irq is threaded, and the module has a context more
RT = STOCK.replace('shared_irq class=hardirq', 'shared_irq class=process-atomic') + \
    'context=nmi class=hardirq alloc=kmalloc gfp=GFP_ATOMIC verdict=fatal why=no-such-code\n'


def rules() -> dict[str, list[rulesdoc.Rule]]:
    return {'stock': rulesdoc.parse(STOCK), 'rt': rulesdoc.parse(RT)}


def test_split_names_takes_repeats_and_comma_lists() -> None:
    assert query.split_names(None) == []
    assert query.split_names(['timer,tasklet', ' ipi ', 'timer', ',']) == [
        'timer', 'tasklet', 'ipi']


def test_pick_matches_without_case_and_all_when_none_asked() -> None:
    valid = ['GFP_KERNEL', 'GFP_ATOMIC']
    assert query.pick(None, valid, 'gfp') == valid
    assert query.pick(['gfp_atomic,GFP_KERNEL'], valid, 'gfp') == ['GFP_ATOMIC', 'GFP_KERNEL']


def test_pick_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(query.UnknownName) as err:
        query.pick(['GFP_KERNEL', 'GFP_NOPE'], ['GFP_KERNEL', 'GFP_ATOMIC'], 'gfp')
    assert str(err.value) == "unknown gfp 'GFP_NOPE'; valid: GFP_KERNEL, GFP_ATOMIC"


def test_answer_a_line_per_lane_then_what_it_means() -> None:
    text = query.answer(rules(), ['timer'], ['kmalloc'], ['GFP_KERNEL'])
    lines = text.splitlines()
    assert lines[:3] == [
        'timer kmalloc GFP_KERNEL',
        '  stock  softirq        warns  blocking-gfp-in-atomic',
        '  rt     softirq        warns  blocking-gfp-in-atomic']
    why = whys.WHYS['blocking-gfp-in-atomic']
    flat = ' '.join(text.split())
    assert flat.count('blocking-gfp-in-atomic (warns): ') == 1   # once, not per lane
    assert ' '.join(why.meaning.split()) in flat
    assert 'kernel: ' + ' '.join(why.source.split()) in flat
    assert 'instead: ' + ' '.join(why.instead.split()) in flat
    assert 'warns: ' + ' '.join(whys.VERDICTS['warns'].split()) in flat
    assert 'ok: ' not in flat and 'fatal: ' not in flat          # only what is shown
    assert all(len(line) <= query.WIDTH for line in lines)


def test_answer_all_when_no_option_in_the_module_order() -> None:
    text = query.answer(rules())
    heads = [line for line in text.splitlines() if line and line[0].islower()
             and ':' not in line and '(' not in line]
    assert heads == ['task kmalloc GFP_KERNEL', 'task kmalloc GFP_ATOMIC',
                     'task vmalloc GFP_KERNEL', 'timer kmalloc GFP_KERNEL',
                     'timer kmalloc GFP_ATOMIC', 'timer vmalloc GFP_KERNEL',
                     'shared_irq kmalloc GFP_KERNEL', 'nmi kmalloc GFP_ATOMIC']


def test_answer_class_per_lane_and_a_cell_one_lane_lacks() -> None:
    text = query.answer(rules(), ['shared_irq,nmi'], lanes=['rt', 'stock'])
    assert '  rt     process-atomic warns  blocking-gfp-in-atomic' in text
    assert '  stock  hardirq        warns  blocking-gfp-in-atomic' in text
    assert '  stock  -  (the module of this lane has no such cell)' in text
    assert 'no-such-code: no description in tools/gfpctx_ci/whys.py' in text


def test_answer_errors() -> None:
    with pytest.raises(query.UnknownName, match="unknown context 'timr'; valid: task, timer, "
                       "shared_irq, nmi"):
        query.answer(rules(), ['timr'])
    with pytest.raises(query.UnknownName, match="unknown lane 'lts'; valid: stock, rt"):
        query.answer(rules(), lanes=['lts'])
    with pytest.raises(query.QueryError, match='GFP_KERNEL only'):
        query.answer(rules(), ['timer'], ['vmalloc'], ['GFP_ATOMIC'])


def test_answer_says_a_kernel_lacks_the_context() -> None:
    lacking = rulesdoc.parse('name=timer available=no reason=needs-x\n' + STOCK)
    text = query.answer({'stock': rulesdoc.parse(STOCK), 'old': lacking}, ['timer'],
                        ['kmalloc'], ['GFP_KERNEL'])
    assert '  old    softirq        -      no such context on this kernel (needs-x)' in text
    assert '  stock  softirq        warns  blocking-gfp-in-atomic' in text
