"""The DuckDB engine: :class:`tinmatch.pipeline.link.LinkEngine` with disclosure attached."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from tinmatch.master.params import ModelParams
from tinmatch.pipeline.disclose import disclose
from tinmatch.pipeline.link import LinkEngine


@dataclass
class DuckDBEngine:
    link: LinkEngine

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection) -> DuckDBEngine:
        return cls(LinkEngine.open(con))

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.link.con

    @property
    def params(self) -> ModelParams:
        return self.link.params

    @property
    def model_sha256(self) -> str:
        return self.link.model_sha256

    def candidates(self, features: pd.DataFrame) -> pd.DataFrame:
        return self.link.candidates(features)

    def disclose(self, identified: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
        return disclose(self.link.con, identified, fields)

    def close(self) -> None:
        """Nothing to release: the caller owns the connection."""
