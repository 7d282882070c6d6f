"""Parse a street line into house number, USPS-normalized street name, unit and PO box.

Most streets have the shape ``<number> [dir] <name> [suffix] [dir] [unit]``; a token-level fast path
handles those with the USPS Publication 28 tables shipped by ``usaddress-scourgify``. Anything else
(``County Road 5``, ``Highway 101 N``, ``RR 2 Box 7``, a line that also holds the city and ZIP, ...)
goes to ``usaddress``'s probabilistic tagger, whose reading is re-tagged until it is stable. Both
paths end in the same normalization, so re-parsing an output street key gives the same key.

Normalization: directionals and street suffixes abbreviated the USPS way (``North`` -> ``n``,
``Street`` -> ``st``), also when a street type opens the name (``Avenue B`` -> ``ave b``,
``Lake Shore Dr`` -> ``lk shore dr``); ordinal words become numbers (``Fifth`` -> ``5th``);
``saint``/``mount``/``fort`` before another word become ``st``/``mt``/``ft``; unit identifiers
keep letters and digits only (``Apt 4-B`` -> ``4b``). House numbers lose leading zeros.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import pyarrow as pa
import usaddress
from scourgify.address_constants import (
    AMBIGUOUS_DIRECTIONALS,
    DIRECTIONAL_REPLACEMENTS,
    OCCUPANCY_TYPE_ABBREVIATIONS,
    STREET_TYPE_ABBREVIATIONS,
)

from tinmatch.standardize.text import Row, fold


class StreetParts(NamedTuple):
    """What one street line holds; every field lower case or None."""

    house_number: str | None = None
    street_name: str | None = None
    unit: str | None = None
    po_box: str | None = None


EMPTY = StreetParts()


def _lower_table(table: dict[str, str]) -> dict[str, str]:
    out = {k.lower(): v.lower() for k, v in table.items()}
    out.update({v: v for v in out.values()})
    return out


SUFFIXES = _lower_table(STREET_TYPE_ABBREVIATIONS)  # includes multi-word keys ("county road")
DIRECTIONS = _lower_table({**DIRECTIONAL_REPLACEMENTS, **AMBIGUOUS_DIRECTIONALS})
UNIT_TYPES = _lower_table(OCCUPANCY_TYPE_ABBREVIATIONS)
# Designators that are seldom street words: whatever follows them is the unit identifier.
# No street name starts with one of them either ("Apt 5" is a unit, not a street).
_STRONG_UNITS = frozenset(
    {"#", "apt", "apartment", "unit", "ste", "suite", "rm", "bldg", "fl", "trlr", "spc", "dept"}
)  # fmt: skip
# Designators that are also street words (Pier Ave, Front St): a unit only after a street suffix.
_WEAK_UNITS = frozenset(UNIT_TYPES) - _STRONG_UNITS
# Designators that need no identifier ("123 Main St Rear").
_BARE_UNITS = frozenset(
    {"rear", "front", "frnt", "side", "upper", "lower", "lowr", "bsmt", "basement", "lobby",
     "lbby", "ph", "penthouse"}
)  # fmt: skip
# First words of multi-word or leading street types, which the tagger handles better.
_PRETYPE_LEADS = frozenset(
    {"county", "state", "us", "fm", "farm", "ranch", "rural", "rr", "hc", "highway", "hwy",
     "route", "rte", "interstate", "box", "pob", "po", "calle", "camino"}
)  # fmt: skip
_NAME_WORDS = {"saint": "st", "mount": "mt", "fort": "ft"}

_ONES = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
_TEENS = ["tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
          "seventeenth", "eighteenth", "nineteenth"]  # fmt: skip
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_TENTHS = ["twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth",
           "eightieth", "ninetieth"]  # fmt: skip


def _ordinal(n: int) -> str:
    tail = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{tail}"


ORDINAL_WORDS = {w: _ordinal(i + 1) for i, w in enumerate(_ONES)}
ORDINAL_WORDS.update({w: _ordinal(i + 10) for i, w in enumerate(_TEENS)})
ORDINAL_WORDS.update({w: _ordinal(20 + 10 * i) for i, w in enumerate(_TENTHS)})
_ONES_VALUE = {w: i + 1 for i, w in enumerate(_ONES)}
_TENS_VALUE = {w: 20 + 10 * i for i, w in enumerate(_TENS)}

_DROP = re.compile(r"['’`.]")
_PUNCT = re.compile(r"[^a-z0-9#/\- ]+")
_HOUSE = re.compile(r"\d+(?:-\d+)?(?:-?[a-z])?")
_GRID_HOUSE = re.compile(r"[nsew]\d+[nsew]\d+")  # Wisconsin/Illinois grid: N123W456
_FRACTION = re.compile(r"\d/\d")
_ORDINAL_NUMBER = re.compile(r"\d+(?:st|nd|rd|th)")
_DIGIT = re.compile(r"\d")
_PO_BOX = re.compile(
    r"^(?:p ?o ?box|pob|post office box|p ?o ?drawer|drawer|lock ?box|p ?o|box)(?: #)?"
    r" ([a-z0-9-]*\d[a-z0-9-]*)"
)
_LETTER_HYPHEN = re.compile(r"-(?=[a-z]$)")
# Street values that say "no address": compared with letters and digits only.
PLACEHOLDERS = frozenset(
    {"", "na", "nana", "none", "null", "nil", "unknown", "unk", "failedtoprovide",
     "notprovided", "notavailable", "noaddress", "nostreet"}
)  # fmt: skip
_DIGITS_ONLY = re.compile(r"[\d\s-]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_NAME_SPLIT = re.compile(r"[-/]")


def tokens(text: str) -> list[str]:
    """Lower-case ASCII tokens; ``#`` is its own token, ``&`` becomes ``and``."""
    cleaned = _DROP.sub("", fold(text)).replace("&", " and ").replace("#", " # ")
    cleaned = _PUNCT.sub(" ", cleaned)
    if "-" not in cleaned and "/" not in cleaned:
        return cleaned.split()
    return [t for t in (raw.strip("-/") for raw in cleaned.split()) if t]


