"""Value types that the pipeline hands to the operational store: the per-row decision log and the
disclosures held for review.

They live in the core so that ``pipeline`` (which makes them) and ``ops`` (which records them)
both import them from below; ``tinmatch.ops`` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PendingDisclosure:
    """A row the pipeline would disclose once the request is released."""

    record_id: str
    tin: str
    fields: dict[str, str | int | None]
    tax_year: int | None
    match_probability: float | None
    statute: str
    case_number: str
    asked: dict[str, str | None] = field(default_factory=dict)
    """What the requester asked for the row (names, address given, removal-order date)."""


@dataclass(frozen=True)
class Decision:
    """The private per-row decision log (TINs stay inside the tax agency)."""

    record_id: str
    outcome: str
    reason: str | None = None
    tin: str | None = None
    probability: float | None = None
    message: str | None = None
    fields: str | None = None
    """For a rejected row: the fields at fault (`;`-separated), as rejected.csv gives them."""
