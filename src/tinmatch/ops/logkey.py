"""Where the ledger's signing key lives: outside the operational database.

``TINMATCH_LEDGER_KEY`` names the key file; by default it sits beside a SQLite store
(``tinmatch.sqlite`` -> ``tinmatch.ledger-key``), or in ``~/.config/tinmatch/ledger.key`` for a
server database. The file is created 0600 on first use (an Ed25519 key named
``TINMATCH_LEDGER_ORIGIN``, default ``tinmatch.invalid/ledger``), never overwritten, and refused
when others can read it. An HSM or KMS takes over by passing a ``ledger.note.Signer`` to
``Store(engine, signer=...)`` instead (docs/security.md).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from tinmatch.ledger.note import Ed25519Signer
from tinmatch.settings import LEDGER_KEY, LEDGER_ORIGIN

KEY_ENV = LEDGER_KEY.name
ORIGIN_ENV = LEDGER_ORIGIN.name
DEFAULT_ORIGIN = str(LEDGER_ORIGIN.default)


def key_path(url: str) -> Path:
    """The key file for the store at `url` (already resolved)."""
    chosen = LEDGER_KEY.text()
    if chosen:
        return Path(chosen).expanduser()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(str(parsed.database)).expanduser().with_suffix(".ledger-key")
    return Path.home() / ".config" / "tinmatch" / "ledger.key"


def file_signer(path: Path) -> Ed25519Signer:
    return Ed25519Signer.load_or_create(path, LEDGER_ORIGIN.text() or DEFAULT_ORIGIN)