def unit_id(words: list[str]) -> str | None:
    """Letters and digits of a unit identifier, designator words left out (``4-B`` -> ``4b``)."""
    kept = [_NOT_ALNUM.sub("", w) for w in words if w not in UNIT_TYPES]
    joined = "".join(kept)
    return joined or None


def po_box(words: list[str]) -> str | None:
    """The box number when the words start with a PO box (``P.O. Box 12`` -> ``12``)."""
    match = _PO_BOX.match(" ".join(words))
    if match is None:
        return None
    return _NOT_ALNUM.sub("", match.group(1)) or None


def _house(word: str) -> str | None:
    """A house number (``123``, ``123a``, ``12-34``); ``123-A`` -> ``123a``, ``0681`` -> ``681``."""
    if not _HOUSE.fullmatch(word):
        return None
    return _LETTER_HYPHEN.sub("", word.lstrip("0") or "0")


def _has_joiner(words: list[str]) -> bool:
    return any("-" in w or "/" in w for w in words)


def _name_words(words: list[str]) -> list[str]:
    """Street-name words: hyphens split, ordinals as numbers, ``saint james`` -> ``st james``."""
    split = [p for w in words for p in _NAME_SPLIT.split(w) if p] if _has_joiner(words) else words
    out: list[str] = []
    i = 0
    while i < len(split):
        word = split[i]
        nxt = split[i + 1] if i + 1 < len(split) else ""
        if word in _TENS_VALUE and nxt in _ONES:
            out.append(_ordinal(_TENS_VALUE[word] + _ONES_VALUE[nxt]))
            i += 2
            continue
        # saint/mount/fort only before another word: a final "st" would read as a suffix
        title = _NAME_WORDS.get(word) if nxt else None
        out.append(ORDINAL_WORDS.get(word) or title or word)
        i += 1
    return out


def _street_words(words: list[str]) -> list[str]:
    """Name words, with a street type opening the name abbreviated ("Avenue B" -> "ave b")."""
    out = _name_words(words)
    if out and out[0] in SUFFIXES:
        out[0] = SUFFIXES[out[0]]
    return out


def _unit_like(word: str) -> bool:
    """A word that reads as a unit identifier: ``4b``, ``12``, ``c`` (not ``5th``, not ``n``)."""
    if len(word) == 1:
        return word not in DIRECTIONS
    return bool(_DIGIT.search(word)) and not _ORDINAL_NUMBER.fullmatch(word)


