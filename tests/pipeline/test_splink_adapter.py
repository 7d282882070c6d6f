"""The Splink adapter: the private API it uses is where it expects it, and it scores as Splink.

When an upgrade of Splink moves or changes one of the private functions or attributes
``tinmatch.master.splink_adapter`` uses, the first test here fails and names it: re-check the
adapter against the new Splink (``LinkerInference.predict_between`` and ``_score_blocked_pairs``)
before moving the pin in pyproject.toml.
"""

from __future__ import annotations

import tomllib
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from packaging.requirements import Requirement

from tinmatch.engines.queries import MIN_MATCH_WEIGHT, best_rows_sql
from tinmatch.master import splink_adapter
from tinmatch.master.splink_adapter import block_pairs, private_api_problems, score_pairs
from tinmatch.pipeline.features import request_features

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
def test_the_private_api_the_adapter_uses_is_where_it_expects_it(engine: Any) -> None:
    problems = private_api_problems(engine.linker)
    assert not problems, (
        f"Splink {version('splink')} moved or changed private API that "
        "tinmatch/master/splink_adapter.py uses:\n  " + "\n  ".join(problems)
    )


def test_a_changed_signature_or_a_missing_attribute_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def renamed(*, left_table: str, input_tablename_r: str) -> None: ...

    api = dict(splink_adapter.PRIVATE_API)
    _, passed = api["splink.internals.blocking.block_using_rules_sqls"]
    api["splink.internals.blocking.block_using_rules_sqls"] = (renamed, passed)
    monkeypatch.setattr(splink_adapter, "PRIVATE_API", api)
    problems = private_api_problems(object())  # type: ignore[arg-type]
    text = "\n".join(problems)
    assert "block_using_rules_sqls" in text
    assert "no parameter input_tablename_l" in text
    assert "new required left_table" in text
    assert "Linker._settings_obj is gone" in text


def test_splink_is_pinned_to_the_line_the_adapter_was_written_for() -> None:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    (spec,) = [Requirement(d) for d in deps if Requirement(d).name == "splink"]
    assert version("splink") in spec.specifier, (version("splink"), str(spec))
    # A 5.0 line, not "any 5": a minor release may move private API.
    assert "5.1.0" not in spec.specifier and "6.0.0" not in spec.specifier, str(spec)


@pytest.fixture(scope="module")
def features(master_con: Any, make_request: Any) -> pd.DataFrame:
    """Forty people of the master as a request, every other one with a typo in the surname."""
    frame = master_con.execute(
        "SELECT t.first_name, t.last_name, t.dob, a.street, a.city, a.state, a.zip "
        "FROM m.taxpayers t JOIN m.appearances a USING (tin) USING SAMPLE 40 ROWS (reservoir, 3)"
    ).df()
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows[::2]:
        row["last_name"] = f"{row['last_name']}e"
    return request_features(make_request(rows))


def _register(engine: Any, features: pd.DataFrame, name: str) -> Any:
    table = pa.Table.from_pandas(features, preserve_index=False)
    return engine.db_api.register(table, table_name=f"{name}_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def public(engine: Any, features: pd.DataFrame) -> pd.DataFrame:
    """Splink's own ``predict_between`` of the rows against the master."""
    request = _register(engine, features, "adapter_public")
    predictions = engine.linker.inference.predict_between(
        request, engine.master, threshold_match_weight=MIN_MATCH_WEIGHT, warning_mode="never"
    )
    out = predictions.as_pandas_dataframe()
    predictions.drop_table_from_database_and_remove_from_cache()
    return out


def test_the_adapter_scores_the_same_pairs_as_splinks_predict_between(
    engine: Any, features: pd.DataFrame, public: pd.DataFrame
) -> None:
    request = _register(engine, features, "adapter_request")
    blocked = block_pairs(engine.linker, engine.db_api, request, engine.master)
    scored = score_pairs(
        engine.linker, engine.db_api, blocked, request, engine.master,
        threshold_match_weight=MIN_MATCH_WEIGHT,
    ).as_pandas_dataframe()  # fmt: skip
    key = ["unique_id_l", "unique_id_r"]
    assert len(public) > 50 and public["unique_id_l"].nunique() == 40
    gammas = [c for c in public if c.startswith("gamma_")]
    cols = [*key, "match_weight", "match_probability", *gammas]
    a = public[cols].sort_values(key).reset_index(drop=True)
    b = scored[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


def test_the_extra_step_sees_every_scored_pair_before_anything_is_materialized(
    engine: Any, features: pd.DataFrame, public: pd.DataFrame
) -> None:
    """`then` runs the best-row query on the scored pairs: one row per (request row, taxpayer)."""
    request = _register(engine, features, "adapter_then")
    blocked = block_pairs(engine.linker, engine.db_api, request, engine.master)
    best = score_pairs(
        engine.linker, engine.db_api, blocked, request, engine.master,
        threshold_match_weight=MIN_MATCH_WEIGHT,
        then=("__splink__df_adapter_best", lambda t: best_rows_sql(t, engine.tf)),
    ).as_pandas_dataframe()  # fmt: skip
    expected = public.groupby(["unique_id_l", "tin_r"])["match_weight"].max()
    got = best.set_index(["qid", "tin"])["match_weight"].sort_index()
    assert len(got) == len(expected)
    assert got.to_numpy() == pytest.approx(expected.sort_index().to_numpy(), rel=1e-12)


def test_term_frequency_columns_are_those_splink_writes(engine: Any, public: pd.DataFrame) -> None:
    """The engines read which comparisons carry ``mw_tf_adj_*`` from the settings."""
    written = {c.removeprefix("mw_tf_adj_") for c in public if c.startswith("mw_tf_adj_")}
    assert written and engine.tf == written


def test_blocking_through_the_block_keys_gives_splinks_pairs_and_match_keys(
    engine: Any, features: pd.DataFrame
) -> None:
    """The DuckDB engine finds a chunk's pairs by the master's block keys, then keeps the first
    rule whose condition holds: the same pairs, each with the same match_key, as Splink's
    blocking SQL (the phonetic rule's different-surname filter and the swapped names' state
    condition included)."""
    request = _register(engine, features, "adapter_keys")
    splink = block_pairs(engine.linker, engine.db_api, request, engine.master)
    rows = f"{request.physical_name}_rows"
    keyed = engine._block_by_keys(request.physical_name, rows)
    cols = ["match_key", "join_key_l", "join_key_r"]
    a = splink.as_pandas_dataframe()[cols].astype(str).sort_values(cols).reset_index(drop=True)
    b = keyed.as_pandas_dataframe()[cols].astype(str).sort_values(cols).reset_index(drop=True)
    assert len(a) > 50 and a["match_key"].nunique() >= 3, a["match_key"].value_counts()
    pd.testing.assert_frame_equal(a, b)
    # Every master row a pair needs is in the rows handed to scoring.
    needed = set(b["join_key_r"])
    fetched = {r[0] for r in engine.con.execute(f"SELECT unique_id FROM {rows}").fetchall()}
    assert needed <= fetched
    engine.con.execute(f"DROP TABLE {rows}")
