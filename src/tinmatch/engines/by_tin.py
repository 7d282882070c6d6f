"""The master's returns sorted by TIN, in a file of their own, for disclosing to small requests.

Disclosure reads a person's returns in ``appearances`` by TIN. The master's table is not in TIN
order (the load writes it in parallel), so its zone maps span every TIN and each disclosure
scanned the whole table: ~110 CPU-ms per request at 1M people, ten times that at 10M, for the
returns of a dozen people. This copy holds the same rows, only the columns disclosure reads,
sorted by TIN: one ``tin = '...'`` per person reads a row group or two.

It is built once per master by the service (``tinmatch serve``) into its work folder, named by
the master's identity (path, size, modification time), and checked when it is attached: it
must say which master it was built from and hold as many rows as its ``appearances``. It holds
taxpayers' addresses like the master itself: created readable by its owner only, in a folder of
the owner's only, and removed with the service's other files when the master changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb

from tinmatch.agreement import DISCLOSABLE_FIELDS
from tinmatch.errors import MasterNotLoadedError
from tinmatch.master.database import open_master

#: The columns kept: what ``queries.disclose_sql`` reads of a return.
COLUMNS = ("tin", "tax_year", "role", *(f for f in DISCLOSABLE_FIELDS if f != "tax_year"))
TABLE = "appearances"
ALIAS = "by_tin"
#: Up to this many TINs are looked up one by one; more, as one scan.
ONE_BY_ONE = 512


def master_identity(db: Path) -> str:
    """What names a master file: its resolved path, size and modification time."""
    stat = db.stat()
    basis = f"{db.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def index_path(folder: Path, db: Path) -> Path:
    return folder / f"appearances-by-tin-{master_identity(db)}.duckdb"


def clear_serving_folder(folder: Path, pattern: str, current: Path) -> None:
    """Make `folder` the owner's only (created if need be) and remove what matches `pattern`
    in it but `current`: the files a service derived from a master since replaced."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    for old in folder.glob(pattern):
        if old == current:
            continue
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def build(db: Path, folder: Path) -> Path:
    """The sorted copy of `db`'s appearances in `folder` (built now unless it is there);
    older copies (of a master since replaced) are removed."""
    path = index_path(folder, db)
    clear_serving_folder(folder, "appearances-by-tin-*.duckdb*", path)
    if path.exists():
        return path
    temp = path.with_name(path.name + ".building")
    for leftover in (temp, temp.with_name(temp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = open_master(db)  # the folder is the owner's only: no one else reads the file
    try:
        con.execute(f"ATTACH '{_sql(temp)}' AS {ALIAS}")
        con.execute(
            f"CREATE TABLE {ALIAS}.{TABLE} AS SELECT {', '.join(COLUMNS)} "
            f"FROM m.appearances ORDER BY tin"
        )
        rows = con.execute(f"SELECT count(*) FROM {ALIAS}.{TABLE}").fetchone()
        meta = {"master": master_identity(db), "rows": int(rows[0]) if rows else 0}
        con.execute(f"CREATE TABLE {ALIAS}.meta AS SELECT ? AS value", [json.dumps(meta)])
        con.execute(f"DETACH {ALIAS}")
    finally:
        con.close()
    os.chmod(temp, 0o600)
    os.replace(temp, path)
    return path


def attach(con: duckdb.DuckDBPyConnection, path: Path, db: Path) -> None:
    """Attach the copy at `path` read-only as ``by_tin`` on `con` (which has `db` as ``m``),
    refusing one built from another master or holding another number of rows."""
    con.execute(f"ATTACH '{_sql(path)}' AS {ALIAS} (READ_ONLY)")
    try:
        # fetchall, not fetchone: DuckDB 2 refuses register() on a connection whose last
        # result was not read to its end.
        found = con.execute(f"SELECT value FROM {ALIAS}.meta").fetchall()
        meta = json.loads(found[0][0]) if found else {}
        total = con.execute("SELECT count(*) FROM m.appearances").fetchall()
        if meta.get("master") != master_identity(db) or meta.get("rows") != (
            int(total[0][0]) if total else -1
        ):
            raise MasterNotLoadedError(f"{path} was not built from {db}")
    except BaseException:
        con.execute(f"DETACH {ALIAS}")
        raise


def returns_of(tins: Sequence[str]) -> str:
    """A relation of the returns of `tins` (``COLUMNS``) from the attached copy: one equality
    per TIN (zone maps skip the rest), or one filtered scan for many."""
    literals = sorted({"'" + str(t).replace("'", "''") + "'" for t in tins})
    if not literals:
        return f"(SELECT {', '.join(COLUMNS)} FROM {ALIAS}.{TABLE} WHERE false)"
    if len(literals) > ONE_BY_ONE:
        return f"(SELECT * FROM {ALIAS}.{TABLE} WHERE tin IN ({', '.join(literals)}))"
    return (
        "("
        + "\nUNION ALL\n".join(f"SELECT * FROM {ALIAS}.{TABLE} WHERE tin = {t}" for t in literals)
        + ")"
    )


def _sql(path: Path) -> str:
    return str(path).replace("'", "''")
