"""What ``process`` needs of an engine, whichever it is."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import pandas as pd

from tinmatch.engines.chunks import C
from tinmatch.master.params import ModelParams


class Engine(Protocol):
    """A linker over one loaded master: scores request rows, discloses from returns.

    Every engine gives the same frames for the same master and request (the queries are
    written once, :mod:`tinmatch.engines.queries`); they differ in where the work runs.
    """

    @property
    def params(self) -> ModelParams:
        """The trained model it scores with."""
        ...

    @property
    def model_sha256(self) -> str:
        """The model's identity, recorded with every disclosure."""
        ...

    @property
    def chunk_rows(self) -> int:
        """How many request rows to hand it at a time."""
        ...

    def master_meta(self) -> dict[str, Any]:
        """The master's meta (tax years, when it was loaded, its hashes)."""
        ...

    def candidates(self, features: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
        """Per (request row, taxpayer), the best master row: ``queries.CANDIDATE_COLUMNS``.

        With `top`, only each request row's `top` best taxpayers, and ``n_candidates``.
        """
        ...

    def link_chunks(
        self,
        chunks: Iterable[C],
        features: Callable[[C], pd.DataFrame | None],
        top: int | None = None,
    ) -> AbstractContextManager[Iterator[tuple[C, pd.DataFrame | None]]]:
        """Each chunk with its :meth:`candidates` (None without features), in order.

        An engine may link the next chunk while the caller works on this one.
        """
        ...

    def disclose(self, identified: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
        """For rows (qid, tin, tax_years): `fields` of the most recent return in those years.

        Columns qid, tin, `fields` and tax_year; a row without such a return is absent.
        """
        ...

    def release(self) -> None:
        """The request is done with it (an engine kept warm for the next one stays open)."""
        ...

    def close(self) -> None:
        """Free everything it holds."""
        ...
