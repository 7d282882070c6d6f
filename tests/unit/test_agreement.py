import hashlib
import tomllib
from datetime import date
from pathlib import Path

import pytest

from tinmatch.agreement import Agreement
from tinmatch.errors import ConfigError, MasterNotLoadedError

DEFAULT = Path(__file__).parents[2] / "src" / "tinmatch" / "data" / "default_agreement.toml"

GOOD = """
[agreement]
id = "test-1"
effective = 2026-01-01
expires = 2027-06-30

[request]
required_columns = [
  "record_id", "first_name", "last_name", "street", "city", "state", "removal_order_date",
  "criminal_statute", "case_number", "tax_periods",
]
authorized_statutes = ["8 USC 1326"]

[tax_years]
first = 2020
last = 2023

[disclosure]
fields = ["tax_year", "zip", "street", "city"]

[matching]
min_match_probability = 0.95
ambiguity_margin_bits = 12

[limits]
max_rows_per_request = 10
max_rows_per_agency_per_period = 100
max_rows_per_official_per_period = 50
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agreement.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        Agreement.load(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_default_agreement_loads_with_contract_defaults() -> None:
    agreement = Agreement.load()
    assert agreement.id == "default"
    assert agreement.sha256 == hashlib.sha256(DEFAULT.read_bytes()).hexdigest()
    assert agreement.disclosed_fields == (
        "street", "address_line2", "city", "state", "zip", "tax_year",
    )
    assert agreement.request.authorized_statutes == ("8 U.S.C. 1253(a)(1)", "8 U.S.C. 1326")
    assert agreement.limits.max_rows_per_request == 100_000
    assert agreement.limits.max_rows_per_agency_per_period == 1_000_000
    assert agreement.limits.max_rows_per_official_per_period == 1000
    assert agreement.limits.min_interval_seconds == 60
    assert agreement.review.required is True
    assert "record_id" in agreement.request.required_columns


def test_allowed_years_are_the_six_most_recent_in_the_master() -> None:
    agreement = Agreement.load()
    master_years = [2015, 2024, 2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023]
    assert agreement.allowed_years(master_years) == (2019, 2024)
    assert agreement.allowed_years([2023, 2024]) == (2023, 2024)
    with pytest.raises(MasterNotLoadedError, match=r"^the master holds no tax years; load it "
                       r"with `tinmatch load-master`$"):  # fmt: skip
        agreement.allowed_years([])


def test_explicit_years_disclosure_order_and_matching(tmp_path: Path) -> None:
    agreement = Agreement.load(write(tmp_path, GOOD))
    assert agreement.allowed_years([2001, 2030]) == (2020, 2023)
    assert agreement.disclosed_fields == ("street", "city", "zip", "tax_year")
    assert agreement.matching.ambiguity_margin_bits == 12
    assert agreement.sha256 == hashlib.sha256(GOOD.encode()).hexdigest()
    assert agreement.in_force(date(2026, 6, 1)) and not agreement.in_force(date(2027, 7, 1))


@pytest.mark.parametrize(
    "citation", ["8 USC 1326", "8 U.S.C. § 1326", "8 u.s.c. 1326", "8 U.S.C. §1326"],
)
def test_statute_authorized_after_normalization(citation: str) -> None:
    agreement = Agreement.load()
    assert agreement.statute_authorized(citation)
    assert agreement.statute_authorized("8 U.S.C. § 1253 (a)(1)")
    assert not agreement.statute_authorized("8 U.S.C. 1253(a)(2)")
    assert not agreement.statute_authorized("18 U.S.C. 1326")


def test_unknown_keys_are_errors(tmp_path: Path) -> None:
    text = GOOD.replace("[limits]", "[limits]\nmax_rows_per_requets = 5").replace(
        "[agreement]", "[agreement]\ncolour = 'red'"
    )
    message = problems(tmp_path, text)
    assert "unknown key limits.max_rows_per_requets" in message
    assert "unknown key agreement.colour" in message
    assert problems(tmp_path, GOOD + "\n[extra]\na = 1\n").count("unknown key extra") == 1


def test_typo_of_a_matching_key_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace("ambiguity_margin_bits", "ambiguity_margn_bits")
    assert "matching.ambiguity_margn_bits" in problems(tmp_path, text)


@pytest.mark.parametrize(
    "field",
    ["tin", "spouse_tin", "date_of_birth", "employer_name", "spouse", "dependants",
     "first_name", "middle_name", "last_name", "filing_status", "Filing_Status",
     "relationship", "household_members", "marital_status", "spouse_street", "joint_filer"],
)
def test_forbidden_fields_may_never_be_disclosed(tmp_path: Path, field: str) -> None:
    text = GOOD.replace('"city"]', f'"city", "{field}"]')
    assert f"'{field}' may never be disclosed" in problems(tmp_path, text)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace('"record_id", ', "")
        .replace("expires = 2027-06-30", "expires = 2027-07-02")
        .replace('"city"]', '"city", "shoe_size"]')
        .replace("min_match_probability = 0.95", "min_match_probability = 1.5")
        .replace("last = 2023", "")
    )
    message = problems(tmp_path, text)
    for part in (
        "required_columns must include record_id",
        "more than 18 months",
        "'shoe_size' is not a disclosable field",
        "matching.min_match_probability",
        "give both first and last",
    ):
        assert part in message


def test_expiry_of_exactly_eighteen_months_is_allowed(tmp_path: Path) -> None:
    text = GOOD.replace("expires = 2027-06-30", "expires = 2027-07-01")
    assert Agreement.load(write(tmp_path, text)).agreement.expires == date(2027, 7, 1)
    bad = GOOD.replace("expires = 2027-06-30", "expires = 2025-12-31")
    assert "expires must be after" in problems(tmp_path, bad)


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read agreement"):
        Agreement.load(tmp_path / "missing.toml")
    assert "not valid TOML" in problems(tmp_path, "[agreement\n")


def test_default_file_is_the_packaged_one() -> None:
    raw = tomllib.loads(DEFAULT.read_text(encoding="utf-8"))
    assert Agreement.load().disclosure.fields == tuple(raw["disclosure"]["fields"])


def test_unknown_matching_key_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("[matching]", "[matching]\nblocking_rules = \"none\"")
    assert "unknown key matching.blocking_rules" in problems(tmp_path, text)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("\"case_number\", ", ""), "must include case_number"),
        (("[\"8 USC 1326\"]", "[\"8 USC 1326\", \"99 U.S.C. 9999\"]"),
         "'99 U.S.C. 9999' is not a criminal statute in tinmatch's table"),
        (("max_rows_per_official_per_period = 50\n", ""),
         "missing key limits.max_rows_per_official_per_period"),
        (("max_rows_per_request = 10", "max_rows_per_request = 9223372036854775807"),
         "limits.max_rows_per_request"),
        (("[limits]", "[review]\nrequired = false\n\n[limits]"), "review.required cannot be false"),
        (("[limits]", "[review]\nauto_release_max_rows = 5\n\n[limits]"),
         "auto_release_max_rows must be 0"),
    ],
)  # fmt: skip
def test_floors_whatever_the_file_says(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    assert edit[0] in GOOD
    assert message in problems(tmp_path, GOOD.replace(*edit))


# --- floors and checks one edit away from being lost (mutation triage, issue 17) -------------


@pytest.mark.parametrize(
    "field", ["Spouse-Street", "filing-status", "Filing Status", "HOUSEHOLD", "joint filer"]
)
def test_a_relationship_field_is_refused_in_any_spelling(tmp_path: Path, field: str) -> None:
    text = GOOD.replace('"city"]', f'"city", "{field}"]')
    assert f"'{field}' may never be disclosed" in problems(tmp_path, text)


@pytest.mark.parametrize(
    ("effective", "last_allowed", "first_refused"),
    [
        ("2026-05-31", "2027-11-30", "2027-12-01"),  # no 31 November: the 30th
        ("2026-08-31", "2028-02-29", "2028-03-01"),  # leap February: the 29th
        ("2025-08-31", "2027-02-28", "2027-03-01"),  # other February: the 28th
        ("2026-12-15", "2028-06-15", "2028-06-16"),  # across two year ends
    ],
)
def test_the_term_is_at_most_eighteen_calendar_months(
    tmp_path: Path, effective: str, last_allowed: str, first_refused: str
) -> None:
    def dated(expires: str) -> str:
        return GOOD.replace("effective = 2026-01-01", f"effective = {effective}").replace(
            "expires = 2027-06-30", f"expires = {expires}"
        )

    loaded = Agreement.load(write(tmp_path, dated(last_allowed)))
    assert loaded.agreement.expires == date.fromisoformat(last_allowed)
    message = problems(tmp_path, dated(first_refused))
    assert f"agreement.expires {first_refused} is more than 18 months" in message
    assert "expires must be after" in problems(tmp_path, dated(effective))


@pytest.mark.parametrize(
    ("years", "message"),
    [
        ("recent = 3\nfirst = 2020\nlast = 2023", "give either recent or first/last, not both"),
        ("first = 2023\nlast = 2020", "tax_years.last is before tax_years.first"),
        ("last = 2023", "give both first and last, or neither"),
        ("", "give recent, or first and last"),
    ],
)
def test_tax_years_are_given_one_way(tmp_path: Path, years: str, message: str) -> None:
    text = GOOD.replace("first = 2020\nlast = 2023", years)
    assert message in problems(tmp_path, text)


def test_one_tax_year_and_recent_years_are_accepted(tmp_path: Path) -> None:
    single = GOOD.replace("first = 2020\nlast = 2023", "first = 2021\nlast = 2021")
    assert Agreement.load(write(tmp_path, single)).allowed_years([2020, 2021, 2022]) == (2021, 2021)
    recent = GOOD.replace("first = 2020\nlast = 2023", "recent = 2")
    assert Agreement.load(write(tmp_path, recent)).allowed_years([2024, 2020, 2022]) == (
        2022,
        2024,
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('["8 USC 1326"]', '["8 USC 1326", "  "]'),
         "request.authorized_statutes: an empty citation"),
        (("[tax_years]", "cover_required = false\n\n[tax_years]"),
         "request.cover_required cannot be false"),
        (('"city"]', '"city", "zip"]'), "disclosure.fields: a field is named twice"),
        (('"case_number",', '"case_number", "shoe_size",'),
         "request.required_columns: 'shoe_size' is not a request column"),
        (("ambiguity_margin_bits = 12", "ambiguity_margin_bits = 12\nweights = [1, 2]"),
         "matching.weights: must be a number, string or boolean"),
        (("max_rows_per_request = 10", "max_rows_per_request = 0"),
         "limits.max_rows_per_request: Input should be greater than or equal to 1 (got 0)"),
    ],
)  # fmt: skip
def test_each_floor_names_itself(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    assert edit[0] in GOOD
    assert message in problems(tmp_path, GOOD.replace(*edit))


def test_a_scalar_unknown_matching_key_is_reported_once(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("[matching]", "[matching]\nweights = 3"))
    assert "unknown key matching.weights" in message
    assert "must be a number" not in message


def test_a_field_that_is_neither_forbidden_nor_disclosable_is_named(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace('"city"]', '"city", "county"]'))
    assert "'county' is not a disclosable field (allowed: street, address_line2" in message
    assert "may never be disclosed" not in message


def test_two_reviewers_above_the_threshold_only() -> None:
    review = Agreement.load().review
    assert review.two_reviewers_above_rows == 1000
    assert review.reviewers_for(1000) == 1
    assert review.reviewers_for(1001) == 2


def test_in_force_on_its_first_and_last_day_only(tmp_path: Path) -> None:
    agreement = Agreement.load(write(tmp_path, GOOD))
    assert agreement.in_force(date(2026, 1, 1)) and agreement.in_force(date(2027, 6, 30))
    assert not agreement.in_force(date(2025, 12, 31))


def test_what_was_loaded_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    agreement = Agreement.load(path)
    assert (agreement.source, agreement.raw_bytes) == (str(path), GOOD.encode())
    assert not agreement.packaged
    default = Agreement.load()
    assert default.packaged and default.source == "default agreement"
    assert default.raw_bytes == DEFAULT.read_bytes()
    assert Agreement.from_bytes(GOOD.encode()).source == "agreement"
    with pytest.raises(ConfigError, match="^agreement is invalid: "):
        Agreement.from_bytes(GOOD.replace("id = ", "ident = ").encode())


def test_a_statute_is_stored_normalized(tmp_path: Path) -> None:
    text = GOOD.replace('["8 USC 1326"]', '["8 u.s.c. § 1326"]')
    assert Agreement.load(write(tmp_path, text)).request.authorized_statutes == ("8 U.S.C. 1326",)


def problem_list(tmp_path: Path, text: str) -> list[str]:
    """The problems one by one, as the message lists them."""
    message = problems(tmp_path, text)
    head = f"{tmp_path / 'agreement.toml'} is invalid: "
    assert message.startswith(head)
    return message[len(head) :].split("; ")


def test_each_problem_is_worded_in_full(tmp_path: Path) -> None:
    text = (
        GOOD.replace('"city"]', '"city", "zip"]')
        .replace('"record_id", "first_name"', '"first_name"')
        .replace('"criminal_statute", "case_number",', '"criminal_statute",')
        .replace("[tax_years]", "cover_required = false\n\n[tax_years]")
        .replace("ambiguity_margin_bits", "ambiguity_margn_bits")
    )
    listed = problem_list(tmp_path, text)
    for wanted in (
        "disclosure.fields: a field is named twice",
        "request.required_columns must include record_id, case_number (always required, "
        "whatever the agreement says)",
        "request.cover_required cannot be false: every request needs a cover",
        "unknown key matching.ambiguity_margn_bits (did you mean ambiguity_margin_bits?)",
    ):
        assert wanted in listed
    assert listed.count("unknown key matching.ambiguity_margn_bits") == 1  # from pydantic


def test_a_matching_key_far_from_any_gets_no_guess(tmp_path: Path) -> None:
    listed = problem_list(tmp_path, GOOD.replace("[matching]", "[matching]\nzzz = 1"))
    assert listed == ["unknown key matching.zzz"]
    # near a known key, but not near enough for a guess (difflib ratio 0.6875 < 0.8)
    listed = problem_list(tmp_path, GOOD.replace("ambiguity_margin_bits", "margin_bits"))
    assert listed == ["unknown key matching.margin_bits"]


@pytest.mark.parametrize(
    ("edits", "wanted"),
    [
        ({"expires = 2027-06-30": "expires = 2025-06-30"},
         "agreement.expires must be after agreement.effective"),
        ({"last = 2023": ""}, "tax_years: give both first and last, or neither"),
        ({"last = 2023": "last = 2023\nrecent = 2"},
         "tax_years: give either recent or first/last, not both"),
        ({"last = 2023": "last = 2019"}, "tax_years.last is before tax_years.first"),
        ({"first = 2020\nlast = 2023": ""}, "tax_years: give recent, or first and last"),
        ({'["8 USC 1326"]': '["8 USC 1326", " "]'},
         "request.authorized_statutes: an empty citation"),
        ({"[limits]": "[review]\nrequired = false\n\n[limits]"},
         "review.required cannot be false: review before release is required"),
    ],
)  # fmt: skip
def test_cross_field_problems_are_worded_in_full(
    tmp_path: Path, edits: dict[str, str], wanted: str
) -> None:
    text = GOOD
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    assert wanted in problem_list(tmp_path, text)


def test_a_missing_expiry_is_reported_not_compared(tmp_path: Path) -> None:
    """No `expires`: the term rules are not tried on it; the missing key is reported."""
    listed = problem_list(tmp_path, GOOD.replace("expires = 2027-06-30", ""))
    assert listed == ["missing key agreement.expires"]


def test_auto_release_may_only_be_zero(tmp_path: Path) -> None:
    zero = GOOD.replace("[limits]", "[review]\nauto_release_max_rows = 0\n\n[limits]")
    assert Agreement.load(write(tmp_path, zero)).review.auto_release_max_rows == 0
    one = GOOD.replace("[limits]", "[review]\nauto_release_max_rows = 1\n\n[limits]")
    assert problem_list(tmp_path, one) == [
        "review.auto_release_max_rows must be 0: no request is released without review"
    ]


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('expires = "2031-01-01"', "expires"),  # five years: past the 18-month term
        ('expires = "2025-06-30"', "expires"),  # before it takes effect
    ],
)
def test_a_quoted_date_does_not_escape_the_term_checks(
    tmp_path: Path, line: str, key: str
) -> None:
    """The insider who quotes the expiry date: pydantic would read the string as a date, but the
    term checks (at most 18 months, after `effective`) only saw TOML dates, so both of these
    loaded. A quoted date is now refused by name."""
    message = problems(tmp_path, GOOD.replace("expires = 2027-06-30", line))
    assert f"agreement.{key} must be a TOML date written without quotes" in message


def test_a_quoted_effective_date_is_refused(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("effective = 2026-01-01", 'effective = "2020-01-01"'))
    assert "agreement.effective must be a TOML date written without quotes" in message
