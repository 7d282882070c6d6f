"""Transactions on the operational database for the web service's own tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tinmatch.errors import TinmatchError
from tinmatch.ops.engine import database_error


class Tables:
    """Base of the web stores: one short transaction per method; a database failure is raised as
    ConflictError or UnavailableError (``ops.engine.database_error``)."""

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
            raise database_error(exc) from exc
