"""Standardize personal names into the columns the linkage model compares.

Choices worth knowing:

* Cleaning: lower-case ASCII, accents stripped, apostrophes removed (``O'Brien`` -> ``obrien``),
  hyphens and other punctuation become spaces (``Garcia-Lopez`` -> ``garcia lopez``).
* Generational suffixes (jr, sr, ii, iii, iv) are taken from the suffix column first, else from
  the end of the last name, else from the end of the first name; ``Junior`` -> ``jr``,
  ``2nd`` -> ``ii``.
  Professional suffixes at the end of a last name (md, phd, esq, ...) are dropped and not reported.
  A name that is nothing but a suffix word is left alone (someone may be called "Junior").
* ``last_name_tokens`` glues surname particles to the word that follows them, so ``de la Cruz``,
  ``De La Cruz`` and ``DeLaCruz`` all give ``delacruz``; ``Garcia de la Cruz`` gives
  ``["garcia", "delacruz"]``. The connectors ``y``/``e``/``i`` between two surnames are dropped
  (``Garcia y Lopez`` -> ``["garcia", "lopez"]``). The phonetic codes of the surname are computed on
  the tokens joined without spaces, so they agree across those spellings too.
* Phonetic codes are jellyfish's own output (upper case). List columns are None, not [], when the
  name is missing, so that the linkage model sees a null rather than a disagreement.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from functools import cache, lru_cache
from importlib import resources

import jellyfish
import pandas as pd
import pyarrow as pa
from nicknames import NickNamer

from tinmatch.standardize.text import Row, as_text, fold, map_unique, truthy_sql

__all__ = [
    "FIRST_NAME_SCHEMA",
    "LAST_NAME_SCHEMA",
    "MIDDLE_NAME_SCHEMA",
    "NAME_SCHEMA",
    "SUFFIX_SCHEMA",
    "clean_name",
    "first_name_columns",
    "last_name_columns",
    "middle_name_columns",
    "name_features",
    "name_features_sql",
    "suffix_columns",
]

NAME_COLUMNS = ("first_name", "middle_name", "last_name", "suffix")

# Arrow types of name_features' columns: pass as ``schema=`` to ``pa.Table.from_pandas`` so that a
# batch whose column is all None still gets its real type (not Arrow's null type).
NAME_SCHEMA = pa.schema(
    [
        ("first_name_std", pa.string()),
        ("middle_name_std", pa.string()),
        ("middle_initial", pa.string()),
        ("last_name_std", pa.string()),
        ("last_name_tokens", pa.list_(pa.string())),
        ("suffix_std", pa.string()),
        ("first_name_variants", pa.list_(pa.string())),
        ("first_name_mp", pa.string()),
        ("last_name_mp", pa.string()),
        ("first_name_nysiis", pa.string()),
        ("last_name_nysiis", pa.string()),
    ]
)

_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

# Generational suffixes as they may appear at the end of a name.
_SUFFIX_WORDS = {
    "jr": "jr",
    "jnr": "jr",
    "junior": "jr",
    "sr": "sr",
    "snr": "sr",
    "senior": "sr",
    "ii": "ii",
    "2nd": "ii",
    "iii": "iii",
    "3rd": "iii",
    "iv": "iv",
    "4th": "iv",
}
# In the suffix column a bare digit is unambiguous too.
_SUFFIX_COLUMN_WORDS = {**_SUFFIX_WORDS, "2": "ii", "3": "iii", "4": "iv"}
_PROFESSIONAL = frozenset({"md", "phd", "dds", "dmd", "esq", "cpa", "dvm", "rn", "do"})

_PARTICLES = frozenset(
    {
        "al", "bin", "da", "das", "de", "degli", "dei", "del", "della", "den", "der", "des", "di",
        "do", "dos", "du", "el", "ibn", "la", "las", "le", "lo", "los", "mac", "mc", "san",
        "santa", "st", "ten", "ter", "van", "vander", "von",
    }
)  # fmt: skip
_CONNECTORS = frozenset({"y", "e", "i"})

# (first token, extra tokens for the middle name, suffix found at the end)
FirstParts = tuple[str | None, list[str], str | None]
# (std surname, surname tokens, suffix found at the end, metaphone, nysiis)
LastParts = tuple[str | None, list[str] | None, str | None, str, str]
# (variants, metaphone, nysiis) of a first name
FirstCodes = tuple[list[str] | None, str | None, str | None]
_NO_FIRST: FirstParts = (None, [], None)
_NO_LAST: LastParts = (None, None, None, "", "")
_NO_CODES: FirstCodes = (None, None, None)


def clean_name(value: object) -> str | None:
    """Lower-case ASCII name with single spaces; None when missing or blank after cleaning."""
    text = as_text(value)
    if text is None:
        return None
    return _clean(text)


@lru_cache(maxsize=1 << 18)
def _clean(text: str) -> str | None:
    folded = _APOSTROPHES.sub("", fold(text))
    cleaned = _NOT_ALNUM.sub(" ", folded).strip()
    return cleaned or None


def _tokens(value: object) -> list[str]:
    cleaned = clean_name(value)
    return cleaned.split() if cleaned else []


def _strip_suffixes(tokens: list[str]) -> str | None:
    """Remove trailing suffix words in place (keeping at least one token); return the last found."""
    found: str | None = None
    while len(tokens) > 1:
        word = tokens[-1]
        if word in _SUFFIX_WORDS:
            found = found or _SUFFIX_WORDS[word]
            tokens.pop()
        elif word in _PROFESSIONAL:
            tokens.pop()
        else:
            break
    return found


def _surname_tokens(tokens: list[str]) -> list[str]:
    """Surname words with particles glued to the next word and connectors dropped."""
    out: list[str] = []
    pending = ""
    last = len(tokens) - 1
    for i, word in enumerate(tokens):
        if word in _CONNECTORS and 0 < i < last and not pending:
            continue
        if word in _PARTICLES and i < last:
            pending += word
            continue
        out.append(pending + word)
        pending = ""
    return out


def _first_parts(value: object) -> FirstParts:
    """(first token, extra tokens that belong to the middle name, suffix found at the end)."""
    tokens = _tokens(value)
    if not tokens:
        return _NO_FIRST
    suffix = _strip_suffixes(tokens)
    return tokens[0], tokens[1:], suffix


def _last_parts(value: object) -> LastParts:
    """(std surname, surname tokens, suffix found at the end, metaphone, nysiis)."""
    tokens = _tokens(value)
    if not tokens:
        return _NO_LAST
    suffix = _strip_suffixes(tokens)
    glued = _surname_tokens(tokens)
    joined = "".join(glued)
    return " ".join(tokens), glued, suffix, jellyfish.metaphone(joined), jellyfish.nysiis(joined)


def _suffix_value(value: object) -> str | None:
    cleaned = clean_name(value)
    if cleaned is None:
        return None
    return _SUFFIX_COLUMN_WORDS.get(cleaned.replace(" ", ""))


@cache
def _nicknamer() -> NickNamer:
    return NickNamer()


@cache
def _diminutives() -> dict[str, frozenset[str]]:
    """Diminutive <-> canonical names, both ways, from ``std_diminutives.csv`` (forms the
    nicknames library lacks)."""
    table: defaultdict[str, set[str]] = defaultdict(set)
    source = resources.files("tinmatch.data").joinpath("std_diminutives.csv")
    with source.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            short, full = clean_name(row["diminutive"]), clean_name(row["canonical"])
            if short and full:
                table[short].add(full)
                table[full].add(short)
    return {name: frozenset(related) for name, related in table.items()}


def _first_name_codes(first: object) -> FirstCodes:
    """(sorted unique variants, metaphone, nysiis) of a standardized first name.

    The variants are the name itself and the names the nicknames data relates to it in ONE hop,
    either way (jack -> john, john -> jack, beto -> roberto). The model's nickname level asks
    whether one side's name is among the other side's variants, never whether two variant lists
    meet: two hops would join samuel and samantha through "sam".
    """
    name = str(first)
    variants = {name}
    namer = _nicknamer()
    variants.update(namer.canonicals_of(name))
    variants.update(namer.nicknames_of(name))
    variants.update(_diminutives().get(name, ()))
    return sorted(variants), jellyfish.metaphone(name), jellyfish.nysiis(name)


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def name_features(df: pd.DataFrame) -> pd.DataFrame:
    """Standardized name columns for ``df`` (columns first_name, middle_name, last_name, suffix).

    Returns a new frame with the same index; see the module docstring for the rules.
    Work is done once per distinct value of each input column.
    """
    first = map_unique(_column(df, "first_name"), _first_parts, _NO_FIRST)
    last = map_unique(_column(df, "last_name"), _last_parts, _NO_LAST)
    middle = map_unique(_column(df, "middle_name"), clean_name, None)
    suffix_col = map_unique(_column(df, "suffix"), _suffix_value, None)

    n = len(df)
    first_std: list[str | None] = [None] * n
    middle_std: list[str | None] = [None] * n
    middle_initial: list[str | None] = [None] * n
    suffix_std: list[str | None] = [None] * n
    for i in range(n):
        f_token, f_extra, f_suffix = first[i]
        first_std[i] = f_token
        mid = middle[i]
        if f_extra:
            mid = " ".join(f_extra + ([mid] if mid else []))
        middle_std[i] = mid
        middle_initial[i] = mid[0] if mid else None
        suffix_std[i] = suffix_col[i] or last[i][2] or f_suffix

    out = pd.DataFrame(index=df.index)
    out["first_name_std"] = pd.Series(first_std, index=df.index, dtype=object)
    out["middle_name_std"] = pd.Series(middle_std, index=df.index, dtype=object)
    out["middle_initial"] = pd.Series(middle_initial, index=df.index, dtype=object)
    out["last_name_std"] = pd.Series([p[0] for p in last], index=df.index, dtype=object)
    out["last_name_tokens"] = pd.Series([p[1] for p in last], index=df.index, dtype=object)
    out["suffix_std"] = pd.Series(suffix_std, index=df.index, dtype=object)

    codes = map_unique(out["first_name_std"], _first_name_codes, _NO_CODES)
    out["first_name_variants"] = pd.Series([c[0] for c in codes], index=df.index, dtype=object)
    out["first_name_mp"] = pd.Series([c[1] for c in codes], index=df.index, dtype=object)
    out["last_name_mp"] = pd.Series([p[3] or None for p in last], index=df.index, dtype=object)
    out["first_name_nysiis"] = pd.Series([c[2] for c in codes], index=df.index, dtype=object)
    out["last_name_nysiis"] = pd.Series([p[4] or None for p in last], index=df.index, dtype=object)
    return out


# --- one column at a time: the master's path -----------------------------------------------------
#
# The master file standardizes each distinct value of each name column once, with the function of
# its column kind below (a row of the columns its schema lists), and combines the four kinds in SQL
# with name_features_sql. name_features above is the definition both must agree with
# (tests/unit/test_standardize_parity.py).

FIRST_NAME_SCHEMA = pa.schema(
    [
        ("first_name_std", pa.string()),
        ("first_extra", pa.string()),
        ("first_suffix", pa.string()),
        ("first_name_variants", pa.list_(pa.string())),
        ("first_name_mp", pa.string()),
        ("first_name_nysiis", pa.string()),
    ]
)
LAST_NAME_SCHEMA = pa.schema(
    [
        ("last_name_std", pa.string()),
        ("last_name_tokens", pa.list_(pa.string())),
        ("last_suffix", pa.string()),
        ("last_name_mp", pa.string()),
        ("last_name_nysiis", pa.string()),
    ]
)
MIDDLE_NAME_SCHEMA = pa.schema([("middle_clean", pa.string())])
SUFFIX_SCHEMA = pa.schema([("suffix_word", pa.string())])


def first_name_columns(value: object) -> Row:
    """A first-name value's columns (FIRST_NAME_SCHEMA): its first word, the words after it
    (they belong to the middle name), a suffix found at its end, the first word's variants and
    phonetic codes."""
    token, extra, suffix = _first_parts(value)
    codes = _NO_CODES if token is None else _first_name_codes(token)
    return (token, " ".join(extra) or None, suffix, *codes)


def last_name_columns(value: object) -> Row:
    """A last-name value's columns (LAST_NAME_SCHEMA): the surname, its tokens, a suffix found
    at its end, its phonetic codes."""
    std, tokens, suffix, metaphone, nysiis = _last_parts(value)
    return (std, tokens, suffix, metaphone or None, nysiis or None)


def middle_name_columns(value: object) -> Row:
    """A middle-name value's columns (MIDDLE_NAME_SCHEMA): the cleaned name."""
    return (clean_name(value),)


