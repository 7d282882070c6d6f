"""Transactions on the operational database for the web service's own tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tinmatch.errors import LedgerError, TinmatchError


class Tables:
    """Base of the web stores: one short transaction per method, errors as LedgerError."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def tx(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except TinmatchError:
            raise
        except SQLAlchemyError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LedgerError(f"operational database error: {first}") from exc
