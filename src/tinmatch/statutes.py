"""Statute citations, normalized so that equivalent spellings compare equal, and the table of
real federal criminal statutes an agreement may authorize (``data/statutes.csv``).

``8 USC 1253(a)(1)``, ``8 U.S.C. § 1253(a)(1)``, ``8 u.s.c. 1253(a)(1)`` and
``8 U.S.C. §1253 (a)(1)`` all normalize to ``8 U.S.C. 1253(a)(1)``; different subsections differ.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_USC = re.compile(
    r"""^\s*(?:title\s+)?(?P<title>\d+)\s*
        u\s*\.?\s*s\s*\.?\s*c\s*\.?\s*a?\s*\.?\s*      # U.S.C., USC, U.S.C.A.
        (?:§+|sec(?:tion)?s?\.?)?\s*                   # §, §§, sec., section
        (?P<section>\d+[a-z]?(?:-\d+)?)\s*
        (?P<subs>(?:\(\s*[a-z0-9]+\s*\)\s*)*)$""",
    re.IGNORECASE | re.VERBOSE,
)
_SUB = re.compile(r"\(\s*([a-z0-9]+)\s*\)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _subsection(level: int, label: str) -> str:
    """Spell a subdivision label in the U.S. Code's own case for its level.

    Levels alternate (a) (1) (A) (i) (I); the level, not the case, identifies a subdivision,
    so ``(A)`` written at the first level is the same as ``(a)``.
    """
    if level in (2, 4) and label.isalpha():
        return label.upper()
    return label.lower()


def normalize_statute(text: str) -> str:
    """Return the canonical spelling of a citation (whitespace, dots, § and case folded)."""
    cleaned = _SPACES.sub(" ", str(text).replace("\u00a0", " ")).strip()
    match = _USC.match(cleaned)
    if match is None:
        # Not a U.S. Code citation: fold case, dots, section signs and spacing only.
        other = cleaned.upper().replace(".", "").replace("§", " ")
        other = _SPACES.sub(" ", other).strip()
        return re.sub(r"\s*\(\s*", "(", other).replace(" )", ")")
    subs = _SUB.findall(match["subs"])
    tail = "".join(f"({_subsection(i, s)})" for i, s in enumerate(subs))
    return f"{int(match['title'])} U.S.C. {match['section'].lower()}{tail}"


@dataclass(frozen=True)
class Statute:
    """One row of the shipped table: a criminal provision of the U.S. Code."""

    title: int
    section: str
    subsection: str
    short_title: str
    source: str

    @property
    def citation(self) -> str:
        """The canonical citation, as :func:`normalize_statute` spells it."""
        return normalize_statute(f"{self.title} U.S.C. {self.section}{self.subsection}")


@cache
def statute_table() -> dict[str, Statute]:
    """The shipped table, by canonical citation (see docs/agreement.md for its sources)."""
    text = (resources.files("tinmatch") / "data" / "statutes.csv").read_text(encoding="utf-8")
    table: dict[str, Statute] = {}
    for row in csv.DictReader(io.StringIO(text)):
        statute = Statute(
            title=int(row["title"]),
            section=row["section"].strip(),
            subsection=row["subsection"].strip(),
            short_title=row["short_title"].strip(),
            source=row["source"].strip(),
        )
        table[statute.citation] = statute
    return table


def known_statute(citation: str) -> Statute | None:
    """The table's entry for `citation` (any equivalent spelling), or None when it is not
    a criminal statute tinmatch knows. Only exact provisions match: a subsection the table
    does not list is not known, even when its section is."""
    return statute_table().get(normalize_statute(citation))
