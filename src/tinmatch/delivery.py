"""Delivery: what exists on disk for a request, and when.

Release is the only door. Before a reviewer decides, a request's folder holds ``status.json``,
``held.csv`` (record ids only), ``rejected.csv``, ``unmatched.csv``, ``result.xlsx`` without
addresses and the reviewers' ``explain.csv``: the addresses are in the operational store only.
At release (or denial) the requester's files are *rendered from the store* into the request's own
folder -- ``matched.csv`` replaces ``held.csv``; withheld rows end in ``unmatched.csv`` as
``withheld_by_reviewer``; ``recalls.csv`` lists recalled rows, which no ``matched.csv`` holds --
and again after every recall, or into a new folder with ``tinmatch results``.

Each request has a folder of its own: a folder is taken only when it is new, empty, or this same
request's (its ``status.json`` names it: a run interrupted half way). Every file written is
recorded in the store's manifest with its SHA-256, which is all ``purge`` ever removes. Files are
created readable by their owner only (0600).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tinmatch.agreement import DISCLOSABLE_FIELDS
from tinmatch.errors import ConfigError, ConflictError
from tinmatch.ledger import LedgerEntry
from tinmatch.ops import RequestRecord, Store
from tinmatch.ops.records import Delivery, ResultFile, ReviewOutcome
from tinmatch.pipeline.publish import STAGING_PREFIX
from tinmatch.pipeline.write import (
    REASONS_NOT_SHOWN,
    REASONS_SHOWN,
    REQUEST_COLUMNS_TABLE,
    UNMATCHED_REASONS_KEY,
    ResultWriter,
)
from tinmatch.report import REASONS_FILE, REASONS_SHOWN_KEY, for_requester, requester_counts

STATUS_FILE = "status.json"
HELD_FILE = "held.csv"
RECALLS_FILE = "recalls.csv"
RECALL_COLUMNS = ("record_id", "recalled_at", "why")
#: What ``process`` writes before review (explain.csv is the reviewers' file).
HELD_FILES = (STATUS_FILE, HELD_FILE, "rejected.csv", "unmatched.csv", "result.xlsx",
              "explain.csv", REASONS_FILE, f"{REQUEST_COLUMNS_TABLE}.csv")  # fmt: skip
#: What the requester receives once a request is decided.
DELIVERED_FILES = ("matched.csv", "rejected.csv", "unmatched.csv", "result.xlsx", RECALLS_FILE,
                   STATUS_FILE)  # fmt: skip
#: Summary keys of the workbook that say which request, under what, from which input.
IDENTITY = ("request_id", "request_key", "agreement_id", "agreement_sha256", "model_sha256",
            "input_sha256")  # fmt: skip


# -- the folder -------------------------------------------------------------------------------


def claim_folder(out_dir: Path, request_id: str) -> None:
    """Refuse (exit 2) a folder that is not new, not empty and not this request's own."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file, not a folder; nothing written")
    entries = [e for e in out_dir.iterdir() if not e.name.startswith(STAGING_PREFIX)]
    if not entries:
        return
    status = read_status(out_dir)
    if status is not None and status.get("request_id") == request_id:
        return
    owner = f" (it holds request {status['request_id']})" if status else ""
    raise ConfigError(
        f"--out {out_dir} is not empty and not the folder of request {request_id}{owner}: "
        "each request needs a new or empty folder of its own; nothing written"
    )


