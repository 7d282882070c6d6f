"""``load-master``: import taxpayers and returns, standardize once, train the model, swap in.

The new master is built in a temporary file next to the target and renamed over it at the end,
so a crash leaves the old master intact, and loading the same files twice does nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from tinmatch.digest import file_sha256
from tinmatch.errors import InputFileError
from tinmatch.master import database
from tinmatch.master.blocking import key_exprs as block_key_exprs
from tinmatch.master.blocking import unique_id_sql
from tinmatch.master.features import (
    ADDRESS_TABLES,
    NAME_TABLES,
    address_feature_sql,
    address_joins,
    id_sql,
    name_feature_sql,
    name_joins,
    standardize_master,
    worker_pool,
)
from tinmatch.master.params import LINK_COLUMNS
from tinmatch.master.read import count_rows, create_from, source_sql
from tinmatch.master.train import TRAINING_PEOPLE, train_model
from tinmatch.progress import Reporter

log = logging.getLogger(__name__)


@contextmanager
def _stage(name: str) -> Iterator[None]:
    """Log the wall and CPU seconds of one step (``logging`` at INFO: bench/load.py shows them)."""
    wall, cpu = time.monotonic(), time.process_time()
    yield
    log.info("%-24s %7.1f s wall %7.1f s cpu (main process)", name,
             time.monotonic() - wall, time.process_time() - cpu)  # fmt: skip


@dataclass
class LoadSummary:
    db: Path
    unchanged: bool
    people: int
    returns: int
    appearances: int
    link_rows: int
    tax_years: list[int]
    dropped_rows: int
    model_sha256: str
    seconds: float


def load_master(
    taxpayers: Path,
    returns: Path,
    db: Path,
    reporter: Reporter | None = None,
    standardizer: Executor | None = None,
) -> LoadSummary:
    """Load the master into `db` (see the module). The names and addresses are standardized in
    worker processes on this machine, or by `standardizer` when given (``load-master --engine
    spark`` passes one that runs on Spark: :mod:`tinmatch.engines.spark_load`)."""
    reporter = reporter or Reporter()
    started = time.monotonic()
    for path in (taxpayers, returns):
        if not path.exists():
            raise InputFileError(f"file not found: {path}")
    hashes = {"taxpayers_sha256": file_sha256(taxpayers), "returns_sha256": file_sha256(returns)}
    previous = _existing_meta(db)
    if previous and all(previous.get(k) == v for k, v in hashes.items()):
        return LoadSummary(
            db, True, previous["people"], previous["returns"], previous["appearances"],
            previous["link_rows"], previous["tax_years"], previous.get("dropped_rows", 0),
            previous["model_sha256"], time.monotonic() - started,
        )  # fmt: skip
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(db.name + ".building")
    _remove_building(tmp)  # left by a load that was killed (kill -9 runs no cleanup)
    try:
        pools = worker_pool() if standardizer is None else nullcontext(standardizer)
        with pools as pool:  # before DuckDB starts its threads
            con = duckdb.connect(str(tmp))
            try:
                database.configure(con)
                summary = _build(con, pool, taxpayers, returns, hashes, reporter)
                with _stage("checkpoint"):
                    con.execute("CHECKPOINT")
            finally:
                con.close()
        os.replace(tmp, db)
    except BaseException:
        # A failed or interrupted load leaves nothing behind: the old master (if any) stays as
        # it was, and no half-built file sits beside it.
        _remove_building(tmp)
        raise
    summary.db = db
    summary.seconds = time.monotonic() - started
    return summary


def _remove_building(tmp: Path) -> None:
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        try:
            leftover.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s", leftover, exc.strerror)


def _existing_meta(db: Path) -> dict[str, Any] | None:
    if not db.exists():
        return None
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return None
    try:
        meta = database.read_meta(con)
    finally:
        con.close()
    return meta if meta.get("schema_version") == database.SCHEMA_VERSION else None


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchall()[0]
    return int(row[0]) if row and row[0] is not None else 0


def _build(
    con: duckdb.DuckDBPyConnection,
    pool: Executor | None,
    taxpayers: Path,
    returns: Path,
    hashes: dict[str, str],
    reporter: Reporter,
) -> LoadSummary:
    with reporter.task("reading master files", 2) as advance, _stage("read"):
        raw_people = count_rows(con, taxpayers, "taxpayers")
        raw_returns = count_rows(con, returns, "returns")
        _read_taxpayers(con, taxpayers)
        advance(1)
        _returns_view(con, returns)
        advance(1)
    people = _scalar(con, "SELECT count(*) FROM taxpayers")
    n_returns = _count_returns(con, returns)
    if people == 0:
        raise InputFileError(f"{taxpayers}: no taxpayer with a valid 9-digit TIN")
    dropped = (raw_people - people) + (raw_returns - n_returns)
    with _stage("appearances"):
        create_from(con, returns, "returns", APPEARANCES_SQL)

    with reporter.task("standardizing values", None) as advance, _stage("standardize"):
        standardize_master(con, pool, NAMES_SQL, ADDRESSES_SQL, progress=advance)

    with reporter.task("building link rows", 4) as advance:
        with _stage("link rows"):
            _link_rows(con)
        advance(1)
        with _stage("block keys"):
            _block_keys(con)
        advance(1)
        with _stage("term frequencies"):
            _term_frequencies(con)
        advance(1)
        with _stage("training rows"):
            _train_rows(con, people)
        advance(1)
    with reporter.task("training the model", 1) as advance, _stage("training"):
        params = train_model(con, people)
        advance(1)
    con.execute("CREATE OR REPLACE TABLE model(params_json VARCHAR)")
    con.execute("INSERT INTO model VALUES (?)", [params.to_json()])
    con.execute("DROP VIEW IF EXISTS returns")
    con.execute("DROP TABLE IF EXISTS train_rows")

    years = [int(r[0]) for r in con.execute(
        "SELECT DISTINCT tax_year FROM appearances ORDER BY 1").fetchall()]  # fmt: skip
    summary = LoadSummary(
        db=Path(),
        unchanged=False,
        people=people,
        returns=n_returns,
        appearances=_scalar(con, "SELECT count(*) FROM appearances"),
        link_rows=_scalar(con, "SELECT count(*) FROM link_rows"),
        tax_years=years,
        dropped_rows=dropped,
        model_sha256=params.sha256,
        seconds=0.0,
    )
    database.write_meta(
        con,
        {
            "schema_version": database.SCHEMA_VERSION,
            "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **hashes,
            "people": summary.people,
            "returns": summary.returns,
            "appearances": summary.appearances,
            "link_rows": summary.link_rows,
            "tax_years": years,
            "dropped_rows": dropped,
            "model_sha256": params.sha256,
        },
    )
    return summary


TIN_OK = "regexp_full_match({c}, '[0-9]{{9}}')"


def _read_taxpayers(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Taxpayers with a valid TIN; one identity record per TIN."""
    tin = TIN_OK.format(c="tin")
    create_from(
        con,
        path,
        "taxpayers",
        f"""
        CREATE OR REPLACE TABLE taxpayers AS
        SELECT tin, first_name, middle_name, last_name, suffix,
               strftime(try_cast(date_of_birth AS DATE), '%Y-%m-%d') AS dob
        FROM (SELECT *, row_number() OVER (PARTITION BY tin) AS n
              FROM ({source_sql(con, path, "taxpayers")}) WHERE {tin})
        WHERE n = 1
        """,
    )


