"""disclose(): the most recent return in the requested years, as filer or spouse, named fields only.

People (data/returns.csv): Dana Quist (900000009) filed alone for 2019 (1 First St) and 2021
(2 Second St) and is the spouse on Lee Quist's (900000010) joint 2022 return (3 Third St); Lee
filed alone for 2023 (4 Fourth St). William (900000001) filed 2020-21 from 55 Elm Ave Apt 2 and
2022-23 from 100 Oak St.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from tinmatch.agreement import DISCLOSABLE_FIELDS
from tinmatch.engines.duckdb import disclose

DANA, LEE, WILLIAM = "900000009", "900000010", "900000001"
FIELDS = ["street", "address_line2", "city", "state", "zip"]


def run(
    con: duckdb.DuckDBPyConnection, wanted: list[tuple[str, str, list[int]]], fields: list[str]
) -> pd.DataFrame:
    identified = pd.DataFrame(wanted, columns=["qid", "tin", "tax_years"])
    return disclose(con, identified, fields)


def by_qid(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {str(r["qid"]): dict(r) for _, r in frame.iterrows()}


@pytest.fixture(scope="module")
def found(master_con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, object]]:
    wanted = [
        ("q1", DANA, [2019, 2020, 2021]),
        ("q2", DANA, [2019, 2022]),
        ("q3", DANA, [2020]),
        ("q4", DANA, [2023]),
        ("q5", LEE, [2022]),
        ("q6", WILLIAM, [2020, 2021, 2022, 2023]),
        ("q7", WILLIAM, [2021, 2020]),
        ("q8", DANA, [2019]),
        ("q9", "999999999", [2022]),
    ]
    return by_qid(run(master_con, wanted, FIELDS))


def test_most_recent_year_within_the_requested_years(found: dict[str, dict[str, object]]) -> None:
    assert (found["q1"]["tax_year"], found["q1"]["street"]) == (2021, "2 Second St")
    assert (found["q6"]["tax_year"], found["q6"]["street"]) == (2023, "100 Oak St")
    assert (found["q8"]["tax_year"], found["q8"]["street"]) == (2019, "1 First St")


def test_an_older_address_when_only_older_years_are_asked(
    found: dict[str, dict[str, object]],
) -> None:
    row = found["q7"]
    assert (row["tax_year"], row["street"], row["address_line2"]) == (2021, "55 Elm Ave", "Apt 2")
    assert (row["city"], row["state"], row["zip"]) == ("Peoria", "IL", "61602")


def test_a_spouse_only_appearance_counts(found: dict[str, dict[str, object]]) -> None:
    assert (found["q2"]["tax_year"], found["q2"]["street"]) == (2022, "3 Third St")
    assert found["q2"]["tin"] == DANA
    assert (found["q5"]["tax_year"], found["q5"]["street"]) == (2022, "3 Third St")


def test_a_year_outside_the_list_is_never_returned(found: dict[str, dict[str, object]]) -> None:
    assert "q3" not in found  # Dana filed nothing for 2020
    assert "q4" not in found  # Lee's 2023 return is his alone
    assert "q9" not in found  # no such taxpayer
    wanted = {"q1": {2019, 2020, 2021}, "q2": {2019, 2022}, "q6": {2020, 2021, 2022, 2023}}
    for qid, years in wanted.items():
        assert found[qid]["tax_year"] in years


def test_only_the_named_fields_come_back(master_con: duckdb.DuckDBPyConnection) -> None:
    out = run(master_con, [("q1", WILLIAM, [2022])], ["city", "state"])
    # tax_year always comes along: the ledger records which return was disclosed
    assert list(out.columns) == ["qid", "tin", "city", "state", "tax_year"]
    assert out.iloc[0].tolist() == ["q1", WILLIAM, "Springfield", "IL", 2022]


@pytest.mark.parametrize(
    "field", ["first_name", "spouse_tin", "employer_name", "role", "tin", "filing_status"]
)
def test_other_fields_are_refused(master_con: duckdb.DuckDBPyConnection, field: str) -> None:
    assert field not in DISCLOSABLE_FIELDS
    with pytest.raises(ValueError, match="may not be disclosed"):
        run(master_con, [("q1", DANA, [2021])], ["street", field])


def test_nothing_identified_gives_an_empty_frame(master_con: duckdb.DuckDBPyConnection) -> None:
    out = run(master_con, [], ["street", "zip"])
    assert out.empty
    assert list(out.columns) == ["qid", "tin", "street", "zip", "tax_year"]


def test_leaves_no_temporary_table(master_con: duckdb.DuckDBPyConnection) -> None:
    run(master_con, [("q1", DANA, [2021])], ["street"])
    names = {r[0] for r in master_con.execute("SHOW TABLES").fetchall()}
    assert "_wanted" not in names
