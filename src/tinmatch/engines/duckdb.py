"""The DuckDB engine: score each valid request row against the master with the trained model.

The master is attached read-only; request rows (standardized with the same functions as the
master, ``pipeline.features``) are registered as a table and scored as Splink's
``predict_between`` scores them (left = request, right = master rows). A taxpayer has several
master rows (one per name as written x address filed), so the candidate's score is that of its
best-scoring row: the request address is compared with **every** address in the taxpayer's
return history. The best-row and disclose queries are :mod:`tinmatch.engines.queries`, run as
written; Splink's private API is reached through :mod:`tinmatch.master.splink_adapter`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from splink import DuckDBAPI, Linker

from tinmatch.engines import by_tin
from tinmatch.engines.chunks import C, linked_in_order
from tinmatch.engines.key_index import KeyIndex
from tinmatch.engines.queries import (
    MIN_MATCH_WEIGHT,
    best_rows_sql,
    disclose_sql,
    empty_candidates,
    empty_disclosure,
    guard_settings,
    tf_comparisons,
    top_candidates_sql,
)
from tinmatch.master.blocking import RULE_SHIFT, key_exprs, key_sql
from tinmatch.master.database import open_master, read_meta, read_params
from tinmatch.master.params import ModelParams, render_settings
from tinmatch.master.splink_adapter import (
    SplinkDataFrame,
    block_pairs,
    block_pairs_sql,
    blocking_conditions,
    score_pairs,
    score_pairs_sql,
)

# Request rows per chunk: DuckDB links one chunk while ``process`` finishes the one before, so
# a request of one chunk is linked with nothing to overlap. Every chunk also pays a fixed cost
# that grows with the master (its link rows are read once per chunk: ~0.3 s at 1M people, ~10x
# at 10M), while the linking of a row costs ~50 us whatever the master. So the chunk is one
# request row per LINK_ROWS_PER_CHUNK_ROW link rows, within MIN_CHUNK_ROWS and CHUNK_ROWS: 25k
# rows at 1M people (a 100k-row request in four chunks, three of them linked while the one
# before is decided), 100k at 10M (ten chunks of a 1M-row request, as before).
CHUNK_ROWS = 100_000
MIN_CHUNK_ROWS = 25_000
LINK_ROWS_PER_CHUNK_ROW = 160
# Requests up to this many rows fetch their candidate master rows by blocking key first.
SMALL_REQUEST_ROWS = 2_000
# A small request's tables in the engine's own in-memory database (one request at a time per
# engine), so that the SQL reading them is compiled once (``LinkEngine._small_sql``).
SMALL = "tinmatch_small"
SMALL_REQUEST, SMALL_ROWS, SMALL_BLOCKED, SMALL_NEEDED = (
    f"{SMALL}_request", f"{SMALL}_rows", f"{SMALL}_blocked", f"{SMALL}_needed",
)  # fmt: skip
# Up to this many distinct blocking keys are looked up one by one (each reads a row group or two
# of the sorted block_keys); more, as one IN list (one scan of the table).
KEYS_ONE_BY_ONE = 512
# Splink's name for the blocked pairs, which its scoring SQL reads.
BLOCKED_TEMPLATE = "__splink__blocked_id_pairs"


def chunk_rows_for(link_rows: int) -> int:
    """Request rows per chunk against a master of `link_rows` link rows (see CHUNK_ROWS)."""
    return min(CHUNK_ROWS, max(MIN_CHUNK_ROWS, link_rows // LINK_ROWS_PER_CHUNK_ROW))


@dataclass(frozen=True)
class SmallSql:
    """A small request's queries, compiled once per engine (and per request columns)."""

    block: str
    """The blocked pairs of SMALL_REQUEST x SMALL_ROWS (Splink's blocking SQL)."""
    score: str
    """Each request row's candidates from SMALL_BLOCKED over SMALL_NEEDED (Splink's scoring)."""


