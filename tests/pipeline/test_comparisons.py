"""Each comparison level fires for a hand-built (request row, taxpayer) pair, scored by Splink.

Every request row below is aimed at one hand-written taxpayer of ``data/taxpayers.csv``; the
engine's candidate row for that taxpayer must sit on the expected level. All rows are scored in
one call (module fixture), so the whole file costs one ``predict_between``.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd
import pytest

from tinmatch.master.comparisons import (
    COMPARISONS,
    CONFLICT_LEVELS,
    CORROBORATING_LEVELS,
    gamma_label,
    level_labels,
)

WILLIAM = "900000001"  # William Everett Thornbury, 1970-03-05; Peoria (2020-21) -> Springfield
JOSE = "900000002"  # Jose Luis Quintanilla, Austin TX
MARIA = "900000003"  # Maria Elena Garcia Lopez, Miami FL
KATHRYN = "900000004"  # Kathryn Ann Vandermolen, Madison WI
ROBERT_JR = "900000006"  # Robert James Whitfield Jr, 1990-05-20, Dayton OH
HAROLD_SMITH = "900000011"  # Harold Smith, Denver CO; "smith" is common in the master
# Chih-Hsiung Mo Sr (no middle name) and his son Chih-Hsiung Joseph Mo Jr, 169 Willow Dr, Muncie
MO_SR, MO_JR = "900000012", "900000013"
WILLOW = {"street": "169 Willow Dr", "city": "Muncie", "state": "IN", "zip": "47305"}
# Pai-Jui Yu-Ting Liao and Ya-Ling Liao, 8404 Del Mar Dr, Bridgesshire NV (the 10M run's R0601497)
PAI_JUI, YA_LING = "900000014", "900000015"
DEL_MAR = {"street": "8404 Del Mar Dr", "city": "Bridgesshire", "state": "NV", "zip": "89501"}

# William's latest address (2022-2023) and his old one (2020-2021).
OAK = {"street": "100 Oak St", "city": "Springfield", "state": "IL", "zip": "62701"}
ELM = {"street": "55 Elm Ave", "address_line2": "Apt 2", "city": "Peoria", "state": "IL",
       "zip": "61602"}  # fmt: skip
WILLIAM_ROW = {"first_name": "William", "last_name": "Thornbury", **OAK}
DOB = "1970-03-05"


def _w(**changes: Any) -> dict[str, Any]:
    return {**WILLIAM_ROW, **changes}


def _mo(first_name: str, **more: Any) -> dict[str, Any]:
    """A request for a Mo at 169 Willow Dr (the Chih-Hsiung Mo Sr/Jr household)."""
    return {"first_name": first_name, "last_name": "Mo", **WILLOW, **more}


def _addr(**address: Any) -> dict[str, Any]:
    """William's name and DOB at another address (all address fields replaced)."""
    blank = dict.fromkeys(["street", "address_line2", "city", "state", "zip"])
    return {"first_name": "William", "last_name": "Thornbury", "dob": DOB, **blank, **address}


