"""Recognise a request's header row: the contract's column names, the synonyms analysts write,
and a whole-name column that can be split on request.

A header cell is folded (case, spaces, underscores, hyphens and punctuation ignored) and looked up
among the contract's columns and a table of synonyms (``Surname`` -> ``last_name``, ``DOB`` ->
``date_of_birth``, ``Case #`` -> ``case_number``...). A ``Full Name`` / ``Name`` column is not a
contract column: it is mapped to :data:`FULL_NAME` and split into first, middle and last name
(and suffix) only when the requester confirms the split (``--split-full-name``).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tinmatch.agreement import REQUEST_COLUMNS

#: Rows looked at for the header row (a title, a date line, blank rows may come first).
HEADER_SCAN_ROWS = 20
#: The pseudo-column of a whole-name header.
FULL_NAME = "_full_name"

# Synonyms, by folded key. Kept to names that cannot mean anything else in a request.
SYNONYMS: dict[str, str] = {
    # record_id
    "id": "record_id", "recordno": "record_id", "recordnumber": "record_id", "rowid": "record_id",
    "recid": "record_id", "requestid": "record_id", "subjectid": "record_id",
    # names
    "first": "first_name", "firstname": "first_name", "givenname": "first_name",
    "fname": "first_name", "forename": "first_name",
    "middle": "middle_name", "middlename": "middle_name", "middleinitial": "middle_name",
    "mi": "middle_name",
    "last": "last_name", "lastname": "last_name", "surname": "last_name",
    "familyname": "last_name", "lname": "last_name",
    "namesuffix": "suffix", "generation": "suffix", "sfx": "suffix",
    # date of birth
    "dob": "date_of_birth", "birthdate": "date_of_birth", "dateofbirth": "date_of_birth",
    "birthday": "date_of_birth",
    # address
    "address": "street", "streetaddress": "street", "addressline1": "street",
    "address1": "street", "street1": "street", "streetline1": "street",
    "lastknownaddress": "street", "residenceaddress": "street",
    "address2": "address_line2", "street2": "address_line2", "streetline2": "address_line2",
    "apt": "address_line2", "aptunit": "address_line2", "unit": "address_line2",
    "apartment": "address_line2", "suite": "address_line2",
    "town": "city", "cityortown": "city",
    "statecode": "state", "stateabbreviation": "state", "stateabbr": "state",
    "zipcode": "zip", "postalcode": "zip", "zip5": "zip", "postcode": "zip",
    # the case
    "removaldate": "removal_order_date", "removalorder": "removal_order_date",
    "dateofremovalorder": "removal_order_date", "finalorderdate": "removal_order_date",
    "orderofremovaldate": "removal_order_date", "removalorderdt": "removal_order_date",
    "statute": "criminal_statute", "statuteviolated": "criminal_statute",
    "criminalstatuteviolated": "criminal_statute", "statutecitation": "criminal_statute",
    "caseno": "case_number", "casenum": "case_number", "case": "case_number",
    "caseid": "case_number", "casenumber": "case_number", "investigationnumber": "case_number",
    "casereference": "case_number",
    "taxperiod": "tax_periods", "taxyears": "tax_periods", "taxyear": "tax_periods",
    "periods": "tax_periods", "years": "tax_periods",
}
FULL_NAME_KEYS = frozenset({
    "name", "fullname", "personname", "subjectname", "namefull", "namelastfirst",
    "fullnamelastfirst", "lastfirstname", "namefirstlast",
})


def header_key(name: object) -> str:
    """Fold a header: BOM and case ignored; spaces, underscores, hyphens and punctuation too
    (``Case #`` and ``case_no.`` -> ``case``, ``caseno``)."""
    text = str(name).replace("\ufeff", "").lower()
    text = text.replace("#", "")
    return re.sub(r"[^0-9a-z]+", "", text)


_EXACT = {header_key(c): c for c in REQUEST_COLUMNS}
_CANONICAL = _EXACT | {k: v for k, v in SYNONYMS.items() if k not in _EXACT}


def canonical(name: object) -> str | None:
    """The request column (or :data:`FULL_NAME`) a header cell names, or None."""
    key = header_key(name)
    if not key:
        return None
    if key in _CANONICAL:
        return _CANONICAL[key]
    if key in FULL_NAME_KEYS:
        return FULL_NAME
    return None


def _shown(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 40 else text[:39] + "…"


@dataclass
class Header:
    """A header row as read: which position holds which column, and what was not understood."""

    cells: list[object]
    row: int  # 1-based row number in the sheet or file
    mapping: dict[int, str]  # position -> request column (or FULL_NAME)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # header as written -> column
    unrecognized: list[tuple[int, str]] = field(default_factory=list)  # position, header text
    repeated: list[str] = field(default_factory=list)  # columns named twice

    @property
    def score(self) -> int:
        return len(set(self.mapping.values()))

    @property
    def columns(self) -> set[str]:
        return set(self.mapping.values())

    def full_name_position(self) -> int | None:
        for position, column in self.mapping.items():
            if column == FULL_NAME:
                return position
        return None

    def describe(self, limit: int = 12) -> str:
        """The header cells as written, for an error message."""
        texts = [repr(_shown(c)) for c in self.cells if str(c if c is not None else "").strip()]
        more = f", … ({len(texts) - limit} more)" if len(texts) > limit else ""
        return ", ".join(texts[:limit]) + more if texts else "(blank)"

    def suggestions(self, missing: Sequence[str]) -> list[str]:
        """Hints for the missing columns: a whole-name column, close spellings."""
        hints: list[str] = []
        full = self.full_name_position()
        if full is not None and {"first_name", "last_name"} & set(missing):
            hints.append(
                f"{_shown(self.cells[full])!r} holds whole names: split it into first_name and "
                "last_name columns, or confirm the split with --split-full-name "
                "('Last, First Middle' or 'First Middle Last'; a suffix such as Jr is kept)"
            )
        names = {header_key(c): c for c in REQUEST_COLUMNS}
        for _, text in self.unrecognized:
            close = difflib.get_close_matches(header_key(text), list(names), n=1, cutoff=0.75)
            if close and names[close[0]] in missing:
                hints.append(f"is {_shown(text)!r} meant to be {names[close[0]]}?")
        return hints


def read_header(cells: Sequence[object], row: int) -> Header:
    """Map one row's cells to request columns."""
    mapping: dict[int, str] = {}
    renamed: list[tuple[str, str]] = []
    unrecognized: list[tuple[int, str]] = []
    for position, cell in enumerate(cells):
        if cell is None or not str(cell).strip():
            continue
        column = canonical(cell)
        if column is None:
            unrecognized.append((position, _shown(cell)))
            continue
        mapping[position] = column
        if column != FULL_NAME and header_key(cell) != header_key(column):
            renamed.append((_shown(cell), column))
    twice = sorted(c for c, n in Counter(mapping.values()).items() if n > 1)
    return Header(list(cells), row, mapping, renamed, unrecognized, twice)


def find_header(rows: Sequence[Sequence[object]], first_row: int = 1) -> Header | None:
    """The header among ``rows`` (the first :data:`HEADER_SCAN_ROWS` of a sheet or file): the
    row naming the most request columns (the first such row on a tie). With no row naming
    any column, the first non-blank row (for the error message); None if all are blank."""
    best: Header | None = None
    fallback: Header | None = None
    for index, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        if not any(c is not None and str(c).strip() for c in cells):
            continue
        header = read_header(cells, first_row + index)
        if fallback is None:
            fallback = header
        if header.score and (best is None or header.score > best.score):
            best = header
    return best or fallback


_SUFFIXES = {"JR", "SR", "II", "III", "IV", "V", "2ND", "3RD"}


def split_full_name(value: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(first, middle, last, suffix) of a whole name: ``Last, First Middle [Suffix]`` when it has
    a comma, else ``First [Middle...] Last [Suffix]``. One word alone is a last name."""
    if value is None or not value.strip():
        return None, None, None, None
    text = " ".join(value.split())
    suffix: str | None = None
    if "," in text:
        last, _, rest = text.partition(",")
        words = rest.replace(",", " ").split()
        if words and words[-1].rstrip(".").upper() in _SUFFIXES:
            suffix = words.pop()
        last_words = last.split()
        if len(last_words) > 1 and last_words[-1].rstrip(".").upper() in _SUFFIXES:
            suffix = suffix or last_words.pop()  # "Smith Jr, John"
        first = words[0] if words else None
        middle = " ".join(words[1:]) or None
        return first, middle, " ".join(last_words) or None, suffix
    words = text.split()
    if len(words) > 1 and words[-1].rstrip(".").upper() in _SUFFIXES:
        suffix = words.pop()
    if len(words) == 1:
        return None, None, words[0], suffix
    return words[0], " ".join(words[1:-1]) or None, words[-1], suffix
