import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinmatch.neutralize import neutralize, neutralize_cell, neutralize_series


@pytest.mark.parametrize(
    "text",
    [
        "=1+2", "+1", "-5", "@SUM(A1)", "\tx", "\rx", " =HYPERLINK(\"http://x\")",
        "\u00a0=1", "\uff1dSUM(A1)", "cmd|' /C calc'!A0", "x =DDE|'a'!b",
    ],
)
def test_formula_like_text_gets_a_quote(text: str) -> None:
    assert neutralize(text) == "'" + text


@pytest.mark.parametrize(
    "text",
    # leading spaces or zero-width characters before harmless text are no formula either
    ["1 Main St", "O'Brien", "12 - 14 Main", "a|b", "", "2024", " 1 Main St", "\u200bApt 4",
     "\u00a0Reno"],
)
def test_plain_text_is_unchanged(text: str) -> None:
    assert neutralize(text) == text


def test_neutralize_is_idempotent() -> None:
    once = neutralize("=cmd|'x'!A0")
    assert neutralize(once) == once


def test_numbers_and_missing_are_not_text() -> None:
    assert neutralize_cell(-5) == -5
    assert neutralize_cell(None) is None
    assert neutralize_series(pd.Series(["=x", None, 3])).tolist() == ["'=x", None, 3]


@given(st.text())
def test_neutralized_text_never_starts_a_formula(text: str) -> None:
    safe = neutralize(text)
    assert neutralize(safe) == safe
    assert safe in (text, "'" + text)
    assert safe.lstrip(" \n\u00a0\u3000")[:1] not in set("=+-@\t\r")
