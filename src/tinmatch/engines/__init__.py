"""Linkage engines: DuckDB (default, in-process) and Spark (a session, local or a cluster).

Both score with the same trained parameters and run the same queries
(:mod:`tinmatch.engines.queries`), so they give the same candidates, decisions and disclosed
rows; :func:`open_engine` picks one by name. The Spark engine is imported only when chosen, so
``import tinmatch`` works without pyspark. Splink's private API is reached only through
:mod:`tinmatch.master.splink_adapter`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tinmatch.engines.protocol import Engine
from tinmatch.errors import ConfigError

__all__ = ["ENGINES", "Engine", "open_engine"]

ENGINES = ("duckdb", "spark")


def open_engine(kind: str, db: Path, con: duckdb.DuckDBPyConnection | None = None) -> Engine:
    """The engine `kind` ("duckdb" or "spark") over the master `db`.

    For DuckDB, `con` is a connection with the master attached (see ``open_master``); without
    one, the per-thread warm linker of :func:`tinmatch.engines.duckdb.warm_engine` is used, which
    :meth:`Engine.release` leaves open for the next request.
    """
    if kind == "duckdb":
        from tinmatch.engines.duckdb import LinkEngine, warm_engine

        return warm_engine(db) if con is None else LinkEngine.open(con)
    if kind == "spark":
        from tinmatch.engines.spark import open_spark_engine

        return open_spark_engine(db)
    raise ConfigError(f"unknown engine {kind!r}: choose one of {', '.join(ENGINES)}")
