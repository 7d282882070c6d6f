"""A release killed (SIGKILL) part-way through its transaction leaves nothing released: the
request still held, no ledger entry, the log verifying clean; approving again then releases
every row once. The kill lands inside ``Store.approve``'s transaction (issue 17): after some
of the ledger entries are written, and after all of them before the signed checkpoint."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from _ops_fixtures import T0, held_request, open_store

from tinmatch.ops import Store

# Runs approve in a child process that kills itself at a point inside the release transaction.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime
    from tinmatch.ops import Store, chain

    url, rid, point, when = sys.argv[1:]
    real_append = chain.append

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def append_then_die(s, drafts):
        drafts = list(drafts)
        real_append(s, drafts[: len(drafts) // 2])  # some rows in the ledger, then the kill
        s.flush()
        die()

    def checkpoint_then_die(*args, **kwargs):
        die()

    if point == "mid_append":
        chain.append = append_then_die
    else:
        chain.checkpoint = checkpoint_then_die
    store = Store.open(url, create=False)
    store.approve(rid, reviewer="R", note="rows checked", now=datetime.fromisoformat(when))
    print("approve returned")  # never: the process dies inside the transaction
    """
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from open_store("sqlite", tmp_path)


@pytest.mark.parametrize("point", ["mid_append", "before_checkpoint"])
def test_a_release_killed_mid_transaction_leaves_nothing_released(
    store: Store, tmp_path: Path, point: str
) -> None:
    rid = held_request(store, "kill", n=6)
    before = len(store.ledger_entries())
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    store.close()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, rid, point, T0.isoformat()],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == -9, (done.returncode, done.stdout, done.stderr[-2000:])
    assert "approve returned" not in done.stdout
    with Store.open(url, create=False) as again:
        assert again.get_request(rid).status == "held"
        assert again.ledger_entries(rid) == []
        assert len(again.ledger_entries()) == before
        assert again.verify_ledger() == []
        # approving again releases every row exactly once, and the log still verifies
        outcome = again.approve(rid, reviewer="R", note="rows checked", now=T0)
        assert (outcome.status, outcome.disclosed) == ("released", 6)
        entries = again.ledger_entries(rid)
        assert sorted(e.record_id for e in entries) == [f"kill-r{i}" for i in range(6)]
        assert again.verify_ledger() == []
