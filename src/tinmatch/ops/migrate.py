"""Bring the operational database to the newest schema with Alembic's `upgrade head`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.resources import as_file, files

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the packaged migrations on `engine` up to `revision`, in one transaction."""
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to `revision` (`base`: drop every table). For development."""
    _run(engine, command.downgrade, revision)


_LOCK = threading.Lock()
"""Alembic's `context` and `op` are module-wide proxies: one migration per process at a time."""


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    with _LOCK, as_file(files("tinmatch.ops") / "alembic.ini") as ini:
        config = Config(str(ini))
        config.set_main_option("script_location", str(ini.parent / "migrations"))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