def read_status(out_dir: Path) -> dict[str, Any] | None:
    try:
        body = json.loads((out_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) and isinstance(body.get("request_id"), str) else None


def status_body(record: RequestRecord) -> dict[str, Any]:
    """status.json: the request id, its status and the counts (contract section 3)."""
    counts = {k: int(v) for k, v in requester_counts(record.counts).items()}
    if record.status in ("released", "denied"):
        counts.pop("held", None)
    return {
        "request_id": record.id,
        "status": record.status,
        "counts": counts,
        "reviewers_required": record.reviewers_required,
        "approvals": len(record.approvals),
        "recalled": len(record.recalled_record_ids),
    }


def write_status(out_dir: Path, record: RequestRecord) -> Path:
    """Write status.json atomically, 0600."""
    return _write_text(out_dir / STATUS_FILE, json.dumps(status_body(record), indent=2) + "\n")


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


# -- the manifest -----------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def note_written(store: Store, request_id: str, paths: Iterable[Path]) -> None:
    """Record in the manifest the files just written (absolute path, SHA-256, size)."""
    now = datetime.now(UTC)
    files = [
        ResultFile(str(p.resolve()), sha256_of(p), p.stat().st_size, now)
        for p in paths
        if p.is_file()
    ]
    store.record_files(request_id, files)


# -- rendering from the store -----------------------------------------------------------------


def render(store: Store, request_id: str, out_dir: Path | None = None) -> list[Path]:
    """Render a decided request's files from the store into `out_dir` (default: its folder).

    Writes matched.csv (released rows less recalled ones), rejected.csv, unmatched.csv
    (withheld rows as ``withheld_by_reviewer``), recalls.csv when anything was recalled,
    result.xlsx and status.json; removes the request's held.csv; records the manifest.
    """
    delivery = store.delivery(request_id)
    record = delivery.record
    if record.purged_at is not None:
        raise ConflictError(
            f"the result files of request {request_id} were purged on "
            f"{record.purged_at:%Y-%m-%d}: its addresses are no longer kept"
        )
    target = Path(out_dir if out_dir is not None else record.out_dir).resolve()
    if out_dir is not None and target != Path(record.out_dir).resolve():
        claim_folder(target, request_id)
    written = write_delivery(delivery, target)
    held = target / HELD_FILE
    ours = {f.path: f.sha256 for f in store.result_files(request_id)}
    if held.is_file() and ours.get(str(held)) == sha256_of(held):
        held.unlink()
        store.forget_files(request_id, [str(held)])
    note_written(store, request_id, written)
    return written


def write_delivery(delivery: Delivery, out_dir: Path) -> list[Path]:
    """Write the requester's files of `delivery` into `out_dir`; return their paths."""
    record = delivery.record
    fields = _fields(delivery)
    writer = ResultWriter(out_dir, fields)
    writer.echo_from(Path(record.out_dir) / f"{REQUEST_COLUMNS_TABLE}.csv")
    shown = _reasons_shown(record)
    try:
        writer.add_matched(_matched_frame(delivery, fields))
        rejected = [d for d in delivery.decisions if d.outcome == "rejected"]
        writer.add_rejected(
            pd.DataFrame(
                {
                    "record_id": [d.record_id for d in rejected],
                    "reason_codes": [d.reason or "" for d in rejected],
                    "fields": [d.fields or "" for d in rejected],
                    "message": [d.message or "" for d in rejected],
                },
                dtype=object,
            )
        )
        unmatched = [d for d in delivery.decisions if d.outcome == "unmatched"]
        told = [
            for_requester(d.reason or "", d.message or "", reasons_shown=shown) for d in unmatched
        ]
        writer.add_unmatched(
            pd.DataFrame(
                {
                    "record_id": [d.record_id for d in unmatched],
                    "reason_code": [code for code, _ in told],
                    "message": [words for _, words in told],
                },
                dtype=object,
            )
        )
        if delivery.recalls:
            writer.add_extra(
                "recalls",
                RECALL_COLUMNS,
                pd.DataFrame(
                    {
                        "record_id": [r.record_id for r in delivery.recalls],
                        "recalled_at": [
                            r.recalled_at.isoformat(timespec="seconds") for r in delivery.recalls
                        ],
                        "why": [r.why for r in delivery.recalls],
                    },
                    dtype=object,
                ),
            )
        paths = writer.close(_summary(record, len(delivery.recalls)))
    except BaseException:
        writer.abort()
        raise
    written = [paths.matched, paths.rejected, paths.unmatched, paths.xlsx]
    if delivery.recalls:
        written.append(out_dir / RECALLS_FILE)
    written.append(write_status(out_dir, record))
    return written


def _fields(delivery: Delivery) -> list[str]:
    named: set[str] = set()
    for row in delivery.matched:
        named.update(row.fields)
    if not named:  # nothing disclosed: the header the default agreement gives
        return list(DISCLOSABLE_FIELDS)
    return [f for f in DISCLOSABLE_FIELDS if f in named]


def _matched_frame(delivery: Delivery, fields: list[str]) -> pd.DataFrame:
    columns: dict[str, list[Any]] = {"record_id": [r.record_id for r in delivery.matched]}
    for name in fields:
        columns[name] = [r.fields.get(name) for r in delivery.matched]
    columns["match_probability"] = [
        round(r.match_probability or 0.0, 6) for r in delivery.matched
    ]
    return pd.DataFrame(columns)


def _reasons_shown(record: RequestRecord) -> bool:
    """Whether the agreement the request was processed under lets the requester see why
    nothing is disclosed for a row (recorded with its counts; not unless it said so)."""
    return record.counts.get(REASONS_SHOWN_KEY, 0) == 1


def _summary(record: RequestRecord, recalled: int) -> dict[str, object]:
    summary: dict[str, object] = {
        "review_status": record.status,
        "request_id": record.id,
        "request_key": record.request_key,
        "agreement_id": record.agreement_id,
        "agreement_sha256": record.agreement_sha256,
        "model_sha256": record.model_sha256 or "",
        "input_sha256": record.input_sha256,
        "reviewed_by": record.reviewer or "",
        "reviewed_at": (
            record.decided_at.isoformat(timespec="seconds") if record.decided_at else ""
        ),
        "recalled_rows": recalled,
        UNMATCHED_REASONS_KEY: REASONS_SHOWN if _reasons_shown(record) else REASONS_NOT_SHOWN,
    }
    return summary


# -- the decisions that change what is delivered ----------------------------------------------


def approve(
    store: Store,
    request_id: str,
    *,
    reviewer: str,
    note: str,
    now: datetime,
    withhold: Mapping[str, str] | None = None,
) -> ReviewOutcome:
    """Record an authenticated reviewer's approval; at release, render the request's files."""
    outcome = store.approve(request_id, reviewer=reviewer, note=note, now=now, withhold=withhold)
    record = store.get_request(request_id)
    if outcome.status == "released":
        render(store, request_id)
    else:  # the first of two approvals: the folder says so, and the manifest keeps up
        note_written(store, request_id, [write_status(Path(record.out_dir), record)])
    return outcome


def deny(store: Store, request_id: str, *, reviewer: str, note: str, now: datetime) -> None:
    """Deny; every held row ends ``withheld_by_reviewer`` in the rendered files."""
    store.deny(request_id, reviewer=reviewer, note=note, now=now)
    render(store, request_id)


def rerender_after_recall(store: Store, entries: Iterable[LedgerEntry]) -> list[str]:
    """Render again the folders of the requests whose rows were recalled (not purged ones);
    return the folders written."""
    folders = []
    for request_id in dict.fromkeys(e.request_id for e in entries):
        record = store.get_request(request_id)
        if record.purged_at is not None:
            continue
        render(store, request_id)
        folders.append(record.out_dir)
    return folders
