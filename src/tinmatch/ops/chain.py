"""The ledger's storage: appending leaves inside a transaction, the stored tree, checkpoints,
proofs, and reading entries back.

Tables (models.py, migration 0005): ``ledger_entries`` (one row per leaf, seq = leaf index + 1),
``ledger_tree`` (level-0 leaf hashes and every 8th level of interior hashes, see
``tinmatch.ledger.tiles``), ``ledger_checkpoints`` (every signed checkpoint) and ``ledger_head``
(size and root, the row appends lock). The first three refuse UPDATE and DELETE.

To write a new kind of entry: add it to ``tinmatch.ledger.entry.KINDS`` and call
:func:`append` with ``LedgerEntry.event(kind, ...)`` (or a full entry) inside the Store method's
transaction, then :func:`checkpoint` if the event should be signed at once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, insert, select
from sqlalchemy.orm import Session

from tinmatch.errors import NotFoundError, UnavailableError
from tinmatch.ledger import merkle, tiles
from tinmatch.ledger.checkpoint import Checkpoint
from tinmatch.ledger.entry import KINDS, LedgerEntry, leaf_bytes, utc
from tinmatch.ledger.note import Signer, VerifierKey
from tinmatch.ledger.verify import Anchor, Audit, audit_log
from tinmatch.ops.models import ChainHeadRow, CheckpointRow, LedgerNodeRow, LedgerRow

BATCH = 10_000
CHECKPOINT_MAX_AGE = timedelta(days=1)


class DbTiles:
    """tiles.TileStore over the `ledger_tree` table, in the caller's transaction."""

    def __init__(self, session: Session | Connection) -> None:
        self.session = session

    def read(self, level: int, start: int, end: int) -> list[bytes]:
        if end <= start:
            return []
        rows = self.session.execute(
            select(LedgerNodeRow.hash)
            .where(
                LedgerNodeRow.level == level, LedgerNodeRow.idx >= start, LedgerNodeRow.idx < end
            )
            .order_by(LedgerNodeRow.idx)
        ).scalars()
        return [bytes(h) for h in rows]

    def read_many(self, level: int, ranges: list[tuple[int, int]]) -> dict[int, bytes]:
        """Hashes of `level` in any of the index `ranges` (a proof's: a few dozen ranges), in
        one statement: a primary-key range scan per range, UNION ALL."""
        if not ranges:
            return {}
        connection = self._connection()
        marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        one = (
            f"SELECT idx, hash FROM ledger_tree WHERE level = {marker} "
            f"AND idx >= {marker} AND idx < {marker}"
        )
        params: list[int] = []
        for start, end in ranges:
            params.extend((level, start, end))
        statement = " UNION ALL ".join([one] * len(ranges))
        rows = connection.exec_driver_sql(statement, tuple(params)).fetchall()
        return {int(i): bytes(h) for i, h in rows}

    def _connection(self) -> Connection:
        return self.session.connection() if isinstance(self.session, Session) else self.session

    def write(self, rows: Sequence[tuple[int, int, bytes]]) -> None:
        """Insert tree rows through the driver's executemany (a million-leaf release writes a
        million rows: SQLAlchemy's per-row parameter handling would cost several seconds)."""
        connection = (
            self.session.connection() if isinstance(self.session, Session) else self.session
        )
        marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        statement = (
            f"INSERT INTO ledger_tree (level, idx, hash) VALUES ({marker}, {marker}, {marker})"
        )
        for start in range(0, len(rows), BATCH):
            connection.exec_driver_sql(statement, list(rows[start : start + BATCH]))


def tree(session: Session) -> tiles.StoredTree:
    return tiles.StoredTree(DbTiles(session))


def prefetched(
    session: Session, proof: Callable[[merkle.NodeSource, int, int], list[bytes]], a: int, b: int
) -> tiles.StoredTree:
    """The stored tree with every subtree `proof(tree, a, b)` will ask for read in advance
    (one query per stored level instead of one per subtree)."""
    recorder = tiles.Recorder()
    proof(recorder, a, b)
    stored = tree(session)
    stored.prefetch(recorder.asked)
    return stored


def _lock_head(session: Session) -> ChainHeadRow:
    head = session.scalars(
        select(ChainHeadRow).where(ChainHeadRow.id == 1).with_for_update()
    ).one_or_none()
    if head is None:
        raise UnavailableError(
            "the ledger has no head row: the database was not migrated by tinmatch"
        )
    return head