def _split_unit(words: list[str], start: int) -> tuple[list[str], str | None]:
    """Cut a trailing unit off ``words`` (searching from ``start``): (street words, unit id)."""
    for i in range(start, len(words)):
        word = words[i]
        rest = words[i + 1 :]
        if word in _STRONG_UNITS:
            return words[:i], unit_id(rest)
        after_suffix = i > start and words[i - 1] in SUFFIXES
        if word in _WEAK_UNITS and after_suffix:
            if rest and _unit_like(rest[0]):
                return words[:i], unit_id(rest)
            if not rest and word in _BARE_UNITS:
                return words[:i], UNIT_TYPES[word]
    last = len(words) - 1
    if (
        last - start >= 2
        and _DIGIT.search(words[last])
        and not _ORDINAL_NUMBER.fullmatch(words[last])
    ):
        before = words[last - 1]
        if before in SUFFIXES or (before in DIRECTIONS and words[last - 2] in SUFFIXES):
            return words[:last], unit_id([words[last]])
    return words, None


def _fast(words: list[str]) -> StreetParts | None:
    """The common shapes, or None when the tagger should decide."""
    house = _house(words[0])
    start = 1 if house else 0
    if house and len(words) > 1 and _FRACTION.fullmatch(words[1]):
        house, start = f"{house} {words[1]}", 2
    body = street_body(tuple(words[start:]))
    if body is None:
        return None
    return StreetParts(house, body[0], body[1], None)


@lru_cache(maxsize=1 << 18)
def street_body(words: tuple[str, ...]) -> tuple[str | None, str | None] | None:
    """(street name, unit) of the words that follow the house number, or None when the tagger
    should decide.

    A function of those words alone: ``123 Main St`` and ``456 Main St`` share it, so the master
    parses each distinct street body once (:mod:`tinmatch.master.features`).
    """
    body, unit = _split_unit(list(words), 0)
    if not body:
        return None, unit
    if body[0] in _PRETYPE_LEADS:
        return None
    if _DIGIT.search(" ".join(body)) and any(
        _DIGIT.search(w) and not _ORDINAL_NUMBER.fullmatch(w) for w in body
    ):
        return None
    post = DIRECTIONS.get(body[-1]) if len(body) > 1 else None
    if post:
        body = body[:-1]
    suffix = SUFFIXES.get(body[-1]) if len(body) > 1 else None
    if suffix:
        body = body[:-1]
    pre = DIRECTIONS.get(body[0]) if len(body) > 1 else None
    if pre:
        body = body[1:]
    name = [pre or "", *_street_words(body), suffix or "", post or ""]
    return " ".join(w for w in name if w), unit


def _words_of(labelled: dict[str, list[str]], *labels: str) -> list[str]:
    return [w for label in labels for raw in labelled.get(label, []) for w in tokens(raw)]


def _tagged(text: str) -> StreetParts:
    """Parse with usaddress's tagger (labels collected in order; repeated labels concatenated)."""
    labelled: dict[str, list[str]] = {}
    for token, label in usaddress.parse(text):
        labelled.setdefault(label, []).append(token)
    box_id = unit_id(_words_of(labelled, "USPSBoxID"))
    house_words = _words_of(labelled, "AddressNumberPrefix", "AddressNumber", "AddressNumberSuffix")
    joined = "".join(w for w in house_words if not _FRACTION.fullmatch(w))
    house = _house(joined) or (joined if _GRID_HOUSE.fullmatch(joined) else None)
    pre = [DIRECTIONS.get(w, w) for w in _words_of(labelled, "StreetNamePreDirectional")]
    pre_type = " ".join(_words_of(labelled, "StreetNamePreType"))
    post_type = " ".join(_words_of(labelled, "StreetNamePostType"))
    post = [DIRECTIONS.get(w, w) for w in _words_of(labelled, "StreetNamePostDirectional")]
    name = _street_words(
        _words_of(labelled, "USPSBoxGroupType", "USPSBoxGroupID", "StreetNamePreModifier")
        + ([SUFFIXES.get(pre_type, pre_type)] if pre_type else [])
        + _words_of(labelled, "StreetName")
    )
    parts = [*pre, *name, SUFFIXES.get(post_type, post_type), *post]
    parts += _name_words(_words_of(labelled, "StreetNamePostModifier"))
    street = " ".join(p for p in parts if p) or None
    unit = unit_id(_words_of(labelled, "OccupancyIdentifier", "SubaddressIdentifier"))
    return StreetParts(house, street, unit, box_id)


