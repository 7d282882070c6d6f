"""Disclose: the address from the identified person's most recent return in the requested years.

A person's returns are those on which they are the primary filer *or* the spouse. Only the
fields the agreement names are taken from the return; nothing else is even selected.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd
import pyarrow as pa

# Fields of a return that an agreement may name (checked again when the agreement loads).
DISCLOSABLE = ("street", "address_line2", "city", "state", "zip", "tax_year", "filing_status")


def disclose(
    con: duckdb.DuckDBPyConnection,
    identified: pd.DataFrame,
    fields: Sequence[str],
) -> pd.DataFrame:
    """For rows (qid, tin, tax_years), the disclosed fields of the most recent return.

    Returns one row per qid that has a return in its years: qid, tin, and `fields`. Rows
    without such a return are absent (the caller reports them as ``no_return_in_period``).
    """
    bad = [f for f in fields if f not in DISCLOSABLE]
    if bad:
        raise ValueError(f"fields may not be disclosed: {bad}")
    selected = list(dict.fromkeys([*fields, "tax_year"]))
    if identified.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in ["qid", "tin", *selected]})
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
        cols = ", ".join(f"a.{c}" for c in selected)
        return con.execute(
            f"""
            SELECT w.qid, w.tin, {cols}
            FROM _wanted w
            JOIN m.appearances a
              ON a.tin = w.tin AND list_contains(w.tax_years, a.tax_year)
            QUALIFY row_number() OVER (
                PARTITION BY w.qid
                ORDER BY a.tax_year DESC, (a.role = 'primary') DESC,
                         a.street, a.address_line2, a.zip
            ) = 1
            """
        ).df()
    finally:
        con.unregister("_wanted")
