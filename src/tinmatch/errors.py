"""One base error; each failure of a whole run raises a subclass with a one-line message.

Row-level problems are never exceptions: they are records (see ``pipeline.validate``).
"""

from __future__ import annotations


class TinmatchError(Exception):
    """Base class: the CLI prints ``error: <message>`` on one line and exits non-zero."""

    exit_code = 1


class ConfigError(TinmatchError):
    """The agreement, a cover letter or a setting is wrong."""

    exit_code = 2


class InputFileError(TinmatchError):
    """A request or master file cannot be read as a whole."""

    exit_code = 3


class MasterNotLoadedError(TinmatchError):
    """No master file has been loaded into the database given."""

    exit_code = 4


class EngineError(TinmatchError):
    """The linkage engine (DuckDB, Spark) failed; the message names the stage."""

    exit_code = 5


class RefusedError(TinmatchError):
    """The request as a whole is refused under the agreement (no cover, expired, caps...)."""

    exit_code = 6


class LedgerError(TinmatchError):
    """The operational database or the ledger cannot do what was asked."""

    exit_code = 7