def suffix_columns(value: object) -> Row:
    """A suffix-column value's columns (SUFFIX_SCHEMA): the generational suffix it names."""
    return (_suffix_value(value),)


def name_features_sql(first: str, middle: str, last: str, suffix: str) -> dict[str, str]:
    """NAME_SCHEMA's columns as SQL expressions over one name's per-column rows, aliased `first`,
    `middle`, `last` and `suffix` (with the columns of the four schemas above): the middle name
    takes the first name's extra words, the suffix comes from the suffix column, else the end of
    the surname, else the end of the first name, as in name_features."""
    f, m, la, s = first, middle, last, suffix
    middle_std = (
        f"CASE WHEN {truthy_sql(f + '.first_extra')} THEN "
        f"CASE WHEN {truthy_sql(m + '.middle_clean')} THEN "
        f"{f}.first_extra || ' ' || {m}.middle_clean"
        f" ELSE {f}.first_extra END ELSE {m}.middle_clean END"
    )
    suffix_std = (
        f"CASE WHEN {truthy_sql(s + '.suffix_word')} THEN {s}.suffix_word"
        f" WHEN {truthy_sql(la + '.last_suffix')} THEN {la}.last_suffix"
        f" ELSE {f}.first_suffix END"
    )
    return {
        "first_name_std": f"{f}.first_name_std",
        "middle_name_std": middle_std,
        "middle_initial": f"CASE WHEN {truthy_sql(middle_std)} THEN left({middle_std}, 1) END",
        "last_name_std": f"{la}.last_name_std",
        "last_name_tokens": f"{la}.last_name_tokens",
        "suffix_std": suffix_std,
        "first_name_variants": f"{f}.first_name_variants",
        "first_name_mp": f"{f}.first_name_mp",
        "last_name_mp": f"{la}.last_name_mp",
        "first_name_nysiis": f"{f}.first_name_nysiis",
        "last_name_nysiis": f"{la}.last_name_nysiis",
    }
