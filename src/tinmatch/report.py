"""Row-level problems as records, never exceptions.

A rejected row carries one or more reason codes; the codes, their order and their meaning are
records in :mod:`tinmatch.reasons` (the contract's §3), shared by the validator, the writer and the
generated docs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tinmatch.reasons import NOT_DISCLOSED as _NOT_DISCLOSED
from tinmatch.reasons import codes

#: Reasons a row is rejected before anything is looked up, in contract order.
REJECT_REASONS: tuple[str, ...] = codes("rejected")

#: Reasons matching gives a valid row without a disclosure, in contract order (the summary
#: sheet counts each; a reviewer's and the agreement's codes are counted where they are given).
UNMATCHED_REASONS: tuple[str, ...] = codes("unmatched", "matching")


#: What the requester's copy says for every valid row with no address, unless the agreement lets
#: the requester see why (``[disclosure] unmatched_reasons = true``). Whether a person filed, was
#: identified, or has a namesake is itself return information: the detailed codes stay in the
#: store, the reviewers' ``reasons.csv`` and oversight's views.
NOT_DISCLOSED = _NOT_DISCLOSED.code
NOT_DISCLOSED_MESSAGE = _NOT_DISCLOSED.message()
#: Key of a request's counts that records the agreement's choice (1: the reasons are shown).
REASONS_SHOWN_KEY = "unmatched_reasons_shown"
#: The reviewers' file beside the results: every unmatched row with its detailed reason
#: (``record_id, reason_code, message``). Never sent to the requester; ``evaluate`` reads it.
REASONS_FILE = "reasons.csv"


def for_requester(code: str, message: str, *, reasons_shown: bool) -> tuple[str, str]:
    """An unmatched row's code and message as the requester receives them."""
    if reasons_shown:
        return code, message
    return NOT_DISCLOSED, NOT_DISCLOSED_MESSAGE


def requester_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """A request's counts as the requester may see them: without the agreement's choice key, and,
    unless the reasons are shown, every unmatched reason folded into ``reason.not_disclosed``
    (rejection reasons are the requester's own rows' faults and stay)."""
    shown = counts.get(REASONS_SHOWN_KEY, 0) == 1
    out: dict[str, int] = {}
    folded = 0
    for key, value in counts.items():
        if key == REASONS_SHOWN_KEY:
            continue
        code = key.removeprefix("reason.")
        if not shown and key.startswith("reason.") and code not in REJECT_REASONS:
            folded += int(value)
            continue
        out[key] = value
    if folded:
        out[f"reason.{NOT_DISCLOSED}"] = folded
    return out


@dataclass(frozen=True)
class Issue:
    """One problem with one cell (or row) of the request."""

    code: str
    row: int | None
    field: str | None
    message: str
