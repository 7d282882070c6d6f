"""Delete the result files of decided requests after a retention period; the ledger stays."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tinmatch.ops.periods import parse_duration
from tinmatch.ops.store import Store


@dataclass(frozen=True)
class PurgeResult:
    request_id: str
    path: str
    files_removed: int
    bytes_removed: int
    skipped: str | None = None  # why the folder was left alone


def purge(
    store: Store, older_than: str, now: datetime, *, dry_run: bool = False
) -> list[PurgeResult]:
    """Remove the result folders of requests released or denied more than `older_than` ago.

    Each purge is logged in the database (even when the folder is already gone). A folder that
    is the current directory, a filesystem root or the home directory is never removed.
    """
    age = parse_duration(older_than)
    results: list[PurgeResult] = []
    for record in store.purgeable(age, now):
        path = Path(record.out_dir).expanduser()
        unsafe = _unsafe(path)
        if unsafe:
            results.append(PurgeResult(record.id, str(path), 0, 0, skipped=unsafe))
            continue
        files, size = _measure(path)
        if not dry_run:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            store.log_purge(
                record.id,
                path=str(path),
                files_removed=files,
                bytes_removed=size,
                older_than=older_than,
                now=now,
            )
        results.append(PurgeResult(record.id, str(path), files, size))
    return results


def _unsafe(path: Path) -> str | None:
    resolved = path.resolve()
    if resolved == Path.cwd().resolve():
        return "it is the current directory"
    if resolved == Path.home().resolve() or resolved.parent == resolved:
        return "it is the home directory or a filesystem root"
    return None


def _measure(path: Path) -> tuple[int, int]:
    if path.is_file():
        return 1, path.stat().st_size
    if not path.is_dir():
        return 0, 0
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)
