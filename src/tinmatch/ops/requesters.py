"""Registered requesters: agencies and their officials, identified by a name key.

A name key folds case, punctuation and word order, so "J. Doe", "J Doe" and "Doe, J." are one
key and one official; "J. Doe (2)" is another key, and unregistered. Every cap and interval
counts per registered identity, under its registered name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinmatch.errors import ConflictError, InvalidInputError, NotFoundError, RefusedError
from tinmatch.ops.registry_models import AgencyRow, OfficialRow

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def name_key(name: str) -> str:
    """Lower-case words in sorted order: punctuation, spacing and word order do not count."""
    return " ".join(sorted(w.casefold() for w in _WORD.findall(name)))


@dataclass(frozen=True)
class Agency:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Official:
    id: int
    agency: str
    name: str
    created_at: datetime


def add_agency(s: Session, name: str, now: datetime) -> Agency:
    name, key = " ".join(name.split()), name_key(name)
    if not key:
        raise InvalidInputError("an agency needs a name")
    same = s.scalars(select(AgencyRow).where(AgencyRow.name_key == key)).first()
    if same is not None:
        raise ConflictError(f"agency {same.name!r} is registered already (as {name!r} would be)")
    row = AgencyRow(name=name, name_key=key, created_at=now)
    s.add(row)
    s.flush()
    return Agency(row.id, row.name, row.created_at)


def find_agency(s: Session, name: str) -> AgencyRow | None:
    return s.scalars(select(AgencyRow).where(AgencyRow.name_key == name_key(name))).first()


def require_agency(s: Session, name: str) -> AgencyRow:
    row = find_agency(s, name)
    if row is None:
        raise NotFoundError(
            f"agency {' '.join(name.split())!r} is not registered "
            "(`tinmatch agencies add NAME`)"
        )
    return row


def add_official(s: Session, name: str, agency: str, now: datetime) -> Official:
    home = require_agency(s, agency)
    name, key = " ".join(name.split()), name_key(name)
    if not key:
        raise InvalidInputError("an official needs a name")
    same = s.scalars(
        select(OfficialRow).where(OfficialRow.agency_id == home.id, OfficialRow.name_key == key)
    ).first()
    if same is not None:
        raise ConflictError(
            f"official {same.name!r} of {home.name!r} is registered already (as {name!r} would be)"
        )
    row = OfficialRow(agency_id=home.id, name=name, name_key=key, created_at=now)
    s.add(row)
    s.flush()
    return Official(row.id, home.name, row.name, row.created_at)


def resolve(s: Session, agency: str, official: str) -> tuple[AgencyRow, OfficialRow]:
    """The registered agency and official a cover letter names, or RefusedError (whole)."""
    home = find_agency(s, agency)
    if home is None:
        raise RefusedError(
            f"agency {' '.join(agency.split())!r} is not a registered agency; "
            "the request is refused whole"
        )
    person = s.scalars(
        select(OfficialRow).where(
            OfficialRow.agency_id == home.id, OfficialRow.name_key == name_key(official)
        )
    ).first()
    if person is None:
        raise RefusedError(
            f"official {' '.join(official.split())!r} is not a registered official of "
            f"{home.name!r}; the request is refused whole"
        )
    return home, person


def list_agencies(s: Session) -> list[Agency]:
    rows = s.scalars(select(AgencyRow).order_by(AgencyRow.name)).all()
    return [Agency(r.id, r.name, r.created_at) for r in rows]


def list_officials(s: Session, agency: str | None = None) -> list[Official]:
    query = (
        select(OfficialRow, AgencyRow.name)
        .join(AgencyRow, AgencyRow.id == OfficialRow.agency_id)
        .order_by(AgencyRow.name, OfficialRow.name)
    )
    if agency is not None:
        query = query.where(AgencyRow.id == require_agency(s, agency).id)
    return [Official(r.id, a, r.name, r.created_at) for r, a in s.execute(query).tuples()]
