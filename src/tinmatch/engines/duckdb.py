"""Link: score each valid request row against the master with the trained Splink model.

The master is attached read-only; request rows are standardized with the same functions as the
master, registered as a table, and scored with ``predict_between`` (left = request, right =
master rows). A taxpayer has several master rows (one per name as written x address filed), so
the candidate's score is that of its best-scoring row: the request address is compared with
**every** address in the taxpayer's return history.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from splink import DuckDBAPI, Linker
from splink.internals.blocking import block_using_rules_sqls
from splink.internals.pipeline import CTEPipeline
from splink.internals.splink_dataframe import SplinkDataFrame

from tinmatch.master.blocking import key_sql
from tinmatch.master.comparisons import COMPARISONS
from tinmatch.master.database import open_master, read_params
from tinmatch.master.params import LINK_COLUMNS, ModelParams, render_settings
from tinmatch.pipeline.disclose import disclose
from tinmatch.standardize.addresses import address_features
from tinmatch.standardize.names import name_features

GAMMA_COLUMNS = [f"gamma_{name}" for name in COMPARISONS]
# Two master rows of one taxpayer can score the same weight (in a small master the ZIP, city and
# state levels may all be capped to one weight): the row with the more specific levels is the one
# shown, then the lower unique_id, so the explanation does not depend on how ids were numbered.
_TIE_FIRST = ("address", "date_of_birth", "first_name", "last_name")
TIE_BREAK = ", ".join(
    [f"p.gamma_{c} DESC" for c in (*_TIE_FIRST, *(c for c in COMPARISONS if c not in _TIE_FIRST))]
    + ["p.unique_id_r"]
)
MW_COLUMNS = [f"mw_{name}" for name in COMPARISONS]
# Requests up to this many rows fetch their candidate master rows by blocking key first.
SMALL_REQUEST_ROWS = 2_000
# Pairs scoring below this are dropped before deciding: 2^-20 posterior odds is no candidate.
MIN_MATCH_WEIGHT = -20.0


def request_features(valid: pd.DataFrame) -> pd.DataFrame:
    """Standardized link columns for valid request rows (same functions as the master)."""
    names = name_features(valid[["first_name", "middle_name", "last_name", "suffix"]])
    addrs = address_features(valid[["street", "address_line2", "city", "state", "zip"]])
    out = pd.concat([names, addrs], axis=1)
    out["unique_id"] = "q" + valid["_row"].astype(str)
    out["tin"] = None
    out["dob"] = valid["dob"] if "dob" in valid else None
    return out[LINK_COLUMNS]


@dataclass
class LinkEngine:
    """A Splink linker over the attached master, reused for every chunk of a request."""

    con: duckdb.DuckDBPyConnection
    params: ModelParams
    linker: Linker
    db_api: DuckDBAPI
    master: SplinkDataFrame
    _chunks: int = 0
    _block_keys: bool | None = None
    _disclose_con: duckdb.DuckDBPyConnection | None = None

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection) -> LinkEngine:
        logging.getLogger("splink").setLevel(logging.ERROR)
        params = read_params(con)
        con.execute("CREATE OR REPLACE TEMP VIEW master_rows AS SELECT * FROM m.link_rows")
        db_api = DuckDBAPI(con)
        master = db_api.register("master_rows", table_name="tinmatch_master_rows")
        settings = render_settings(params, "duckdb")
        settings["retain_intermediate_calculation_columns"] = True
        linker = Linker(master, settings, log_level=logging.ERROR)
        _score_best_rows_only(linker)
        for col in ("first_name_std", "last_name_std"):
            con.execute(f"CREATE OR REPLACE TEMP VIEW tf_{col} AS SELECT * FROM m.tf_{col}")
            lookup = db_api.register(f"tf_{col}", table_name=f"tinmatch_tf_{col}")
            linker.table_management.register_term_frequency_lookup(lookup, col)
        return cls(con, params, linker, db_api, master)

    @property
    def model_sha256(self) -> str:
        return self.params.sha256

    def disclose(self, identified: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
        # Its own connection to the same database: ``process`` discloses one chunk while the
        # next is being linked on ``con``, and one DuckDB connection runs one query at a time.
        if self._disclose_con is None:
            self._disclose_con = self.con.cursor()
        return disclose(self._disclose_con, identified, fields)

    def close(self) -> None:
        if self._disclose_con is not None:
            self._disclose_con.close()
        self.con.close()

    def candidates(self, features: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
        """Per (request row, taxpayer): the best-scoring master row's weight, levels and factors.

        Columns: qid, tin, match_weight, match_probability, gamma_* (level of each comparison),
        mw_* (its match weight in bits, term-frequency adjustment included), match_key (the
        blocking rule that found the pair).

        With `top`, only each request row's `top` best taxpayers (by match weight, then TIN:
        the order ``decide`` ranks them in), and a column ``n_candidates``: how many taxpayers
        the row had in all. Deciding and explaining read no more than the best two, and a row
        can have hundreds of candidates against a large master.
        """
        if features.empty:
            return _empty_candidates()
        self._chunks += 1
        name = f"tinmatch_request_{self._chunks}"
        table = pa.Table.from_pandas(features, preserve_index=False)
        request = self.db_api.register(table, table_name=name)
        master = self.master
        subset = None
        if len(features) <= SMALL_REQUEST_ROWS and self._has_block_keys():
            subset = self._candidate_rows(name)
            master = subset
        predictions = self._predict_between(request, master)
        sql = f"SELECT * FROM {predictions.physical_name}"
        if top is not None:
            sql = f"""
                SELECT *, count(*) OVER (PARTITION BY qid) AS n_candidates
                FROM {predictions.physical_name}
                QUALIFY row_number() OVER (PARTITION BY qid ORDER BY match_weight DESC, tin)
                    <= {int(top)}
            """
        out = self.con.execute(sql).df()
        predictions.drop_table_from_database_and_remove_from_cache()
        request.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        if subset is not None:
            subset.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        return out

    def _predict_between(
        self, request: SplinkDataFrame, master: SplinkDataFrame
    ) -> SplinkDataFrame:
        """Splink 5's ``predict_between`` (request rows left, master rows right), blocking on
        the tables themselves.

        Splink's blocking statement selects each side into a CTE and joins it once per
        blocking rule. DuckDB materializes a CTE that is referenced more than once, so every
        chunk copied all master rows (39M rows at 10M people: 170 CPU-s per chunk, for ten
        request rows as for 100k). Here the same Splink blocking SQL reads the request table and
        the master view directly; the pairs and their scores are the same. Stage 2 (term
        frequencies, comparison vectors, scoring) is Splink's, as ``predict_between`` runs it.
        """
        inference = self.linker.inference
        settings = self.linker._settings_obj
        columns = settings.column_info_settings
        assert columns.source_dataset_input_column is None  # link_only by table, no source col
        pipeline = CTEPipeline()
        pipeline.enqueue_list_of_sqls(
            block_using_rules_sqls(
                input_tablename_l=request.physical_name,
                input_tablename_r=master.physical_name,
                blocking_rules=settings._blocking_rules_to_generate_predictions,
                link_type="two_dataset_link_only",
                source_dataset_input_column=None,
                unique_id_input_column=columns.unique_id_input_column,
            )
        )
        blocked = self.db_api.sql_pipeline_to_splink_dataframe(pipeline)
        # Only the master rows some pair needs: scoring joins them to the pairs, and joining the
        # whole master scanned all its rows and columns again (a third of the scoring time at
        # 10M people for a 20k-row chunk).
        rows = f"{request.physical_name}_master_rows"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {rows} AS SELECT * FROM {master.physical_name} "
            f"WHERE unique_id IN (SELECT join_key_r FROM {blocked.physical_name})"
        )
        master = self.db_api.register(rows, table_name=f"{rows}_sdf")
        pipeline = CTEPipeline([blocked])
        inference._append_required_tf_to_pipeline(pipeline, [request, master])
        left, right = "__splink__df_concat_with_tf_left", "__splink__df_concat_with_tf_right"
        inference._enqueue_concat_with_tf_cte(
            pipeline, {request.templated_name: request}, left, False
        )
        inference._enqueue_concat_with_tf_cte(
            pipeline, {master.templated_name: master}, right, False
        )
        predictions = inference._score_blocked_pairs(
            pipeline=pipeline,
            settings=settings,
            input_tablename_l=left,
            input_tablename_r=right,
            threshold_match_probability=None,
            threshold_match_weight=MIN_MATCH_WEIGHT,
        )
        blocked.drop_table_from_database_and_remove_from_cache()
        master.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        return predictions

    def _has_block_keys(self) -> bool:
        if self._block_keys is None:
            rows = self.con.execute(
                "SELECT count(*) FROM duckdb_tables() "
                "WHERE database_name = 'm' AND table_name = 'block_keys'"
            ).fetchall()
            self._block_keys = bool(rows and rows[0][0])
        return self._block_keys

    def _candidate_rows(self, request_table: str) -> SplinkDataFrame:
        """Only the master rows a blocking rule could pair with this (small) request.

        The request's blocking keys are looked up in the master's sorted ``block_keys`` (zone
        maps skip all but a few row groups), so a dozen names against millions of people does
        not scan the master. Splink then applies the real blocking rules to this superset.
        """
        request_keys = key_sql(request_table, "request")
        found = self.con.execute(f"SELECT DISTINCT k FROM ({request_keys})").fetchall()
        keys = [r[0] for r in found]
        name = f"{request_table}_candidates"
        if keys:
            # Explicit type: unsuffixed literals above 2^63 would otherwise mix integer types.
            key_list = ", ".join(f"{int(k)}::UBIGINT" for k in keys)
            ids = [r[0] for r in self.con.execute(
                f"SELECT DISTINCT link_rowid FROM m.block_keys WHERE k IN ({key_list})"
            ).fetchall()]  # fmt: skip
        else:
            ids = []
        if ids:
            # By rowid (block_keys holds the link row's): as a list, DuckDB reads the other
            # columns of the matching rows only (an IN list on unique_id read all of them).
            where = f"rowid = ANY([{', '.join(str(int(i)) for i in ids)}])"
        else:
            where = "false"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM m.link_rows WHERE {where}"
        )
        return self.db_api.register(name, table_name=f"{name}_sdf")


def _score_best_rows_only(linker: Linker) -> None:
    """Make the linker's ``predict_between`` end with each (request row, taxpayer)'s best row.

    Splink's scoring stage ends by materializing every scored pair with all its intermediate
    columns (both sides' values, term frequencies, Bayes factors: ~55 columns). Here the same
    SQL gets one more step before anything is materialized: per (request row, taxpayer) the
    best-scoring master row (ties: ``TIE_BREAK``), keeping only the columns that
    deciding and explaining read. DuckDB then streams pairs from comparison to that step.
    Same Splink functions, same order as Splink 5's ``LinkerInference._score_blocked_pairs``;
    only the final step is added.
    """
    from splink.internals.comparison_vector_values import (
        compute_comparison_vector_values_from_id_pairs_sqls,
    )
    from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings

    inference = linker.inference

    def score(
        *,
        pipeline: CTEPipeline,
        settings: Any,
        input_tablename_l: str,
        input_tablename_r: str,
        threshold_match_probability: float | None,
        threshold_match_weight: float | None,
    ) -> SplinkDataFrame:
        pipeline.enqueue_list_of_sqls(
            compute_comparison_vector_values_from_id_pairs_sqls(
                settings._columns_to_select_for_blocking,
                settings._columns_to_select_for_comparison_vector_values,
                input_tablename_l=input_tablename_l,
                input_tablename_r=input_tablename_r,
                source_dataset_input_column=settings.column_info_settings.source_dataset_input_column,
                unique_id_input_column=settings.column_info_settings.unique_id_input_column,
                link_type=settings._link_type,
                sql_dialect_str=linker._sql_dialect_str,
            )
        )
        predict = predict_from_comparison_vectors_sqls_using_settings(
            settings, threshold_match_probability, threshold_match_weight
        )
        pipeline.enqueue_list_of_sqls(predict)
        text = " ".join(step["sql"] for step in predict)
        pipeline.enqueue_sql(
            _best_rows_sql(predict[-1]["output_table_name"], text), "__splink__df_best_rows"
        )
        return linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)

    inference._score_blocked_pairs = score  # type: ignore[method-assign]


def _best_rows_sql(predictions: str, predict_sql: str) -> str:
    """Per (request row, taxpayer) the best master row: qid, tin, weights, levels, factors."""
    mw_sql = []
    for comp in COMPARISONS:
        expr = f'p."mw_{comp}"'
        if f"mw_tf_adj_{comp}" in predict_sql:  # the comparison has term-frequency levels
            expr = f'{expr} + coalesce(p."mw_tf_adj_{comp}", 0)'
        mw_sql.append(f"{expr} AS mw_{comp}")
    return f"""
        SELECT p.unique_id_l AS qid, p.tin_r AS tin, p.match_weight, p.match_probability,
               {", ".join("p." + g for g in GAMMA_COLUMNS)}, {", ".join(mw_sql)}, p.match_key
        FROM {predictions} AS p
        QUALIFY row_number() OVER (
            PARTITION BY p.unique_id_l, p.tin_r ORDER BY p.match_weight DESC, {TIE_BREAK}
        ) = 1
    """


_warm = threading.local()


def warm_engine(db: Path) -> LinkEngine:
    """A linker over `db`, kept open per thread and reused while the master file is unchanged.

    Opening the master and building the Splink linker costs about half a second; a service
    answering a dozen names must not pay it on every request. Each thread (each service worker)
    keeps its own DuckDB connection, since one connection must not run two queries at once.
    """
    stat = db.stat() if db.exists() else None
    key = (str(db.resolve()), stat.st_mtime_ns if stat else None, stat.st_ino if stat else None)
    cache: dict[tuple[str, int | None, int | None], LinkEngine] = getattr(_warm, "engines", {})
    _warm.engines = cache
    engine = cache.get(key)
    if engine is None:
        for old_key in [k for k in cache if k[0] == key[0]]:  # the master was replaced
            cache.pop(old_key).close()
        engine = LinkEngine.open(open_master(db))
        cache[key] = engine
    return engine


def _empty_candidates() -> pd.DataFrame:
    cols = [
        "qid",
        "tin",
        "match_weight",
        "match_probability",
        *GAMMA_COLUMNS,
        *MW_COLUMNS,
        "match_key",
    ]
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
