"""The queries every engine runs, written once in DuckDB's SQL and translated per dialect.

- :func:`best_rows_sql`: a taxpayer has several master rows (one per name as written x address
  filed), so per (request row, taxpayer) the best-scoring row is the candidate: its weight, the
  level and weight of each comparison, and the blocking rule that found it.
- :func:`top_candidates_sql`: each request row's `top` best taxpayers and how many it had.
- :func:`disclose_sql`: the agreement's fields of the identified person's most recent return in
  the requested years (as primary filer or as spouse).

An engine runs them as :func:`for_dialect` gives them: unchanged on DuckDB, translated by sqlglot
elsewhere (Spark has no ``QUALIFY``, reads ``"x"`` as a string literal, orders NULLs first), so
both engines pick the same row by the same order. The columns an engine hands ``process`` are
named here too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

import pandas as pd
import sqlglot

from tinmatch.agreement import DISCLOSABLE_FIELDS
from tinmatch.errors import EngineError
from tinmatch.master.comparisons import COMPARISONS

GAMMA_COLUMNS = [f"gamma_{name}" for name in COMPARISONS]
MW_COLUMNS = [f"mw_{name}" for name in COMPARISONS]
#: The candidate frame an engine returns (with `top`, then ``n_candidates``).
CANDIDATE_COLUMNS = [
    "qid", "tin", "match_weight", "match_probability", *GAMMA_COLUMNS, *MW_COLUMNS, "match_key",
]  # fmt: skip
# Two master rows of one taxpayer can score the same weight (in a small master the ZIP, city and
# state levels may all be capped to one weight): the row with the more specific levels is the one
# shown, then the lower unique_id, so the explanation does not depend on how ids were numbered.
_TIE_FIRST = ("address", "date_of_birth", "first_name", "last_name")
TIE_BREAK = ", ".join(
    [f"p.gamma_{c} DESC" for c in (*_TIE_FIRST, *(c for c in COMPARISONS if c not in _TIE_FIRST))]
    + ["p.unique_id_r"]
)
# Pairs scoring below this are dropped before deciding: 2^-20 posterior odds is no candidate.
MIN_MATCH_WEIGHT = -20.0
# A double-quoted name: an identifier in DuckDB, a string literal in Spark SQL.
DOUBLE_QUOTED = re.compile(r'"[A-Za-z_][A-Za-z0-9_]*"')


# An argument of a function call: a name, a literal, or a call nested up to two levels deep.
_ARG = r"(?:[^(),]|\((?:[^()]|\([^()]*\))*\))+"
_EDIT_DISTANCE = re.compile(rf"damerau_levenshtein\(({_ARG}), ({_ARG})\) <= (\d+)")


def guard_edit_distance(sql: str) -> str:
    """`sql` (a comparison level's condition, DuckDB) with each ``damerau_levenshtein(a, b) <=
    n`` computed only when the lengths of `a` and `b` differ by at most `n`.

    The distance is at least the difference in length (both count characters), so a longer
    difference is ``false`` without computing it, and a missing side stays NULL: the condition
    is the same in three-valued logic. DuckDB fills the whole edit matrix for every call (about
    a microsecond for two short names; the fuzzy first-name levels call it several times per
    pair, once per nickname in a lambda), and ``CASE`` evaluates its branch only where the
    guard lets it (``AND`` inside a lambda does not). Refuses (``ValueError``) a call it cannot
    read, rather than leave it unguarded unnoticed.
    """
    guarded = _EDIT_DISTANCE.sub(
        lambda m: (
            f"CASE WHEN abs(length({m[1]}) - length({m[2]})) > {m[3]} THEN false "
            f"ELSE damerau_levenshtein({m[1]}, {m[2]}) <= {m[3]} END"
        ),
        sql,
    )
    if len(_EDIT_DISTANCE.findall(sql)) != sql.count("damerau_levenshtein("):
        raise ValueError(f"an edit distance in this condition was not guarded: {sql}")
    return guarded


def guard_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Rendered DuckDB Splink `settings` with every level's edit distance guarded (in place)."""
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = guard_edit_distance(level["sql_condition"])
    return settings


def tf_comparisons(settings: dict[str, Any]) -> frozenset[str]:
    """Comparisons with a term-frequency level in rendered Splink `settings`.

    Splink scores those with an ``mw_tf_adj_<name>`` column besides ``mw_<name>`` (a comparison
    has one when any of its levels names a ``tf_adjustment_column``).
    """
    return frozenset(
        comparison["output_column_name"]
        for comparison in settings["comparisons"]
        if any(level.get("tf_adjustment_column") for level in comparison["comparison_levels"])
    )


def best_rows_sql(predictions: str, tf: Collection[str]) -> str:
    """Per (request row, taxpayer) in Splink's `predictions`, the best master row.

    Columns :data:`CANDIDATE_COLUMNS`; a comparison's weight includes its term-frequency
    adjustment when it is in `tf` (see :func:`tf_comparisons`). Ties: :data:`TIE_BREAK`.
    """
    mw_sql = []
    for comp in COMPARISONS:
        expr = f'p."mw_{comp}"'
        if comp in tf:
            expr = f'{expr} + coalesce(p."mw_tf_adj_{comp}", 0)'
        mw_sql.append(f"{expr} AS mw_{comp}")
    return f"""
        SELECT p.unique_id_l AS qid, p.tin_r AS tin, p.match_weight, p.match_probability,
               {", ".join("p." + g for g in GAMMA_COLUMNS)}, {", ".join(mw_sql)},
               CAST(p.match_key AS VARCHAR) AS match_key
        FROM {predictions} AS p
        QUALIFY row_number() OVER (
            PARTITION BY p.unique_id_l, p.tin_r ORDER BY p.match_weight DESC, {TIE_BREAK}
        ) = 1
    """


def top_candidates_sql(candidates: str, top: int) -> str:
    """Each request row's `top` best taxpayers in `candidates` (by match weight, then TIN: the
    order ``decide`` ranks them in) and ``n_candidates``, how many taxpayers it had in all.

    `candidates` is a table or an aliased subquery with :data:`CANDIDATE_COLUMNS`.
    """
    return f"""
        SELECT {", ".join(CANDIDATE_COLUMNS)},
               count(*) OVER (PARTITION BY qid) AS n_candidates
        FROM {candidates}
        QUALIFY row_number() OVER (PARTITION BY qid ORDER BY match_weight DESC, tin)
            <= {int(top)}
    """


def disclosed_columns(fields: Sequence[str]) -> list[str]:
    """The columns disclosure returns besides qid and tin: `fields`, and always ``tax_year``.

    Refuses (``ValueError``) a field outside the agreement's list of disclosable fields, so
    nothing else of a return is ever selected, whatever the caller asks.
    """
    bad = [f for f in fields if f not in DISCLOSABLE_FIELDS]
    if bad:
        raise ValueError(f"fields may not be disclosed: {bad}")
    return list(dict.fromkeys([*fields, "tax_year"]))


def disclose_sql(wanted: str, appearances: str, fields: Sequence[str]) -> str:
    """For `wanted` rows (qid, tin, tax_years), the `fields` of the most recent return.

    One row per qid that has a return in its years: qid, tin, then :func:`disclosed_columns`.
    A person's returns are those in `appearances` as primary filer or spouse; of one year, the
    return as primary filer comes first, then by street, line 2 and ZIP.
    """
    cols = ", ".join(f"a.{c}" for c in disclosed_columns(fields))
    return f"""
        SELECT w.qid, w.tin, {cols}
        FROM {wanted} w
        JOIN {appearances} a
          ON a.tin = w.tin AND list_contains(w.tax_years, a.tax_year)
        QUALIFY row_number() OVER (
            PARTITION BY w.qid
            ORDER BY a.tax_year DESC, (a.role = 'primary') DESC,
                     a.street, a.address_line2, a.zip
        ) = 1
    """


def for_dialect(sql: str, dialect: str) -> str:
    """`sql` (DuckDB's dialect) for `dialect`: as written for DuckDB, else translated by sqlglot.

    Refuses (``EngineError``) a translation that still holds a double-quoted name, which another
    dialect could read as a string literal and silently compare constants.
    """
    if dialect == "duckdb":
        return sql
    out = sqlglot.transpile(sql, read="duckdb", write=dialect)[0]
    if DOUBLE_QUOTED.search(out):
        raise EngineError(f"a query cannot be translated for {dialect}: {out}")
    return out


def empty_candidates() -> pd.DataFrame:
    """A candidate frame with no rows (:data:`CANDIDATE_COLUMNS`)."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in CANDIDATE_COLUMNS})


def empty_disclosure(fields: Sequence[str]) -> pd.DataFrame:
    """A disclosure frame with no rows: qid, tin and :func:`disclosed_columns`."""
    cols = ["qid", "tin", *disclosed_columns(fields)]
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
