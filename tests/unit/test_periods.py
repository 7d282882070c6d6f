import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinmatch.pipeline.periods import parse_tax_periods


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("2024", [2024]),
        ("2022-2024", [2022, 2023, 2024]),
        ("2022 - 2024", [2022, 2023, 2024]),
        ("2022\u20132024", [2022, 2023, 2024]),
        ("2022;2024", [2022, 2024]),
        ("2022, 2024", [2022, 2024]),
        (" 2024 ; 2022 ,2024 ", [2022, 2024]),
        ("2019;2021-2022", [2019, 2021, 2022]),
        ("2024 2023", [2023, 2024]),
        ("2024.0", [2024]),
    ],
)
def test_period_forms(text: str, years: list[int]) -> None:
    assert parse_tax_periods(text) == years


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "2024-2022", "24", "20244", "1850", "2500", "2022-", "2022;x", "2022/2023"],
)
def test_garbage_reversed_and_absurd_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_tax_periods(text)


@given(st.lists(st.integers(min_value=1913, max_value=2100), min_size=1, max_size=6), st.data())
def test_any_written_list_parses_back(years: list[int], data: st.DataObject) -> None:
    separator = data.draw(st.sampled_from([";", ",", ", ", " ; ", " "]))
    assert parse_tax_periods(separator.join(map(str, years))) == sorted(set(years))