@lru_cache(maxsize=1 << 18)
def parse_street(text: str) -> StreetParts:
    """House number, normalized street name, unit and PO box of one street line.

    Placeholders (``N/A``, ``Unknown``, ``Failed to Provide``, ...) and digits only (a ZIP code in
    the street column) give nothing at all.
    """
    words = tokens(text)
    if not words or _DIGITS_ONLY.fullmatch(text):
        return EMPTY
    if _NOT_ALNUM.sub("", "".join(words)) in PLACEHOLDERS:
        return EMPTY
    box = po_box(words)
    if box:
        return StreetParts(None, None, None, box)
    return _fast(words) or _settled(_tagged(" ".join(words)))


def _settled(parts: StreetParts, rounds: int = 3) -> StreetParts:
    """Re-tag the tagger's own output until its reading stops changing (a few rounds at most).

    The tagger is probabilistic: on odd input its reading of ``"<house> <street>"`` can differ from
    its reading of the original line. Settling makes the street key stable under re-parsing.
    """
    for _ in range(rounds):
        if not parts.street_name:
            return parts
        text = " ".join(p for p in (parts.house_number, parts.street_name) if p)
        again = _fast(tokens(text)) or _tagged(text)
        if (again.house_number, again.street_name) == (parts.house_number, parts.street_name):
            return parts
        unit, box = parts.unit or again.unit, parts.po_box or again.po_box
        parts = StreetParts(again.house_number, again.street_name, unit, box)
    return parts


@lru_cache(maxsize=1 << 16)
def parse_line2(text: str) -> StreetParts:
    """Unit (or PO box) held in an address's second line; other text there is ignored."""
    words = tokens(text)
    if not words:
        return EMPTY
    box = po_box(words)
    if box:
        return StreetParts(po_box=box)
    if words[0] in UNIT_TYPES:
        if len(words) == 1:
            return StreetParts(unit=UNIT_TYPES[words[0]] if words[0] in _BARE_UNITS else None)
        return StreetParts(unit=unit_id(words[1:]))
    if len(words) <= 2 and (_DIGIT.search(words[0]) or len(words[0]) == 1):
        return StreetParts(unit=unit_id(words))
    return EMPTY


# --- plain street lines in SQL: the master's shortcut --------------------------------------------
#
# A plain street line: a house number of digits, then words of letters, digits and periods (at
# least one letter). For these, tokens() gives exactly the lower-cased words with the periods
# removed, the first word is the house number and none is a PO box, so the line parses as (house
# number, street_body(the other words)). The master splits such lines in SQL (plain_street_sql)
# and parses only the distinct word sequences after the number (street_rest_columns): a few
# hundred thousand at 10M people, where the distinct street lines grow with the house numbers.

PLAIN_STREET = "[0-9]+ +[A-Za-z0-9. ]*[A-Za-z][A-Za-z0-9. ]*"
STREET_REST_SCHEMA = pa.schema(
    [("street_name", pa.string()), ("unit", pa.string()), ("whole", pa.bool_())]
)


def plain_street_sql(value: str) -> tuple[str, str, str]:
    """SQL expressions over a street column `value`: (the line is plain, its house number as
    ``_house`` gives it, the words after the number as ``tokens`` gives them, space-joined).
    The last two are meaningful only where the first is true."""
    plain = f"regexp_full_match({value}, '{PLAIN_STREET}')"
    house = f"coalesce(nullif(ltrim(regexp_extract({value}, '^[0-9]+'), '0'), ''), '0')"
    rest = (
        f"trim(regexp_replace(regexp_replace(lower(replace({value}, '.', '')), "
        "'^[0-9]+ +', ''), ' +', ' ', 'g'))"
    )
    return plain, house, rest


def street_rest_columns(value: object) -> Row:
    """The words after a plain house number (STREET_REST_SCHEMA): street name, unit, and
    whether the whole line must be parsed instead (the tagger's shapes)."""
    body = street_body(tuple(str(value).split()))
    return (None, None, True) if body is None else (body[0], body[1], False)
