import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinmatch.pipeline.statutes import normalize_statute


@pytest.mark.parametrize(
    "text",
    [
        "8 USC 1253(a)(1)",
        "8 U.S.C. § 1253(a)(1)",
        "8 u.s.c. 1253(a)(1)",
        "8 U.S.C. §1253 (a)(1)",
        "  8  U.S.C.  §§ 1253 ( a ) ( 1 ) ",
        "8 U.S.C. Sec. 1253(a)(1)",
        "Title 8 U.S.C. 1253(A)(1)",
    ],
)
def test_equivalent_spellings_normalize_alike(text: str) -> None:
    assert normalize_statute(text) == "8 U.S.C. 1253(a)(1)"


def test_different_subsections_differ() -> None:
    assert normalize_statute("8 USC 1253(a)(1)") != normalize_statute("8 USC 1253(a)(2)")
    assert normalize_statute("8 USC 1253(a)(1)") != normalize_statute("8 USC 1253(a)")
    assert normalize_statute("8 USC 1253") != normalize_statute("18 USC 1253")


def test_subdivision_case_follows_its_level() -> None:
    assert normalize_statute("8 usc 1101(A)(43)(a)(II)") == "8 U.S.C. 1101(a)(43)(A)(ii)"


def test_non_code_citations_fold_case_dots_and_spacing() -> None:
    assert normalize_statute("ina 243( a )") == normalize_statute("INA  243(a)")


@given(st.text(alphabet="0123456789 .§()aAiUuSsCc", max_size=30))
def test_normalizing_twice_changes_nothing(text: str) -> None:
    once = normalize_statute(text)
    assert normalize_statute(once) == once
