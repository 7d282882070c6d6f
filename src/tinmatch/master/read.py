"""Read the master's two input tables (CSV or Parquet, chosen by extension) into DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tinmatch.errors import InputFileError

TAXPAYER_COLUMNS = ["tin", "first_name", "middle_name", "last_name", "suffix", "date_of_birth"]
RETURN_COLUMNS = [
    "tin",
    "spouse_tin",
    "tax_year",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "street",
    "address_line2",
    "city",
    "state",
    "zip",
    "filing_status",
]
# Columns that are required to exist; the rest may be absent (then all blank).
REQUIRED = {
    "taxpayers": ["tin", "first_name", "last_name"],
    "returns": ["tin", "tax_year", "street", "city", "state"],
}


def _source_sql(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return f"read_parquet('{quoted}')"
    if suffix in (".csv", ".txt"):
        return f"read_csv('{quoted}', all_varchar = true, header = true, encoding = 'utf-8')"
    raise InputFileError(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")


def source_sql(con: duckdb.DuckDBPyConnection, path: Path, kind: str) -> str:
    """A SELECT of the contract's columns of `path` as trimmed VARCHAR (blank -> NULL).

    Only the contract's columns are kept: extra columns (employer_name among them) are never
    read. A column that is not required and absent is all NULL.
    """
    if not path.exists():
        raise InputFileError(f"{kind} file not found: {path}")
    wanted = TAXPAYER_COLUMNS if kind == "taxpayers" else RETURN_COLUMNS
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {_source_sql(path)}").fetchall()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise InputFileError(f"cannot read {kind} file {path}: {first}") from None
    present = {str(row[0]).strip().lower(): str(row[0]) for row in described}
    missing = [c for c in REQUIRED[kind] if c not in present]
    if missing:
        raise InputFileError(f"{kind} file {path} lacks required column(s): {', '.join(missing)}")
    selects = []
    for col in wanted:
        if col in present:
            src = '"' + present[col].replace('"', '""') + '"'
            selects.append(f"NULLIF(TRIM(CAST({src} AS VARCHAR)), '') AS {col}")
        else:
            selects.append(f"CAST(NULL AS VARCHAR) AS {col}")
    return f"SELECT {', '.join(selects)} FROM {_source_sql(path)}"


def create_from(con: duckdb.DuckDBPyConnection, path: Path, kind: str, create_sql: str) -> None:
    """Run `create_sql` (a statement that reads the file), reporting a bad file as such."""
    try:
        con.execute(create_sql)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise InputFileError(f"cannot read {kind} file {path}: {first}") from None


def count_rows(con: duckdb.DuckDBPyConnection, path: Path, kind: str) -> int:
    """Rows in the file (Parquet: from its metadata)."""
    try:
        row = con.execute(f"SELECT count(*) FROM {_source_sql(path)}").fetchall()[0]
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise InputFileError(f"cannot read {kind} file {path}: {first}") from None
    return int(row[0]) if row else 0


def load_table(con: duckdb.DuckDBPyConnection, path: Path, kind: str, table: str) -> int:
    """Create `table` from `path` with the contract's columns (see :func:`source_sql`)."""
    select = source_sql(con, path, kind)
    create_from(con, path, kind, f"CREATE OR REPLACE TABLE {table} AS {select}")
    row = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
    return int(row[0]) if row else 0
