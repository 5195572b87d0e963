"""Tests of tools/gfpctx_ci/rulesdoc.py: rules lines to the rst lists."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

from gfpctx_ci import lanes, rulesdoc  # noqa: E402
from gfpctx_ci.rulesdoc import Rule  # noqa: E402

# What debugfs prints: context lines, then one rules line per cell;
# vmalloc is GFP_KERNEL-only, so it has a single cell per context.
RULES = """\
name=task class=process available=yes
name=hardirq class=atomic available=yes
context=task class=process alloc=kmalloc gfp=GFP_KERNEL verdict=ok why=-
context=task class=process alloc=kmalloc gfp=GFP_ATOMIC verdict=ok why=-
context=task class=process alloc=kmalloc gfp=GFP_NOWAIT verdict=ok why=-
context=task class=process alloc=vmalloc gfp=GFP_KERNEL verdict=ok why=-
context=hardirq class=atomic alloc=kmalloc gfp=GFP_KERNEL verdict=warns why=sleep
context=hardirq class=atomic alloc=kmalloc gfp=GFP_ATOMIC verdict=ok why=-
context=hardirq class=atomic alloc=kmalloc gfp=GFP_NOWAIT verdict=ok why=-
context=hardirq class=atomic alloc=vmalloc gfp=GFP_KERNEL verdict=fatal why=bug
"""

DOC = """\
Title
=====

.. rules-table-begin: verdicts
.. rules-table-end: verdicts

.. rules-table-begin: why
.. rules-table-end: why

.. rules-table-begin: stock
old stock table
.. rules-table-end: stock

text between

.. rules-table-begin: rt
old rt table
.. rules-table-end: rt

