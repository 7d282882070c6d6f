"""Name standardization: cleaning, suffixes, surnames, nickname variants, phonetic codes."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinmatch.standardize import NAME_SCHEMA, clean_name, name_features

STD_COLUMNS = ["first_name_std", "middle_name_std", "last_name_std", "suffix_std"]


def features(first=None, last=None, middle=None, suffix=None) -> dict:
    df = pd.DataFrame(
        {"first_name": [first], "middle_name": [middle], "last_name": [last], "suffix": [suffix]},
        dtype=object,
    )
    return name_features(df).iloc[0].to_dict()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("José", "jose"),
        ("  MARÍA   Ñúñez ", "maria nunez"),
        ("O'Brien", "obrien"),
        ("O’Brien", "obrien"),
        ("Garcia-Lopez", "garcia lopez"),
        ("St. John", "st john"),
        ("Strauß", "strauss"),
        ("Søren Łukasz", "soren lukasz"),
        (None, None),
        ("", None),
        ("   ", None),
        (float("nan"), None),
        (pd.NA, None),
        ("---", None),
    ],
)
def test_clean_name(raw: object, expected: str | None) -> None:
    assert clean_name(raw) == expected


def test_accents_and_middle_from_first_name() -> None:
    row = features(first="María Elena", last="Hernández")
    assert row["first_name_std"] == "maria"
    assert row["middle_name_std"] == "elena"
    assert row["middle_initial"] == "e"
    assert row["last_name_std"] == "hernandez"


def test_extra_first_tokens_come_before_given_middle_name() -> None:
    row = features(first="Maria Elena", middle="Sofia")
    assert row["middle_name_std"] == "elena sofia"
    assert row["middle_initial"] == "e"


def test_hyphenated_and_compound_surnames() -> None:
    hyphen = features(last="Garcia-Lopez")
    spaced = features(last="GARCIA LOPEZ")
    assert hyphen["last_name_std"] == spaced["last_name_std"] == "garcia lopez"
    assert hyphen["last_name_tokens"] == ["garcia", "lopez"]
    assert features(last="Garcia y Lopez")["last_name_tokens"] == ["garcia", "lopez"]
    assert hyphen["last_name_mp"] == features(last="Garcialopez")["last_name_mp"]


def test_particles_glued_to_the_following_word() -> None:
    spellings = ["de la Cruz", "De La Cruz", "DeLaCruz", "Delacruz"]
    tokens = {tuple(features(last=s)["last_name_tokens"]) for s in spellings}
    assert tokens == {("delacruz",)}
    assert features(last="Garcia de la Cruz")["last_name_tokens"] == ["garcia", "delacruz"]
    assert features(last="van der Berg")["last_name_tokens"] == ["vanderberg"]
    assert len({features(last=s)["last_name_nysiis"] for s in spellings}) == 1


@pytest.mark.parametrize(
    ("first", "last", "suffix", "want_last", "want_suffix"),
    [
        ("John", "Smith Jr.", None, "smith", "jr"),
        ("John", "Smith, Junior", None, "smith", "jr"),
        ("John", "Smith III", None, "smith", "iii"),
        ("John", "Smith 2nd", None, "smith", "ii"),
        ("John", "Smith", "II", "smith", "ii"),
        ("John", "Smith", "2nd", "smith", "ii"),
        ("John", "Smith", "Sr.", "smith", "sr"),
        ("John", "Smith", "Senior", "smith", "sr"),
        ("John", "Smith", "iv", "smith", "iv"),
        ("John Jr", "Smith", None, "smith", "jr"),
        ("John", "Smith Jr MD", None, "smith", "jr"),
        ("John", "Smith", None, "smith", None),
        ("John", "Smith", "Esq", "smith", None),
        ("John", "Junior", None, "junior", None),
    ],
)
def test_suffix_extraction(
    first: str, last: str, suffix: str | None, want_last: str, want_suffix: str | None
) -> None:
    row = features(first=first, last=last, suffix=suffix)
    assert row["first_name_std"] == "john"
    assert row["last_name_std"] == want_last
    assert row["suffix_std"] == want_suffix


def test_suffix_column_wins_over_name_ending() -> None:
    assert features(first="Al", last="Smith Jr", suffix="III")["suffix_std"] == "iii"


@pytest.mark.parametrize(
    ("nickname", "formal"),
    [
        ("Bill", "william"),
        ("Bob", "robert"),
        ("Peggy", "margaret"),
        ("Pepe", "jose"),
        ("Beto", "roberto"),
        ("Beto", "alberto"),
        ("Beto", "humberto"),
        ("Paco", "francisco"),
        ("Pancho", "francisco"),
        ("Lupe", "guadalupe"),
        ("Chuy", "jesus"),
        ("Memo", "guillermo"),
        ("Nacho", "ignacio"),
        ("Lalo", "eduardo"),
        ("Toño", "antonio"),
        ("Quique", "enrique"),
        ("Rafa", "rafael"),
        ("Chela", "graciela"),
    ],
)
def test_nickname_variants_include_formal_name(nickname: str, formal: str) -> None:
    variants = features(first=nickname)["first_name_variants"]
    assert formal in variants
    assert clean_name(nickname) in variants
    assert variants == sorted(set(variants))


def test_variants_of_an_unknown_name_are_just_the_name() -> None:
    assert features(first="Zyxwv")["first_name_variants"] == ["zyxwv"]


def test_phonetic_codes() -> None:
    row = features(first="Catherine", last="Smith")
    assert row["first_name_mp"] == "K0RN"
    assert row["last_name_mp"] == "SM0"
    assert row["first_name_nysiis"] == "CATARAN"
    assert row["last_name_nysiis"] == "SNAT"
    assert features(last="Smyth")["last_name_mp"] == row["last_name_mp"]


def test_missing_names_give_nulls_not_empty_values() -> None:
    row = features()
    for column, value in row.items():
        assert value is None, column


def test_result_keeps_index_and_all_columns() -> None:
    df = pd.DataFrame(
        {"first_name": ["Ann", None], "middle_name": [None, "B"], "last_name": ["Lee", "Lee"]},
        index=[10, 42],
    )
    out = name_features(df)
    assert list(out.index) == [10, 42]
    assert list(out.columns) == [
        "first_name_std", "middle_name_std", "middle_initial", "last_name_std",
        "last_name_tokens", "suffix_std", "first_name_variants", "first_name_mp",
        "last_name_mp", "first_name_nysiis", "last_name_nysiis",
    ]  # fmt: skip
    assert out.loc[42, "first_name_std"] is None
    assert out.loc[42, "middle_initial"] == "b"
    assert out["suffix_std"].tolist() == [None, None]  # no suffix column at all


def test_repeated_values_share_results() -> None:
    df = pd.DataFrame({"first_name": ["Bill"] * 3, "last_name": ["Smith Jr"] * 3})
    out = name_features(df)
    assert out["first_name_variants"].map(tuple).nunique() == 1
    assert out["suffix_std"].tolist() == ["jr"] * 3


name_text = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.lists(
        st.sampled_from(
            ["José", "de", "la", "Cruz", "Jr.", "III", "O'Brien", "Garcia-Lopez", "y", "Ann", "2nd"]
        ),
        max_size=4,
    ).map(" ".join),
)


@settings(max_examples=200, deadline=None)
@given(first=name_text, middle=name_text, last=name_text, suffix=name_text)
def test_standardizing_standardized_names_changes_nothing(
    first: str | None, middle: str | None, last: str | None, suffix: str | None
) -> None:
    once = name_features(
        pd.DataFrame(
            {
                "first_name": [first],
                "middle_name": [middle],
                "last_name": [last],
                "suffix": [suffix],
            },
            dtype=object,
        )
    )
    again = name_features(
        once[STD_COLUMNS].set_axis(["first_name", "middle_name", "last_name", "suffix"], axis=1)
    )
    assert again[STD_COLUMNS].equals(once[STD_COLUMNS])
    assert again["last_name_tokens"].tolist() == once["last_name_tokens"].tolist()


@given(st.text(max_size=30))
def test_clean_name_is_idempotent(text: str) -> None:
    assert clean_name(clean_name(text)) == clean_name(text)


def test_schema_types_an_all_missing_batch() -> None:
    df = pd.DataFrame({c: [None, None] for c in ["first_name", "last_name"]}, dtype=object)
    out = name_features(df)
    assert list(out.columns) == NAME_SCHEMA.names
    table = pa.Table.from_pandas(out, schema=NAME_SCHEMA, preserve_index=False)
    assert table.schema.field("first_name_std").type == pa.string()
    assert table.schema.field("first_name_variants").type == pa.list_(pa.string())
    assert table.column("last_name_tokens").null_count == 2