# case id -> (request row, target TIN, comparison, expected level label)
CASES: dict[str, tuple[dict[str, Any], str, str, str]] = {
    # first name
    "first_exact": (_w(), WILLIAM, "first_name", "exact"),
    "first_nickname_bill": (_w(first_name="Bill"), WILLIAM, "first_name", "nickname"),
    "first_nickname_pepe": (
        {
            "first_name": "Pepe",
            "last_name": "Quintanilla",
            "street": "7 Cedar Ct",
            "city": "Austin",
            "state": "TX",
            "zip": "78701",
        },
        JOSE,
        "first_name",
        "nickname",
    ),
    "first_typo": (_w(first_name="Willaim"), WILLIAM, "first_name", "jaro_winkler_0.92"),
    "first_one_edit": (_w(first_name="Xilliam"), WILLIAM, "first_name", "one_edit"),
    # a space typed inside the given name: read as first name "wi", middle name "lliam"
    "first_space_typed_inside": (_w(first_name="Wi Lliam"), WILLIAM, "first_name", "one_edit"),
    "first_phonetic": (
        {
            "first_name": "Catherine",
            "last_name": "Vandermolen",
            "street": "8 Lake Rd",
            "city": "Madison",
            "state": "WI",
            "zip": "53703",
        },
        KATHRYN,
        "first_name",
        "phonetic",
    ),
    "first_middle_as_first": (_w(first_name="Everett"), WILLIAM, "first_name", "middle_as_first"),
    "first_swapped": (
        _w(first_name="Thornbury", last_name="William"),
        WILLIAM,
        "first_name",
        "swapped_with_surname",
    ),
    "first_middle_as_first_typo": (
        _w(first_name="Evrett"),
        WILLIAM,
        "first_name",
        "middle_as_first_typo",
    ),
    "first_swapped_typo": (
        _w(first_name="Thornbery", last_name="William"),
        WILLIAM,
        "first_name",
        "swapped_with_surname",
    ),
    # "Yu-Ting" is the end of Pai-Jui Yu-Ting's given names (standardized "yu" + middle "ting"
    # against "pai" + middle "jui yu ting")
    "first_hyphenated_middle_as_first": (
        {"first_name": "Yu-Ting", "last_name": "Liao", **DEL_MAR},
        PAI_JUI,
        "first_name",
        "middle_as_first",
    ),
    # ... and "yu" against her housemate's "ya" is no typo: two-letter names are not compared
    # by edits (they sound alike to metaphone, a level that is no first-name agreement)
    "first_two_letters_one_edit_apart": (
        {"first_name": "Yu-Ting", "last_name": "Liao", **DEL_MAR},
        YA_LING,
        "first_name",
        "phonetic",
    ),
    "first_nickname_typo": (_w(first_name="Bilyl"), WILLIAM, "first_name", "nickname_typo"),
    "first_two_edits": (_w(first_name="Wxlliqm"), WILLIAM, "first_name", "two_edits"),
    # one name written twice is no swap: "Thornbury Thornbury" gives no given name at all, and
    # "William William" no surname (the surname level below)
    "first_one_name_twice": (
        _w(first_name="Thornbury", last_name="Thornbury"), WILLIAM, "first_name", "else"
    ),
    "first_else": (_w(first_name="Zebulon", dob=DOB), WILLIAM, "first_name", "else"),
    # last name
    "last_exact": (_w(), WILLIAM, "last_name", "exact"),
    "last_typo": (_w(last_name="Thornbery"), WILLIAM, "last_name", "jaro_winkler_0.92"),
    "last_one_name_twice": (
        _w(first_name="William", last_name="William"), WILLIAM, "last_name", "else"
    ),
    "last_compound_part": (
        {
            "first_name": "Maria",
            "last_name": "Garcia",
            "street": "300 Palm Way",
            "city": "Miami",
            "state": "FL",
            "zip": "33101",
        },
        MARIA,
        "last_name",
        "compound_part",
    ),
    "last_swapped": (
        _w(first_name="Thornbury", last_name="William"),
        WILLIAM,
        "last_name",
        "swapped_with_first",
    ),
    "last_swapped_nickname": (
        _w(first_name="Thornbury", last_name="Bill"),
        WILLIAM,
        "last_name",
        "swapped_fuzzy",
    ),
    "last_else": (_w(last_name="Oyelaran", dob=DOB), WILLIAM, "last_name", "else"),
    # middle name
    "middle_null": (_w(), WILLIAM, "middle_name", "null"),
    "middle_exact": (_w(middle_name="Everett"), WILLIAM, "middle_name", "exact"),
    "middle_initial": (_w(middle_name="E"), WILLIAM, "middle_name", "initial"),
    "middle_initial_dotted": (_w(middle_name="E."), WILLIAM, "middle_name", "initial"),
    "middle_similar": (_w(middle_name="Everet"), WILLIAM, "middle_name", "similar"),
    "middle_overlap": (_w(middle_name="James Everett"), WILLIAM, "middle_name", "overlap"),
    "middle_conflict": (_w(middle_name="Thomas"), WILLIAM, "middle_name", "else"),
    # The second word of a two-word given name leads the middle name; the request's middle words
    # are the first of the candidate's for the father (none of his own) and the son (Joseph) alike.
    "middle_given_second_word_father": (_mo("Chih-Hsiung"), MO_SR, "middle_name", "exact"),
    "middle_given_second_word_son": (_mo("Chih-Hsiung"), MO_JR, "middle_name", "exact"),
    "middle_given_second_word_typo": (_mo("Chih-Hsuing"), MO_SR, "middle_name", "similar"),
    "middle_given_second_word_conflict": (_mo("Chih-Ming"), MO_SR, "middle_name", "else"),
    # ... but naming the son's middle name too is evidence for him, not for his father
    "middle_more_words_than_the_candidate": (
        _mo("Chih-Hsiung", middle_name="Joseph"),
        MO_SR,
        "middle_name",
        "initial",
    ),
    "middle_all_words_of_the_candidate": (
        _mo("Chih-Hsiung", middle_name="Joseph"),
        MO_JR,
        "middle_name",
        "exact",
    ),
    # suffix
    "suffix_null": (
        {
            "first_name": "Robert",
            "last_name": "Whitfield",
            "street": "12 Birch Ln",
            "city": "Dayton",
            "state": "OH",
            "zip": "45402",
        },
        ROBERT_JR,
        "suffix",
        "null",
    ),
    "suffix_exact": (
        {
            "first_name": "Robert",
            "last_name": "Whitfield",
            "suffix": "Jr",
            "street": "12 Birch Ln",
            "city": "Dayton",
            "state": "OH",
            "zip": "45402",
        },
        ROBERT_JR,
        "suffix",
        "exact",
    ),
    "suffix_exact_in_surname": (
        {
            "first_name": "Robert",
            "last_name": "Whitfield Junior",
            "street": "12 Birch Ln",
            "city": "Dayton",
            "state": "OH",
            "zip": "45402",
        },
        ROBERT_JR,
        "suffix",
        "exact",
    ),
    "suffix_conflict": (
        {
            "first_name": "Robert",
            "last_name": "Whitfield",
            "suffix": "Sr",
            "street": "12 Birch Ln",
            "city": "Dayton",
            "state": "OH",
            "zip": "45402",
        },
        ROBERT_JR,
        "suffix",
        "else",
    ),
    # date of birth
    "dob_null": (_w(), WILLIAM, "date_of_birth", "null"),
    "dob_exact": (_w(dob=DOB), WILLIAM, "date_of_birth", "exact"),
    "dob_transposed": (_w(dob="1970-05-03"), WILLIAM, "date_of_birth", "day_month_transposed"),
    "dob_year_month": (_w(dob="1970-03-28"), WILLIAM, "date_of_birth", "year_month"),
    "dob_year": (_w(dob="1970-11-20"), WILLIAM, "date_of_birth", "year"),
    "dob_else": (_w(dob="1955-01-01"), WILLIAM, "date_of_birth", "else"),
    # address (William lives at Oak St now; Elm Ave Apt 2 is only on his 2020-2021 returns)
    "addr_street_unit_latest": (_w(), WILLIAM, "address", "street_and_unit"),
    "addr_street_unit_historical": (_addr(**ELM), WILLIAM, "address", "street_and_unit"),
    "addr_street_other_unit": (
        _addr(**{**ELM, "address_line2": "Apt 7"}),
        WILLIAM,
        "address",
        "street_other_unit",
    ),
    "addr_house_number_zip": (
        _addr(street="100 Oaak St", city="Springfield", state="IL", zip="62701"),
        WILLIAM,
        "address",
        "house_number_and_zip",
    ),
    "addr_house_number_zip_other_street": (
        _addr(street="100 Maple Dr", city="Springfield", state="IL", zip="62701"),
        WILLIAM,
        "address",
        "zip",
    ),
    "addr_zip": (
        _addr(street="9 Pine Rd", city="Springfield", state="IL", zip="62701"),
        WILLIAM,
        "address",
        "zip",
    ),
    "addr_city_state": (
        _addr(street="9 Pine Rd", city="Springfield", state="IL", zip="62799"),
        WILLIAM,
        "address",
        "city_and_state",
    ),
    "addr_state": (
        _addr(street="9 Pine Rd", city="Chicago", state="IL", zip="60601"),
        WILLIAM,
        "address",
        "state",
    ),
    "addr_else": (
        _addr(street="9 Pine Rd", city="Houston", state="TX", zip="77002"),
        WILLIAM,
        "address",
        "else",
    ),
    "addr_null": (_addr(), WILLIAM, "address", "null"),
    # term frequency pair (see test_common_surname_weighs_less)
    "tf_common": (
        {
            "first_name": "Harold",
            "last_name": "Smith",
            "street": "9 Main St",
            "city": "Denver",
            "state": "CO",
            "zip": "80202",
        },
        HAROLD_SMITH,
        "last_name",
        "exact",
    ),
}
IDS = list(CASES)


