"""What an agreement loosens relative to another: the changes that need a second approver.

Loosening is anything that lets more leave, to more people, for longer: a higher cap, a shorter
period or interval, a lower threshold, another statute, more tax years, another disclosed field,
a column no longer required, a wider requesting agency, a longer or later term.
"""

from __future__ import annotations

from tinmatch.agreement import Agreement

_HIGHER_IS_LOOSER = (
    "max_rows_per_request",
    "max_rows_per_agency_per_period",
    "max_rows_per_official_per_period",
    "max_file_bytes",
    "max_cell_chars",
)
_LOWER_IS_LOOSER_MATCHING = ("min_match_probability", "ambiguity_margin_bits")


def loosenings(new: Agreement, old: Agreement) -> list[str]:
    """Each way `new` is looser than `old`, one short sentence each (empty: not looser)."""
    found: list[str] = []
    for key in _HIGHER_IS_LOOSER:
        a, b = getattr(old.limits, key), getattr(new.limits, key)
        if b > a:
            found.append(f"limits.{key} {a} -> {b} (higher)")
    if new.limits.period_days < old.limits.period_days:
        found.append(
            f"limits.period_days {old.limits.period_days} -> {new.limits.period_days} (shorter)"
        )
    old_gap, new_gap = old.limits.min_interval_seconds or 0, new.limits.min_interval_seconds or 0
    if new_gap < old_gap:
        found.append(f"limits.min_interval_seconds {old_gap} -> {new_gap} (shorter)")
    for key in _LOWER_IS_LOOSER_MATCHING:
        a, b = getattr(old.matching, key), getattr(new.matching, key)
        if b < a:
            found.append(f"matching.{key} {a} -> {b} (lower)")
    a, b = old.review.two_reviewers_above_rows, new.review.two_reviewers_above_rows
    if b > a:
        found.append(f"review.two_reviewers_above_rows {a} -> {b} (higher)")
    added = [s for s in new.request.authorized_statutes if s not in old.request.authorized_statutes]
    if added:
        found.append(f"request.authorized_statutes adds {', '.join(added)}")
    dropped = [c for c in old.request.required_columns if c not in new.request.required_columns]
    if dropped:
        found.append(f"request.required_columns no longer requires {', '.join(dropped)}")
    if new.disclosure.unmatched_reasons and not old.disclosure.unmatched_reasons:
        found.append("disclosure.unmatched_reasons false -> true (the requester learns why)")
    fields = [f for f in new.disclosed_fields if f not in old.disclosed_fields]
    if fields:
        found.append(f"disclosure.fields adds {', '.join(fields)}")
    if new.disclosure.unmatched_reasons and not old.disclosure.unmatched_reasons:
        found.append("disclosure.unmatched_reasons turned on")
    old_years, new_years = _years(old), _years(new)
    if new_years > old_years:
        found.append(f"tax_years: {old_years} -> {new_years} years (more)")
    elif old.tax_years.first is not None and new.tax_years.first is not None:
        assert old.tax_years.last is not None and new.tax_years.last is not None
        if new.tax_years.first < old.tax_years.first or new.tax_years.last > old.tax_years.last:
            found.append("tax_years: years outside the previous range")
    old_agency, new_agency = old.agreement.requesting_agency, new.agreement.requesting_agency
    if new_agency == "*" and old_agency != "*":
        found.append(f"agreement.requesting_agency {old_agency!r} -> any agency")
    old_term = (old.agreement.expires - old.agreement.effective).days
    new_term = (new.agreement.expires - new.agreement.effective).days
    if new_term > old_term:
        found.append(f"term {old_term} -> {new_term} days (longer)")
    if new.agreement.expires > old.agreement.expires:
        found.append(f"agreement.expires {old.agreement.expires} -> {new.agreement.expires}")
    return found


def _years(agreement: Agreement) -> int:
    ty = agreement.tax_years
    if ty.first is not None and ty.last is not None:
        return ty.last - ty.first + 1
    return ty.recent or 1
