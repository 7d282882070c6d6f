"""The data-sharing agreement: a typed model, loaded from TOML, hashed.

Every problem in an agreement file is collected and reported at once (one ``ConfigError``);
unknown keys are errors, so a typo can never silently weaken the agreement. The floors of
contract section 4 hold in code whatever the file says: review cannot be switched off, the
always-required columns stay required, statutes come from the shipped table, caps are present
and bounded, the term is bounded, and TIN, date of birth, employer, filing status, spouse and
dependants are never disclosable.
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from collections.abc import Sequence
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from tinmatch.errors import ConfigError, MasterNotLoadedError
from tinmatch.statutes import known_statute, normalize_statute

#: The columns of a request file (contract §2), in contract order.
REQUEST_COLUMNS: tuple[str, ...] = (
    "record_id", "first_name", "middle_name", "last_name", "suffix", "date_of_birth",
    "street", "address_line2", "city", "state", "zip", "removal_order_date",
    "criminal_statute", "case_number", "tax_periods",
)

#: Columns every agreement requires, whatever its file says (contract §4): the record id,
#: the names, an address, the removal order, the statute, the case and the tax periods.
ALWAYS_REQUIRED: tuple[str, ...] = (
    "record_id", "first_name", "last_name", "street", "city", "state", "removal_order_date",
    "criminal_statute", "case_number", "tax_periods",
)

#: Taxpayer fields an agreement may disclose, in the order they are written (contract §3).
DISCLOSABLE_FIELDS: tuple[str, ...] = (
    "street", "address_line2", "city", "state", "zip", "tax_year",
)

#: Fields that no agreement may ever disclose, whatever it says.
FORBIDDEN_FIELDS: frozenset[str] = frozenset({
    "tin", "spouse_tin", "ssn", "itin", "date_of_birth", "dob", "employer_name", "employer",
    "spouse", "spouse_name", "dependants", "dependents", "filing_status", "first_name",
    "middle_name", "last_name", "suffix", "name", "full_name", "income", "agi", "wages", "tax",
    "refund", "balance_due", "bank_account", "routing_number", "phone", "email",
})

#: Words that name a relationship between taxpayers: a field carrying one (joint or single,
#: a spouse's street, the household) reveals another person, so it is never disclosable.
RELATIONSHIP_WORDS: tuple[str, ...] = (
    "spouse", "dependant", "dependent", "relationship", "household", "marital", "filing_status",
    "joint", "partner", "child", "parent", "relative", "kin",
)


def names_a_relationship(field: str) -> bool:
    """Does this field name (any spelling) name a relationship between people?"""
    key = field.lower().replace("-", "_").replace(" ", "_")
    return any(word in key for word in RELATIONSHIP_WORDS)


MAX_TERM_MONTHS = 18

#: Upper bounds no agreement may exceed, so that no cap can be deleted or set to 2^63-1: ten
#: times the packaged default's request and agency caps (100,000 rows per request, the bulk
#: limit of the IRS TIN Matching programme; 1,000,000 per agency and period), and per official
#: as many as one request may hold. Anything above the default needs a second approver when
#: registered (tinmatch.loosening).
MAX_ROWS_PER_REQUEST = 1_000_000
MAX_ROWS_PER_AGENCY_PER_PERIOD = 10_000_000
MAX_ROWS_PER_OFFICIAL_PER_PERIOD = 1_000_000
MIN_PERIOD_DAYS, MAX_PERIOD_DAYS = 7, 366
MAX_INTERVAL_SECONDS = 7 * 24 * 3600
MAX_FILE_BYTES = 1 << 30
MAX_CELL_CHARS = 10_000

_STRICT = ConfigDict(extra="forbid", frozen=True)


class AgreementInfo(BaseModel):
    model_config = _STRICT

    id: str = Field(min_length=1)
    title: str = ""
    requesting_agency: str = "*"
    effective: date
    expires: date


class RequestRules(BaseModel):
    model_config = _STRICT

    required_columns: tuple[str, ...]
    authorized_statutes: tuple[str, ...] = Field(min_length=1)
    cover_required: bool = True


class TaxYears(BaseModel):
    model_config = _STRICT

    recent: int | None = Field(default=None, ge=1, le=50)
    first: int | None = Field(default=None, ge=1913, le=2100)
    last: int | None = Field(default=None, ge=1913, le=2100)


class Disclosure(BaseModel):
    model_config = _STRICT

    fields: tuple[str, ...] = Field(min_length=1)
    #: Tell the requester why nothing is disclosed for a row (no_candidate, ambiguous,
    #: no_return_in_period...). Off by default: the requester's unmatched.csv then says only
    #: ``not_disclosed``; whether a person filed is itself return information.
    unmatched_reasons: bool = False


class Matching(BaseModel):
    """The decision rule's numbers (see docs/matching.md). No other key is accepted.

    - ``min_match_probability``: the best candidate must reach it to be disclosed (>= 0.5).
    - ``ambiguity_margin_bits``: the best must be 2^bits times likelier than the runner-up
      (default 10 bits: 1,024 times); at least 3.32 bits (10 times).
    - ``min_candidate_probability``: below it a taxpayer is no candidate at all.
    """

    model_config = _STRICT

    min_match_probability: float = Field(ge=0.5, le=1.0)
    ambiguity_margin_bits: float = Field(default=10.0, ge=3.32, le=40.0)
    min_candidate_probability: float = Field(default=0.01, gt=0.0, lt=0.5)


class Limits(BaseModel):
    """Every row cap is required and bounded: an agreement cannot delete a cap or raise it to
    2^63-1 (contract section 4)."""

    model_config = _STRICT

    max_rows_per_request: int = Field(ge=1, le=MAX_ROWS_PER_REQUEST)
    max_rows_per_agency_per_period: int = Field(ge=1, le=MAX_ROWS_PER_AGENCY_PER_PERIOD)
    period_days: int = Field(default=30, ge=MIN_PERIOD_DAYS, le=MAX_PERIOD_DAYS)
    max_rows_per_official_per_period: int = Field(ge=1, le=MAX_ROWS_PER_OFFICIAL_PER_PERIOD)
    min_interval_seconds: int | None = Field(default=None, ge=0, le=MAX_INTERVAL_SECONDS)
    max_file_bytes: int = Field(default=MAX_FILE_BYTES, ge=1, le=MAX_FILE_BYTES)
    max_cell_chars: int = Field(default=1000, ge=1, le=MAX_CELL_CHARS)


class Review(BaseModel):
    """Review before release cannot be switched off (``required`` must stay true and
    ``auto_release_max_rows`` 0). ``two_reviewers_above_rows``: a request that would disclose
    more rows than this needs two different reviewers to approve it (default 1,000)."""

    model_config = _STRICT

    required: bool = True
    auto_release_max_rows: int = Field(default=0, ge=0)
    two_reviewers_above_rows: int = Field(default=1000, ge=0, le=MAX_ROWS_PER_REQUEST)

    def reviewers_for(self, disclosed_rows: int) -> int:
        """How many different reviewers must approve a request disclosing this many rows."""
        return 2 if disclosed_rows > self.two_reviewers_above_rows else 1


class Agreement(BaseModel):
    """A data-sharing agreement; build it with :meth:`Agreement.load`."""

    model_config = _STRICT

    agreement: AgreementInfo
    request: RequestRules
    tax_years: TaxYears
    disclosure: Disclosure
    matching: Matching
    limits: Limits
    review: Review = Review()

    _sha256: str = PrivateAttr(default="")
    _source: str = PrivateAttr(default="")
    _bytes: bytes = PrivateAttr(default=b"")
    _packaged: bool = PrivateAttr(default=False)

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> Agreement:
        """Load and check an agreement file; ``None`` loads the one shipped with tinmatch."""
        if path is None:
            resource = resources.files("tinmatch") / "data" / "default_agreement.toml"
            data, source = resource.read_bytes(), "default agreement"
            agreement = cls.from_bytes(data, source=source)
            agreement._packaged = True
            return agreement
        else:
            try:
                data, source = Path(path).read_bytes(), str(path)
            except OSError as exc:
                raise ConfigError(f"cannot read agreement {path}: {exc.strerror}") from exc
        return cls.from_bytes(data, source=source)

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "agreement") -> Agreement:
        try:
            raw = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{source} is not valid TOML: {exc}") from exc
        problems = _policy_problems(raw) + _cross_problems(raw)
        agreement: Agreement | None = None
        try:
            agreement = cls.model_validate(raw)
        except ValidationError as exc:
            problems = _pydantic_problems(exc) + problems
        if problems:
            raise ConfigError(f"{source} is invalid: " + "; ".join(dict.fromkeys(problems)))
        assert agreement is not None
        normalized = tuple(normalize_statute(s) for s in agreement.request.authorized_statutes)
        request = agreement.request.model_copy(update={"authorized_statutes": normalized})
        agreement = agreement.model_copy(update={"request": request})
        agreement._sha256 = hashlib.sha256(data).hexdigest()
        agreement._source = source
        agreement._bytes = data
        return agreement

    # -- what the pipeline asks ------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.agreement.id

    @property
    def sha256(self) -> str:
        """SHA-256 of the agreement file's bytes, recorded with every disclosure."""
        return self._sha256

    @property
    def source(self) -> str:
        return self._source

    @property
    def raw_bytes(self) -> bytes:
        """The file's bytes, as hashed (kept by the registry, for `agreement show/diff`)."""
        return self._bytes

    @property
    def packaged(self) -> bool:
        """True for the agreement shipped with tinmatch (it registers itself on first use)."""
        return self._packaged

    @property
    def disclosed_fields(self) -> tuple[str, ...]:
        """The disclosed fields in contract order (not the order written in the file)."""
        named = set(self.disclosure.fields)
        return tuple(f for f in DISCLOSABLE_FIELDS if f in named)

    def statute_authorized(self, citation: str) -> bool:
        return normalize_statute(citation) in self.request.authorized_statutes

    def in_force(self, on: date) -> bool:
        return self.agreement.effective <= on <= self.agreement.expires

    def allowed_years(self, master_years: Sequence[int]) -> tuple[int, int]:
        """The allowed (first, last) tax years: explicit, or the ``recent`` latest in the master."""
        ty = self.tax_years
        if ty.first is not None and ty.last is not None:
            return ty.first, ty.last
        years = sorted({int(y) for y in master_years})
        if not years:
            raise MasterNotLoadedError(
                "the master holds no tax years; load it with `tinmatch load-master`"
            )
        recent = years[-(ty.recent or 1):]
        return recent[0], recent[-1]


