"""The operational database: requests, review, agreement suspensions, the ledger, retention.

SQLite by default (`tinmatch.sqlite`), PostgreSQL by URL; the schema is migrated with Alembic
whenever a Store is opened.
"""

from tinmatch.ops.engine import DEFAULT_URL, ENV_VAR, resolve_url
from tinmatch.ops.records import (
    AgreementEvent,
    Decision,
    Limits,
    PendingDisclosure,
    PurgeRecord,
    Quota,
    RequestRecord,
)
from tinmatch.ops.store import Store, request_id_for

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "AgreementEvent",
    "Decision",
    "Limits",
    "PendingDisclosure",
    "PurgeRecord",
    "Quota",
    "RequestRecord",
    "Store",
    "request_id_for",
    "resolve_url",
]
