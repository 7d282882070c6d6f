"""Test helpers: register requesters and agreements the way an operator would, in one call.

Every request needs a registered agency and official, and every agreement but the packaged
default a registration (two approvers when it loosens anything); tests use these helpers
rather than repeating the steps. Importable from any test (tests/ is on sys.path).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tinmatch.agreement import Agreement
from tinmatch.errors import ConflictError
from tinmatch.ops import Store
from tinmatch.ops.registry import Registry
from tinmatch.synth import SYNTH_AGENCY, SYNTH_OFFICIAL
from tinmatch.web.accounts import Accounts

APPROVERS = ("Ada Approver", "Bo Approver")
APPROVER_PASSWORD = "approver passphrase 2026"


def _store(where: Store | str) -> tuple[Store, bool]:
    if isinstance(where, Store):
        return where, False
    url = where if "://" in where else f"sqlite:///{where}"
    return Store.open(url, create=True), True


def enroll(where: Store | str, agency: str, *officials: str) -> None:
    """Register `agency` and its `officials` (each may exist already)."""
    store, opened = _store(where)
    try:
        registry, now = Registry(store), datetime.now(UTC)
        try:
            registry.add_agency(agency, now)
        except ConflictError:
            pass
        for official in officials:
            try:
                registry.add_official(official, agency, now)
            except ConflictError:
                pass
    finally:
        if opened:
            store.close()


def approvers(store: Store) -> tuple[str, str]:
    """Two reviewer accounts that can approve agreements (created once per database)."""
    accounts = Accounts(store.engine)
    for name in APPROVERS:
        if accounts.check_reviewer(name, APPROVER_PASSWORD) is None:
            accounts.add_reviewer(name, APPROVER_PASSWORD)
    return APPROVERS


def register_agreement(where: Store | str, path: Path) -> Agreement:
    """Register the agreement at `path`, with a second approval when it loosens anything."""
    store, opened = _store(where)
    try:
        agreement = Agreement.load(path)
        registry, now = Registry(store), datetime.now(UTC)
        first, second = approvers(store)
        try:
            done = registry.register(agreement, agreement.raw_bytes, approver=first, now=now)
            if done.status != "active":
                registry.register(agreement, agreement.raw_bytes, approver=second, now=now)
        except ConflictError:
            pass  # registered already
        return agreement
    finally:
        if opened:
            store.close()


def enroll_synth(where: Store | str) -> None:
    """Register the requester named in the cover letter `tinmatch synth` writes."""
    enroll(where, SYNTH_AGENCY, SYNTH_OFFICIAL)
