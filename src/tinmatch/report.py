"""Row-level problems as records, never exceptions.

A rejected row carries one or more reason codes; the codes and their order are fixed by the
external contract (§3) and shared by the validator, the writer and the docs.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Reasons a row is rejected before anything is looked up, in contract order.
REJECT_REASONS: tuple[str, ...] = (
    "missing_field",
    "invalid_value",
    "statute_not_authorized",
    "tax_period_out_of_range",
    "duplicate_record_id",
    "volume_cap_exceeded",
)

#: Reasons a valid row ends without a disclosure, in contract order.
UNMATCHED_REASONS: tuple[str, ...] = (
    "no_candidate",
    "low_confidence",
    "ambiguous",
    "no_return_in_period",
)


@dataclass(frozen=True)
class Issue:
    """One problem with one cell (or row) of the request."""

    code: str
    row: int | None
    field: str | None
    message: str
