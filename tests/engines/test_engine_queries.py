"""The best-row, top-candidate and disclose queries: written once in DuckDB SQL, translated for
Spark so that both engines pick the same rows in the same order."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from tinmatch.agreement import DISCLOSABLE_FIELDS
from tinmatch.engines import queries
from tinmatch.engines.queries import (
    CANDIDATE_COLUMNS,
    best_rows_sql,
    disclose_sql,
    for_dialect,
    guard_edit_distance,
    guard_settings,
    tf_comparisons,
    top_candidates_sql,
)
from tinmatch.errors import EngineError
from tinmatch.master.comparisons import COMPARISONS
from tinmatch.master.params import LevelParams, ModelParams, render_settings

TF = frozenset({"first_name", "last_name"})


def _params() -> ModelParams:
    from tinmatch.master.comparisons import level_labels

    levels = {
        comp: {label: LevelParams(0.5, 0.1) for label in level_labels(comp)[1:]}
        for comp in COMPARISONS
    }
    return ModelParams(1e-4, levels, {})


def test_term_frequency_comparisons_are_read_from_the_settings() -> None:
    settings = render_settings(_params(), "duckdb")
    found = tf_comparisons(settings)
    assert found and found < set(COMPARISONS)
    for comparison in settings["comparisons"]:
        has_tf = any("tf_adjustment_column" in lvl for lvl in comparison["comparison_levels"])
        assert (comparison["output_column_name"] in found) == has_tf
    # The same comparisons whatever the dialect the settings are rendered for.
    assert tf_comparisons(render_settings(_params(), "spark")) == found


def test_best_row_adds_the_tf_adjustment_only_where_there_is_one() -> None:
    sql = best_rows_sql("preds", TF)
    for comp in COMPARISONS:
        assert (f'"mw_tf_adj_{comp}"' in sql) == (comp in TF), comp


@pytest.mark.parametrize(
    "sql",
    [
        best_rows_sql("preds", TF),
        top_candidates_sql("(SELECT 1) AS best", 2),
        disclose_sql("wanted", "appearances", ["street", "zip"]),
    ],
)
def test_spark_sql_has_no_qualify_no_double_quotes_and_orders_nulls_as_duckdb(sql: str) -> None:
    spark = for_dialect(sql, "spark")
    assert "QUALIFY" not in spark.upper()
    assert '"' not in spark
    # Spark sorts NULLs first in ascending order, DuckDB last: read as Spark reads it, every
    # sort key of the translation puts NULLs last, as DuckDB does.
    keys = list(sqlglot.parse_one(spark, read="spark").find_all(exp.Ordered))
    assert keys
    for key in keys:
        assert not key.args.get("nulls_first"), key.sql("spark")
    assert for_dialect(sql, "duckdb") == sql  # DuckDB runs it as written


def test_the_top_query_keeps_the_best_two_by_weight_then_tin_and_counts_all() -> None:
    con = duckdb.connect()
    cols = ", ".join(f"NULL AS {c}" for c in CANDIDATE_COLUMNS[4:])
    con.execute(
        f"""CREATE TABLE c AS SELECT * FROM (VALUES
            ('q1', 'b', 5.0, 0.9), ('q1', 'a', 5.0, 0.9), ('q1', 'c', 9.0, 0.99),
            ('q2', 'z', 1.0, 0.5)) v(qid, tin, match_weight, match_probability),
            (SELECT {cols})"""
    )
    rows = con.execute(top_candidates_sql("c", 2) + " ORDER BY qid, match_weight DESC").fetchall()
    picked = [(r[0], r[1], r[-1]) for r in rows]
    assert picked == [("q1", "c", 3), ("q1", "a", 3), ("q2", "z", 1)]


def test_disclose_selects_only_disclosable_fields_and_always_the_tax_year() -> None:
    sql = disclose_sql("w", "a", ["city"])
    assert "a.city, a.tax_year" in sql
    for field in ("tin", "spouse_tin", "first_name", "role", "filing_status"):
        assert field not in DISCLOSABLE_FIELDS
        with pytest.raises(ValueError, match="may not be disclosed"):
            disclose_sql("w", "a", ["street", field])


def test_a_translation_that_keeps_a_double_quoted_name_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A double-quoted name is a string literal in Spark: a condition on it never holds."""
    monkeypatch.setattr(queries.sqlglot, "transpile", lambda sql, **_: ['SELECT "x" = "y"'])
    with pytest.raises(EngineError, match="cannot be translated for spark"):
        for_dialect("SELECT 1", "spark")


# Names whose lengths differ by 0 to 5 characters, accented letters (one character, two bytes),
# transpositions, empty and missing values: every pair of them is compared.
_WORDS = [
    None, "", "a", "é", "ab", "ba", "abc", "abcd", "abdc", "jose", "josé", "jsoe", "josee",
    "jse", "maria", "mraia", "marìa", "mariaa", "mari", "zzzzzzzz",
]  # fmt: skip


@pytest.fixture(scope="module")
def word_pairs() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE w(v VARCHAR)")
    con.executemany("INSERT INTO w VALUES (?)", [[v] for v in _WORDS])
    con.execute(
        "CREATE TABLE pairs AS SELECT a.v AS a, b.v AS b, [b.v, 'x', a.v || 'q'] AS variants "
        "FROM w a, w b"
    )
    return con


