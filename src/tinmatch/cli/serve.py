"""`tinmatch serve`: the HTTP API for requesting agencies and the pages for reviewers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.options import DbOption
from tinmatch.cli.state import StateDbOption
from tinmatch.errors import ConfigError


@app.command("serve")
@one_line_errors
def serve(
    db: DbOption,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8080,
    agreement_path: Annotated[
        Path | None,
        typer.Option("--agreement", help="Agreement TOML (default: the packaged one)."),
    ] = None,
    work_dir: Annotated[
        Path, typer.Option("--work-dir", help="Uploads and results are kept here.")
    ] = Path("tinmatch-web"),
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Requests processed at once.")
    ] = 2,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", min=0.001, help="Largest request file accepted.")
    ] = 20.0,
    rate_per_minute: Annotated[
        int, typer.Option("--rate-per-minute", min=1, help="API calls per key per minute.")
    ] = 120,
    state_db: StateDbOption = None,
) -> None:
    """Serve the API (`/v1/...`, docs at /docs, OpenAPI at /openapi.json) and the review pages
    (`/review`). Logs are JSON lines on stderr. The agreement must be registered
    (`tinmatch agreement register`). Reviewer sessions, lockouts and rate limits are kept in the
    operational database, shared by every `serve` process on it; give each the same
    $TINMATCH_SESSION_SECRET (it signs the forms). Behind a reverse proxy, list it in
    $TINMATCH_TRUSTED_PROXIES (X-Forwarded-For is believed from nobody else).

    Example:

        tinmatch agencies add "Example Agency"

        tinmatch keys create --agency "Example Agency"

        tinmatch reviewers add "A. Reviewer"

        tinmatch serve --db master.duckdb --host 127.0.0.1 --port 8080
    """
    try:
        import uvicorn

        from tinmatch.web import logging as web_logging
        from tinmatch.web.app import create_app
        from tinmatch.web.settings import Settings
    except ImportError as exc:
        raise ConfigError(
            f"the web service needs the 'web' extra (pip install 'tinmatch[web]'): {exc}"
        ) from None
    if not db.is_file():
        raise ConfigError(f"no master at {db}: run `tinmatch load-master` first")
    web_logging.configure()
    settings = Settings(
        master_db=db,
        state_db=state_db,
        agreement_path=agreement_path,
        work_dir=work_dir,
        workers=workers,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        rate_per_minute=rate_per_minute,
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
