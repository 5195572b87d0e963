"""Tests of tools/gfpctx_ci/whys.py: the one table of what each verdict
and why code means, against selftests/gfpctx/module/rules.c and the
lanes' rules data."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))

from gfpctx_ci import rulesdoc, whys  # noqa: E402

RULES_C = (REPO / 'selftests/gfpctx/module/rules.c').read_text()


def test_module_whys_reads_every_rule_under_any_ifdef() -> None:
    text = '''
    #ifdef CONFIG_X
    	{ .ctx_has = A,
    	  .verdict = GFPCTX_FATAL, .why = "one" },
    #else
    	{ .verdict = GFPCTX_WARNS,
    	  .why = "two" },
    #endif
    	{ .verdict = GFPCTX_OK, .why = "allowed" },
    '''
    assert whys.module_whys(text) == {'one': 'fatal', 'two': 'warns', 'allowed': 'ok'}
    with pytest.raises(ValueError, match='no `.verdict'):
        whys.module_whys('static int x;\n')


def test_the_table_has_every_why_code_of_the_module_and_no_other() -> None:
    module = whys.module_whys(RULES_C)
    missing = sorted(set(module) - set(whys.WHYS))
    extra = sorted(set(whys.WHYS) - set(module))
    assert not missing, f'selftests/gfpctx/module/rules.c codes missing from whys.WHYS: {missing}'
    assert not extra, f'whys.WHYS codes selftests/gfpctx/module/rules.c does not have: {extra}'


def test_each_code_gives_the_verdict_the_module_gives() -> None:
    module = whys.module_whys(RULES_C)
    assert {code: why.verdict for code, why in whys.WHYS.items()} == module


def test_each_entry_is_one_line_of_plain_text() -> None:
    assert set(whys.VERDICTS) == set(rulesdoc.SHORT)
    texts = list(whys.VERDICTS.values())
    for why in whys.WHYS.values():
        assert why.verdict in whys.VERDICTS
        texts += [why.meaning, why.source, why.instead]
    for text in texts:
        assert text and '\n' not in text and '``' not in text, text


def test_the_lanes_data_use_only_known_codes() -> None:
    for lane, rules in rulesdoc.load(rulesdoc.DATA_DIR).items():
        unknown = {r.why for r in rules} - set(whys.WHYS)
        assert not unknown, f'{lane}: {unknown}'
