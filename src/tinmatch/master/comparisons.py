"""The Fellegi-Sunter comparison definitions, dialect-neutral.

These are *definitions* only: which levels each field has, in order. Trained parameters (m, u)
live apart in :mod:`tinmatch.master.params` and are poured into the settings rendered for a
backend (DuckDB or Spark), so a model trained under one backend scores identically under another.

Every level carries a stable ``label``: parameters are matched to levels by (comparison, label),
never by SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator


@dataclass(frozen=True)
class Level:
    label: str
    creator: ComparisonLevelCreator


# Custom SQL is written once, in DuckDB's dialect, and translated by sqlglot for other
# backends: in Spark SQL a double-quoted name is a string literal, so untranslated conditions
# such as "a_l" = "a_r" would silently never fire.
BASE_DIALECT = "duckdb"


def _custom(sql: str, label: str) -> Level:
    return Level(
        label, cll.CustomLevel(sql, label_for_charts=label, base_dialect_str=BASE_DIALECT)
    )


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


# Each comparison: (output column name, description, levels in order of decreasing agreement).
COMPARISONS: dict[str, tuple[str, list[Level]]] = {
    "first_name": (
        "First name: exact, nickname, typo, phonetic, middle-as-first, swapped with surname",
        [
            _null_either("first_name_std"),
            _exact("first_name_std", "exact", tf=True),
            _array_intersect("first_name_variants", "nickname"),
            _jw("first_name_std", 0.92, "jaro_winkler_0.92"),
            _damerau("first_name_std", "one_edit"),
            _custom('"first_name_mp_l" = "first_name_mp_r"', "phonetic"),
            _custom(
                '"first_name_std_l" = "middle_name_std_r" '
                'OR "middle_name_std_l" = "first_name_std_r" '
                'OR list_contains("first_name_variants_l", "middle_name_std_r")',
                "middle_as_first",
            ),
            _custom(
                '"first_name_std_l" = "last_name_std_r" '
                'OR list_contains("last_name_tokens_r", "first_name_std_l")',
                "swapped_with_surname",
            ),
            _else(),
        ],
    ),
    "last_name": (
        "Surname: exact, swapped with first name, typo, one part of a compound surname, phonetic",
        [
            _null_either("last_name_std"),
            _exact("last_name_std", "exact", tf=True),
            _custom(
                '"last_name_std_l" = "first_name_std_r" '
                'OR list_contains("last_name_tokens_l", "first_name_std_r")',
                "swapped_with_first",
            ),
            _jw("last_name_std", 0.92, "jaro_winkler_0.92"),
            _damerau("last_name_std", "one_edit"),
            _array_intersect("last_name_tokens", "compound_part"),
            _custom('"last_name_mp_l" = "last_name_mp_r"', "phonetic"),
            _else(),
        ],
    ),
    "middle_name": (
        "Middle name: missing on either side is neutral; a different middle name is a conflict",
        [
            _null_either("middle_initial"),
            _exact("middle_name_std", "exact"),
            _exact("middle_initial", "initial"),
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
            _custom(
                '"house_number_l" = "house_number_r" AND "zip5_l" = "zip5_r"',
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
        {"exact", "nickname", "jaro_winkler_0.92", "one_edit", "middle_as_first"}
    ),
    "last_name": frozenset({"swapped_with_first"}),
}
# Levels that are a conflict: the candidate is never disclosed.
CONFLICT_LEVELS: dict[str, frozenset[str]] = {
    "middle_name": frozenset({"else"}),
    "suffix": frozenset({"else"}),
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


def gamma_label(name: str, gamma: int) -> str:
    """Map a comparison vector value to its level label (-1 is the null level)."""
    labels = level_labels(name)
    if gamma == -1:
        return labels[0]
    # Splink numbers non-null levels from the bottom: else = 0, next = 1, ...
    non_null = labels[1:]
    return non_null[len(non_null) - 1 - gamma]
