"""`tinmatch synth`: files in the contract's format, truth consistent with the master."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from tinmatch.cli import app
from tinmatch.errors import ConfigError
from tinmatch.synth import generate, parse_years

PEOPLE, REQUESTS, SEED = 4000, 400, 11
TAXPAYER_COLUMNS = ["tin", "first_name", "middle_name", "last_name", "suffix", "date_of_birth"]
RETURN_COLUMNS = ["tin", "spouse_tin", "tax_year", "first_name", "middle_name", "last_name",
                  "suffix", "street", "address_line2", "city", "state", "zip", "filing_status",
                  "employer_name"]
REQUEST_COLUMNS = ["record_id", "first_name", "middle_name", "last_name", "suffix",
                   "date_of_birth", "street", "address_line2", "city", "state", "zip",
                   "removal_order_date", "criminal_statute", "case_number", "tax_periods"]
TRUTH_COLUMNS = ["record_id", "scenario", "true_tin", "expected_outcome", "expected_reason",
                 "expected_street", "expected_address_line2", "expected_city", "expected_state",
                 "expected_zip", "expected_tax_year"]
FILES = ["taxpayers.parquet", "taxpayers.csv", "returns.parquet", "returns.csv", "request.csv",
         "request.xlsx", "truth.csv", "cover.toml"]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "a"
    generate(path, PEOPLE, REQUESTS, seed=SEED, chunk_size=1500)
    return path


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def taxpayers(out: Path) -> pd.DataFrame:
    return _csv(out / "taxpayers.csv")


@pytest.fixture(scope="module")
def returns(out: Path) -> pd.DataFrame:
    return _csv(out / "returns.csv")


@pytest.fixture(scope="module")
def truth(out: Path) -> pd.DataFrame:
    return _csv(out / "truth.csv")


@pytest.fixture(scope="module")
def request_rows(out: Path) -> pd.DataFrame:
    return _csv(out / "request.csv")


def test_same_seed_gives_identical_files(out: Path, tmp_path: Path) -> None:
    again = tmp_path / "b"
    generate(again, PEOPLE, REQUESTS, seed=SEED, chunk_size=1500)
    for name in FILES:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_other_seed_gives_other_people(out: Path, tmp_path: Path) -> None:
    other = tmp_path / "c"
    generate(other, 200, 20, seed=SEED + 1, fmt="csv")
    first = _csv(other / "taxpayers.csv").head(20)
    mine = _csv(out / "taxpayers.csv").head(20)
    assert list(first.tin) != list(mine.tin)
    assert not (other / "taxpayers.parquet").exists()


def test_columns_are_exactly_the_contract(out: Path, taxpayers: pd.DataFrame,
                                          returns: pd.DataFrame, truth: pd.DataFrame,
                                          request_rows: pd.DataFrame) -> None:
    assert list(taxpayers.columns) == TAXPAYER_COLUMNS
    assert list(returns.columns) == RETURN_COLUMNS
    assert list(request_rows.columns) == REQUEST_COLUMNS
    assert list(truth.columns) == TRUTH_COLUMNS
    assert pd.read_parquet(out / "taxpayers.parquet").columns.tolist() == TAXPAYER_COLUMNS
    assert pd.read_parquet(out / "returns.parquet").columns.tolist() == RETURN_COLUMNS
    assert len(taxpayers) == PEOPLE


def test_parquet_and_csv_hold_the_same_rows(out: Path, returns: pd.DataFrame) -> None:
    pq = pd.read_parquet(out / "returns.parquet")
    assert str(pq.tax_year.dtype).startswith("int")
    as_text = pq.astype(object).where(pq.notna(), "").astype(str)
    assert as_text.values.tolist() == returns.values.tolist()


def test_tins_follow_ssn_and_itin_rules(taxpayers: pd.DataFrame,
                                        returns: pd.DataFrame) -> None:
    tins = taxpayers.tin
    assert tins.is_unique
    assert tins.str.fullmatch(r"\d{9}").all()
    itin = tins.str.startswith("9")
    assert 0 < itin.sum() < len(tins) * 0.2
    group = tins[itin].str[3:5].astype(int)
    assert group.isin([*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)]).all()
    ssn = tins[~itin]
    assert not ssn.str.startswith(("000", "666")).any()
    assert (ssn.str[3:5] != "00").all() and (ssn.str[5:] != "0000").all()
    known = set(tins)
    assert set(returns.tin) <= known
    assert set(returns.spouse_tin[returns.spouse_tin != ""]) <= known


def test_master_has_the_hard_cases(taxpayers: pd.DataFrame, returns: pd.DataFrame) -> None:
    # Spouses who appear only as spouse_tin on joint returns.
    only_spouse = set(returns.spouse_tin[returns.spouse_tin != ""]) - set(returns.tin)
    assert len(only_spouse) > 50
    assert (returns.filing_status[returns.spouse_tin != ""] == "joint").all()
    # Jr and Sr with the same first and last name; twins (same DOB and last name).
    jr = taxpayers[taxpayers.suffix == "JR"]
    named = taxpayers.groupby(["first_name", "last_name"]).tin.transform("size")
    assert (named[jr.index] >= 2).mean() > 0.9
    dob = taxpayers[taxpayers.date_of_birth != ""]
    twins = dob.groupby(["date_of_birth", "last_name"]).first_name.nunique()
    assert (twins >= 2).sum() > 10
    # Compound surnames, ITIN holders, DOB ~5% blank, dates as YYYY-MM-DD.
    assert taxpayers.last_name.str.contains(r"[ -]").sum() > 100
    blank = (taxpayers.date_of_birth == "").mean()
    assert 0.02 < blank < 0.09
    assert dob.date_of_birth.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    # Returns: employer names, years, names that differ from the identity record.
    assert (returns.employer_name != "").mean() > 0.7
    assert sorted(returns.tax_year.astype(int).unique()) == list(range(2019, 2026))
    merged = returns.merge(taxpayers, on="tin", suffixes=("", "_id"))
    assert (merged.last_name != merged.last_name_id).mean() > 0.02
    assert (merged.first_name != merged.first_name_id).mean() > 0.01
    assert returns.zip.str.fullmatch(r"\d{5}|\d{9}").all()
    assert returns.street.str.contains(r"\b(?:STREET|ST|St\.|Street)\b").any()


def test_every_request_row_has_one_truth_row(request_rows: pd.DataFrame,
                                             truth: pd.DataFrame) -> None:
    assert len(request_rows) == len(truth) == REQUESTS
    assert list(request_rows.record_id) == list(truth.record_id)
    assert set(truth.expected_outcome) == {"matched", "rejected", "unmatched"}
    families = Counter(s.split(":")[0] for s in truth.scenario)
    for family in ("matched", "rejected", "no_return", "ambiguous_namesake", "ambiguous_jr_sr",
                   "not_in_master", "not_in_master_namesake"):
        assert families[family] > 0, family
    assert 0.6 < families["matched"] / REQUESTS < 0.8


def _periods(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(x) for x in text.split(";")]


def test_expected_address_is_the_latest_return_in_the_periods(
        returns: pd.DataFrame, truth: pd.DataFrame, request_rows: pd.DataFrame) -> None:
    rows = truth.merge(request_rows[["record_id", "tax_periods"]], on="record_id")
    matched = rows[rows.expected_outcome == "matched"]
    assert len(matched) > 200
    cols = ["street", "address_line2", "city", "state", "zip", "tax_year"]
    for r in matched.itertuples():
        years = [str(y) for y in _periods(r.tax_periods)]
        mine = returns[((returns.tin == r.true_tin) | (returns.spouse_tin == r.true_tin))
                       & returns.tax_year.isin(years)]
        assert not mine.empty, r.record_id
        latest = mine.sort_values("tax_year").iloc[-1]
        expected = [r.expected_street, r.expected_address_line2, r.expected_city,
                    r.expected_state, r.expected_zip, r.expected_tax_year]
        assert [latest[c] for c in cols] == expected, r.record_id


def test_unmatched_rows_are_built_as_labelled(returns: pd.DataFrame, truth: pd.DataFrame,
                                              taxpayers: pd.DataFrame,
                                              request_rows: pd.DataFrame) -> None:
    rows = truth.merge(request_rows, on="record_id")
    appears = pd.concat([returns[["tin", "tax_year"]],
                         returns[returns.spouse_tin != ""][["spouse_tin", "tax_year"]]
                         .rename(columns={"spouse_tin": "tin"})])
    years_of = appears.groupby("tin").tax_year.agg(set)
    for r in rows[rows.scenario == "no_return"].itertuples():
        assert not years_of[r.true_tin] & {str(y) for y in _periods(r.tax_periods)}
    identity = taxpayers.set_index("tin")
    for r in rows[rows.expected_reason == "ambiguous"].itertuples():
        assert r.date_of_birth == "" and r.suffix == ""
        me = identity.loc[r.true_tin]
        same = taxpayers[(taxpayers.first_name == me.first_name)
                         & (taxpayers.last_name == me.last_name)]
        assert len(same) >= 2, r.record_id
    outside = rows[rows.scenario.str.startswith("not_in_master")]
    assert (outside.true_tin == "").all()
    namesakes = outside[outside.scenario == "not_in_master_namesake"]
    names = set(zip(taxpayers.first_name, taxpayers.last_name, strict=True))
    assert all((f.upper(), la.upper()) in names
               for f, la in zip(namesakes.first_name, namesakes.last_name, strict=True))


def test_rejected_rows_have_one_cause(truth: pd.DataFrame, request_rows: pd.DataFrame) -> None:
    rows = truth.merge(request_rows.drop_duplicates("record_id"), on="record_id")
    counts = request_rows.record_id.value_counts()
    dup = truth[truth.expected_reason == "duplicate_record_id"]
    assert len(dup) >= 2
    assert (counts[dup.record_id] >= 2).all()
    assert set(counts[counts > 1].index) == set(dup.record_id)
    rejected = rows[rows.expected_outcome == "rejected"]
    assert set(rejected.expected_reason) <= {
        "missing_field", "invalid_value", "statute_not_authorized", "tax_period_out_of_range",
        "duplicate_record_id"}
    assert {"missing_field", "invalid_value", "statute_not_authorized",
            "tax_period_out_of_range"} <= set(rejected.expected_reason)
    valid = rows[rows.expected_outcome != "rejected"]
    statute = valid.criminal_statute.str.lower().str.replace(r"[^0-9a-z()]", "", regex=True)
    assert statute.isin(["8usc1253(a)(1)", "8usc1326"]).all()
    years = valid.tax_periods.map(_periods)
    assert years.map(lambda ys: all(2020 <= y <= 2025 for y in ys)).all()
    assert valid.tax_periods.str.contains("-").any() and valid.tax_periods.str.contains(";").any()
    assert (valid.street.str.strip() != "").all()


def test_request_dates_and_ids(request_rows: pd.DataFrame) -> None:
    assert request_rows.record_id.str.fullmatch(r"R\d{6}").all()
    assert request_rows.case_number.str.fullmatch(r"ICE-2026-\d{6}|").all()
    removal = request_rows.removal_order_date
    iso = removal.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
    us = removal.str.fullmatch(r"\d{2}/\d{2}/\d{4}")
    assert iso.sum() > 50 and us.sum() > 50
    dob = request_rows.date_of_birth
    assert 0.3 < (dob == "").mean() < 0.6


def test_xlsx_has_real_dates(out: Path, request_rows: pd.DataFrame) -> None:
    wb = openpyxl.load_workbook(out / "request.xlsx", read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == REQUEST_COLUMNS
    assert len(rows) == REQUESTS + 1
    removal = [r[11] for r in rows[1:]]
    assert sum(isinstance(v, dt.datetime) for v in removal) > REQUESTS * 0.9
    first = rows[1]
    csv_first = request_rows.iloc[0]
    assert first[0] == csv_first.record_id and (first[3] or "") == csv_first.last_name


def test_cover_letter(out: Path) -> None:
    import tomllib

    cover = tomllib.loads((out / "cover.toml").read_text())
    assert set(cover) == {"agency", "official", "attestation"}
    assert all(isinstance(v, str) and v for v in cover.values())


def test_cli_runs_and_reports(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--people", "300", "--requests", "30",
                                      "--seed", "5", "--out", str(tmp_path / "x"),
                                      "--format", "parquet"])
    assert result.exit_code == 0, result.output
    assert "300 people" in result.output
    with (tmp_path / "x" / "truth.csv").open() as fh:
        assert sum(1 for _ in csv.reader(fh)) == 31
    bad = CliRunner().invoke(app, ["synth", "--people", "300", "--requests", "30",
                                   "--out", str(tmp_path / "y"), "--years", "nonsense"])
    assert bad.exit_code == 2
    assert re.search(r"error: --years", bad.output)


def test_parse_years() -> None:
    assert parse_years("2019-2025") == list(range(2019, 2026))
    with pytest.raises(ConfigError):
        parse_years("2025-2019")


def test_jr_sr_rows_keep_their_dob(truth: pd.DataFrame, request_rows: pd.DataFrame) -> None:
    rows = truth.merge(request_rows, on="record_id")
    jr = rows[rows.scenario.str.contains("jr_sr_with_dob")]
    assert len(jr) > 0
    assert (jr.date_of_birth != "").all()
