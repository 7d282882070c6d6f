"""The spool keeps every item, in order, while holding only one batch in memory."""

from __future__ import annotations

from tinmatch.spool import Spool, batched


def test_items_come_back_in_order_across_spilled_batches() -> None:
    spool: Spool[tuple[int, str]] = Spool(batch_items=7)
    spool.extend((i, f"r{i}") for i in range(50))
    assert len(spool) == 50
    assert spool._file is not None  # spilled: 7 full batches on disk
    assert len(spool._batch) == 50 % 7  # only the last, partial batch in memory
    assert list(spool) == [(i, f"r{i}") for i in range(50)]
    assert list(spool) == [(i, f"r{i}") for i in range(50)]  # readable twice


def test_appending_after_a_read_keeps_the_order() -> None:
    spool: Spool[int] = Spool(batch_items=4)
    spool.extend(range(10))
    assert list(spool)[:3] == [0, 1, 2]
    spool.extend(range(10, 23))
    assert list(spool) == list(range(23))
    assert [len(b) for b in batched(spool, 10)] == [10, 10, 3]


def test_empty_and_closed() -> None:
    spool: Spool[int] = Spool(batch_items=2)
    assert not spool and list(spool) == [] and list(batched(spool, 5)) == []
    spool.extend(range(5))
    spool.close()
    assert len(spool) == 0 and list(spool) == []