def _returns_view(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """View ``returns``: the file's returns with a valid TIN and tax year (a spouse TIN kept only
    when valid). A view, read twice (primary filers, spouses): the master keeps of a return
    only its appearances, and reading the file again costs less than holding 45M rows."""
    create_from(
        con,
        path,
        "returns",
        f"""
        CREATE OR REPLACE TEMP VIEW returns AS
        SELECT tin,
               CASE WHEN {TIN_OK.format(c="spouse_tin")} THEN spouse_tin END AS spouse_tin,
               try_cast(tax_year AS INTEGER) AS tax_year,
               first_name, middle_name, last_name, suffix,
               street, address_line2, city, state, zip, filing_status
        FROM ({source_sql(con, path, "returns")})
        WHERE {TIN_OK.format(c="tin")} AND try_cast(tax_year AS INTEGER) IS NOT NULL
        """,
    )


def _count_returns(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    try:
        return _scalar(con, "SELECT count(*) FROM returns")
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise InputFileError(f"cannot read returns file {path}: {first}") from None


# One row per (person, return): as primary filer or as spouse on a joint return.
APPEARANCES_SQL = """
    CREATE OR REPLACE TABLE appearances AS
    SELECT r.tin, r.tax_year, 'primary' AS role,
           coalesce(r.first_name, t.first_name) AS first_name,
           CASE WHEN r.first_name IS NULL THEN t.middle_name ELSE r.middle_name END
               AS middle_name,
           coalesce(r.last_name, t.last_name) AS last_name,
           CASE WHEN r.first_name IS NULL THEN t.suffix ELSE r.suffix END AS suffix,
           r.street, r.address_line2, r.city, r.state, r.zip, r.filing_status
    FROM returns r LEFT JOIN taxpayers t ON t.tin = r.tin
    UNION ALL
    SELECT r.spouse_tin, r.tax_year, 'spouse',
           t.first_name, t.middle_name, t.last_name, t.suffix,
           r.street, r.address_line2, r.city, r.state, r.zip, r.filing_status
    FROM returns r LEFT JOIN taxpayers t ON t.tin = r.spouse_tin
    WHERE r.spouse_tin IS NOT NULL AND r.spouse_tin <> r.tin
"""

# Every name and address that a link row or a training row can hold: the identity records'
# names, and the appearances' names (a spouse's is the identity record's) and addresses.
NAMES_SQL = (
    "SELECT first_name, middle_name, last_name, suffix FROM taxpayers "
    "UNION ALL SELECT first_name, middle_name, last_name, suffix FROM appearances"
)
ADDRESSES_SQL = "SELECT street, address_line2, city, state, zip FROM appearances"


def _features(name_alias: str, addr_alias: str) -> dict[str, str]:
    return {**name_feature_sql(name_alias), **address_feature_sql(addr_alias)}


#: The order ``link_rows`` is stored in. A small request's candidates come mostly from the
#: surname rules, so they are neighbours; ``unique_id`` breaks the ties (the order is total).
#: Sorting in parts by surname hash (each part's sort in memory) was slower at 10M people
#: (192 s against 160 s for this step): ``docs/benchmarks.md``.
LINK_ROWS_ORDER = "last_name_std, first_name_std, state_std, unique_id"


def _link_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Every distinct (person, name as written, address filed) pair, with features.

    Each person's distinct names and distinct addresses are found as integer ids of the
    per-column tables (narrow rows: tens of millions fit in memory), then paired on an integer
    TIN, and only then do the features come in.

    The rows are stored in :data:`LINK_ROWS_ORDER` (surname, first name, state): the people a
    small request's names can be paired with sit side by side, so fetching its candidates by
    row id decodes a few vectors instead of one per candidate in every row group.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _person_names AS
        SELECT DISTINCT CAST(x.tin AS INTEGER) AS ti, {id_sql(NAME_TABLES, "n")}
        FROM (SELECT tin, first_name, middle_name, last_name, suffix FROM taxpayers
              UNION ALL
              SELECT tin, first_name, middle_name, last_name, suffix FROM appearances
              WHERE role = 'primary') x
        {name_joins("x", "n")}
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _person_addresses AS
        SELECT *, row_number() OVER (PARTITION BY ti) AS slot
        FROM (SELECT DISTINCT CAST(x.tin AS INTEGER) AS ti, {id_sql(ADDRESS_TABLES, "a")}
              FROM appearances x {address_joins("x", "a")})
        """
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dob AS SELECT CAST(tin AS INTEGER) AS ti, dob FROM taxpayers"
    )
    # unique_id: the name row's number and the address's slot within its person, as one integer
    # (no row_number() over everything: that would run the whole statement on one thread).
    slots = _scalar(con, "SELECT coalesce(max(slot), 0) + 1 FROM _person_addresses")
    scale = 10 ** len(str(slots))
    source = _features("n", "a")
    source |= {"tin": "lpad(CAST(pn.ti AS VARCHAR), 9, '0')", "dob": "d.dob"}
    source["unique_id"] = unique_id_sql(f"pn.rowid * {scale} + coalesce(pa.slot, 0)")
    select = ", ".join(f"{source[c]} AS {c}" for c in LINK_COLUMNS)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE link_rows AS
        SELECT {select}
        FROM _person_names pn
        LEFT JOIN _person_addresses pa ON pa.ti = pn.ti
        LEFT JOIN _dob d ON d.ti = pn.ti
        {name_joins("pn", "n", by_id=True)}
        {address_joins("pa", "a", by_id=True)}
        ORDER BY {LINK_ROWS_ORDER}
        """
    )
    for table in ("_person_names", "_person_addresses", "_dob"):
        con.execute(f"DROP TABLE {table}")


# Rules whose keys are computed in one pass over the link rows (8 bytes per row each, held in a
# temporary table until sorted): about 1.5 GB at a time at 10M people.
KEY_BYTES_PER_PASS = 1_500_000_000


def _block_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Every link row's blocking keys, sorted, so a small request finds its candidates by key
    (zone maps skip the rest) instead of joining against the whole master.

    A key carries its rule's number in the top bits (:func:`blocking.key_exprs`), so each rule's
    keys are sorted on their own and appended in rule order: the keys are computed once and no
    sort is larger than one key per link row. The row is stored as the link row's ``rowid``
    (16-byte rows instead of a string per key: 39M link rows have 390M keys), which a small
    request fetches rows by without scanning the table (the master is never modified after the
    load, so its rowids do not change).
    """
    exprs = block_key_exprs("master")
    rows = _scalar(con, "SELECT count(*) FROM link_rows")
    per_pass = max(1, KEY_BYTES_PER_PASS // max(1, rows * 8))
    con.execute("CHECKPOINT")  # link_rows written: its rowids are final
    con.execute("CREATE OR REPLACE TABLE block_keys (k UBIGINT, link_rowid BIGINT)")
    for first in range(0, len(exprs), per_pass):
        batch = list(enumerate(exprs))[first : first + per_pass]
        keys = ", ".join(f"CASE WHEN {cond} THEN {key} END AS k{i}" for i, (cond, key) in batch)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _keys AS "
            f"SELECT rowid AS link_rowid, {keys} FROM link_rows"
        )
        for i, _ in batch:
            con.execute(
                f"INSERT INTO block_keys SELECT k{i}, link_rowid FROM _keys "
                f"WHERE k{i} IS NOT NULL ORDER BY k{i}"
            )
        con.execute("DROP TABLE _keys")
    con.execute("CHECKPOINT")


def _term_frequencies(con: duckdb.DuckDBPyConnection) -> None:
    """Name frequencies over people (identity records), not over rows or requests."""
    for col, part in (("first_name_std", "std_first"), ("last_name_std", "std_last")):
        source = "first_name" if part == "std_first" else "last_name"
        con.execute(
            f"""
            CREATE OR REPLACE TABLE tf_{col} AS
            SELECT n.{col}, count(*)::DOUBLE / sum(count(*)) OVER () AS tf_{col}
            FROM taxpayers t JOIN {part} n ON n.v = t.{source}
            WHERE n.{col} IS NOT NULL
            GROUP BY n.{col}
            """
        )


def _train_rows(con: duckdb.DuckDBPyConnection, people: int) -> None:
    """Person-years of a deterministic sample of people, for training."""
    modulus = max(1, people // TRAINING_PEOPLE)
    source = {c: expr for c, expr in _features("n", "a").items()}
    source["unique_id"] = "ap.tin || '-' || CAST(ap.tax_year AS VARCHAR) || '-' || ap.role"
    source |= {"tin": "ap.tin", "dob": "t.dob"}
    select = ", ".join(f"{source[c]} AS {c}" for c in LINK_COLUMNS)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE train_rows AS
        SELECT {select}
        FROM (SELECT * FROM appearances WHERE hash(tin) % {modulus} = 0) ap
        {name_joins("ap", "n")} {address_joins("ap", "a")}
        LEFT JOIN taxpayers t ON t.tin = ap.tin
        """
    )