@dataclass
class LinkEngine:
    """A Splink linker over the attached master, reused for every chunk of a request."""

    con: duckdb.DuckDBPyConnection
    params: ModelParams
    linker: Linker
    db_api: DuckDBAPI
    master: SplinkDataFrame
    tf: frozenset[str] = frozenset()  # comparisons with term-frequency levels
    warm: bool = False  # kept open for the next request (``warm_engine``)
    _chunks: int = 0
    _block_keys: bool | None = None
    _disclose_con: duckdb.DuckDBPyConnection | None = None
    _small: dict[tuple[tuple[str, ...], int | None], SmallSql] = field(default_factory=dict)
    by_tin: bool = False  # the master's returns sorted by TIN attached (``engines.by_tin``)
    key_index: KeyIndex | None = None  # the master's block keys in memory (``key_index``)

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection) -> LinkEngine:
        logging.getLogger("splink").setLevel(logging.ERROR)
        params = read_params(con)
        con.execute("CREATE OR REPLACE TEMP VIEW master_rows AS SELECT * FROM m.link_rows")
        db_api = DuckDBAPI(con)
        master = db_api.register("master_rows", table_name="tinmatch_master_rows")
        settings = guard_settings(render_settings(params, "duckdb"))
        settings["retain_intermediate_calculation_columns"] = True
        linker = Linker(master, settings, log_level=logging.ERROR)
        for col in ("first_name_std", "last_name_std"):
            con.execute(f"CREATE OR REPLACE TEMP VIEW tf_{col} AS SELECT * FROM m.tf_{col}")
            lookup = db_api.register(f"tf_{col}", table_name=f"tinmatch_tf_{col}")
            linker.table_management.register_term_frequency_lookup(lookup, col)
        return cls(con, params, linker, db_api, master, tf_comparisons(settings))

    @property
    def model_sha256(self) -> str:
        return self.params.sha256

    @property
    def chunk_rows(self) -> int:
        return chunk_rows_for(int(self.master_meta().get("link_rows", 0)))

    def master_meta(self) -> dict[str, Any]:
        return read_meta(self.con, "m")

    def link_chunks(
        self,
        chunks: Iterable[C],
        features: Callable[[C], pd.DataFrame | None],
        top: int | None = None,
    ) -> AbstractContextManager[Iterator[tuple[C, pd.DataFrame | None]]]:
        """Each chunk with its candidates; chunk i+1 is linked (on both cores, without the GIL)
        while the caller decides, discloses and writes chunk i."""
        return linked_in_order(
            lambda found: self.candidates(found, top), chunks, features,
            interrupt=self.con.interrupt,
        )  # fmt: skip

    def disclose(self, identified: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
        # Its own connection to the same database: ``process`` discloses one chunk while the
        # next is being linked on ``con``, and one DuckDB connection runs one query at a time.
        if self._disclose_con is None:
            self._disclose_con = self.con.cursor()
        appearances = "m.appearances"
        if self.by_tin and len(identified) <= SMALL_REQUEST_ROWS:
            # The same returns, sorted by TIN: a dozen people's read a row group or two each.
            appearances = by_tin.returns_of(identified["tin"].tolist())
        return disclose(self._disclose_con, identified, fields, appearances)

    def use_returns_by_tin(self, path: Path, db: Path) -> None:
        """Disclose to small requests from the sorted copy at `path` of `db`'s returns
        (``engines.by_tin``; refused when it was built from another master)."""
        if not self.by_tin:
            by_tin.attach(self.con, path, db)
            self.by_tin = True

    def use_key_index(self, path: Path, db: Path) -> None:
        """Look small requests' blocking keys up in the arrays at `path` built from `db`
        (``engines.key_index``; refused when they were built from another master)."""
        if self.key_index is None and self._has_block_keys():
            found = self.con.execute("SELECT count(*) FROM m.block_keys").fetchall()
            self.key_index = KeyIndex.open(path, db, int(found[0][0]) if found else -1)

    def release(self) -> None:
        if not self.warm:
            self.close()

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
            return empty_candidates()
        if len(features) <= SMALL_REQUEST_ROWS and self._has_block_keys():
            return self._small_candidates(features, top)
        self._chunks += 1
        name = f"tinmatch_request_{self._chunks}"
        table = pa.Table.from_pandas(features, preserve_index=False)
        request = self.db_api.register(table, table_name=name)
        predictions = self._predict_between(request, self.master)
        sql = f"SELECT * FROM {predictions.physical_name}"
        if top is not None:
            sql = top_candidates_sql(predictions.physical_name, top)
        out = self.con.execute(sql).df()
        predictions.drop_table_from_database_and_remove_from_cache()
        request.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        return out

    def _small_candidates(self, features: pd.DataFrame, top: int | None) -> pd.DataFrame:
        """:meth:`candidates` of a small request: the same pairs and scores as the chunk path,
        by SQL compiled once per engine (:meth:`_small_sql`) over tables of fixed names.

        The request's candidate master rows are looked up by blocking key first
        (:meth:`_candidate_rows`); Splink's blocking rules pair them with the request rows; only
        the master rows some pair needs are scored, as :meth:`_predict_between` does."""
        table = pa.Table.from_pandas(features, preserve_index=False)
        con = self.con
        con.register(SMALL_REQUEST, table)
        try:
            self._candidate_rows(SMALL_REQUEST, SMALL_ROWS)
            sql = self._small_sql(tuple(table.schema.names), top)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {SMALL_BLOCKED} AS {sql.block}")
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {SMALL_NEEDED} AS SELECT * FROM {SMALL_ROWS} "
                f"WHERE unique_id IN (SELECT join_key_r FROM {SMALL_BLOCKED})"
            )
            return con.execute(sql.score).df()
        finally:
            # Nothing of the request stays in the engine's memory past its answer.
            for name in (SMALL_NEEDED, SMALL_BLOCKED, SMALL_ROWS):
                con.execute(f"DROP TABLE IF EXISTS {name}")
            con.unregister(SMALL_REQUEST)

    def _small_sql(self, columns: tuple[str, ...], top: int | None) -> SmallSql:
        """The small-request SQL for request tables with `columns`: generated by Splink the
        first time (the tables must exist then: Splink reads their columns), then reused.

        Generating it took longer than running it for a dozen rows (Splink parses and renders
        every comparison with sqlglot); the text is the same for every request with these
        columns, since the tables it reads always have the same names."""
        key = (columns, top)
        found = self._small.get(key)
        if found is not None:
            return found
        block = block_pairs_sql(self.linker, SMALL_REQUEST, SMALL_ROWS)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {SMALL_BLOCKED} AS {block}")
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {SMALL_NEEDED} AS SELECT * FROM {SMALL_ROWS} LIMIT 0"
        )
        api = self.db_api
        scored = score_pairs_sql(
            self.linker,
            api.table_to_splink_dataframe(BLOCKED_TEMPLATE, SMALL_BLOCKED),
            api.table_to_splink_dataframe(SMALL_REQUEST, SMALL_REQUEST),
            api.table_to_splink_dataframe(SMALL_NEEDED, SMALL_NEEDED),
            threshold_match_weight=MIN_MATCH_WEIGHT,
            then=("__splink__df_best_rows", lambda scored: best_rows_sql(scored, self.tf)),
        )
        score = f"SELECT * FROM ({scored}) AS c"
        if top is not None:
            score = top_candidates_sql(f"({scored}) AS c", top)
        found = self._small[key] = SmallSql(block, score)
        return found

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
        frequencies, comparison vectors, scoring) is Splink's, as ``predict_between`` runs it
        (``splink_adapter.score_pairs``).
        """
        rows = f"{request.physical_name}_master_rows"
        if master is self.master and self._has_block_keys():
            blocked = self._block_by_keys(request.physical_name, rows)
        else:
            blocked = block_pairs(self.linker, self.db_api, request, master)
            # Only the master rows some pair needs: scoring joins them to the pairs, and joining
            # the whole master scanned all its rows and columns again (a third of the scoring
            # time at 10M people for a 20k-row chunk).
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {rows} AS SELECT * FROM {master.physical_name} "
                f"WHERE unique_id IN (SELECT join_key_r FROM {blocked.physical_name})"
            )
        master = self.db_api.register(rows, table_name=f"{rows}_sdf")
        # Splink's scoring ends by materializing every scored pair with all its intermediate
        # columns (both sides' values, term frequencies, Bayes factors: ~55 columns); one more
        # step first keeps each (request row, taxpayer)'s best row and the columns deciding and
        # explaining read, so DuckDB streams pairs from comparison to that step.
        predictions = score_pairs(
            self.linker, self.db_api, blocked, request, master,
            threshold_match_weight=MIN_MATCH_WEIGHT,
            then=("__splink__df_best_rows", lambda scored: best_rows_sql(scored, self.tf)),
        )  # fmt: skip
        blocked.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        master.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        return predictions

    def _block_by_keys(self, request: str, rows: str) -> SplinkDataFrame:
        """Splink's blocked pairs of `request` x the master, found through the master's
        ``block_keys``; the master rows they need go into the temporary table `rows`.

        Splink's blocking joins the request with every master row once per rule, on strings
        (ten scans of the master per chunk). Here each request row's key per rule is looked up
        in ``block_keys`` in one integer join: two rows can meet a rule only if their keys for
        it are equal, so this finds every pair Splink blocks, and a few more (the phonetic rule
        also asks for surnames spelt differently, swapped names for the same state; a hash may
        collide). Each found pair then gets the match_key of the first rule whose condition,
        Splink's own SQL, holds, as Splink's blocking gives it, and a pair none holds for is
        dropped: the same pairs with the same match_key.
        """
        con = self.con
        found = f"{request}_found"
        # Per pair, a bit for each rule whose keys agree (a key's top bits are its rule's
        # number). A rule's condition can hold only where its keys agree, so a rule whose bit
        # is not set is not evaluated below: the same first rule, without comparing the strings
        # of rules the pair cannot meet (the conditions were 18% of linking at 10M people).
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {found} AS "
            f"SELECT rk.unique_id AS join_key_l, b.link_rowid, "
            f"bit_or(1::UBIGINT << (rk.k >> {RULE_SHIFT})) AS rules "
            f"FROM ({key_sql(request, 'request')}) AS rk JOIN m.block_keys AS b ON b.k = rk.k "
            f"GROUP BY ALL"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {rows} AS SELECT rowid AS link_rowid, * "
            f"FROM m.link_rows WHERE rowid IN (SELECT link_rowid FROM {found})"
        )
        rules = blocking_conditions(self.linker)
        if len(rules) != len(key_exprs("request")):
            raise RuntimeError("the linker's blocking rules are not the master's block keys")
        first_rule = " ".join(
            f"WHEN (f.rules & {1 << number}::UBIGINT) <> 0 AND ({condition}) THEN '{key}'"
            for number, (key, condition) in enumerate(rules)
        )
        blocked = f"{request}_blocked"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {blocked} AS SELECT * FROM ("
            f"SELECT CASE {first_rule} END AS match_key, l.unique_id AS join_key_l, "
            f"r.unique_id AS join_key_r FROM {found} AS f "
            f"JOIN {request} AS l ON l.unique_id = f.join_key_l "
            f"JOIN {rows} AS r ON r.link_rowid = f.link_rowid"
            f") WHERE match_key IS NOT NULL"
        )
        con.execute(f"DROP TABLE {found}")
        return self.db_api.table_to_splink_dataframe(BLOCKED_TEMPLATE, blocked)

    def _has_block_keys(self) -> bool:
        if self._block_keys is None:
            rows = self.con.execute(
                "SELECT count(*) FROM duckdb_tables() "
                "WHERE database_name = 'm' AND table_name = 'block_keys'"
            ).fetchall()
            self._block_keys = bool(rows and rows[0][0])
        return self._block_keys

    def _candidate_rows(self, request_table: str, name: str) -> None:
        """Only the master rows a blocking rule could pair with this (small) request, into the
        temporary table `name`.

        The request's blocking keys are looked up in the master's sorted ``block_keys`` (zone
        maps skip all but a few row groups), so a dozen names against millions of people does
        not scan the master; in a service, by binary search in the same keys mapped into memory
        (:meth:`use_key_index`). Splink then applies the real blocking rules to this superset.
        """
        request_keys = key_sql(request_table, "request")
        found = self.con.execute(f"SELECT DISTINCT k FROM ({request_keys})").fetchall()
        keys = [r[0] for r in found]
        if keys and self.key_index is not None:
            ids = self.key_index.rowids_of(keys)
        elif keys:
            # Explicit type: unsuffixed literals above 2^63 would otherwise mix integer types.
            literals = [f"{int(k)}::UBIGINT" for k in keys]
            if len(literals) <= KEYS_ONE_BY_ONE:
                # One equality per key: zone maps skip all but the key's row group or two. An
                # IN list of a dozen rows' ~90 keys scanned the whole table (2.6x the CPU at 1M).
                lookup = "\nUNION ALL\n".join(
                    f"SELECT link_rowid FROM m.block_keys WHERE k = {k}" for k in literals
                )
            else:
                lookup = f"SELECT link_rowid FROM m.block_keys WHERE k IN ({', '.join(literals)})"
            ids = sorted({r[0] for r in self.con.execute(lookup).fetchall()})
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


def disclose(
    con: duckdb.DuckDBPyConnection,
    identified: pd.DataFrame,
    fields: Sequence[str],
    appearances: str = "m.appearances",
) -> pd.DataFrame:
    """For rows (qid, tin, tax_years), the disclosed fields of the most recent return.

    Returns one row per qid that has a return in its years: qid, tin, and `fields` (and
    tax_year). Rows without such a return are absent (the caller reports them as
    ``no_return_in_period``). A field the agreement's list does not hold is refused.
    `appearances` is the relation the returns are read from: the master's table, or a
    parenthesized query of the same rows (``by_tin.returns_of``).
    """
    if identified.empty:
        return empty_disclosure(fields)
    sql = disclose_sql("_wanted", appearances, fields)
    wanted = pa.table(
        {
            "qid": pa.array(identified["qid"].tolist(), pa.string()),
            "tin": pa.array(identified["tin"].tolist(), pa.string()),
            "tax_years": pa.array(
                [list(map(int, ys)) for ys in identified["tax_years"]], pa.list_(pa.int32())
            ),
        }
    )
    con.register("_wanted", wanted)
    try:
        return con.execute(sql).df()
    finally:
        con.unregister("_wanted")


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
        engine.warm = True
        cache[key] = engine
    return engine
