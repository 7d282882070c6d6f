"""Appending to the ledger inside a transaction, and reading entries back."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tinmatch.errors import LedgerError
from tinmatch.ledger.entry import LedgerEntry, utc
from tinmatch.ops.models import ChainHeadRow, LedgerRow


def append(session: Session, drafts: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """Chain `drafts` (their seq, prev_hash and entry_hash are ignored) after the current head.

    The chain-head row is locked (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
    transaction already holds the write lock from BEGIN IMMEDIATE) and updated in the same
    transaction, so concurrent appends are serialized and never fork the chain.
    """
    head = session.scalars(
        select(ChainHeadRow).where(ChainHeadRow.id == 1).with_for_update()
    ).one_or_none()
    if head is None:
        raise LedgerError("the ledger has no chain head: the database was not migrated by tinmatch")
    seq, prev = head.seq, head.entry_hash
    written: list[LedgerEntry] = []
    for draft in drafts:
        seq += 1
        entry = replace(
            draft,
            seq=seq,
            prev_hash=prev,
            created_at=utc(draft.created_at),
            released_at=utc(draft.released_at),
            match_probability=(
                None
                if draft.match_probability is None
                else round(float(draft.match_probability), 6)
            ),
        ).with_hash()
        session.add(to_row(entry))
        written.append(entry)
        prev = entry.entry_hash
    head.seq, head.entry_hash = seq, prev
    session.flush()
    return written


def to_row(entry: LedgerEntry) -> LedgerRow:
    values = dict(entry.__dict__)
    values["fields_released"] = json.dumps(list(entry.fields_released))
    return LedgerRow(**values)


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
        created_at=_aware(row.created_at),
        released_at=_aware(row.released_at),
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
    )


def _names(text: str) -> tuple[str, ...]:
    """The JSON list of field names; anything else is kept verbatim (and fails the hash)."""
    try:
        value = json.loads(text)
    except ValueError:
        return (text,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return (text,)


def _aware(value: datetime) -> datetime:
    return utc(value)


def stream(session: Session, query: Select[LedgerRow] | None = None) -> Iterator[LedgerEntry]:
    """Entries in seq order, fetched in batches."""
    query = query if query is not None else select(LedgerRow)
    for row in session.scalars(query.order_by(LedgerRow.seq).execution_options(yield_per=1000)):
        yield from_row(row)


def head(session: Session) -> tuple[int, str] | None:
    row = session.get(ChainHeadRow, 1)
    return None if row is None else (row.seq, row.entry_hash)