@pytest.fixture(scope="module")
def scored(score: Any) -> pd.DataFrame:
    rows = [CASES[i][0] for i in IDS]
    out: pd.DataFrame = score(rows)
    out["case"] = out["qid"].map({f"q{n}": case for n, case in enumerate(IDS, start=1)})
    return out


def _candidate(scored: pd.DataFrame, case: str) -> pd.Series:
    tin = CASES[case][1]
    hit = scored[(scored["case"] == case) & (scored["tin"] == tin)]
    assert len(hit) == 1, f"{case}: taxpayer {tin} was not a candidate (blocking?)"
    return hit.iloc[0]


@pytest.mark.parametrize("case", IDS)
def test_level_fires(scored: pd.DataFrame, case: str) -> None:
    _, _, comparison, expected = CASES[case]
    row = _candidate(scored, case)
    assert gamma_label(comparison, int(row[f"gamma_{comparison}"])) == expected


def test_every_level_is_exercised() -> None:
    covered = {(comp, label) for _, _, comp, label in CASES.values()}
    wanted = {("first_name", lbl) for lbl in level_labels("first_name") if lbl != "null"} | {
        (comp, lbl)
        for comp in ("middle_name", "suffix", "date_of_birth", "address")
        for lbl in level_labels(comp)
    }
    assert wanted - covered == set()