def _pydantic_problems(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key {where}")
        elif err["type"] == "missing":
            problems.append(f"missing key {where}")
        else:
            problems.append(f"{where}: {err['msg']} (got {err.get('input')!r})")
    return problems


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, dict) else {}


def _policy_problems(raw: dict[str, Any]) -> list[str]:
    """Rules of policy that pydantic's types cannot say, checked on the raw TOML."""
    problems: list[str] = []
    fields = _section(raw, "disclosure").get("fields")
    if isinstance(fields, list):
        for field in fields:
            name = str(field)
            if name.lower() in FORBIDDEN_FIELDS or names_a_relationship(name):
                problems.append(f"disclosure.fields: {name!r} may never be disclosed")
            elif name not in DISCLOSABLE_FIELDS:
                problems.append(
                    f"disclosure.fields: {name!r} is not a disclosable field "
                    f"(allowed: {', '.join(DISCLOSABLE_FIELDS)})"
                )
        if len(set(map(str, fields))) != len(fields):
            problems.append("disclosure.fields: a field is named twice")
    columns = _section(raw, "request").get("required_columns")
    if isinstance(columns, list):
        dropped = [c for c in ALWAYS_REQUIRED if c not in columns]
        if dropped:
            problems.append(
                f"request.required_columns must include {', '.join(dropped)} "
                "(always required, whatever the agreement says)"
            )
        for column in columns:
            if column not in REQUEST_COLUMNS:
                problems.append(f"request.required_columns: {column!r} is not a request column")
    for key in _section(raw, "matching"):
        known = [k for k in Matching.model_fields if k != key]
        if key not in Matching.model_fields and difflib.get_close_matches(key, known, cutoff=0.8):
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)[0]
            problems.append(f"unknown key matching.{key} (did you mean {close}?)")
    return problems


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _cross_problems(raw: dict[str, Any]) -> list[str]:
    """Rules across fields, checked on the raw TOML so they are reported with all the others."""
    problems = []
    info = _section(raw, "agreement")
    effective, expires = info.get("effective"), info.get("expires")
    for key, value in (("effective", effective), ("expires", expires)):
        # A quoted date would be read as a date further on but escape the term checks below.
        if value is not None and not isinstance(value, date):
            problems.append(
                f"agreement.{key} must be a TOML date written without quotes "
                f"(e.g. {key} = 2026-01-01), not {value!r}"
            )
    if isinstance(effective, date) and isinstance(expires, date):
        if expires <= effective:
            problems.append("agreement.expires must be after agreement.effective")
        elif expires > _add_months(effective, MAX_TERM_MONTHS):
            problems.append(
                f"agreement.expires {expires} is more than {MAX_TERM_MONTHS} months "
                f"after agreement.effective {effective}"
            )
    ty = _section(raw, "tax_years")
    first, last, recent = ty.get("first"), ty.get("last"), ty.get("recent")
    if (first is None) != (last is None):
        problems.append("tax_years: give both first and last, or neither")
    elif first is not None:
        if recent is not None:
            problems.append("tax_years: give either recent or first/last, not both")
        if isinstance(first, int) and isinstance(last, int) and last < first:
            problems.append("tax_years.last is before tax_years.first")
    elif recent is None:
        problems.append("tax_years: give recent, or first and last")
    for statute in _section(raw, "request").get("authorized_statutes") or []:
        if not str(statute).strip():
            problems.append("request.authorized_statutes: an empty citation")
        elif known_statute(str(statute)) is None:
            problems.append(
                f"request.authorized_statutes: {str(statute)!r} is not a criminal statute in "
                "tinmatch's table (src/tinmatch/data/statutes.csv)"
            )
    if _section(raw, "request").get("cover_required") is False:
        problems.append("request.cover_required cannot be false: every request needs a cover")
    review = _section(raw, "review")
    if review.get("required") is False:
        problems.append("review.required cannot be false: review before release is required")
    auto = review.get("auto_release_max_rows")
    if isinstance(auto, int) and not isinstance(auto, bool) and auto != 0:
        problems.append(
            "review.auto_release_max_rows must be 0: no request is released without review"
        )
    for key, value in _section(raw, "matching").items():
        if key not in Matching.model_fields and not isinstance(value, str | int | float | bool):
            problems.append(f"matching.{key}: must be a number, string or boolean")
    return problems
