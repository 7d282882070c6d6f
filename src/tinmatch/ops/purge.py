"""Delete the result files of decided requests after a retention period; the ledger stays.

Only files tinmatch wrote are removed: each request's manifest in the operational store lists
them with the SHA-256 they had when written, and a file is removed only while it still has that
hash. A file tinmatch did not write, or one changed since, is left where it is, and so is the
folder holding it. The operational database itself is never removed, whatever a manifest says.
"""

from __future__ import annotations

import hashlib
import os
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
    skipped: str | None = None  # why nothing was removed
    left: tuple[str, ...] = ()  # files left in place: not written by tinmatch, or changed


def purge(
    store: Store, older_than: str, now: datetime, *, dry_run: bool = False
) -> list[PurgeResult]:
    """Remove the files tinmatch wrote for requests released or denied more than `older_than`
    ago; the request's folder too when nothing else is left in it. Each purge is logged."""
    age = parse_duration(older_than)
    protected = {os.path.realpath(p) for p in store.database_files()}
    results: list[PurgeResult] = []
    for record in store.purgeable(age, now):
        folder = Path(record.out_dir).expanduser()
        removed, size, left = [], 0, []
        for entry in store.result_files(record.id):
            path = Path(entry.path)
            if os.path.realpath(path) in protected:
                left.append(f"{path} (the operational database)")
                continue
            if not path.is_file():
                removed.append(entry.path)  # already gone: forget it
                continue
            if path.is_symlink() or _sha256(path) != entry.sha256:
                left.append(f"{path} (changed since tinmatch wrote it)")
                continue
            size += path.stat().st_size
            if not dry_run:
                path.unlink()
            removed.append(entry.path)
        if not dry_run:
            store.forget_files(record.id, removed)
            for parent in sorted({Path(p).parent for p in removed}, key=lambda p: -len(p.parts)):
                _remove_if_empty(parent)
            store.log_purge(
                record.id,
                path=str(folder),
                files_removed=len(removed),
                bytes_removed=size,
                older_than=older_than,
                now=now,
            )
        results.append(PurgeResult(record.id, str(folder), len(removed), size, left=tuple(left)))
    return results


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only an empty folder: anything not ours keeps it
    except OSError:
        pass