def test_historical_address_is_not_the_latest(master_con: duckdb.DuckDBPyConnection) -> None:
    """The Elm Ave case really is an old address: William's most recent return is Oak St."""
    rows = master_con.execute(
        "SELECT tax_year, street FROM m.appearances WHERE tin = ? ORDER BY tax_year DESC",
        [WILLIAM],
    ).fetchall()
    assert rows[0] == (2023, "100 Oak St")
    assert (2020, "55 Elm Ave") in rows


def test_historical_address_corroborates_like_the_latest(scored: pd.DataFrame) -> None:
    old = _candidate(scored, "addr_street_unit_historical")
    new = _candidate(scored, "addr_street_unit_latest")
    assert old["mw_address"] == pytest.approx(new["mw_address"])
    assert old["mw_address"] > 5


def test_common_surname_weighs_less(scored: pd.DataFrame) -> None:
    common = _candidate(scored, "tf_common")
    rare = _candidate(scored, "last_exact")
    assert gamma_label("last_name", int(common["gamma_last_name"])) == "exact"
    assert rare["mw_last_name"] - common["mw_last_name"] > 3  # ~75 smiths vs one thornbury
    assert common["mw_last_name"] > 0


def test_agreement_outweighs_disagreement(scored: pd.DataFrame) -> None:
    """Within a comparison, the stricter level weighs more (checked on scored pairs)."""
    order = ["dob_exact", "dob_transposed", "dob_year_month", "dob_year", "dob_else"]
    weights = [_candidate(scored, c)["mw_date_of_birth"] for c in order]
    assert weights == sorted(weights, reverse=True)
    assert weights[-1] < 0 < weights[1]
    assert _candidate(scored, "dob_null")["mw_date_of_birth"] == 0


def test_a_given_names_second_word_weighs_the_same_for_father_and_son(
    scored: pd.DataFrame,
) -> None:
    """Father (no middle name) and son (Joseph) both called Chih-Hsiung: the request's "Hsiung"
    fits both alike, so the middle name cannot rank one above the other; "Chih-Ming" is still a
    conflict, and "Chih-Hsiung Joseph" favours the son."""
    father = _candidate(scored, "middle_given_second_word_father")
    son = _candidate(scored, "middle_given_second_word_son")
    assert father["mw_middle_name"] == son["mw_middle_name"] > 3
    assert _candidate(scored, "middle_given_second_word_conflict")["mw_middle_name"] <= -6
    named_son = _candidate(scored, "middle_all_words_of_the_candidate")["mw_middle_name"]
    assert (
        named_son - _candidate(scored, "middle_more_words_than_the_candidate")["mw_middle_name"] > 2
    )


def test_conflicts_weigh_against(scored: pd.DataFrame) -> None:
    assert _candidate(scored, "middle_conflict")["mw_middle_name"] <= -6
    assert _candidate(scored, "suffix_conflict")["mw_suffix"] <= -6
    assert _candidate(scored, "middle_null")["mw_middle_name"] == 0


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_gamma_label_numbering(name: str) -> None:
    """Splink numbers levels from the bottom: else = 0; the null level is -1."""
    labels = level_labels(name)
    assert gamma_label(name, -1) == "null" == labels[0]
    assert gamma_label(name, 0) == "else" == labels[-1]
    assert gamma_label(name, len(labels) - 2) == labels[1]


def test_decision_level_sets_name_real_levels() -> None:
    for sets in (CORROBORATING_LEVELS, CONFLICT_LEVELS):
        for comp, labels in sets.items():
            assert labels <= set(level_labels(comp)), comp


def test_nickname_is_one_hop_both_ways(score: Any) -> None:
    """Jack is a nickname of John and the request may carry either; Samuel and Samantha only
    share a nickname (Sam) and are not nicknames of each other."""
    from tinmatch.standardize.names import name_features

    feats = name_features(pd.DataFrame({"first_name": ["Jack", "John", "Samuel", "Samantha"]}))
    variants = dict(zip(feats["first_name_std"], feats["first_name_variants"], strict=True))
    assert "john" in variants["jack"] and "jack" in variants["john"]
    assert "samantha" not in variants["samuel"] and "samuel" not in variants["samantha"]
    out = score([_w(first_name="Robert")])
    row = out[out["tin"] == WILLIAM].iloc[0]
    assert gamma_label("first_name", int(row["gamma_first_name"])) not in {
        "nickname",
        "nickname_typo",
    }


def test_robert_is_not_a_nickname_of_william(score: Any) -> None:
    out = score([_w(first_name="Robert")])
    row = out[out["tin"] == WILLIAM].iloc[0]
    assert gamma_label("first_name", int(row["gamma_first_name"])) != "nickname"
