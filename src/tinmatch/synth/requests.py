"""Request rows as a field agent would write them, and the truth about each row.

Mix (share of rows): ~73% master people to be matched, corrupted 0-2 ways (typo in first or
last name, nickname, first/last swapped, middle name used as first, second surname dropped,
street written differently, unit dropped) with a historical address 40% of the time, DOB
missing 40% / day-month swapped 3%; 4% master people with no return in the requested periods;
2.5% planted namesake pairs (same name and state, request with no address match and no DOB)
and 1.5% Jr/Sr at their shared address without suffix or DOB, both ambiguous; 5% people not in
the master who share first+last name and state with one who is, 5% people not in the master at
all; 8% rejected rows with exactly one cause (missing field, placeholder street, unauthorized
statute, tax period out of range, future removal order date, invalid state, invalid date,
duplicate record_id -- every row sharing a duplicated id is rejected).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from tinmatch.synth.geography import (
    UNIT_FORMS,
    Addresses,
    Geography,
    new_addresses,
    street_text,
)
from tinmatch.synth.names import NameTables
from tinmatch.synth.targets import Target
from tinmatch.synth.variants import typo

REQUEST_COLUMNS = [
    "record_id", "first_name", "middle_name", "last_name", "suffix", "date_of_birth",
    "street", "address_line2", "city", "state", "zip", "removal_order_date",
    "criminal_statute", "case_number", "tax_periods",
]
TRUTH_COLUMNS = [
    "record_id", "scenario", "true_tin", "expected_outcome", "expected_reason",
    "expected_street", "expected_address_line2", "expected_city", "expected_state",
    "expected_zip", "expected_tax_year",
]
SCENARIO_SHARE: dict[str, float] = {
    "ambiguous_namesake": 0.025, "ambiguous_jr_sr": 0.015, "no_return": 0.04,
    "rejected": 0.08, "not_in_master_namesake": 0.05, "not_in_master_random": 0.05,
}
AUTHORIZED = ["8 USC 1253(a)(1)", "8 U.S.C. § 1326", "8 u.s.c. 1326", "8 U.S.C. 1253(a)(1)",
              "8 USC § 1326", "8 U.S.C. 1326"]
UNAUTHORIZED = ["18 U.S.C. 1001", "8 U.S.C. 1324", "21 USC 841(a)(1)", "18 USC 1546"]
PLACEHOLDERS = ["NA", "N/A", "NA NA", "NONE", "-", "UNKNOWN", "Failed to Provide", "unknown",
                "n/a"]
REQUIRED = ["first_name", "last_name", "street", "city", "state", "removal_order_date",
            "criminal_statute", "case_number", "tax_periods"]
REJECT_CAUSES: list[tuple[str, float]] = [
    ("missing_field", 0.22), ("placeholder_street", 0.16), ("zip_as_street", 0.04),
    ("statute_not_authorized", 0.14), ("tax_period_out_of_range", 0.12),
    ("future_removal_order", 0.08), ("invalid_state", 0.08), ("invalid_date", 0.04),
    ("duplicate_record_id", 0.06),
]


def quotas_for(m: int) -> dict[str, int]:
    q = {k: int(round(m * v)) for k, v in SCENARIO_SHARE.items()}
    q["matched"] = m - sum(q.values())
    return q


@dataclass
class Row:
    fields: dict[str, Any]     # request columns (dates as date objects or text)
    truth: dict[str, Any]
    dup_of: int = -1           # index of the row whose record_id this one reuses


def most_recent(t: Target, period: list[int]) -> dict[str, Any] | None:
    rows = [r for r in t.returns if r["tax_year"] in period]
    return max(rows, key=lambda r: r["tax_year"]) if rows else None


def period_text(rng: np.random.Generator, years: list[int], must: int | None,
                allowed: list[int]) -> tuple[str, list[int]]:
    """`2024`, `2022-2024` or `2022;2024` containing `must` (or any allowed year)."""
    y = must if must is not None else int(rng.choice(allowed))
    r = rng.random()
    if r < 0.4:
        return str(y), [y]
    if r < 0.8:
        lo = int(rng.integers(allowed[0], y + 1))
        hi = int(rng.integers(y, allowed[-1] + 1))
        return (f"{lo}-{hi}" if lo < hi else str(y)), list(range(lo, hi + 1))
    other = int(rng.choice(allowed))
    both = sorted({y, other})
    return ";".join(map(str, both)), both


class Builder:
    """Turns targets into request rows; one generator for every random choice."""

    def __init__(self, rng: np.random.Generator, geo: Geography, names: NameTables,
                 years: list[int], allowed: list[int]) -> None:
        self.rng, self.geo, self.names = rng, geo, names
        self.years, self.allowed = years, allowed
        self.last_year = years[-1]
        self.nick_index = names.index

    # -- pieces ---------------------------------------------------------------------------
    def _case(self, text: str | None, upper: bool) -> str | None:
        if text is None:
            return None
        return text.upper() if upper else text.title()

    def _address(self, addr: Addresses, i: int, upper: bool) -> dict[str, Any]:
        street = street_text(self.geo, addr, i, int(self.rng.integers(4)), upper)
        unit = addr.unit[i]
        line2 = None
        if unit is not None and self.rng.random() >= 0.15:
            line2 = UNIT_FORMS[int(self.rng.integers(len(UNIT_FORMS)))].format(unit)
        city = str(self.geo.city_name[addr.city[i]])
        return {"street": street, "address_line2": line2,
                "city": city if upper else city.title(),
                "state": str(self.geo.states[self.geo.city_state[addr.city[i]]]),
                "zip": str(addr.zip[i]) if self.rng.random() < 0.7 else None}

    def _random_address(self, state: int, upper: bool) -> dict[str, Any]:
        ids, p = self.geo.state_city_p[state]
        city = np.array([self.rng.choice(ids, p=p)])
        return self._address(new_addresses(self.rng, self.geo, city), 0, upper)

    def _base(self, first: str, middle: str | None, last: str, suffix: str | None,
              dob: date | None, period: str) -> dict[str, Any]:
        upper = bool(self.rng.random() < 0.4)
        removal = date(self.last_year - 7, 1, 1) + timedelta(days=int(self.rng.integers(2900)))
        return {
            "first_name": self._case(first, upper), "middle_name": self._case(middle, upper),
            "last_name": self._case(last, upper), "suffix": self._case(suffix, upper),
            "date_of_birth": dob, "removal_order_date": removal,
            "criminal_statute": AUTHORIZED[int(self.rng.integers(len(AUTHORIZED)))],
            "case_number": None, "tax_periods": period, "_upper": upper,
        }

    @staticmethod
    def _truth(scenario: str, tin: str | None, outcome: str, reason: str | None,
               expected: dict[str, Any] | None) -> dict[str, Any]:
        e = expected or {}
        return {"scenario": scenario, "true_tin": tin, "expected_outcome": outcome,
                "expected_reason": reason, "expected_street": e.get("street"),
                "expected_address_line2": e.get("address_line2"),
                "expected_city": e.get("city"), "expected_state": e.get("state"),
                "expected_zip": e.get("zip"), "expected_tax_year": e.get("tax_year")}

    # -- scenarios ------------------------------------------------------------------------
    def matched(self, t: Target) -> Row:
        rng = self.rng
        in_allowed = [y for y in t.years_appearing if y in self.allowed]
        text, period = period_text(rng, self.years, int(rng.choice(in_allowed)), self.allowed)
        expected = most_recent(t, period)
        tags: list[str] = []
        latest = t.returns[-1]
        source = latest
        if rng.random() < 0.4:
            old = [r for r in t.returns if 2 <= latest["tax_year"] - r["tax_year"] <= 5
                   and r["addr"] != latest["addr"]]
            if old:
                source = old[int(rng.integers(len(old)))]
                tags.append("historical_address")
        first, middle, last, suffix = t.first, t.middle, t.last, t.suffix
        dob: date | None = t.dob
        r = rng.random()
        if t.same_name_at_home:  # without DOB a Jr/Sr request would be truly ambiguous
            tags.append("jr_sr_with_dob")
        elif r < 0.4:
            dob = None
            tags.append("dob_missing")
        elif r < 0.43 and t.dob.day <= 12 and t.dob.day != t.dob.month:
            dob = date(t.dob.year, t.dob.day, t.dob.month)
            tags.append("dob_day_month_swapped")
        for _ in range(int(rng.choice(3, p=[0.35, 0.45, 0.2]))):
            kind = str(rng.choice(["typo_first", "typo_last", "nickname", "swap_names",
                                   "middle_as_first", "drop_second_surname", "drop_suffix"]))
            if kind == "typo_first":
                first = typo(first, rng.random(), rng.random())
            elif kind == "typo_last":
                last = typo(last, rng.random(), rng.random())
            elif kind == "nickname":
                nicks = [x for x in self.names.nick[self.names.index[first]] if x >= 0] \
                    if first in self.names.index else []
                if not nicks:
                    continue
                first = self.names.vocab[int(rng.choice(nicks))]
            elif kind == "swap_names":
                first, last = last, first
            elif kind == "middle_as_first":
                if middle is None:
                    continue
                first, middle = middle, None
            elif kind == "drop_second_surname":
                if t.last2 is None or last != t.last:
                    continue
                last = t.last1
            elif kind == "drop_suffix":
                if suffix is None or t.same_name_at_home:
                    continue
                suffix = None
            tags.append(kind)
        if rng.random() < 0.5:
            middle = None
        fields = self._base(first, middle, last, suffix, dob, text)
        fields.update(self._address(t.addresses, source["addr"], fields["_upper"]))
        if fields["address_line2"] is None and t.addresses.unit[source["addr"]] is not None:
            tags.append("unit_dropped")
        scenario = "matched:" + ("+".join(dict.fromkeys(tags)) or "clean")
        return Row(fields, self._truth(scenario, t.tin, "matched", None, expected))

    def no_return(self, t: Target) -> Row:
        missing = [y for y in self.allowed if y not in t.years_appearing]
        y = int(self.rng.choice(missing))
        run = [y]
        while run[-1] + 1 in missing and self.rng.random() < 0.5:
            run.append(run[-1] + 1)
        text = str(y) if len(run) == 1 else f"{run[0]}-{run[-1]}"
        fields = self._base(t.first, t.middle, t.last, t.suffix,
                            t.dob if t.same_name_at_home or self.rng.random() < 0.6 else None,
                            text)
        fields.update(self._address(t.addresses, t.returns[-1]["addr"], fields["_upper"]))
        return Row(fields, self._truth("no_return", t.tin, "unmatched", "no_return_in_period",
                                       None))

    def ambiguous_namesake(self, t: Target) -> Row:
        text = f"{self.allowed[0]}-{self.allowed[-1]}"
        fields = self._base(t.first, None, t.last, None, None, text)
        fields.update(self._random_address(t.state, fields["_upper"]))
        return Row(fields, self._truth("ambiguous_namesake", t.tin, "unmatched", "ambiguous",
                                       None))

    def ambiguous_jr_sr(self, t: Target) -> Row:
        y = max(t.common_years)
        row = next(r for r in t.returns if r["tax_year"] == y)
        fields = self._base(t.first, None, t.last, None, None, str(y))
        fields.update(self._address(t.addresses, row["addr"], fields["_upper"]))
        return Row(fields, self._truth("ambiguous_jr_sr", t.tin, "unmatched", "ambiguous",
                                       None))

    def not_in_master(self, t: Target, namesake: bool) -> Row:
        rng = self.rng
        first, last = t.first, t.last
        if not namesake:
            first = self.names.vocab[int(self.names.sample_first(rng, t.culture, t.sex, 1)[0])]
            last = self.names.vocab[int(self.names.sample_last(rng, t.culture, 1)[0])]
        dob = None
        if rng.random() < 0.5:
            dob = date(1950, 1, 1) + timedelta(days=int(rng.integers(20000)))
            if dob == t.dob:
                dob = dob + timedelta(days=400)
        text, _ = period_text(rng, self.years, None, self.allowed)
        fields = self._base(first, None, last, None, dob, text)
        fields.update(self._random_address(t.state, fields["_upper"]))
        scenario = "not_in_master_namesake" if namesake else "not_in_master"
        return Row(fields, self._truth(scenario, None, "unmatched", None, None))

    def rejected(self, t: Target, cause: str) -> Row:
        row = self.matched(t)
        f, rng = row.fields, self.rng
        code = "invalid_value"
        label = cause
        if cause == "missing_field":
            name = REQUIRED[int(rng.integers(len(REQUIRED)))]
            f[name] = None if rng.random() < 0.7 else "  "
            code, label = "missing_field", f"missing_field:{name}"
        elif cause == "placeholder_street":
            f["street"] = PLACEHOLDERS[int(rng.integers(len(PLACEHOLDERS)))]
        elif cause == "zip_as_street":
            f["street"] = f"{int(rng.integers(10000, 99999))}"
        elif cause == "statute_not_authorized":
            f["criminal_statute"] = UNAUTHORIZED[int(rng.integers(len(UNAUTHORIZED)))]
            code = "statute_not_authorized"
        elif cause == "tax_period_out_of_range":
            f["tax_periods"] = str(rng.choice(["2015", "2012-2014", f"2016;{self.allowed[-1]}",
                                               str(self.allowed[0] - 2)]))
            code = "tax_period_out_of_range"
        elif cause == "future_removal_order":
            f["removal_order_date"] = date(self.last_year + 10, 3, 1) + timedelta(
                days=int(rng.integers(300)))
        elif cause == "invalid_state":
            f["state"] = str(rng.choice(["XX", "ZZ", "Calif", "QQ"]))
        elif cause == "invalid_date":
            f["removal_order_date"] = str(rng.choice([f"{self.last_year - 1}-02-30",
                                                      "13/45/2021", "someday"]))
        elif cause == "duplicate_record_id":
            code = "duplicate_record_id"
        row.truth = self._truth(f"rejected:{label}", t.tin, "rejected", code, None)
        return row


def build_rows(builder: Builder, targets: list[Target]) -> list[Row]:
    """All request rows in their final (shuffled) order, record ids assigned."""
    rng = builder.rng
    rows: list[Row] = []
    causes = [c for c, _ in REJECT_CAUSES]
    weights = np.array([w for _, w in REJECT_CAUSES])
    pending_dup: int | None = None
    for t in targets:
        if t.scenario == "matched":
            rows.append(builder.matched(t))
        elif t.scenario == "no_return":
            rows.append(builder.no_return(t))
        elif t.scenario == "ambiguous_namesake":
            rows.append(builder.ambiguous_namesake(t))
        elif t.scenario == "ambiguous_jr_sr":
            rows.append(builder.ambiguous_jr_sr(t))
        elif t.scenario.startswith("not_in_master"):
            rows.append(builder.not_in_master(t, t.scenario.endswith("namesake")))
        else:
            cause = str(rng.choice(causes, p=weights / weights.sum()))
            if pending_dup is not None:
                cause = "duplicate_record_id"
            row = builder.rejected(t, cause)
            if cause == "duplicate_record_id":
                if pending_dup is None:
                    pending_dup = len(rows)
                else:
                    row.dup_of = pending_dup
                    pending_dup = None
            rows.append(row)
    if pending_dup is not None:  # an unpaired duplicate: make it a plain matched row
        rows[pending_dup] = builder.matched(targets_by_tin(targets, rows[pending_dup]))
    order = rng.permutation(len(rows))
    position = np.empty(len(rows), dtype=np.int64)
    position[order] = np.arange(len(rows))
    width = max(6, len(str(len(rows))))
    ids = [f"R{position[i] + 1:0{width}d}" for i in range(len(rows))]
    for i, row in enumerate(rows):
        rid = ids[row.dup_of] if row.dup_of >= 0 else ids[i]
        row.fields["record_id"] = rid
        row.truth["record_id"] = rid
        row.fields["case_number"] = f"ICE-{builder.last_year + 1}-{position[i] + 1:06d}"
    final = [rows[i] for i in order]
    for row in final:
        if row.truth["expected_reason"] == "missing_field" and \
                row.truth["scenario"].endswith("case_number"):
            row.fields["case_number"] = None
    return final


def targets_by_tin(targets: list[Target], row: Row) -> Target:
    return next(t for t in targets if t.tin == row.truth["true_tin"])
