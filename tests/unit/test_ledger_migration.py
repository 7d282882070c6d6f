"""Migration 0005 turns the old hash chain into the Merkle log: every entry kept, in order,
each carrying its old chain hash; a chain already broken is refused, not laundered."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _ops_fixtures import BACKENDS, backend_url
from sqlalchemy import text

from tinmatch.ops import Store
from tinmatch.ops.engine import make_engine
from tinmatch.ops.migrate import current_revision, upgrade

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _old_hash(row: dict[str, object]) -> str:
    """The hash chain's entry hash as tinmatch computed it before migration 0005."""
    data = {k: v for k, v in row.items() if k != "entry_hash"}
    data["fields_released"] = json.loads(str(row["fields_released"]))
    data["created_at"] = row["created_at"].isoformat()  # type: ignore[attr-defined]
    data["released_at"] = row["released_at"].isoformat()  # type: ignore[attr-defined]
    text_ = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def _old_chain(n: int) -> list[dict[str, object]]:
    rows, prev = [], "0" * 64
    for seq in range(1, n + 1):
        row: dict[str, object] = {
            "seq": seq,
            "entry_type": "recall" if seq == n else "disclosure",
            "request_id": "req-old",
            "agency": "Agency A",
            "official": "Officer One",
            "record_id": f"R-{seq}",
            "tin": f"90011100{seq}",
            "fields_released": json.dumps(["street", "city"]),
            "tax_year": 2024,
            "match_probability": 0.998,
            "agreement_id": "default",
            "agreement_sha256": "a" * 64,
            "model_sha256": None,
            "statute": "8 U.S.C. 1326",
            "case_number": "C-1",
            "reviewer": "Ann",
            "note": "ok",
            "recalls_seq": 1 if seq == n else None,
            "created_at": T0 + timedelta(minutes=seq),
            "released_at": T0,
            "prev_hash": prev,
        }
        row["entry_hash"] = prev = _old_hash(row)
        rows.append(row)
    return rows


def _write_old(url: str, rows: list[dict[str, object]]) -> None:
    engine = make_engine(url)
    upgrade(engine, "0004")
    columns = list(rows[0])
    with engine.begin() as conn:
        for row in rows:
            values = {k: (v.replace(tzinfo=None) if isinstance(v, datetime) else v)
                      for k, v in row.items()}  # fmt: skip
            conn.execute(
                text(
                    f"INSERT INTO ledger_entries ({', '.join(columns)}) "
                    f"VALUES ({', '.join(':' + c for c in columns)})"
                ),
                values,
            )
        conn.execute(
            text("UPDATE ledger_head SET seq = :s, entry_hash = :h WHERE id = 1"),
            {"s": len(rows), "h": rows[-1]["entry_hash"]},
        )
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_old_chain_becomes_the_log(backend: str, tmp_path: Path) -> None:
    url = backend_url(backend, tmp_path)
    rows = _old_chain(7)
    _write_old(url, rows)
    with Store.open(url) as store:
        assert (current_revision(store.engine) or "") >= "0005"
        entries = store.ledger_entries()
        assert [e.seq for e in entries] == list(range(1, 8))
        assert [e.detail["legacy_entry_hash"] for e in entries] == [r["entry_hash"] for r in rows]
        assert [e.record_id for e in entries] == [r["record_id"] for r in rows]
        assert entries[-1].kind == "recall" and entries[-1].recalls_seq == 1
        assert entries[0].created_at == T0 + timedelta(minutes=1)
        assert store.verify_ledger() == []
        assert store.ledger_head()[0] == 7
        assert store.inclusion_proof(3)["tree_size"] == 7


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_broken_chain_is_not_migrated(backend: str, tmp_path: Path) -> None:
    url = backend_url(backend, tmp_path)
    rows = _old_chain(4)
    rows[1]["tin"] = "111111111"  # edited after it was hashed
    _write_old(url, rows)
    engine = make_engine(url)
    with pytest.raises(RuntimeError, match="ledger entry 2 does not match its hash"):
        upgrade(engine)
    assert current_revision(engine) == "0004"
    engine.dispose()
