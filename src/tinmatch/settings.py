"""Every environment variable tinmatch reads, in one table: name, default, type and meaning.

Modules read a setting through its entry (``settings.MASTER_DB.text()``), never ``os.environ``
directly; ``docs/operations.md``'s Settings table is generated from :data:`SETTINGS`
(``python tools/ref_docs.py``, checked by ``make lint``), and a test fails when a ``TINMATCH_*``
name appears in the code without an entry here.

Rules for every setting:

- an empty value is the same as no value (the default applies);
- a value of the wrong type is a :class:`~tinmatch.errors.ConfigError` naming the variable;
- secrets (a reviewer's password, the session key) come from the environment only -- there is no
  option or file for them -- and their values are never shown in a message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from tinmatch.errors import ConfigError

Kind = Literal["path", "url", "text", "integer", "size", "choice", "list", "secret"]
Audience = Literal["operator", "test"]


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    """The value when the variable is unset or empty (None: no value)."""
    kind: Kind
    meaning: str
    """What it sets (Markdown; the Settings table of docs/operations.md)."""
    shown_default: str = ""
    """The default in words, for the docs, when it is computed or means "unset"."""
    choices: tuple[str, ...] = ()
    audience: Audience = "operator"

    @property
    def secret(self) -> bool:
        return self.kind == "secret"

    def raw(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The variable's own value, or None when it is unset or empty."""
        value = (os.environ if environ is None else environ).get(self.name, "")
        return value or None

    def is_set(self, environ: Mapping[str, str] | None = None) -> bool:
        return self.raw(environ) is not None

    def text(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The value, else the default (None when there is neither); a choice is checked."""
        value = self.raw(environ)
        if value is None:
            return self.default
        if self.choices and value not in self.choices:
            raise ConfigError(f"{self._shown(value)}: choose one of {', '.join(self.choices)}")
        return value

    def integer(self, environ: Mapping[str, str] | None = None) -> int | None:
        """The value as a whole number, else the default's (None when there is neither)."""
        value = self.text(environ)
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError:
            raise ConfigError(f"{self._shown(value)}: a whole number is needed") from None

    def items(self, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """A comma-separated value as its stripped, non-empty items."""
        value = self.text(environ) or ""
        return tuple(part.strip() for part in value.split(",") if part.strip())

    def _shown(self, value: str) -> str:
        """`NAME='value'` for a message; a secret's value is never shown."""
        return f"{self.name}=***" if self.secret else f"{self.name}={value!r}"

    def documented_default(self) -> str:
        if self.shown_default:
            return self.shown_default
        return f"`{self.default}`" if self.default is not None else "unset"


MASTER_DB = Setting(
    "TINMATCH_MASTER_DB",
    "tinmatch.duckdb",
    "path",
    "the master database file, for every command with `--db`",
)
DATABASE_URL = Setting(
    "TINMATCH_DATABASE_URL",
    "sqlite:///tinmatch.sqlite",
    "url",
    "the operational database, for every command with `--state-db`",
)
DUCKDB_MEMORY = Setting(
    "TINMATCH_DUCKDB_MEMORY",
    "6GB",
    "size",
    "DuckDB's memory limit (load and process)",
)
SPILL_DIR = Setting(
    "TINMATCH_SPILL_DIR",
    None,
    "path",
    "where DuckDB spills to disk past its memory limit",
    shown_default="DuckDB's own",
)
LOAD_WORKERS = Setting(
    "TINMATCH_LOAD_WORKERS",
    None,
    "integer",
    "processes that standardize names and addresses during `load-master`",
    shown_default="cores, at most 8",
)
M_METHOD = Setting(
    "TINMATCH_M_METHOD",
    "labels",
    "choice",
    "how `load-master` estimates the model's m probabilities: `labels` (a person's own "
    "records) or `em` (expectation maximisation)",
    choices=("labels", "em"),
)
SPARK_MASTER = Setting(
    "TINMATCH_SPARK_MASTER",
    "local[2]",
    "url",
    "the Spark master URL for `--engine spark`",
)
SPARK_DATA = Setting(
    "TINMATCH_SPARK_DATA",
    None,
    "url",
    "where the Spark executors read the master's Parquet export (HDFS, S3)",
    shown_default="the export beside `--db`",
)
SPARK_PARTITIONS = Setting(
    "TINMATCH_SPARK_PARTITIONS",
    "8",
    "integer",
    "`spark.sql.shuffle.partitions` (on a cluster: two to three times the executor cores)",
)
SPARK_DRIVER_MEMORY = Setting(
    "TINMATCH_SPARK_DRIVER_MEMORY",
    "4g",
    "size",
    "the Spark driver's memory (local mode runs everything in the driver)",
)
SPARK_SECRET = Setting(
    "TINMATCH_SPARK_SECRET",
    None,
    "secret",
    "the shared secret Spark's RPC authentication (`spark.authenticate`) uses between the driver, "
    "the cluster manager and the executors; a standalone cluster's master and workers must be "
    "started with the same one (on YARN and Kubernetes leave it unset: Spark makes one per "
    "application)",
    shown_default="random per session in local mode; required for `spark://`",
)
REVIEWER_PASSWORD = Setting(
    "TINMATCH_REVIEWER_PASSWORD",
    None,
    "secret",
    "a reviewer's password for `review approve/deny` and the other commands with `--by` (else "
    "asked at the terminal)",
    shown_default="prompt",
)
SESSION_SECRET = Setting(
    "TINMATCH_SESSION_SECRET",
    None,
    "secret",
    "signs the review pages' forms (`serve`); give every `serve` process the same one, so "
    "forms work across processes and restarts (sessions themselves are kept in the database)",
    shown_default="random per start",
)
TRUSTED_PROXIES = Setting(
    "TINMATCH_TRUSTED_PROXIES",
    None,
    "list",
    "addresses or networks (CIDR, comma-separated) of the reverse proxies in front of `serve`: "
    "`X-Forwarded-For` is believed only from them",
    shown_default="none",
)
LEDGER_KEY = Setting(
    "TINMATCH_LEDGER_KEY",
    None,
    "path",
    "the ledger's signing key file (created 0600 on first use)",
    shown_default="beside a SQLite store, else `~/.config/tinmatch/ledger.key`",
)
LEDGER_ORIGIN = Setting(
    "TINMATCH_LEDGER_ORIGIN",
    "tinmatch.invalid/ledger",
    "text",
    "the name in the ledger's signed checkpoints",
)
DB_APP_ROLE = Setting(
    "TINMATCH_DB_APP_ROLE",
    "tinmatch_app",
    "text",
    "the PostgreSQL role granted SELECT and INSERT only on the ledger tables by the migration",
)
SOURCE_DATE_EPOCH = Setting(
    "SOURCE_DATE_EPOCH",
    None,
    "integer",
    "seconds since 1970: the time written into result workbooks, for reproducible files (the "
    "reproducible-builds convention; not a `TINMATCH_` name)",
    shown_default="now",
)
TEST_CRASH_AT = Setting(
    "TINMATCH_TEST_CRASH_AT",
    None,
    "text",
    "test hook only: the crash tests name a point where the writer kills itself",
    audience="test",
)
TEST_POSTGRES_URL = Setting(
    "TINMATCH_TEST_POSTGRES_URL",
    None,
    "url",
    "test suite only: run the PostgreSQL-marked tests against this database",
    audience="test",
)
TEST_POSTGRES_APP_URL = Setting(
    "TINMATCH_TEST_POSTGRES_APP_URL",
    None,
    "url",
    "test suite only: the same PostgreSQL database as the application role (`TINMATCH_DB_APP_ROLE`)"
    ", to check that it cannot alter the ledger",
    audience="test",
)
CHROMIUM = Setting(
    "TINMATCH_CHROMIUM",
    "/usr/bin/chromium",
    "path",
    "test suite only: the browser the reviewer browser test drives",
    audience="test",
)
SCREENSHOT = Setting(
    "TINMATCH_SCREENSHOT",
    None,
    "path",
    "test suite only: where the reviewer browser test saves a screenshot of the review page",
    audience="test",
)
CRASH_SEED = Setting(
    "TINMATCH_CRASH_SEED",
    "7",
    "integer",
    "test suite only: the seed of the randomized crash tests",
    audience="test",
)
BENCH_CACHE = Setting(
    "TINMATCH_BENCH_CACHE",
    None,
    "path",
    "benchmarks only (`bench/`): where generated masters are kept between runs",
    shown_default="`.bench-cache` in the repository",
    audience="test",
)

SETTINGS: tuple[Setting, ...] = (
    MASTER_DB,
    DATABASE_URL,
    DUCKDB_MEMORY,
    SPILL_DIR,
    LOAD_WORKERS,
    M_METHOD,
    SPARK_MASTER,
    SPARK_DATA,
    SPARK_PARTITIONS,
    SPARK_DRIVER_MEMORY,
    SPARK_SECRET,
    REVIEWER_PASSWORD,
    SESSION_SECRET,
    TRUSTED_PROXIES,
    LEDGER_KEY,
    LEDGER_ORIGIN,
    DB_APP_ROLE,
    SOURCE_DATE_EPOCH,
    TEST_CRASH_AT,
    TEST_POSTGRES_URL,
    TEST_POSTGRES_APP_URL,
    CHROMIUM,
    SCREENSHOT,
    CRASH_SEED,
    BENCH_CACHE,
)
"""Every setting, in the order the docs list them."""

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


# -- the environment of other programs ------------------------------------------------------
# Spark's launcher and executors read variables of their own (PYSPARK_PYTHON, SPARK_*). They are
# not tinmatch settings; these two functions are the only places that hand them on, so that every
# read of the environment stays in this module.


def child_environment(**overrides: str) -> dict[str, str]:
    """This process's environment with `overrides`, for a program tinmatch starts (a Spark
    master or worker)."""
    return {**os.environ, **overrides}


def default_for_libraries(name: str, value: str) -> None:
    """Set the variable `name` for libraries in this process (and the programs they start)
    unless the operator has set it: e.g. PYSPARK_PYTHON for local Spark workers."""
    if not os.environ.get(name):
        os.environ[name] = value
