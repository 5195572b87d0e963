"""Tests of selftests/gfpctx/gfpctx_lib.sh's table readers, run by
busybox sh and awk as in the guest, on tables written here in the
module's formats (Documentation/gfpctx.rst, "The debugfs interface")."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

LIB_DIR = Path(__file__).resolve().parents[1] / 'selftests' / 'gfpctx'

CONTEXTS = """\
name=task class=process flags=none available=yes
name=kthread class=process flags=none available=yes
name=spinlock class=process-atomic flags=atomic available=yes
name=timer class=softirq flags=atomic,interrupt,softirq available=yes
name=tasklet class=softirq flags=atomic,interrupt,softirq available=yes
name=bh_work class=softirq flags=atomic,interrupt,softirq available=no reason=no-bh-workqueue
name=hrtimer_soft class=softirq flags=atomic,interrupt,softirq available=yes
name=hrtimer_hard class=hardirq flags=atomic,interrupt,hardirq available=yes
name=irq_work class=hardirq flags=atomic,interrupt,hardirq available=yes
"""

RULES = """\
context=task class=process alloc=kmalloc gfp=GFP_KERNEL verdict=ok why=allowed largest=65536
context=timer class=softirq alloc=kmalloc gfp=GFP_ATOMIC verdict=ok why=allowed largest=65536
context=hrtimer_hard class=hardirq alloc=kmalloc gfp=GFP_ATOMIC verdict=fatal why=raw-lock-nesting-checked largest=65536
context=irq_work class=hardirq alloc=kmalloc gfp=GFP_ATOMIC verdict=ok why=allowed largest=65536
"""


def lib(tmp_path: Path, script: str, contexts: str = CONTEXTS) -> tuple[int, str]:
    """Run SCRIPT after sourcing the lib, with these tables snapshotted as
    gfpctx_snapshot_tables leaves them; (exit status, stdout)."""
    if not shutil.which('busybox'):
        pytest.skip('no busybox (tools/install-deps installs it)')
    (tmp_path / 'contexts').write_text(contexts)
    (tmp_path / 'rules').write_text(RULES)
    setup = (f'DIR={LIB_DIR} KTAP_HELPERS=/dev/null . {LIB_DIR}/gfpctx_lib.sh\n'
             f'GFPCTX_TMP={tmp_path}\n'
             'GFPCTX_UNAVAILABLE=$(gfpctx_names_with "$GFPCTX_TMP/contexts" available no)\n')
    out = subprocess.run(['busybox', 'sh', '-c', setup + script],
                         capture_output=True, text=True, check=False)
    assert not out.stderr, out.stderr
    return out.returncode, out.stdout


@pytest.mark.parametrize('args, want', [
    ('softirq 1', 'timer '),
    ('softirq 2', 'timer tasklet '),
    # bh_work is unavailable: left out, not counted
    ('softirq 3', 'timer tasklet hrtimer_soft '),
    ('softirq', 'timer tasklet hrtimer_soft '),
    ('softirq 9', 'timer tasklet hrtimer_soft '),
    ('process', 'task kthread '),
    ('nmi', ''),
])
def test_ctxs_of(tmp_path: Path, args: str, want: str) -> None:
    assert lib(tmp_path, f'gfpctx_ctxs_of {args}') == (0, want)


def test_first_ok_skips_contexts_whose_cell_is_not_ok(tmp_path: Path) -> None:
    assert lib(tmp_path, 'gfpctx_first_ok hardirq kmalloc GFP_ATOMIC') == (0, 'irq_work\n')
    assert lib(tmp_path, 'gfpctx_first_ok softirq kmalloc GFP_ATOMIC') == (0, 'timer\n')


def test_first_ok_fails_when_no_cell_is_ok(tmp_path: Path) -> None:
    assert lib(tmp_path, 'gfpctx_first_ok hardirq kmalloc GFP_KERNEL') == (1, '')
    assert lib(tmp_path, 'gfpctx_first_ok nmi kmalloc GFP_ATOMIC') == (1, '')


def test_kthread_ctx_is_the_first_process_context_but_task(tmp_path: Path) -> None:
    assert lib(tmp_path, 'gfpctx_kthread_ctx') == (0, 'kthread\n')
    only_task = 'name=task class=process flags=none available=yes\n'
    assert lib(tmp_path, 'gfpctx_kthread_ctx', only_task) == (1, '')
