"""Test helper: reviewer accounts, as `tinmatch reviewers add` makes them (tests/ is on sys.path).

Only a registered reviewer (never the request's official) can approve or deny a request, so every
test that releases something first registers the names it reviews with."""

from __future__ import annotations

from tinmatch.errors import ConfigError
from tinmatch.ops import Store
from tinmatch.web.accounts import Accounts

REVIEWER_PASSWORD = "reviewer passphrase 2026"
NAMES = ("R", "Ann", "Reviewer R", "Rita Reviewer", "Sam Second")


def add_reviewers(store: Store, *names: str) -> tuple[str, ...]:
    """Register `names` (default: NAMES) with REVIEWER_PASSWORD; existing ones are kept."""
    accounts = Accounts(store.engine)
    chosen = names or NAMES
    for name in chosen:
        try:
            accounts.add_reviewer(name, REVIEWER_PASSWORD)
        except ConfigError:  # exists already
            pass
    return chosen
