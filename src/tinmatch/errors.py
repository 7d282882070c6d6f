"""One base error; each failure of a whole run raises a subclass with a one-line message.

A subclass says *what happened*, so that each front end can answer in its own terms from one
table: the CLI exits with the class's ``exit_code`` (docs/operations.md, "Exit codes"), the web
service answers with the HTTP status ``tinmatch.web.errors`` maps the class to.

- :class:`NotFoundError`: the thing asked for does not exist (a request id, an API key, a
  disclosure to recall). HTTP 404.
- :class:`ConflictError`: it exists, but its state forbids the action (released twice, already
  suspended, already recalled, the same key written twice at once). HTTP 409.
- :class:`UnavailableError`: the operational database cannot be reached or fails; the same call
  may succeed later. HTTP 503. Never reported as anything else.
- :class:`InvalidInputError`: the caller gave a blank or malformed value (no reviewer name, no
  reason). HTTP 400.

Row-level problems are never exceptions: they are records (``tinmatch.reasons``,
``pipeline.validate``).
"""

from __future__ import annotations


class TinmatchError(Exception):
    """Base class: the CLI prints ``error: <message>`` on one line and exits non-zero."""

    exit_code = 1


class ConfigError(TinmatchError):
    """The agreement, a cover letter or a setting is wrong."""

    exit_code = 2


class InvalidInputError(TinmatchError):
    """A value the caller gave is blank or malformed (a usage error: exit 2, like ConfigError)."""

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


class NotFoundError(TinmatchError):
    """What was asked for does not exist in the operational database or the ledger."""

    exit_code = 7


class ConflictError(TinmatchError):
    """It exists, but its state forbids what was asked (nothing was written)."""

    exit_code = 7


class UnavailableError(TinmatchError):
    """The operational database cannot be reached or failed; retry later."""

    exit_code = 7


class LedgerBrokenError(TinmatchError):
    """The ledger's hash chain does not verify: an entry was edited, deleted or reordered."""

    exit_code = 7