@pytest.mark.parametrize(
    "condition",
    [
        "damerau_levenshtein(a, b) <= 1",
        "damerau_levenshtein(a, b) <= 2",
        "damerau_levenshtein(a, split_part(b, ' ', 1)) <= 1",
        "length(a) >= 2 AND (jaro_winkler_similarity(a, b) >= 0.92 "
        "OR damerau_levenshtein(a, b) <= 1)",
        "NOT (damerau_levenshtein(a, b) <= 1)",
        "array_length(list_filter(variants, lambda x: damerau_levenshtein(x, a) <= 1)) > 0",
    ],
)
def test_a_guarded_edit_distance_is_the_same_condition(
    word_pairs: duckdb.DuckDBPyConnection, condition: str
) -> None:
    guarded = guard_edit_distance(condition)
    assert guarded != condition and "abs(length(" in guarded
    differing = word_pairs.execute(
        f"SELECT a, b, ({condition}), ({guarded}) FROM pairs "
        f"WHERE ({condition}) IS DISTINCT FROM ({guarded})"
    ).fetchall()
    assert differing == []  # NULL where it was NULL, false where it was false
    assert word_pairs.execute(f"SELECT count(*) FROM pairs WHERE {guarded}").fetchone()[0] > 0


def test_every_edit_distance_of_the_model_is_guarded_and_nothing_else_changes() -> None:
    plain = render_settings(_params(), "duckdb")
    guarded = guard_settings(render_settings(_params(), "duckdb"))
    changed = 0
    for before, after in zip(plain["comparisons"], guarded["comparisons"], strict=True):
        for lvl_before, lvl_after in zip(
            before["comparison_levels"], after["comparison_levels"], strict=True
        ):
            sql = lvl_before["sql_condition"]
            calls = sql.count("damerau_levenshtein(")
            assert lvl_after["sql_condition"].count("abs(length(") == calls
            assert (lvl_after["sql_condition"] != sql) == (calls > 0)
            assert {k: v for k, v in lvl_after.items() if k != "sql_condition"} == {
                k: v for k, v in lvl_before.items() if k != "sql_condition"
            }
            changed += calls > 0
    assert changed >= 5  # the one-edit, typo and two-edit levels


def test_an_edit_distance_that_cannot_be_read_is_refused() -> None:
    with pytest.raises(ValueError, match="not guarded"):
        guard_edit_distance("damerau_levenshtein(f(g(h(a))), b) <= 1")
    with pytest.raises(ValueError, match="not guarded"):
        guard_edit_distance("damerau_levenshtein(a, b) < 2")


def test_the_best_row_query_runs_and_keeps_each_taxpayers_best_row() -> None:
    """Run on DuckDB: per (request row, taxpayer) the best master row, with its comparison
    weights (plus the term-frequency adjustment where there is one), named as engines hand
    them on."""
    con = duckdb.connect()
    per_comp = ", ".join(
        f"{i} AS gamma_{c}, {i}.25 AS mw_{c}" + (f", 0.5 AS mw_tf_adj_{c}" if c in TF else "")
        for i, c in enumerate(COMPARISONS)
    )
    con.execute(
        f"""CREATE TABLE preds AS SELECT v.*, 7 AS match_key, {per_comp} FROM (VALUES
            ('q1', 'T1', 'm1', 3.0, 0.8), ('q1', 'T1', 'm2', 5.0, 0.9),
            ('q1', 'T2', 'm3', 4.0, 0.85)) v(unique_id_l, tin_r, unique_id_r, match_weight,
            match_probability)"""
    )
    result = con.execute(best_rows_sql("preds", TF) + " ORDER BY qid, tin")
    assert [d[0] for d in result.description] == CANDIDATE_COLUMNS
    rows = [dict(zip(CANDIDATE_COLUMNS, r, strict=True)) for r in result.fetchall()]
    assert [(r["qid"], r["tin"], r["match_weight"]) for r in rows] == [
        ("q1", "T1", 5.0), ("q1", "T2", 4.0),
    ]  # fmt: skip
    for i, comp in enumerate(COMPARISONS):
        assert rows[0][f"gamma_{comp}"] == i
        assert rows[0][f"mw_{comp}"] == i + 0.25 + (0.5 if comp in TF else 0), comp
    assert rows[0]["match_key"] == "7"


def test_the_edit_distance_guard_compares_the_two_lengths() -> None:
    assert guard_edit_distance("damerau_levenshtein(l.a, upper(r.b)) <= 2") == (
        "CASE WHEN abs(length(l.a) - length(upper(r.b))) > 2 THEN false "
        "ELSE damerau_levenshtein(l.a, upper(r.b)) <= 2 END"
    )


def test_empty_frames_have_the_columns_engines_hand_on() -> None:
    candidates = queries.empty_candidates()
    assert list(candidates.columns) == CANDIDATE_COLUMNS and len(candidates) == 0
    disclosure = queries.empty_disclosure(["street", "zip"])
    assert list(disclosure.columns) == ["qid", "tin", "street", "zip", "tax_year"]
    assert len(disclosure) == 0 and all(dtype.kind == "O" for dtype in disclosure.dtypes)
