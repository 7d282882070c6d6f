"""The reason-code registry: the contract's codes, in its order, each a record with its messages."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tinmatch.reasons import BY_CODE, INVALID_VALUE, MISSING_FIELD, REASONS, codes, reason
from tinmatch.report import REJECT_REASONS, UNMATCHED_REASONS

ROOT = Path(__file__).resolve().parents[2]

# ../shared/CONTRACT.md section 3, verbatim: these codes and this order are the external contract.
CONTRACT_REJECTED = (
    "missing_field", "invalid_value", "statute_not_authorized", "tax_period_out_of_range",
    "duplicate_record_id", "volume_cap_exceeded",
)  # fmt: skip
CONTRACT_UNMATCHED = (
    "no_candidate", "low_confidence", "ambiguous", "no_return_in_period", "withheld_by_reviewer",
    "previously_recalled", "not_disclosed",
)  # fmt: skip


def test_the_contracts_codes_in_its_order() -> None:
    assert codes("rejected") == CONTRACT_REJECTED
    assert codes("unmatched") == CONTRACT_UNMATCHED
    assert len(BY_CODE) == len(REASONS)
    # what validation orders by, and what the summary sheet counts, come from the registry
    assert REJECT_REASONS == CONTRACT_REJECTED
    assert UNMATCHED_REASONS == CONTRACT_UNMATCHED[:4]  # matching's own, which the summary counts


def test_every_reason_is_explained() -> None:
    for r in REASONS:
        assert re.fullmatch(r"[a-z_]+", r.code)
        assert len(r.meaning) > 40 and len(r.remedy) > 20, r.code
    with pytest.raises(KeyError, match="unregistered reason code 'made_up'"):
        reason("made_up")


def test_templates_render() -> None:
    assert MISSING_FIELD.message(column="case_number") == "case_number is missing"
    early = INVALID_VALUE.message("too_early", column="removal_order_date", value="'1850'", year=1)
    assert early == "removal_order_date '1850' is before 1"
    assert all(r.messages for r in REASONS), "every code is written from a template"
    assert BY_CODE["ambiguous"].message("equally", needed=2**10) == (
        "two taxpayers fit this row about equally well (the agreement needs 1,024 times); "
        "nothing is disclosed"
    )
    for r in REASONS:
        for variant, template in r.messages.items():
            # a field with a format spec ({probability:.4f}) is a number, any other one text
            fields = dict(re.findall(r"{(\w+)(:?)", template))
            values = {f: 0.5 if spec else f"<{f}>" for f, spec in fields.items()}
            text = r.message(variant, **values)
            assert "{" not in text and "\n" not in text


def test_validation_writes_the_registered_messages() -> None:
    """A rejected row's message is the registry's template, filled in (byte for byte)."""
    from tinmatch.agreement import REQUEST_COLUMNS, Agreement
    from tinmatch.pipeline.read import ROW
    from tinmatch.pipeline.validate import ValidationContext, validate

    row = {c: None for c in REQUEST_COLUMNS}
    row.update(record_id="R1", last_name="Doe", first_name="Jane", street="NONE", city="Dayton",
               state="ZZ", zip="4540", criminal_statute="8 U.S.C. 1326",
               removal_order_date="2020-01-01", tax_periods="2024")  # fmt: skip
    chunk = pd.DataFrame([{**row, ROW: 2}])
    ctx = ValidationContext(allowed_years=(2019, 2025), today=pd.Timestamp("2026-09-01").date())
    _, rejected = validate(chunk, Agreement.load(), ctx)
    message = rejected.loc[0, "message"]
    assert "case_number is missing" in message
    assert INVALID_VALUE.message("street", value="'NONE'") in message
    assert INVALID_VALUE.message("state", value="'ZZ'") in message
    assert INVALID_VALUE.message("zip", value="'4540'") in message
    assert set(rejected.loc[0, "reason_codes"].split(";")) <= set(CONTRACT_REJECTED)
