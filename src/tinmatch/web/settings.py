"""Settings of the web service: a table of name, default and meaning; secrets from the
environment only."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from tinmatch.errors import ConfigError
from tinmatch.settings import SESSION_SECRET, TRUSTED_PROXIES

SECRET_ENV = SESSION_SECRET.name
PROXIES_ENV = TRUSTED_PROXIES.name


def _proxies_from_env() -> tuple[str, ...]:
    return TRUSTED_PROXIES.items()


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
    warm_workers: bool = True
    """Warm every worker at start (engine open, SQL compiled) before answering anything."""
    session_hours: float = 8.0
    """A reviewer's login lasts this long."""
    secure_cookies: bool = False
    """Mark the reviewer cookie Secure (behind HTTPS)."""
    session_secret: str = field(default_factory=lambda: SESSION_SECRET.text() or "")
    """Signs reviewer sessions; from $TINMATCH_SESSION_SECRET, else random per start."""
    trusted_proxies: tuple[str, ...] = field(default_factory=_proxies_from_env)
    """Addresses or networks (CIDR) of the reverse proxies in front of the service, from
    $TINMATCH_TRUSTED_PROXIES (comma-separated). X-Forwarded-For is believed only from them;
    empty: never (the peer address is the client)."""
    login_attempts_per_minute: int = 10
    """Login attempts per client address per minute (429 beyond), shared by all processes."""
    lockout_after: int = 5
    """Wrong passwords in a row that lock a reviewer account."""
    lockout_minutes: float = 15.0
    """How long a locked account stays locked (even the right password is refused)."""

    def __post_init__(self) -> None:
        self.master_db = Path(self.master_db)
        self.work_dir = Path(self.work_dir)
        if not self.session_secret:
            self.session_secret = secrets.token_urlsafe(32)
        try:
            self.trusted_networks: tuple[IPv4Network | IPv6Network, ...] = tuple(
                ip_network(p, strict=False) for p in self.trusted_proxies
            )
        except ValueError as exc:
            raise ConfigError(f"{PROXIES_ENV}: {exc}") from None

    @property
    def uploads(self) -> Path:
        return self.work_dir / "uploads"

    @property
    def results(self) -> Path:
        return self.work_dir / "results"

    @property
    def serving(self) -> Path:
        """What the service derives from the master to answer faster (``engines.by_tin``)."""
        return self.work_dir / "serving"
