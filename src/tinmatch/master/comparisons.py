"""The Fellegi-Sunter comparison definitions, dialect-neutral.

These are *definitions* only: which levels each field has, in order. Trained parameters (m, u)
live apart in :mod:`tinmatch.master.params` and are poured into the settings rendered for a
backend (DuckDB or Spark), so a model trained under one backend scores identically under another.

Every level carries a stable ``label``: parameters are matched to levels by (comparison, label),
never by SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import splink.comparison_level_library as cll
import splink.comparison_library as cl

from tinmatch.master.splink_adapter import ComparisonCreator, ComparisonLevelCreator, SplinkDialect


@dataclass(frozen=True)
class Level:
    label: str
    creator: ComparisonLevelCreator


# Custom SQL is written once, in DuckDB's dialect, and translated by sqlglot for other
# backends: in Spark SQL a double-quoted name is a string literal, so untranslated conditions
# such as "a_l" = "a_r" would silently never fire.
BASE_DIALECT = "duckdb"


def _custom(sql: str, label: str) -> Level:
    return Level(label, cll.CustomLevel(sql, label_for_charts=label, base_dialect_str=BASE_DIALECT))


class _FuzzyLevel(ComparisonLevelCreator):
    """Custom SQL (DuckDB dialect) that may call string similarity functions across columns.

    ``{jw}`` and ``{dl}`` in the template stand for the backend's Jaro-Winkler similarity and
    Damerau-Levenshtein distance functions. sqlglot translates the rest of the condition but does
    not know the names Splink registers on Spark (``jaro_winkler``, not DuckDB's
    ``jaro_winkler_similarity``), so the functions are named here, per dialect, after translation.
    """

    _MARKERS = {"jw": "tinmatch_jw", "dl": "tinmatch_dl"}

    def __init__(self, template: str, label: str) -> None:
        self.template = template
        self.label = label

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        sql = self.template.format(**self._MARKERS)
        sql = cll.CustomLevel(sql, base_dialect_str=BASE_DIALECT).create_sql(sql_dialect)
        names = {
            "jw": sql_dialect.jaro_winkler_function_name,
            "dl": sql_dialect.damerau_levenshtein_function_name,
        }
        for key, marker in self._MARKERS.items():
            sql = re.sub(rf"\b{marker}\b", names[key], sql, flags=re.IGNORECASE)
        return sql

    def create_label_for_charts(self) -> str:
        return self.label


def _fuzzy(template: str, label: str) -> Level:
    return Level(label, _FuzzyLevel(template, label).configure(label_for_charts=label))


def _null_either(col: str, label: str = "null") -> Level:
    sql = f'"{col}_l" IS NULL OR "{col}_r" IS NULL'
    creator = cll.CustomLevel(sql, base_dialect_str=BASE_DIALECT)
    return Level(label, creator.configure(is_null_level=True))


def _else() -> Level:
    return Level("else", cll.ElseLevel())


def _exact(col: str, label: str, tf: bool = False) -> Level:
    creator = cll.ExactMatchLevel(col, term_frequency_adjustments=tf)
    return Level(label, creator.configure(label_for_charts=label))


def _jw(col: str, threshold: float, label: str) -> Level:
    return Level(label, cll.JaroWinklerLevel(col, threshold).configure(label_for_charts=label))


def _damerau(col: str, label: str) -> Level:
    """One insertion, deletion, substitution or transposition (Erci / Eric)."""
    return Level(label, cll.DamerauLevenshteinLevel(col, 1).configure(label_for_charts=label))


def _array_intersect(col: str, label: str) -> Level:
    return Level(label, cll.ArrayIntersectLevel(col, 1).configure(label_for_charts=label))


# A request whose first and last names are one name ("James James", "Sosa Sosa") names one name,
# not two: no level may count it as a swapped surname or given name.
ONE_NAME_NOT_TWICE = '"first_name_std_l" IS DISTINCT FROM "last_name_std_l"'

# Each comparison: (output column name, description, levels in order of decreasing agreement).
COMPARISONS: dict[str, tuple[str, list[Level]]] = {
    "first_name": (
        "First name: exact, nickname, typo, phonetic, middle-as-first, swapped with surname",
        [
            _null_either("first_name_std"),
            _exact("first_name_std", "exact", tf=True),
            _custom(
                'list_contains("first_name_variants_l", "first_name_std_r") '
                'OR list_contains("first_name_variants_r", "first_name_std_l")',
                "nickname",
            ),
            _jw("first_name_std", 0.92, "jaro_winkler_0.92"),
            # One edit, one of the names at least three letters long (Le / Lee): between two
            # two-letter names (the first syllables of hyphenated given names, Yu-Ting /
            # Ya-Ling) it is no evidence at all (the 10M run disclosed Ya-Ling Liao for
            # "Yu-Ting Liaao"). A space typed inside the given name is one edit too: "Imog En"
            # (read as first name Imog, middle name En) for Imogen, "Ja Yde" for Jayde (38 of
            # FEBRL4's 4,123 rows to find).
            _fuzzy(
                '((length("first_name_std_l") >= 3 OR length("first_name_std_r") >= 3) AND '
                '{dl}("first_name_std_l", "first_name_std_r") <= 1) '
                'OR "first_name_std_l" || "middle_name_std_l" = "first_name_std_r" '
                'OR "first_name_std_r" || "middle_name_std_r" = "first_name_std_l"',
                "one_edit",
            ),
            _custom('"first_name_mp_l" = "first_name_mp_r"', "phonetic"),
            _custom(
                '"first_name_std_l" = "middle_name_std_r" '
                'OR "middle_name_std_l" = "first_name_std_r" '
                'OR list_contains("first_name_variants_l", "middle_name_std_r") '
                'OR list_contains("first_name_variants_r", "middle_name_std_l") '
                # a two-word given name used whole (Del Carmen, Kuo-Hsiung), or one word of
                # the candidate's two-word given name (Cesar of Julio Cesar)
                'OR "first_name_std_l" || \' \' || "middle_name_std_l" = "middle_name_std_r" '
                # ... or ending it: Yu-Ting ("yu" + "ting") of Pai-Jui Yu-Ting ("jui yu ting")
                'OR \' \' || "middle_name_std_r" LIKE '
                '\'% \' || "first_name_std_l" || \' \' || "middle_name_std_l" '
                'OR (length("first_name_std_l") >= 3 AND '
                'list_contains(string_split("middle_name_std_r", \' \'), "first_name_std_l"))',
                "middle_as_first",
            ),
            # The middle name used as first name, with a typo (Jorgge for Jorge). Weaker, and
            # not first-name agreement for the decision rule: twins Damini Charvi and Vansha
            # Chavvi are told apart by exactly this letter.
            _fuzzy(
                'length("first_name_std_l") >= 4 AND length("middle_name_std_r") >= 4 AND '
                '({jw}("first_name_std_l", "middle_name_std_r") >= 0.92 '
                'OR {dl}("first_name_std_l", "middle_name_std_r") <= 1)',
                "middle_as_first_typo",
            ),
            # The request's given name is the candidate's surname (or one part of a compound
            # surname), also with a typo: Marttinez / Tonya for Tonya Martinez.
            _fuzzy(
                f"({ONE_NAME_NOT_TWICE}) AND ("
                '"first_name_std_l" = "last_name_std_r" '
                'OR list_contains("last_name_tokens_r", "first_name_std_l") '
                'OR (length("first_name_std_l") >= 4 AND '
                '({jw}("first_name_std_l", "last_name_std_r") >= 0.92 '
                'OR {dl}("first_name_std_l", split_part("last_name_std_r", \' \', 1)) <= 1)))',
                "swapped_with_surname",
            ),
            # A nickname written with a typo (Chriis, Mray), or two edits of the name itself
            # with the first letter kept (Alehanro, Trreas).
            _fuzzy(
                'length("first_name_std_l") >= 4 AND array_length(list_filter('
                '"first_name_variants_r", lambda x: {dl}(x, "first_name_std_l") <= 1)) > 0',
                "nickname_typo",
            ),
            _fuzzy(
                'length("first_name_std_l") >= 4 AND length("first_name_std_r") >= 4 AND '
                'substr("first_name_std_l", 1, 1) = substr("first_name_std_r", 1, 1) AND '
                '{dl}("first_name_std_l", "first_name_std_r") <= 2',
                "two_edits",
            ),
            _else(),
        ],
    ),
    "last_name": (
        "Surname: exact, swapped with first name, typo, one part of a compound surname, phonetic",
        [
            _null_either("last_name_std"),
            _exact("last_name_std", "exact", tf=True),
            # Swapped levels (here, below and in the first name) need the request's first and
            # last names to differ: "James James" must not count James Thompson's first name
            # twice, once as first name and again as a swapped surname.
            _custom(
                f"({ONE_NAME_NOT_TWICE}) AND "
                '("last_name_std_l" = "first_name_std_r" '
                'OR list_contains("last_name_tokens_l", "first_name_std_r"))',
                "swapped_with_first",
            ),
            _jw("last_name_std", 0.92, "jaro_winkler_0.92"),
            _damerau("last_name_std", "one_edit"),
            _array_intersect("last_name_tokens", "compound_part"),
            _custom('"last_name_mp_l" = "last_name_mp_r"', "phonetic"),
            # First and last swapped, and the given name (now in the surname column) written as a
            # nickname, with a typo, or as the person's middle name: Dhillon / Sam for
            # Samuel Dhillon.
            _fuzzy(
                f"({ONE_NAME_NOT_TWICE}) AND ("
                'list_contains("first_name_variants_r", "last_name_std_l") '
                'OR "last_name_std_l" = "middle_name_std_r" '
                'OR (length("last_name_std_l") >= 4 AND length("first_name_std_r") >= 4 AND '
                '({jw}("last_name_std_l", "first_name_std_r") >= 0.92 '
                'OR {dl}("last_name_std_l", "first_name_std_r") <= 1)))',
                "swapped_fuzzy",
            ),
            _else(),
        ],
    ),
    "middle_name": (
        "Middle name: missing on either side is neutral; a different middle name is a conflict",
        [
            _null_either("middle_initial"),
            # The request's middle words are the candidate's first middle words: "Hsiung" for
            # Chih-Hsiung Joseph Mo Jr as for Chih-Hsiung Mo Sr. The second word of a two-word
            # given name leads the middle name (standardization puts it there), so a father and
            # son of that name both start with it; a request giving only the given name must
            # not find the son's extra middle name weaker agreement than the father's none.
            _custom(
                "strpos(\"middle_name_std_r\" || ' ', \"middle_name_std_l\" || ' ') = 1",
                "exact",
            ),
            # A typo in a middle name, or one read from a hyphenated given name (Yu-Ing / Yu-Ying)
            # is not a different middle name.
            _fuzzy(
                'length("middle_name_std_l") >= 3 AND length("middle_name_std_r") >= 3 AND '
                '({jw}("middle_name_std_l", "middle_name_std_r") >= 0.92 '
                'OR {dl}("middle_name_std_l", "middle_name_std_r") <= 1)',
                "similar",
            ),
            _exact("middle_initial", "initial"),
            # One middle name is a whole-word part of the other ("Sosa Amanda" against "Amanda":
            # a two-word first name's second word is read as a middle name), or the request's
            # middle word is part of the candidate's surname (a compound surname written in the
            # first-name column). Neither is a conflict; neither is evidence.
            _custom(
                "strpos(' ' || \"middle_name_std_l\" || ' ', "
                "' ' || \"middle_name_std_r\" || ' ') > 0 "
                "OR strpos(' ' || \"middle_name_std_r\" || ' ', "
                "' ' || \"middle_name_std_l\" || ' ') > 0 "
                'OR list_contains("last_name_tokens_r", split_part("middle_name_std_l", \' \', 1)) '
                'OR list_contains("last_name_tokens_l", split_part("middle_name_std_r", \' \', 1))',
                "overlap",
            ),
            _else(),
        ],
    ),
    "suffix": (
        "Generational suffix: Jr vs Sr is strong disagreement",
        [
            _null_either("suffix_std"),
            _exact("suffix_std", "exact"),
            _else(),
        ],
    ),
    "date_of_birth": (
        "Date of birth: exact, day/month transposed, same year and month, same year",
        [
            _null_either("dob"),
            _exact("dob", "exact"),
            _custom(
                'substr("dob_l", 1, 4) = substr("dob_r", 1, 4) '
                'AND substr("dob_l", 6, 2) = substr("dob_r", 9, 2) '
                'AND substr("dob_l", 9, 2) = substr("dob_r", 6, 2)',
                "day_month_transposed",
            ),
            _custom('substr("dob_l", 1, 7) = substr("dob_r", 1, 7)', "year_month"),
            _custom('substr("dob_l", 1, 4) = substr("dob_r", 1, 4)', "year"),
            _else(),
        ],
    ),
    "address": (
        "Request address against one address of the candidate's return history",
        [
            Level(
                "null",
                cll.CustomLevel(
                    '("street_key_l" IS NULL AND "zip5_l" IS NULL AND "city_std_l" IS NULL) '
                    'OR ("street_key_r" IS NULL AND "zip5_r" IS NULL AND "city_std_r" IS NULL)',
                    base_dialect_str=BASE_DIALECT,
                ).configure(is_null_level=True),
            ),
            _custom(
                '"street_key_l" = "street_key_r" AND "state_std_l" = "state_std_r" AND '
                '(("unit_l" IS NULL AND "unit_r" IS NULL) OR "unit_l" = "unit_r")',
                "street_and_unit",
            ),
            _custom(
                '"street_key_l" = "street_key_r" AND "state_std_l" = "state_std_r"',
                "street_other_unit",
            ),
            # Same house number and ZIP, street written differently (Fraser / Frazier): the
            # street must still look alike, or a namesake at 26 Nelson Ave would corroborate a
            # request for 26 Nichols Ave.
            _fuzzy(
                '"house_number_l" = "house_number_r" AND "zip5_l" = "zip5_r" AND '
                '{jw}("street_key_l", "street_key_r") >= 0.92',
                "house_number_and_zip",
            ),
            _custom('"zip5_l" = "zip5_r"', "zip"),
            _custom(
                '"city_std_l" = "city_std_r" AND "state_std_l" = "state_std_r"', "city_and_state"
            ),
            _custom('"state_std_l" = "state_std_r"', "state"),
            _else(),
        ],
    ),
}

# Levels that corroborate a name: the decision rule needs one of these (address or DOB).
CORROBORATING_LEVELS: dict[str, frozenset[str]] = {
    "address": frozenset({"street_and_unit", "street_other_unit", "house_number_and_zip"}),
    "date_of_birth": frozenset({"exact", "day_month_transposed"}),
}
# The given name in the request must agree with the candidate's (in some recognised form), or be
# found in the surname column (first and last swapped: the request's *surname* equals the
# candidate's first name). Phonetic likeness alone (Laurie / Leroy) does not count, nor does the
# request's first name equalling the candidate's surname: a twin or spouse at the same address
# with the same surname must never be disclosed for a request naming another.
FIRST_NAME_AGREES: dict[str, frozenset[str]] = {
    "first_name": frozenset(
        {
            "exact",
            "nickname",
            "jaro_winkler_0.92",
            "one_edit",
            "middle_as_first",
            "nickname_typo",
            "two_edits",
        }
    ),
    "last_name": frozenset({"swapped_with_first", "swapped_fuzzy"}),
}
# First-name levels that agree only through a typo: enough to name the person when an address of
# theirs corroborates it, never on a shared date of birth alone (Ariel / Angel Griffin, same DOB).
WEAK_FIRST_NAME: frozenset[str] = frozenset({"nickname_typo", "two_edits"})
# Address levels that say the request's address is nowhere the candidate ever filed from, not even
# the same city or ZIP: a name and a date of birth shared with someone elsewhere are not enough.
ADDRESS_ELSEWHERE: frozenset[str] = frozenset({"state", "else"})
# Levels that are a conflict: the candidate is never disclosed.
# A date of birth in another year (not a day/month swap) too: at 10M people a namesake of the
# person sought, at the very address she gave but born five years earlier, outscored everything
# on name and street and was disclosed; at 1M no correct disclosure had such a date.
CONFLICT_LEVELS: dict[str, frozenset[str]] = {
    "middle_name": frozenset({"else"}),
    "suffix": frozenset({"else"}),
    "date_of_birth": frozenset({"else"}),
}


def comparison_creators() -> list[ComparisonCreator]:
    """The comparisons as Splink creators, in a fixed order."""
    out: list[ComparisonCreator] = []
    for name, (description, levels) in COMPARISONS.items():
        out.append(
            cl.CustomComparison(
                comparison_levels=[lvl.creator for lvl in levels],
                output_column_name=name,
                comparison_description=description,
            )
        )
    return out


def level_labels(name: str) -> list[str]:
    """Labels of a comparison's levels, in Splink's order (null level first)."""
    return [lvl.label for lvl in COMPARISONS[name][1]]


@cache  # deciding and explaining ask it for every level of every candidate
def gamma_label(name: str, gamma: int) -> str:
    """Map a comparison vector value to its level label (-1 is the null level)."""
    labels = level_labels(name)
    if gamma == -1:
        return labels[0]
    # Splink numbers non-null levels from the bottom: else = 0, next = 1, ...
    non_null = labels[1:]
    return non_null[len(non_null) - 1 - gamma]
