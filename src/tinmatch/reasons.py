"""Every reason code a result row can carry, as records: code, file, who writes it, what it means,
what the requester can do, and the messages that go with it.

The codes and their order are the external contract's (§3): a rejected row lists *every* code that
applies in this order. ``docs/operations.md``'s reason-code tables are generated from this table
(``python tools/ref_docs.py``; ``make lint`` fails when they are stale), so the requester's guide
and the code cannot drift apart.

A message template is a ``str.format`` string; a code may have several (named by variant). Use
:meth:`Reason.message` rather than writing the text where the code is emitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

File = Literal["rejected", "unmatched"]
Source = Literal["validation", "matching", "review", "agreement"]
"""Who writes the code: request validation (before any lookup), matching and disclosure, a
reviewer's decision or the ledger's recalls, or the agreement's rule that keeps reasons back."""


@dataclass(frozen=True)
class Reason:
    code: str
    file: File
    source: Source
    meaning: str
    """What it means (Markdown; shown to requesters in docs/operations.md)."""
    remedy: str
    """What the requester can do about it (Markdown)."""
    messages: Mapping[str, str] = field(default_factory=dict)
    """Message templates by variant; the first is the default."""

    def message(self, variant: str | None = None, /, **values: object) -> str:
        """The message `variant` (default: the first) with `values` filled in."""
        if not self.messages:
            raise KeyError(f"reason {self.code} has no message template")
        template = self.messages[variant] if variant else next(iter(self.messages.values()))
        return template.format(**values)


REASONS: tuple[Reason, ...] = (
    Reason(
        "missing_field",
        "rejected",
        "validation",
        "A column the agreement requires is blank in this row (`fields` names it; message "
        "`case_number is missing`).",
        "Fill in the field and send the row again.",
        {"missing": "{column} is missing"},
    ),
    Reason(
        "invalid_value",
        "rejected",
        "validation",
        "A value is not acceptable: a street that is a placeholder (`NA`, `N/A`, `NONE`, `-`, "
        "`UNKNOWN`, `Failed to Provide`, no street name, digits only); a state that is not a "
        "2-letter code; a ZIP that is not 5 or 9 digits; a date of birth or removal order date "
        "that is not a date (`YYYY-MM-DD` or `MM/DD/YYYY`), in the future, or before 1900; "
        "`tax_periods` not a year, range or list; a cell longer than `max_cell_chars`; control "
        "characters; a formula with no saved result. The message quotes the value.",
        "Correct the value named in `fields` and `message` and send the row again. A placeholder "
        "address cannot be corrected by guessing: send the last real address known.",
        {
            "formula": "{column} is a formula with no saved result (open the file in Excel or "
            "LibreOffice and save it, or paste the values)",
            "too_long": "{column} is longer than {limit} characters",
            "control": "{column} contains control characters",
            "date_of_birth": "date_of_birth {value} is not a plausible date of birth "
            "(YYYY-MM-DD or MM/DD/YYYY)",
            "street": "street {value} is not an address",
            "state": "state {value} is not a 2-letter state code",
            "zip": "zip {value} is not 5 or 9 digits",
            "not_a_date": "{column} {value} is not a date (YYYY-MM-DD or MM/DD/YYYY)",
            "future": "{column} {value} is in the future",
            "too_early": "{column} {value} is before {year}",
            "tax_periods": "tax_periods {value} is not a year, range or list of years ({why})",
        },
    ),
    Reason(
        "statute_not_authorized",
        "rejected",
        "validation",
        "The row's `criminal_statute` is not one the agreement authorizes (spelling does not "
        "matter: citations are normalized).",
        "Nothing under this agreement: the agreement would have to authorize the statute.",
        {"unauthorized": "statute {value} is not authorized by agreement {agreement}"},
    ),
    Reason(
        "tax_period_out_of_range",
        "rejected",
        "validation",
        "A year in `tax_periods` lies outside the agreement's allowed years (default: the 6 most "
        "recent in the master). The message gives the allowed range.",
        "Ask only for allowed years.",
        {"outside": "tax_periods {value} reach outside the allowed years {first}-{last}"},
    ),
    Reason(
        "duplicate_record_id",
        "rejected",
        "validation",
        "The `record_id` occurs more than once in the file; every row with it is rejected.",
        "Give each row its own `record_id` and send them again.",
        {"duplicate": "record_id {value} occurs more than once in the file"},
    ),
    Reason(
        "volume_cap_exceeded",
        "rejected",
        "validation",
        "The row was valid, but the request (or the agency's rolling period) was over the "
        "agreement's volume cap; it was not looked up.",
        "Send the rows again in a later request, when the period allows "
        "([agreement.md](agreement.md#caps-and-how-they-are-enforced)).",
        {"over_cap": "the request is over the agreement's volume cap; this row was not looked up"},
    ),
    Reason(
        "no_candidate",
        "unmatched",
        "matching",
        "No taxpayer in the master plausibly fits the row.",
        "Check the name and address; add the date of birth, middle name or an earlier address if "
        "known. The person may simply not file.",
        {"none": "no taxpayer in the master plausibly fits this row"},
    ),
    Reason(
        "low_confidence",
        "unmatched",
        "matching",
        "The best candidate is below the agreement's minimum probability, or the evidence is "
        "one-sided: only the name agrees (neither an address on the candidate's returns nor the "
        "date of birth corroborates it), or the first name disagrees with the candidate's "
        "(another member of the household may share the surname and address). The message says "
        "which.",
        "Add what would corroborate the match: date of birth, middle name, another known address.",
        {
            "below_minimum": "best candidate's match probability {probability:.4f} is below the "
            "agreement's minimum {minimum}",
            "conflict": "the best candidate's {what} conflicts with the request",
            "first_name": "the first name does not agree with the best candidate's (another "
            "member of the household may share the surname and address)",
            "name_only": "only the name agrees: neither an address on the candidate's returns nor "
            "the date of birth corroborates it",
            "address": "the request's address is {where}, and name and date of birth alone are "
            "not rare enough: {probability:.4f} once the person may not be in the master at all "
            "(needs {needed})",
            "typo": "the first name agrees only through a typo and no address of the candidate's "
            "corroborates it",
            "one_name": "the request's first and last names are one name: it agrees with only one "
            "of the candidate's names",
        },
    ),
    Reason(
        "ambiguous",
        "unmatched",
        "matching",
        "More than one taxpayer fits and the best is not enough likelier than the next (the "
        "agreement needs 1,024 times by default); nothing is disclosed.",
        "Add what tells the people apart: date of birth, middle name, suffix (Jr, Sr).",
        {
            "equally": "two taxpayers fit this row about equally well (the agreement needs "
            "{needed:,.0f} times); nothing is disclosed",
            "likelier": "the best candidate is only {times:,.0f} times likelier than the next (the "
            "agreement needs {needed:,.0f} times); nothing is disclosed",
            "runner_up_names": "the runner-up fits the names better; the best candidate leads only "
            "on what the runner-up's record lacks (such as a date of birth); nothing is disclosed",
            "household": "another taxpayer at this address fits the row as well; the best "
            "candidate leads only on how our records write them (surname form, a date of birth "
            "one record lacks); nothing is disclosed",
            "first_name_typo": "another taxpayer at this address fits the row as well; the best "
            "candidate leads only on a first name that agrees with the request's through a typo; "
            "nothing is disclosed",
        },
    ),
    Reason(
        "no_return_in_period",
        "unmatched",
        "matching",
        "The person was identified, but appears (as filer or spouse) on no return for the "
        "requested years; the message lists them.",
        "Ask for other allowed years, if the investigation justifies it.",
        {"no_return": "the person was identified but appears on no return for {years}"},
    ),
    Reason(
        "withheld_by_reviewer",
        "unmatched",
        "review",
        "A reviewer of the tax agency withheld the row, or denied the whole request; nothing is "
        "disclosed for it. The reviewer's reason stays with the tax agency.",
        "Nothing under this request. A row may be sent again in a new request with what would "
        "settle the doubt (date of birth, middle name, another known address).",
        {"withheld": "nothing is disclosed for this row"},
    ),
    Reason(
        "previously_recalled",
        "unmatched",
        "review",
        "This taxpayer's address was disclosed to this agency before and then recalled as wrong; "
        "it is not disclosed again.",
        "Nothing by this route: the earlier recall stands.",
        {"recalled": "an earlier disclosure about this person was recalled; nothing is disclosed"},
    ),
    Reason(
        "not_disclosed",
        "unmatched",
        "agreement",
        "Alone, in place of every other unmatched reason, where the agreement keeps the reasons "
        "from the requester: the row is valid and nothing is disclosed for it. The reasons stay in "
        "the reviewers' and oversight's views.",
        "Add what identifies the person better (date of birth, middle name, another known "
        "address) and send the row again.",
        {"hidden": "nothing is disclosed for this row"},
    ),
)

