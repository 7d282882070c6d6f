"""Warm a worker before its first request: the engine opened, its SQL compiled, the pipeline run.

A service answering a dozen names must not make its first requester wait for what every
request after it reuses: the master attached and the Splink linker built (per thread,
``engines.duckdb.warm_engine``), the small-request SQL generated (``LinkEngine._small_sql``), the
first run of the reader, validator, writer and workbook code, and (``tinmatch serve``) the
master's returns sorted by TIN attached for disclosing (``engines.by_tin``). :func:`warm_up`
does all of it on the calling thread and looks **nobody** up: the engine is handed a row with
no values (no blocking key can be made of it, so no master row is read), and ``process`` a
one-row request rejected by validation (nothing is linked or disclosed), written into a
temporary folder that is removed at once. Nothing is recorded in the operational store.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from tinmatch.agreement import REQUEST_COLUMNS, Agreement
from tinmatch.cover import Cover
from tinmatch.engines import open_engine
from tinmatch.engines.duckdb import LinkEngine
from tinmatch.master.params import LINK_COLUMNS
from tinmatch.pipeline.process import process

#: The one row ``process`` is given: a record id and nothing else, rejected as missing fields.
WARM_RECORD_ID = "WARM-UP"
#: What ``decide`` and explaining read of each row (``process`` asks an engine for the best two).
TOP = 2


def warm_up(
    db: Path,
    agreement: Agreement,
    engine_kind: str = "duckdb",
    returns_by_tin: Path | None = None,
    threads: int | None = None,
    key_index: Path | None = None,
) -> float:
    """Warm this thread's engine over `db` and the pipeline under `agreement`; the seconds it
    took. Looks nobody up, writes nothing that stays, records nothing.

    With `returns_by_tin` (``engines.by_tin.build``), the engine discloses to small requests
    from that sorted copy of the master's returns; with `key_index` (``engines.key_index.build``),
    it looks small requests' blocking keys up in those arrays. With `threads`, its DuckDB runs
    each query on that many threads."""
    started = time.perf_counter()
    engine = open_engine(engine_kind, db)
    try:
        if isinstance(engine, LinkEngine):
            if returns_by_tin is not None:
                engine.use_returns_by_tin(returns_by_tin, db)
            if key_index is not None:
                engine.use_key_index(key_index, db)
            if threads is not None:
                engine.con.execute(f"SET threads = {max(1, int(threads))}")
        empty = pd.DataFrame([dict.fromkeys(LINK_COLUMNS)], columns=LINK_COLUMNS).astype(object)
        empty["unique_id"] = "q0"
        engine.candidates(empty, top=TOP)
    finally:
        engine.release()
    scratch = Path(tempfile.mkdtemp(prefix="tinmatch-warm-"))
    try:
        request = scratch / "warm.csv"
        with request.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(REQUEST_COLUMNS)
            writer.writerow([WARM_RECORD_ID, *([""] * (len(REQUEST_COLUMNS) - 1))])
        process(
            request,
            scratch / "out",
            db=db,
            agreement=agreement,
            cover=Cover("(warm-up)", "(warm-up)", "(warm-up)"),
            engine_kind=engine_kind,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return time.perf_counter() - started
