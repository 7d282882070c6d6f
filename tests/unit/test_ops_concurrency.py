"""Concurrent releases from separate connections never fork the chain or release twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _ops_fixtures import BACKENDS, T0, backend_url, held_request

from reviewers import add_reviewers
from tinmatch.errors import ConflictError
from tinmatch.ops import Store


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_releases_keep_one_chain(backend: str, tmp_path: Path) -> None:
    url = backend_url(backend, tmp_path)
    with Store.open(url) as setup:
        add_reviewers(setup, "R")
        ids = [held_request(setup, f"k{i}", n=20) for i in range(6)]
        ids.append(ids[0])  # the same request twice, raced

    def release(rid: str) -> int | str:
        with Store.open(url) as store:
            try:
                return store.approve(rid, reviewer="R", note="", now=T0).disclosed
            except ConflictError as exc:
                return str(exc)

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        outcomes = list(pool.map(release, ids))
    assert sorted(o for o in outcomes if isinstance(o, int)) == [20] * 6
    assert sum("already released" in str(o) for o in outcomes) == 1
    with Store.open(url) as store:
        entries = store.ledger_entries()
        assert [e.seq for e in entries] == list(range(1, 121))
        assert store.verify_ledger() == []