BY_CODE: dict[str, Reason] = {r.code: r for r in REASONS}
"""Each reason by its code."""


def codes(file: File, *sources: Source) -> tuple[str, ...]:
    """The codes of one result file (optionally only those from `sources`), in contract order."""
    return tuple(r.code for r in REASONS if r.file == file and (not sources or r.source in sources))


def reason(code: str) -> Reason:
    """The registered reason with this code (KeyError names the code when there is none)."""
    try:
        return BY_CODE[code]
    except KeyError:
        raise KeyError(f"unregistered reason code {code!r} (see tinmatch.reasons)") from None


MISSING_FIELD = BY_CODE["missing_field"]
INVALID_VALUE = BY_CODE["invalid_value"]
STATUTE_NOT_AUTHORIZED = BY_CODE["statute_not_authorized"]
TAX_PERIOD_OUT_OF_RANGE = BY_CODE["tax_period_out_of_range"]
DUPLICATE_RECORD_ID = BY_CODE["duplicate_record_id"]
VOLUME_CAP_EXCEEDED = BY_CODE["volume_cap_exceeded"]
NO_CANDIDATE = BY_CODE["no_candidate"]
LOW_CONFIDENCE = BY_CODE["low_confidence"]
AMBIGUOUS = BY_CODE["ambiguous"]
NO_RETURN_IN_PERIOD = BY_CODE["no_return_in_period"]
WITHHELD_BY_REVIEWER = BY_CODE["withheld_by_reviewer"]
PREVIOUSLY_RECALLED = BY_CODE["previously_recalled"]
NOT_DISCLOSED = BY_CODE["not_disclosed"]
