"""Python and SQL forms of the standardization rules agree (tinmatch.standardize).

The master's standardization (each distinct column value once, with the per-column functions,
combined in SQL with ``name_features_sql``/``address_features_sql``, plain streets split in SQL)
gives exactly what ``name_features`` and ``address_features`` give for the same rows: those
functions define a standardized value, and request rows are standardized by them."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from tinmatch.master import features
from tinmatch.master.features import (
    ADDRESS_INPUT,
    NAME_INPUT,
    address_feature_sql,
    address_joins,
    name_feature_sql,
    name_joins,
    standardize_master,
    worker_pool,
)
from tinmatch.standardize import address_features, name_features

HERE = Path(__file__).parent


def _literals() -> list[str]:
    """Every string literal of the name and address tests: a corpus of awkward inputs."""
    found: set[str] = set()
    for name in ("test_names.py", "test_addresses.py"):
        tree = ast.parse((HERE / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.strip()
                if text and len(text) < 60 and "\n" not in text:
                    found.add(text)
    return sorted(found)


PLAIN_STREETS = [
    "123 Main St", "0123 Main St.", "00 Elm Ave", "12 . Main", "12  North  5th St Apt 3",
    "7 St. James Pl", "1 County Road 5", "5 Route 66", "123 1/2 Main St", "9 Avenue B",
    "44 Main St Rear", "10 Twenty First St", "8 N Main St S", "300 Pier Ave", "2 Apt 5",
    "15 Mount Vernon St", "77 Broadway 4B", "21 5th Ave 12", "1600 Pennsylvania Ave NW",
    "3 Unit 7", "4 Main", "5 St", "6 N", "99 Main St Ste 200", "123 MAIN ST.", "000 Oak Ln",
]  # fmt: skip


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    corpus = _literals()
    streets = corpus + PLAIN_STREETS * 3

    def pick(pool: list[str]) -> str | None:
        return None if rng.random() < 0.15 else rng.choice(pool)

    data = {c: [pick(corpus) for _ in range(n)] for c in NAME_INPUT}
    data |= {c: [pick(corpus) for _ in range(n)] for c in ADDRESS_INPUT if c != "street"}
    data["street"] = [pick(streets) for _ in range(n)]
    # as the loader stores them: trimmed, blank -> NULL
    return pd.DataFrame(
        {c: [v.strip() or None if v else None for v in vals] for c, vals in data.items()},
        dtype=object,
    )


def _master_side(df: pd.DataFrame, pool: object) -> pd.DataFrame:
    con = duckdb.connect()
    table = pa.table({c: pa.array(df[c].tolist(), pa.string()) for c in df.columns})
    table = table.append_column("i", pa.array(range(len(df)), pa.int64()))
    con.register("src_view", table)
    con.execute("CREATE TABLE src AS SELECT * FROM src_view")
    names = f"SELECT {', '.join(NAME_INPUT)} FROM src"
    addresses = f"SELECT {', '.join(ADDRESS_INPUT)} FROM src"
    standardize_master(con, pool, names, addresses)  # type: ignore[arg-type]
    exprs = {**name_feature_sql("n"), **address_feature_sql("a")}
    select = ", ".join(f"{e} AS {c}" for c, e in exprs.items())
    out = con.execute(
        f"SELECT {select} FROM src {name_joins('src', 'n')} {address_joins('src', 'a')} "
        "ORDER BY src.i"
    ).df()
    con.close()
    return out


def _python_side(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(
        [name_features(df[NAME_INPUT]), address_features(df[ADDRESS_INPUT])], axis=1
    ).reset_index(drop=True)


def _normal(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return list(value)
    return value


def _assert_same(master: pd.DataFrame, python: pd.DataFrame, df: pd.DataFrame) -> None:
    for col in python.columns:
        assert col in master.columns, col
        for i, (got, want) in enumerate(zip(master[col], python[col], strict=True)):
            got, want = _normal(got), _normal(want)
            assert got == want, f"{col} of row {df.iloc[i].to_dict()}: {got!r} != {want!r}"


def test_master_standardization_equals_request_standardization() -> None:
    df = _rows(3000, seed=1)
    _assert_same(_master_side(df, None), _python_side(df), df)


def test_worker_processes_give_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(features, "PARALLEL_MIN", 1)
    monkeypatch.setattr(features, "CHUNK", 97)
    df = _rows(800, seed=2)
    with worker_pool(2) as pool:
        assert pool is not None
        master = _master_side(df, pool)
    _assert_same(master, _python_side(df), df)


def test_plain_streets_split_in_sql_parse_as_whole_lines() -> None:
    """The SQL split of ``<digits> <words>`` agrees with parsing the whole line."""
    rows = [*PLAIN_STREETS, "12 Main St #4", "12-14 Main St", "N123W456 Main St", "PO Box 12"]
    df = pd.DataFrame({c: [None] * len(rows) for c in NAME_INPUT + ADDRESS_INPUT}, dtype=object)
    df["street"] = rows
    _assert_same(_master_side(df, None), _python_side(df), df)
