"""Who files which return each year, and the return rows as written (names and addresses vary).

Filing: adults only; 8% start filing late in the period, 3% stop, 5% skip any given year.
Married couples file jointly (the primary's name on the return, the other only as `spouse_tin`)
except in 4% of years when they file separately. On returns: nicknames (2% habitual, 1.5% per
return), typos (1%), middle name full / initial / blank, suffix sometimes dropped, compound
surnames in a different form than on the identity record, the spouse's surname after a marriage
in the period. Addresses: suffix and directional forms vary by person and year, 75% upper case,
units dropped on 6% of returns or written inline in the street, ZIP+4 for some filers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker.providers.company.en_US import Provider as Company
from faker.providers.person.en_US import Provider as UsPerson

from tinmatch.synth.geography import Geography, render_street, render_unit
from tinmatch.synth.names import NameTables
from tinmatch.synth.people import SUFFIX_TEXT, People
from tinmatch.synth.variants import apply_typos, join_surname, masked, take_names

RETURN_COLUMNS = [
    "tin", "spouse_tin", "tax_year", "first_name", "middle_name", "last_name", "suffix",
    "street", "address_line2", "city", "state", "zip", "filing_status", "employer_name",
]
BIG_EMPLOYERS = [
    "WALMART INC", "AMAZON.COM SERVICES LLC", "TARGET CORPORATION", "HOME DEPOT USA INC",
    "KROGER CO", "UNITED PARCEL SERVICE INC", "WALGREEN CO", "STARBUCKS CORPORATION",
    "MCDONALDS USA LLC", "COSTCO WHOLESALE CORP", "LOWES HOME CENTERS LLC", "FEDEX GROUND",
    "SELF-EMPLOYED", "STATE OF CALIFORNIA", "US POSTAL SERVICE", "BANK OF AMERICA NA",
]


@lru_cache(maxsize=1)
def employer_vocab() -> np.ndarray:
    rng = np.random.default_rng(20_26)
    surnames = [s.upper() for s in list(UsPerson.last_names)[:800]]
    suffixes = [s.upper().replace(",", "") for s in Company.company_suffixes]
    made = {f"{surnames[rng.integers(len(surnames))]} {suffixes[rng.integers(len(suffixes))]}"
            for _ in range(3000)}
    return np.array(BIG_EMPLOYERS + sorted(made), dtype=object)


@dataclass
class Returns:
    table: pa.Table
    person: np.ndarray     # chunk index of the primary filer, per row
    spouse: np.ndarray     # chunk index of the spouse, -1
    year: np.ndarray       # year index, per row
    addr: np.ndarray       # address id, per row
    appear: np.ndarray     # (n, n_years): the person is tin or spouse_tin on a return


def _habit(rng: np.random.Generator, per_person: np.ndarray, person: np.ndarray,
           redraw: float, choices: int) -> np.ndarray:
    value = per_person[person]
    r = rng.random(len(person)) < redraw
    value[r] = rng.integers(choices, size=int(r.sum()))
    return value


def make_returns(rng: np.random.Generator, geo: Geography, names: NameTables, people: People,
                 years: list[int]) -> Returns:
    n, n_years = len(people), len(years)
    idx = np.arange(n)
    year_arr = np.array(years)[None, :]
    birth_year = people.dob.astype("datetime64[Y]").astype(np.int64) + 1970
    adult = (year_arr - birth_year[:, None]) >= 18
    start = np.where(rng.random(n) < 0.08, rng.integers(1, n_years, size=n), 0)
    stop = np.where(rng.random(n) < 0.03, rng.integers(1, n_years, size=n), n_years)
    y_idx = np.arange(n_years)[None, :]
    files = adult & (y_idx >= start[:, None]) & (y_idx < stop[:, None])
    files &= rng.random((n, n_years)) >= 0.05

    partnered = people.partner >= 0
    partner = np.where(partnered, people.partner, idx)
    married = partnered[:, None] & (y_idx >= people.married_at[:, None])
    owner = np.where(partnered & (people.pos == 1), partner, idx)
    separate = (rng.random((n, n_years)) < 0.04)[owner]
    joint = married & ~separate
    primary = people.primary[:, None]
    own = files & (~joint | primary)
    appear = own | (joint & ~primary & own[partner])

    p, y = np.nonzero(own)
    is_joint = joint[p, y]
    spouse = np.where(is_joint, partner[p], -1)
    addr = people.address[p, y]
    rows = len(p)
    age = np.array(years)[y] - birth_year[p]
    status = np.where(rng.random(rows) < 0.12, "head_of_household", "single").astype(object)
    status[(age > 60) & (rng.random(rows) < 0.05)] = "widow"
    status[married[p, y] & ~is_joint] = "separate"
    status[is_joint] = "joint"

    vocab = pa.array(names.vocab, type=pa.string())
    # First name: habitual or occasional nickname, then typos.
    first = people.first[p].copy()
    nick_count = (names.nick[first] >= 0).sum(axis=1)
    use_nick = (nick_count > 0) & ((rng.random(n) < 0.02)[p] | (rng.random(rows) < 0.015))
    slot = (rng.random(rows) * np.maximum(nick_count, 1)).astype(np.int64)
    first[use_nick] = names.nick[first[use_nick], slot[use_nick]]
    first_text = apply_typos(rng, take_names(vocab, first), 0.01)
    # Middle: full, initial or blank.
    mid_form = _habit(rng, rng.choice(3, size=n, p=[0.55, 0.30, 0.15]), p, 0.1, 3)
    middle_ids = np.where(mid_form == 2, -1, people.middle[p])
    middle_text = take_names(vocab, middle_ids)
    middle_text = pc.if_else(pa.array(mid_form == 1), pc.utf8_slice_codeunits(middle_text, 0, 1),
                             middle_text)
    # Last: compound form may differ from the identity record; married name after marriage.
    person_form = np.where(rng.random(n) < 0.8, people.last_form, rng.integers(3, size=n))
    person_form[people.last2 < 0] = 0
    l1, l2, form = people.last1[p].copy(), people.last2[p].copy(), person_form[p]
    changed = people.name_change[p] & (y >= people.married_at[p])
    l1[changed], l2[changed], form[changed] = people.last1[partner[p][changed]], -1, 0
    last_text = apply_typos(rng, join_surname(vocab, l1, l2, form), 0.01)
    keep_suffix = (rng.random(n) < 0.85)[p]
    suffix = masked(keep_suffix, SUFFIX_TEXT[people.suffix[p]])
    dotted = (rng.random(rows) < 0.2) & np.isin(suffix, ["JR", "SR"])
    suffix[dotted] = np.array([s + "." for s in suffix[dotted]], dtype=object)

    # Address as written.
    street_form = _habit(rng, rng.integers(4, size=n), p, 0.12, 4)
    upper = _habit(rng, (rng.random(n) < 0.75).astype(np.int64), p, 0.1, 2).astype(bool)
    street = render_street(geo, people.addresses, addr, street_form, upper)
    unit_form = _habit(rng, rng.integers(6, size=n), p, 0.05, 6)
    unit = render_unit(people.addresses, addr, unit_form)
    unit = pc.if_else(pa.array(rng.random(rows) < 0.06), pa.nulls(rows, pa.string()), unit)
    unit = pc.if_else(pa.array(upper), pc.utf8_upper(unit), unit)
    inline = (rng.random(n) < 0.2)[p] & ~np.asarray(unit.is_null())
    street = pc.if_else(pa.array(inline),
                        pc.binary_join_element_wise(street, unit, " "), street)
    unit = pc.if_else(pa.array(inline), pa.nulls(rows, pa.string()), unit)
    city_ids = people.addresses.city[addr]
    city = pa.array(geo.city_name[city_ids], type=pa.string())
    city = pc.if_else(pa.array(upper), city, pc.utf8_title(city))
    state = pa.array(geo.states[geo.city_state[city_ids]], type=pa.string())
    zip5 = people.addresses.zip[addr]
    plus4 = (rng.random(n) < 0.1)[p]
    zip_text = np.where(plus4, zip5 + people.addresses.zip4[addr], zip5)

    employers = employer_vocab()
    base = rng.integers(len(employers), size=n)
    job = base[p] + np.where(rng.random(rows) < 0.15, rng.integers(1, 50, size=rows), 0)
    employer = employers[job % len(employers)]
    employer[(age >= 67) & (rng.random(rows) < 0.6)] = None

    tin = people.tin
    table = pa.table({
        "tin": pa.array(tin[p], type=pa.string()),
        "spouse_tin": pa.array(masked(spouse >= 0, tin[spouse]), type=pa.string()),
        "tax_year": pa.array(np.array(years, dtype=np.int32)[y]),
        "first_name": first_text, "middle_name": middle_text, "last_name": last_text,
        "suffix": pa.array(suffix, type=pa.string()),
        "street": street, "address_line2": unit, "city": city, "state": state,
        "zip": pa.array(zip_text, type=pa.string()),
        "filing_status": pa.array(status, type=pa.string()),
        "employer_name": pa.array(employer, type=pa.string()),
    })
    return Returns(table=table, person=p, spouse=spouse, year=y, addr=addr, appear=appear)


def taxpayer_table(names: NameTables, people: People) -> pa.Table:
    """The identity records, contract columns."""
    vocab = pa.array(names.vocab, type=pa.string())
    dob = masked(people.dob_known, np.datetime_as_string(people.dob, unit="D"))
    return pa.table({
        "tin": pa.array(people.tin, type=pa.string()),
        "first_name": take_names(vocab, people.first),
        "middle_name": take_names(vocab, people.middle),
        "last_name": join_surname(vocab, people.last1, people.last2, people.last_form),
        "suffix": pa.array(SUFFIX_TEXT[people.suffix], type=pa.string()),
        "date_of_birth": pa.array(dob, type=pa.string()),
    })
