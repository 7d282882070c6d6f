"""Settings of the web service: a table of name, default and meaning; secrets from the
environment only."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from tinmatch.settings import SESSION_SECRET

SECRET_ENV = SESSION_SECRET.name


@dataclass
class Settings:
    master_db: Path
    """The master DuckDB file (`tinmatch load-master --db`)."""
    state_db: str | None = None
    """The operational database URL (default: $TINMATCH_DATABASE_URL or tinmatch.sqlite)."""
    agreement_path: Path | None = None
    """The agreement TOML (default: the packaged one)."""
    work_dir: Path = Path("tinmatch-web")
    """Uploads and results are kept under this folder."""
    workers: int = 2
    """Requests processed at the same time."""
    max_queue: int = 20
    """Requests queued or running at once; beyond it a submission gets 503."""
    max_upload_bytes: int = 20 * 1024 * 1024
    """Largest request file accepted (413 beyond)."""
    rate_per_minute: int = 120
    """API calls per key per minute (429 beyond)."""
    sync_max_rows: int = 100
    """`?wait=true` is honoured for requests of at most this many rows."""
    wait_seconds: float = 30.0
    """How long `?wait=true` waits before answering 202 anyway."""
    session_hours: float = 8.0
    """A reviewer's login lasts this long."""
    secure_cookies: bool = False
    """Mark the reviewer cookie Secure (behind HTTPS)."""
    session_secret: str = field(default_factory=lambda: SESSION_SECRET.text() or "")
    """Signs reviewer sessions; from $TINMATCH_SESSION_SECRET, else random per start."""

    def __post_init__(self) -> None:
        self.master_db = Path(self.master_db)
        self.work_dir = Path(self.work_dir)
        if not self.session_secret:
            self.session_secret = secrets.token_urlsafe(32)

    @property
    def uploads(self) -> Path:
        return self.work_dir / "uploads"

    @property
    def results(self) -> Path:
        return self.work_dir / "results"
