"""Linkage engines: DuckDB (default, in-process) and Spark (a session, local or a cluster).

Both score with the same trained parameters and give the same candidates, decisions and
disclosed rows; :func:`open_engine` picks one. The Spark engine is imported only when chosen,
so ``import tinmatch`` works without pyspark.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from tinmatch.errors import ConfigError
from tinmatch.master.params import ModelParams

ENGINES = ("duckdb", "spark")


class Engine(Protocol):
    """What ``process`` needs of an engine."""

    @property
    def params(self) -> ModelParams: ...

    @property
    def model_sha256(self) -> str: ...

    def candidates(self, features: pd.DataFrame) -> pd.DataFrame: ...

    def disclose(self, identified: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame: ...

    def close(self) -> None: ...


def open_engine(
    kind: str, db: Path, con: duckdb.DuckDBPyConnection | None = None
) -> Engine:
    """The engine `kind` ("duckdb" or "spark") over the master `db`.

    For DuckDB, `con` is a connection with the master attached (see ``open_master``); without
    one, the per-thread warm linker of ``engines.duckdb.warm_engine`` is used.
    """
    if kind == "duckdb":
        if con is None:
            from tinmatch.engines.duckdb import warm_engine

            return warm_engine(db)
        from tinmatch.engines.duckdb import LinkEngine

        return LinkEngine.open(con)
    if kind == "spark":
        from tinmatch.engines.spark import open_spark_engine

        return open_spark_engine(db)
    raise ConfigError(f"unknown engine {kind!r}: choose one of {', '.join(ENGINES)}")