def append(session: Session, drafts: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """Append `drafts` as leaves after the current end (their seq is assigned here).

    The head row is locked (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the transaction
    already holds the write lock from BEGIN IMMEDIATE), so concurrent appends are serialized.
    Writes the entries, their leaf hashes and the interior hashes they complete, and the new
    size and root, all in the caller's transaction.
    """
    head = _lock_head(session)
    size = head.size
    written: list[LedgerEntry] = []
    for i, draft in enumerate(drafts):
        if draft.entry_type not in KINDS:
            raise ValueError(f"unknown ledger entry kind {draft.entry_type!r} (see KINDS)")
        entry = replace(
            draft,
            seq=size + i + 1,
            created_at=utc(draft.created_at),
            released_at=utc(draft.released_at),
            match_probability=(
                None
                if draft.match_probability is None
                else round(float(draft.match_probability), 6)
            ),
        )
        written.append(replace(entry, leaf_hash=merkle.leaf_hash(leaf_bytes(entry))))
    if not written:
        return []
    table = cast(Table, LedgerRow.__table__)
    for start in range(0, len(written), BATCH):
        session.execute(insert(table), [to_values(e) for e in written[start : start + BATCH]])
    store = DbTiles(session)
    store.write(tiles.new_nodes(store, size, [e.leaf_hash for e in written]))
    head.size = size + len(written)
    head.root_hash = tiles.StoredTree(store).root(head.size).hex()
    session.flush()
    return written


def to_values(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "entry_type": entry.entry_type,
        "request_id": entry.request_id,
        "agency": entry.agency,
        "official": entry.official,
        "record_id": entry.record_id,
        "tin": entry.tin,
        "fields_released": json.dumps(list(entry.fields_released)),
        "tax_year": entry.tax_year,
        "match_probability": entry.match_probability,
        "agreement_id": entry.agreement_id,
        "agreement_sha256": entry.agreement_sha256,
        "model_sha256": entry.model_sha256,
        "statute": entry.statute,
        "case_number": entry.case_number,
        "reviewer": entry.reviewer,
        "note": entry.note,
        "recalls_seq": entry.recalls_seq,
        "created_at": entry.created_at,
        "released_at": entry.released_at,
        "values_json": json.dumps(entry.values, sort_keys=True),
        "detail_json": json.dumps(entry.detail, sort_keys=True),
    }


def from_row(row: LedgerRow) -> LedgerEntry:
    return LedgerEntry(
        seq=row.seq,
        entry_type=row.entry_type,
        request_id=row.request_id,
        agency=row.agency,
        official=row.official,
        record_id=row.record_id,
        tin=row.tin,
        fields_released=_names(row.fields_released),
        tax_year=row.tax_year,
        match_probability=row.match_probability,
        agreement_id=row.agreement_id,
        agreement_sha256=row.agreement_sha256,
        model_sha256=row.model_sha256,
        statute=row.statute,
        case_number=row.case_number,
        reviewer=row.reviewer,
        note=row.note,
        recalls_seq=row.recalls_seq,
        created_at=utc(row.created_at),
        released_at=utc(row.released_at),
        values=_object(row.values_json),
        detail=_object(row.detail_json),
    )


def _names(text: str) -> tuple[str, ...]:
    """The JSON list of field names; anything else is kept verbatim (and fails the leaf)."""
    try:
        value = json.loads(text)
    except ValueError:
        return (text,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return (text,)


def _object(text: str) -> dict[str, Any]:
    """A JSON object; anything else is kept verbatim under one key (and fails the leaf)."""
    try:
        value = json.loads(text)
    except ValueError:
        return {"": text}
    return value if isinstance(value, dict) else {"": text}


def stream(session: Session, query: Select[LedgerRow] | None = None) -> Iterator[LedgerEntry]:
    """Entries in seq order, fetched in batches."""
    query = query if query is not None else select(LedgerRow)
    for row in session.scalars(query.order_by(LedgerRow.seq).execution_options(yield_per=1000)):
        yield from_row(row)


def head(session: Session) -> tuple[int, bytes]:
    """The size and root the head row records."""
    row = session.get(ChainHeadRow, 1)
    if row is None:
        return 0, merkle.EMPTY_ROOT
    return row.size, bytes.fromhex(row.root_hash)


def entry_at(session: Session, seq: int) -> LedgerEntry:
    row = session.get(LedgerRow, seq)
    if row is None:
        raise NotFoundError(f"the ledger has no entry {seq}")
    return from_row(row)


# -- checkpoints --------------------------------------------------------------------------------


def latest_checkpoint(session: Session) -> CheckpointRow | None:
    return session.scalars(select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)).first()


def checkpoint(
    session: Session, signer: Signer, now: datetime, *, max_age: timedelta | None = None
) -> str:
    """The signed checkpoint of the log as it is now: a new one is signed and stored unless
    the newest stored one has the current size and (with `max_age`) is younger than that."""
    size, root = head(session)
    last = latest_checkpoint(session)
    if (
        max_age is not None
        and last is not None
        and last.size == size
        and utc(now) - utc(last.created_at) < max_age
    ):
        return last.note
    note = str(Checkpoint(signer.name, size, root).sign(signer))
    session.add(CheckpointRow(size=size, root_hash=root.hex(), note=note, created_at=utc(now)))
    session.flush()
    return note


def checkpoints(session: Session) -> list[CheckpointRow]:
    return list(session.scalars(select(CheckpointRow).order_by(CheckpointRow.id)))


# -- proofs -------------------------------------------------------------------------------------


def b64(hashes: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def inclusion(session: Session, seq: int, size: int | None = None) -> dict[str, Any]:
    """The contract's inclusion proof of entry `seq` in the tree of `size` (default: now)."""
    current, _ = head(session)
    size = current if size is None else size
    if size > current:
        raise NotFoundError(f"the log has {current} entries, not {size}")
    if not 1 <= seq <= size:
        raise NotFoundError(f"entry {seq} is not in the tree of size {size}")
    entry = entry_at(session, seq)
    path = merkle.inclusion_path(
        prefetched(session, merkle.inclusion_path, seq - 1, size), seq - 1, size
    )
    return {
        "leaf_index": seq - 1,
        "tree_size": size,
        "leaf": base64.b64encode(leaf_bytes(entry)).decode(),
        "inclusion_path": b64(path),
    }


def consistency(session: Session, first: int, second: int) -> dict[str, Any]:
    """The contract's consistency proof from the tree of `first` leaves to that of `second`."""
    current, _ = head(session)
    if not 0 <= first <= second <= current:
        raise NotFoundError(
            f"no consistency proof from size {first} to {second} (the log has {current})"
        )
    return {
        "from_size": first,
        "to_size": second,
        "consistency_path": b64(
            merkle.consistency_path(
                prefetched(session, merkle.consistency_path, first, second), first, second
            )
        ),
    }


# -- verification ---------------------------------------------------------------------------------


def audit(session: Session, key: VerifierKey, extra: Sequence[Anchor] = ()) -> Audit:
    """Recompute every leaf against the stored leaves, the recorded size, every stored
    checkpoint (whose signatures must verify with `key`) and `extra` anchors."""
    from tinmatch.ledger.checkpoint import open_checkpoint
    from tinmatch.ledger.note import NoteError
    from tinmatch.ledger.verify import Problem

    anchors = list(extra)
    forged: list[Problem] = []
    for row in checkpoints(session):
        try:
            cp = open_checkpoint(row.note, key).checkpoint
        except NoteError as exc:
            forged.append(
                Problem(row.size, "forged_checkpoint", f"stored checkpoint {row.id}: {exc}")
            )
            continue
        anchors.append(
            Anchor(
                cp.size,
                cp.root,
                f"the checkpoint signed at {utc(row.created_at):%Y-%m-%d %H:%M} UTC",
            )
        )
    size, root = head(session)
    leaves = session.execute(
        select(LedgerNodeRow.idx, LedgerNodeRow.hash)
        .where(LedgerNodeRow.level == 0)
        .order_by(LedgerNodeRow.idx)
        .execution_options(yield_per=10_000)
    )
    result = audit_log(
        stream(session),
        ((int(i), bytes(h)) for i, h in leaves),
        recorded_size=size,
        anchors=anchors,
    )
    result.problems.extend(forged)
    if not result.problems:
        stored_root = tree(session).root(result.size) if result.size else merkle.EMPTY_ROOT
        if stored_root != result.root or (result.size == size and root != result.root):
            result.problems.append(
                Problem(
                    result.size,
                    "tree_corrupt",
                    "the stored interior hashes or head do not reproduce the root of the leaves",
                )
            )
    result.problems.sort()
    return result


def record_note(session: Session, key: VerifierKey, note: str, now: datetime) -> None:
    """Store a checkpoint note signed elsewhere too (a witness's cosigned copy): it must carry
    the log's valid signature and match the root the log had at that size."""
    from tinmatch.ledger.checkpoint import open_checkpoint

    cp = open_checkpoint(note, key).checkpoint
    size, _ = head(session)
    if cp.size > size or tree(session).root(cp.size) != cp.root:
        raise NotFoundError(f"the checkpoint of size {cp.size} is not one of this log's")
    session.add(CheckpointRow(size=cp.size, root_hash=cp.root.hex(), note=note, created_at=now))
    session.flush()
