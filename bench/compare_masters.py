"""Compare two loaded masters: the same tables (up to row order and ``unique_id`` numbering) and
the same model. A check for loader changes that must not change what is loaded.

Usage: .venv/bin/python bench/compare_masters.py OLD.duckdb NEW.duckdb

Build OLD with the previous code from a worktree (``git worktree add /tmp/old <commit>``, then
``PYTHONPATH=/tmp/old/src tinmatch load-master ...``). Exit status 0 when equivalent.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import duckdb

TABLES = ["taxpayers", "appearances", "tf_first_name_std", "tf_last_name_std", "link_rows"]
# Columns that hold internal ids or keys, not loaded values.
IGNORED = {"unique_id", "nk", "ak"}


def main() -> int:
    old, new = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    con.execute(f"ATTACH '{old}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{new}' AS b (READ_ONLY)")

    def scalar(sql: str) -> Any:
        row = con.execute(sql).fetchone()
        return row[0] if row else None

    def cols(schema: str, table: str) -> list[str]:
        return [r[0] for r in con.execute(f"DESCRIBE {schema}.{table}").fetchall()]

    def diff(sql_a: str, sql_b: str) -> tuple[int, int, int, int]:
        return (
            scalar(f"SELECT count(*) FROM ({sql_a})"),
            scalar(f"SELECT count(*) FROM ({sql_b})"),
            scalar(f"SELECT count(*) FROM ({sql_a} EXCEPT ALL {sql_b})"),
            scalar(f"SELECT count(*) FROM ({sql_b} EXCEPT ALL {sql_a})"),
        )

    ok = True
    listed = "SELECT table_name FROM duckdb_tables() WHERE database_name = '{}'"
    in_a = {r[0] for r in con.execute(listed.format("a")).fetchall()}
    in_b = {r[0] for r in con.execute(listed.format("b")).fetchall()}
    print(f"tables only in old: {sorted(in_a - in_b)}; only in new: {sorted(in_b - in_a)}")
    for table in TABLES:
        if table not in in_a or table not in in_b:
            print(f"{table}: missing")
            ok = False
            continue
        ca, cb = cols("a", table), cols("b", table)
        common = ", ".join(c for c in ca if c in cb and c not in IGNORED)
        if ca != cb:
            print(f"{table}: columns differ: old {ca} new {cb}")
        n_a, n_b, a_only, b_only = diff(
            f"SELECT {common} FROM a.{table}", f"SELECT {common} FROM b.{table}"
        )
        print(f"{table}: rows old {n_a:,} new {n_b:,}; old-only {a_only:,} new-only {b_only:,}")
        ok &= n_a == n_b and a_only == 0 and b_only == 0

    # block keys: each key with the content of the link row it points to. Schema 5 keeps the
    # row's rowid in link_rows, and the rule's number in the key's top 4 bits above the rule's
    # hash shifted right by 4: such keys are compared by those 60 bits.
    content = "hash(" + ", ".join(f"l.{c}" for c in cols("a", "link_rows") if c != "unique_id")

    def keyed(s: str) -> str:
        key = "k.k & ((1::UBIGINT << 60) - 1)"
        if "link_rowid" in cols(s, "block_keys"):
            on = "l.rowid = k.link_rowid"
        else:
            key, on = "k.k >> 4", "l.unique_id = k.unique_id"
        joined = f"{s}.block_keys k JOIN {s}.link_rows l ON {on}"
        return f"SELECT {key} AS k, {content}) AS h FROM {joined}"

    n_a, n_b, a_only, b_only = diff(keyed("a"), keyed("b"))
    print(f"block_keys (key, row): rows old {n_a:,} new {n_b:,}; old-only {a_only:,} "
          f"new-only {b_only:,}")  # fmt: skip
    ok &= a_only == 0 and b_only == 0
    unsorted = scalar(
        "SELECT count(*) FROM (SELECT k, lag(k) OVER (ORDER BY rowid) AS p FROM b.block_keys) "
        "WHERE p > k"
    )
    print(f"block_keys sorted in new: {unsorted == 0}")
    ok &= unsorted == 0
    ids = "SELECT count(DISTINCT unique_id), count(*) FROM b.link_rows"
    distinct, rows = con.execute(ids).fetchone() or (0, 0)
    print(f"unique_id unique in new: {distinct == rows}")
    ok &= distinct == rows

    params_a = json.loads(scalar("SELECT params_json FROM a.model"))
    params_b = json.loads(scalar("SELECT params_json FROM b.model"))
    if params_a == params_b:
        print("model params: identical")
    else:
        ok = False
        print("model params: DIFFER")
        _print_differences(params_a, params_b)
    print("EQUIVALENT" if ok else "NOT EQUIVALENT")
    return 0 if ok else 1


def _print_differences(x: Any, y: Any, path: str = "") -> None:
    if isinstance(x, dict) and isinstance(y, dict):
        for key in sorted(set(x) | set(y)):
            _print_differences(x.get(key), y.get(key), f"{path}.{key}")
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            _print_differences(u, v, f"{path}[{i}]")
    elif x != y:
        print(f"  {path}: {x} -> {y}")


if __name__ == "__main__":
    sys.exit(main())
