"""Row-by-row review: every row a release would disclose, beside what was asked for it.

The same rows for the command line (``tinmatch review show``) and the review page: what the
requester asked (names, address given, statute, case number, removal-order date), what would
leave (address, tax year, probability), and why, in words and in values (each comparison's
level of agreement and its weight in bits, from ``explain.csv``). A row is flagged when its
taxpayer was disclosed to the same agency in the last 90 days, and when the address that would
leave differs from the one given. The reviewer sees TINs nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tinmatch.ops import Store
from tinmatch.pipeline.explain import read_candidates
from tinmatch.standardize import city_columns, state_columns, street_columns, zip_columns

ADDRESS_FIELDS = ("street", "address_line2", "city", "state", "zip")

#: What each level of agreement means, in words.
WORDS = {
    "null": "not given on one side",
    "exact": "the same",
    "nickname": "a nickname of the same name",
    "nickname_typo": "a nickname, with a typo",
    "jaro_winkler_0.92": "nearly the same spelling",
    "one_edit": "one letter apart",
    "two_edits": "two letters apart",
    "phonetic": "sounds the same",
    "middle_as_first": "the request's first name is the taxpayer's middle name",
    "middle_as_first_typo": "the taxpayer's middle name (with a typo) given as first name",
    "swapped_with_surname": "first and last name swapped",
    "swapped_with_first": "first and last name swapped",
    "swapped_fuzzy": "first and last name swapped, with a typo",
    "compound_part": "one part of a compound surname",
    "similar": "similar",
    "initial": "an initial of the same name",
    "overlap": "partly the same",
    "day_month_transposed": "day and month swapped",
    "year_month": "same year and month, another day",
    "year": "same year only",
    "street_and_unit": "the same street and unit, on one of the taxpayer's returns",
    "street_other_unit": "the same street, another unit, on one of the taxpayer's returns",
    "house_number_and_zip": "the same house number and ZIP on one of the taxpayer's returns",
    "zip": "the same ZIP code on one of the taxpayer's returns",
    "city_and_state": "the same city and state only",
    "state": "the same state only",
    "else": "different",
}


@dataclass(frozen=True)
class Reason:
    comparison: str
    level: str
    words: str
    weight: float | None


@dataclass(frozen=True)
class ReviewRow:
    record_id: str
    asked: dict[str, str | None]
    statute: str
    case_number: str
    leaving: dict[str, str | int | None]
    tax_year: int | None
    probability: float | None
    reasons: list[Reason] = field(default_factory=list)
    weight: float | None = None
    address_differs: bool = False
    repeats: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def name_asked(self) -> str:
        parts = ("first_name", "middle_name", "last_name", "suffix")
        return " ".join(v for v in (self.asked.get(p) for p in parts) if v)

    @property
    def address_asked(self) -> str:
        return _address(self.asked)

    @property
    def address_leaving(self) -> str:
        return _address(self.leaving)

    @property
    def explanation(self) -> str:
        """The reasons in one line of words and values."""
        parts = [
            f"{r.comparison.replace('_', ' ')}: {r.words} ({_bits(r.weight)})" for r in self.reasons
        ]
        tail = []
        if self.weight is not None:
            tail.append(f"match weight {_bits(self.weight)}")
        if self.probability is not None:
            tail.append(f"probability {self.probability:.6f}")
        return "; ".join(parts) + (" -> " + ", ".join(tail) if tail else "")


@dataclass(frozen=True)
class RowFilter:
    lowest_first: bool = False
    address_differs: bool = False
    repeats: bool = False
    limit: int | None = None


def review_rows(
    store: Store, request_id: str, now: datetime, wanted: RowFilter | None = None
) -> tuple[list[ReviewRow], int]:
    """The rows a release would disclose (filtered, ordered); and how many there are in all."""
    wanted = wanted or RowFilter()
    record = store.get_request(request_id)
    pending = store.pending(request_id)
    repeats = store.repeats(request_id, now)
    explained = read_candidates(Path(record.out_dir), {p.record_id for p in pending})
    rows: list[ReviewRow] = []
    for p in pending:
        best = next((c for c in explained.get(p.record_id, []) if c.rank == 1), None)
        reasons = []
        if best is not None:
            for name, (level, weight) in best.fields.items():
                reasons.append(Reason(name, level, WORDS.get(level, level), _float(weight)))
        leaving = {k: v for k, v in p.fields.items() if k in ADDRESS_FIELDS}
        rows.append(
            ReviewRow(
                record_id=p.record_id,
                asked=dict(p.asked),
                statute=p.statute,
                case_number=p.case_number,
                leaving=leaving,
                tax_year=p.tax_year,
                probability=p.match_probability,
                reasons=reasons,
                weight=best.weight if best else None,
                address_differs=_differs(p.asked, leaving),
                repeats=repeats.get(p.record_id, []),
            )
        )
    total = len(rows)
    if wanted.address_differs:
        rows = [r for r in rows if r.address_differs]
    if wanted.repeats:
        rows = [r for r in rows if r.repeats]
    if wanted.lowest_first:
        rows.sort(key=lambda r: (r.probability if r.probability is not None else -1.0))
    if wanted.limit is not None:
        rows = rows[: wanted.limit]
    return rows, total


def _address(values: dict[str, str | None] | dict[str, str | int | None]) -> str:
    street = " ".join(str(values[k]) for k in ("street", "address_line2") if values.get(k))
    place = " ".join(str(values[k]) for k in ("state", "zip") if values.get(k))
    city = str(values.get("city") or "")
    return ", ".join(p for p in (street, city, place) if p)


def _differs(asked: dict[str, str | None], leaving: dict[str, str | int | None]) -> bool:
    """Does the address that would leave differ from the one the requester gave?

    Both are standardized as the matcher standardizes them (``52ND STREET`` is ``52ND ST.``):
    house number and street name, city, state, and the ZIP when both have one."""
    if street_columns(asked.get("street"))[:2] != street_columns(leaving.get("street"))[:2]:
        return True
    for key, columns in (("city", city_columns), ("state", state_columns)):
        if columns(asked.get(key)) != columns(leaving.get(key)):
            return True
    a, b = zip_columns(asked.get("zip"))[0], zip_columns(leaving.get("zip"))[0]
    return bool(a and b and a != b)


def _float(text: str | float | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _bits(value: float | None) -> str:
    return "?" if value is None else f"{value:+.1f} bits"