.. rules-table-begin: differences-rt
.. rules-table-end: differences-rt
"""


def test_parse_skips_context_lines() -> None:
    rules = rulesdoc.parse(RULES)
    assert len(rules) == 8
    assert rules[0] == Rule('task', 'process', 'kmalloc', 'GFP_KERNEL', 'ok', '-')
    assert rules[-1] == Rule('hardirq', 'atomic', 'vmalloc', 'GFP_KERNEL', 'fatal', 'bug')


def test_parse_rejects_unknown_verdict() -> None:
    with pytest.raises(ValueError, match='unknown verdict'):
        rulesdoc.parse('context=a class=b alloc=c gfp=GFP_KERNEL verdict=maybe\n')


def test_parse_rejects_text_without_rules() -> None:
    with pytest.raises(ValueError, match='no rules'):
        rulesdoc.parse('name=task class=process available=yes\n')


def test_render_item_per_context_group_line_per_allocator_group() -> None:
    text = rulesdoc.render(rulesdoc.parse(RULES))
    assert text == ('- ``task`` (process):\n\n'
                    '  - kmalloc: ok/ok/ok\n'
                    '  - vmalloc: ok\n\n'
                    '- ``hardirq`` (atomic):\n\n'
                    '  - kmalloc: W/ok/ok\n'
                    '  - vmalloc: F')


def test_render_groups_equal_contexts_and_allocators() -> None:
    # contexts with the same verdicts share an item, each run of a class
    # named once; allocators share a line where verdicts and masks agree
    rules = [Rule(c, k, a, 'GFP_KERNEL', v) for c, k, a, v in (
        ('a', 'x', 'k1', 'ok'), ('a', 'x', 'k2', 'ok'),
        ('b', 'x', 'k1', 'ok'), ('b', 'x', 'k2', 'ok'),
        ('c', 'y', 'k1', 'ok'), ('c', 'y', 'k2', 'ok'),
        ('d', 'x', 'k1', 'ok'), ('d', 'x', 'k2', 'warns'))]
    rules.append(Rule('a', 'x', 'k3', '__GFP_ACCOUNT', 'ok'))
    text = rulesdoc.render(rules)
    assert text.startswith('- ``a`` (x):\n\n  - k1, k2: ok\n  - k3: ok\n\n'), text
    assert '- ``b`` (x), ``c`` (y):\n\n  - k1, k2: ok\n\n' in text
    assert text.endswith('- ``d`` (x):\n\n  - k1: ok\n  - k2: W')


def test_render_stays_within_80_columns() -> None:
    contexts = [f'context_number_{i}' for i in range(30)]
    gfps = [f'GFP_MASK_{i}' for i in range(12)]
    rules = [Rule(c, 'process-atomic', a, g, 'warns')
             for c in contexts for a in ('kmalloc', 'kmalloc_nolock') for g in gfps]
    for line in rulesdoc.render(rules).splitlines():
        assert len(line) <= 80, line


def test_render_orders_cells_as_the_module_lists_gfps() -> None:
    # No list of gfp masks of its own: the order of the rules lines.
    rules = [Rule('c', 'k', 'a', 'GFP_NOWAIT', 'fatal'),
             Rule('c', 'k', 'a', 'GFP_KERNEL', 'ok'),
             Rule('c', 'k', 'a', 'GFP_NOIO', 'warns')]
    assert rulesdoc.render(rules).splitlines()[-1] == '  - a: F/ok/W'


def test_replace_swaps_only_its_lane() -> None:
    doc = rulesdoc.replace(DOC, 'stock', 'NEW')
    assert 'old stock table' not in doc
    assert '.. rules-table-begin: stock\n\nNEW\n\n.. rules-table-end: stock' in doc
    assert 'old rt table' in doc
    assert rulesdoc.replace(doc, 'stock', 'NEW') == doc


def test_replace_without_markers() -> None:
    with pytest.raises(ValueError, match='lts'):
        rulesdoc.replace(DOC, 'lts', 'NEW')


def data(tmp_path: Path, stock: str, rt: str) -> Path:
    """A data directory of stock and rt rules files, as rules-doc --write
    leaves them."""
    dumps = {'stock': tmp_path / 'stock.dump', 'rt': tmp_path / 'rt.dump'}
    dumps['stock'].write_text(stock)
    dumps['rt'].write_text(rt)
    rulesdoc.write_data(dumps, tmp_path / 'rules')
    return tmp_path / 'rules'


def test_check_names_stale_lanes_then_write_fixes_them(tmp_path: Path) -> None:
    doc = tmp_path / 'gfpctx.rst'
    doc.write_text(DOC)
    rules = data(tmp_path, RULES, RULES.replace('verdict=warns', 'verdict=fatal'))
    assert rulesdoc.check(doc, rules) == ['verdicts', 'why', 'stock', 'rt']
    rulesdoc.write(doc, rules)
    assert rulesdoc.check(doc, rules) == []
    text = doc.read_text()
    assert '``hardirq`` (atomic):\n\n  - kmalloc: W/ok/ok\n' in text     # stock
    assert '``hardirq`` (atomic):\n\n  - kmalloc: F/ok/ok\n' in text     # rt
    assert text.startswith('Title\n') and 'text between' in text


def test_check_after_a_rules_change(tmp_path: Path) -> None:
    doc = tmp_path / 'gfpctx.rst'
    doc.write_text(DOC)
    rules = data(tmp_path, RULES, RULES)
    rulesdoc.write(doc, rules)
    (rules / 'rt.txt').write_text(RULES.replace('verdict=fatal', 'verdict=ok'))
    assert rulesdoc.check(doc, rules) == ['rt']


def test_data_file_is_the_rules_lines_with_a_header(tmp_path: Path) -> None:
    rules = data(tmp_path, RULES, RULES)
    text = (rules / 'stock.txt').read_text()
    lines = text.splitlines()
    assert lines[0].startswith('# ') and 'stock lane' in lines[0]
    body = [line for line in lines if not line.startswith('#')]
    # the rules lines as the module printed them, without the context lines
    assert body == [line for line in RULES.splitlines() if line.startswith('context=')]
    assert rulesdoc.parse(text) == rulesdoc.parse(RULES)


def test_stale_data_names_lanes_that_differ_or_lack_a_file(tmp_path: Path) -> None:
    rules = data(tmp_path, RULES, RULES)
    dumps = {'stock': tmp_path / 'stock.dump', 'rt': tmp_path / 'rt.dump',
             'lts': tmp_path / 'lts.dump'}
    dumps['lts'].write_text(RULES)
    assert rulesdoc.stale_data(dumps, rules) == ['lts']          # no lts.txt
    dumps['rt'].write_text(RULES.replace('why=sleep', 'why=other'))
    assert rulesdoc.stale_data(dumps, rules) == ['rt', 'lts']    # a why changed
    rulesdoc.write_data(dumps, rules)
    assert rulesdoc.stale_data(dumps, rules) == []


def test_load_orders_the_lanes_as_the_document(tmp_path: Path) -> None:
    for lane in ('zz-extra', 'rt', 'stock'):
        (tmp_path / f'{lane}.txt').write_text(RULES)
    assert list(rulesdoc.load(tmp_path)) == ['stock', 'rt', 'zz-extra']
    (tmp_path / 'rt.txt').write_text('# nothing\n')
    with pytest.raises(ValueError, match='rt.txt: no rules'):
        rulesdoc.load(tmp_path)


def test_legends_cover_every_verdict_and_why_within_80_columns() -> None:
    from gfpctx_ci import whys
    verdicts, codes = rulesdoc.legend_verdicts(), rulesdoc.legend_whys()
    for verdict in whys.VERDICTS:
        assert f'``{verdict}``\n\t' in verdicts
    for code, why in whys.WHYS.items():
        assert f'``{code}`` ({why.verdict})\n\t' in codes
    for line in (verdicts + '\n' + codes).splitlines():
        assert len(line.expandtabs(8)) <= 80, line


def test_the_document_matches_the_checked_in_rules() -> None:
    # make check compares the lanes' dumps with the data (VMs); this is
    # the half that needs none: the document is what the data render.
    doc = Path(__file__).resolve().parents[1] / 'Documentation' / 'gfpctx.rst'
    assert rulesdoc.check(doc, rulesdoc.DATA_DIR) == [], \
        'run tools/gfpctx-ci rules-doc --write'
    assert set(rulesdoc.load(rulesdoc.DATA_DIR)) == set(rulesdoc.DATA_LANES)


def test_replace_a_name_that_prefixes_another() -> None:
    doc = ('.. rules-table-begin: newest\n.. rules-table-end: newest\n\n'
           '.. rules-table-begin: newest-rt\n.. rules-table-end: newest-rt\n')
    filled = rulesdoc.replace(doc, 'newest', 'A')
    assert filled == ('.. rules-table-begin: newest\n\nA\n\n.. rules-table-end: newest\n\n'
                      '.. rules-table-begin: newest-rt\n.. rules-table-end: newest-rt\n')
    assert rulesdoc.replace(filled, 'newest-rt', 'B').count('A') == 1


def test_replace_fills_an_empty_block() -> None:
    doc = '.. rules-table-begin: stock\n.. rules-table-end: stock\n'
    table = rulesdoc.render(rulesdoc.parse(RULES))
    filled = rulesdoc.replace(doc, 'stock', table)
    assert f'\n{table}\n' in filled
    assert rulesdoc.replace(filled, 'stock', table) == filled


def test_differences_lists_cells_not_the_same_everywhere() -> None:
    one = rulesdoc.parse(RULES)
    other = rulesdoc.parse(RULES.replace(
        'alloc=kmalloc gfp=GFP_ATOMIC verdict=ok why=-\ncontext=hardirq class=atomic alloc=kmalloc gfp=GFP_NOWAIT',
        'alloc=kmalloc gfp=GFP_ATOMIC verdict=fatal why=nesting\ncontext=hardirq class=atomic alloc=kmalloc gfp=GFP_NOWAIT'))
    text = rulesdoc.differences({'old': one, 'new': other})
    assert text == ('- old ok, new F (nesting):\n\n'
                    '  - ``hardirq``: kmalloc with GFP_ATOMIC')
    # a cell one lane does not have differs too
    text = rulesdoc.differences({'a': one, 'b': one[:-1]})
    assert text == '- a F, b - (bug):\n\n  - ``hardirq``: vmalloc with GFP_KERNEL'
    assert rulesdoc.differences({'a': one, 'b': one}) == 'No cell differs between the lanes.'


def test_blocks_render_a_difference_table_when_its_lanes_are_all_there() -> None:
    rt = rulesdoc.parse(RULES)
    nrt = rulesdoc.parse(RULES.replace('verdict=warns why=sleep', 'verdict=fatal why=raw'))
    tables = rulesdoc.blocks({'rt': rt, 'newest-rt': nrt})
    assert sorted(tables) == ['differences-rt', 'newest-rt', 'rt', 'verdicts', 'why']
    assert '- rt W, newest-rt F (sleep, raw):\n\n  - ``hardirq``: kmalloc with GFP_KERNEL' \
        in tables['differences-rt']
    assert 'differences-rt' not in rulesdoc.blocks({'rt': rt})


def test_diff_lanes_are_every_lane_the_document_reads() -> None:
    read = set(rulesdoc.LANES).union(*rulesdoc.DIFFERENCES.values())
    assert set(rulesdoc.DIFF_LANES) == read
    assert len(rulesdoc.DIFF_LANES) == len(read)  # each once
    assert rulesdoc.DIFF_LANES[:len(rulesdoc.LANES)] == rulesdoc.LANES


def test_data_lanes_are_every_lane_document_first() -> None:
    assert rulesdoc.DATA_LANES[:len(rulesdoc.DIFF_LANES)] == rulesdoc.DIFF_LANES
    assert sorted(rulesdoc.DATA_LANES) == sorted(lanes.LANES)


def test_debug_and_kasan_rules_are_the_stock_lanes() -> None:
    # Documentation/gfpctx.rst ("Cell notation") says so and shows only
    # stock's lists: when a debug option changes a verdict, say it there.
    rules = rulesdoc.load(rulesdoc.DATA_DIR)
    for lane in ('debug', 'kasan'):
        assert rules[lane] == rules['stock'], lane


LACKING = ('name=bh_work class=softirq flags=atomic available=no reason=needs-WQ_BH\n'
           'name=task class=process flags=none available=yes\n'
           'context=task class=process alloc=kmalloc gfp=GFP_KERNEL verdict=ok why=-\n'
           'context=bh_work class=softirq alloc=kmalloc gfp=GFP_KERNEL verdict=warns why=w\n'
           'context=bh_work class=softirq alloc=kmalloc gfp=GFP_ATOMIC verdict=ok why=-\n')


def test_a_context_the_kernel_lacks_is_kept_with_its_reason() -> None:
    # 6.1 has no WQ_BH: its module still has bh_work's rules lines
    rules = rulesdoc.parse(LACKING)
    assert [r.unavailable for r in rules] == ['', 'needs-WQ_BH', 'needs-WQ_BH']
    text = rulesdoc.data_text('lts', rules)
    assert 'name=bh_work available=no reason=needs-WQ_BH\n' in text
    assert 'name=task' not in text
    assert rulesdoc.parse(text) == rules          # the data file reads back the same
    table = rulesdoc.render(rules)
    assert '``bh_work``' not in table.split('not on this kernel')[0]
    assert table.endswith('- not on this kernel: ``bh_work`` (needs-WQ_BH)')


def test_differences_leave_out_a_context_a_kernel_lacks() -> None:
    lts = rulesdoc.parse(LACKING)
    stock = rulesdoc.parse(LACKING.replace(' available=no reason=needs-WQ_BH', ' available=yes'))
    assert rulesdoc.differences({'lts': lts, 'stock': stock}) == \
        'No cell differs between the lanes.'
