"""Households and the people in them: identity records, TINs, where each lives each year.

Household types (share of households): single adult 50%, married couple 41%, couple with an
adult son named after his father (Sr/Jr at one address) 5%, adult twins (same DOB, same address,
different first names) 4%. 15% of couples marry during the period: before that year they live
apart and file alone; after it they share an address and mostly file jointly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinmatch.synth.geography import (
    Addresses,
    Geography,
    move_cities,
    new_addresses,
    sample_cities,
)
from tinmatch.synth.names import (
    CULTURE_SHARE,
    CULTURES,
    FEMALE,
    HISPANIC,
    MALE,
    NameTables,
)
from tinmatch.synth.variants import zero_pad

SINGLE, COUPLE, FAMILY, TWINS = range(4)
HOUSEHOLD_SHARE = np.array([0.50, 0.41, 0.05, 0.04])
HOUSEHOLD_SIZE = np.array([1, 2, 3, 2])
SUFFIX_TEXT = np.array([None, "JR", "SR", "II", "III"], dtype=object)
NO_JR, JR, SR, II, III = range(5)
MOVE_RATE = 0.12
MIDDLE_RATE = np.array([0.65, 0.55, 0.40, 0.85, 0.30, 0.50])
ITIN_RATE = np.array([0.005, 0.12, 0.06, 0.06, 0.02, 0.04])

# Valid SSNs: area 001-899 except 666, group 01-99, serial 0001-9999.
_SSN_SPACE = 898 * 99 * 9999
# ITINs: 9XX, group 50-65, 70-88, 90-92 or 94-99, serial 0000-9999.
_ITIN_GROUPS = np.array([*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)])
_ITIN_SPACE = 100 * len(_ITIN_GROUPS) * 10000


def make_tins(pid: np.ndarray, itin: np.ndarray, seed: int) -> np.ndarray:
    """Unique 9-digit TIN strings from global person ids, by an affine bijection per space."""
    rs = np.random.default_rng([seed, 11])
    a_ssn, a_itin = 7_919_993, 1_299_827  # primes not dividing the space sizes
    b_ssn, b_itin = int(rs.integers(_SSN_SPACE)), int(rs.integers(_ITIN_SPACE))
    p = pid.astype(np.int64)
    k = (p * a_ssn + b_ssn) % _SSN_SPACE
    area = k // (99 * 9999) + 1
    area = np.where(area >= 666, area + 1, area)
    ssn = area * 1_000_000 + (k // 9999 % 99 + 1) * 10_000 + (k % 9999 + 1)
    j = (p * a_itin + b_itin) % _ITIN_SPACE
    itin_no = ((900 + j // (len(_ITIN_GROUPS) * 10000)) * 1_000_000
               + _ITIN_GROUPS[j // 10000 % len(_ITIN_GROUPS)] * 10_000 + j % 10000)
    return zero_pad(np.where(itin, itin_no, ssn), 9)


@dataclass
class People:
    """One chunk of people; arrays of length n (and n x years for the trajectories)."""

    pid: np.ndarray
    tin: np.ndarray
    household: np.ndarray
    kind: np.ndarray          # household type
    pos: np.ndarray           # position in household (0 = anchor)
    culture: np.ndarray
    sex: np.ndarray
    dob: np.ndarray           # datetime64[D], the true date of birth
    dob_known: np.ndarray     # False: blank on the identity record
    first: np.ndarray         # name ids
    middle: np.ndarray        # -1 when none
    last1: np.ndarray
    last2: np.ndarray         # second surname, -1 when none
    last_form: np.ndarray     # 0 last1 only, 1 "last1 last2", 2 "last1-last2"
    suffix: np.ndarray        # code into SUFFIX_TEXT
    partner: np.ndarray       # chunk index of the spouse, -1
    married_at: np.ndarray    # year index of marriage (0 = before the period), n_years = never
    primary: np.ndarray       # files joint returns as primary
    name_change: np.ndarray   # takes the spouse's surname on returns from married_at
    address: np.ndarray       # (n, n_years) ids into addresses
    addresses: Addresses

    def __len__(self) -> int:
        return len(self.pid)


def _households(rng: np.random.Generator, n: int) -> np.ndarray:
    kinds = rng.choice(4, size=int(n / 1.5) + 16, p=HOUSEHOLD_SHARE)
    sizes = HOUSEHOLD_SIZE[kinds]
    keep = np.cumsum(sizes) <= n
    kinds = kinds[keep]
    missing = n - int(HOUSEHOLD_SIZE[kinds].sum())
    return np.concatenate([kinds, np.full(missing, SINGLE)])


def _trajectories(rng: np.random.Generator, geo: Geography, culture: np.ndarray,
                  n_years: int, offset: int) -> tuple[np.ndarray, list[Addresses]]:
    """Address ids per year for each mover unit; ~12% move a year."""
    city = sample_cities(rng, geo, culture)
    parts = [new_addresses(rng, geo, city)]
    ids = np.empty((len(culture), n_years), dtype=np.int64)
    ids[:, 0] = offset + np.arange(len(culture))
    offset += len(culture)
    for y in range(1, n_years):
        moving = np.nonzero(rng.random(len(culture)) < MOVE_RATE)[0]
        ids[:, y] = ids[:, y - 1]
        city[moving] = move_cities(rng, geo, city[moving], culture[moving])
        parts.append(new_addresses(rng, geo, city[moving]))
        ids[moving, y] = offset + np.arange(len(moving))
        offset += len(moving)
    return ids, parts


def make_people(rng: np.random.Generator, geo: Geography, names: NameTables, first_pid: int,
                n: int, n_years: int, last_year: int, seed: int) -> People:
    kinds = _households(rng, n)
    sizes = HOUSEHOLD_SIZE[kinds]
    hh = np.repeat(np.arange(len(kinds)), sizes)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(n) - start[hh]
    kind = kinds[hh]
    anchor = start[hh]  # chunk index of the household's first member

    hh_culture = rng.choice(len(CULTURES), size=len(kinds), p=CULTURE_SHARE)
    culture = hh_culture[hh]
    mixed = (kind == COUPLE) & (pos == 1) & (rng.random(n) < 0.1)
    culture[mixed] = rng.choice(len(CULTURES), size=int(mixed.sum()), p=CULTURE_SHARE)

    sex = rng.integers(2, size=n)
    sex[(kind == COUPLE) & (pos == 0)] = MALE
    sex[(kind == COUPLE) & (pos == 1)] = FEMALE
    sex[kind == FAMILY] = np.array([MALE, FEMALE, MALE])[pos[kind == FAMILY]]

    # Ages at the last tax year; DOB = birth year + day of year.
    age = rng.integers(18, 86, size=n).astype(np.int64)
    couple_like = (kind == COUPLE) | (kind == FAMILY)
    age[couple_like & (pos == 0)] = rng.integers(24, 86, size=int((couple_like & (pos == 0)).sum()))
    fam_father = (kind == FAMILY) & (pos == 0)
    age[fam_father] = rng.integers(42, 82, size=int(fam_father.sum()))
    wife = couple_like & (pos == 1)
    age[wife] = np.clip(age[anchor[wife]] + rng.integers(-6, 3, size=int(wife.sum())), 19, 90)
    son = (kind == FAMILY) & (pos == 2)
    age[son] = np.maximum(18, age[anchor[son]] - rng.integers(20, 36, size=int(son.sum())))
    twin = kind == TWINS
    age[twin] = rng.integers(18, 46, size=int(twin.sum()))
    age[twin & (pos == 1)] = age[anchor[twin & (pos == 1)]]
    day = rng.integers(0, 365, size=n)
    day[twin & (pos == 1)] = day[anchor[twin & (pos == 1)]]
    birth_year = last_year - age
    dob = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + day
    dob_known = rng.random(n) >= 0.05

    first = np.empty(n, dtype=np.int64)
    middle = np.full(n, -1, dtype=np.int64)
    for c in range(len(CULTURES)):
        for s in (MALE, FEMALE):
            m = (culture == c) & (sex == s)
            k = int(m.sum())
            first[m] = names.sample_first(rng, c, s, k)
            mid = m & (rng.random(n) < MIDDLE_RATE[c])
            middle[mid] = names.sample_middle(rng, c, s, int(mid.sum()))
    first[son] = first[anchor[son]]
    t2 = twin & (pos == 1)
    for _ in range(5):  # twins get different first names
        same = t2 & (first == first[anchor])
        if not same.any():
            break
        for c in range(len(CULTURES)):
            for s in (MALE, FEMALE):
                m = same & (culture == c) & (sex == s)
                first[m] = names.sample_first(rng, c, s, int(m.sum()))
    middle[middle == first] = -1

    last1 = np.empty(n, dtype=np.int64)
    last2 = np.full(n, -1, dtype=np.int64)
    for c in range(len(CULTURES)):
        m = culture == c
        last1[m] = names.sample_last(rng, c, int(m.sum()))
        if c == HISPANIC:
            last2[m] = names.sample_last(rng, c, int(m.sum()))
    last2[last2 == last1] = -1
    form = np.where(last2 >= 0, rng.choice(3, size=n, p=[0.45, 0.40, 0.15]), 0)
    blood = (kind == FAMILY) & (pos == 2) | (kind == TWINS) & (pos == 1)
    last1[blood], last2[blood] = last1[anchor[blood]], last2[anchor[blood]]
    form[blood] = form[anchor[blood]]

    suffix = np.zeros(n, dtype=np.int64)
    suffix[fam_father] = np.where(rng.random(int(fam_father.sum())) < 0.5, SR, NO_JR)
    suffix[son] = np.where(rng.random(int(son.sum())) < 0.8, JR, II)
    other = (kind == SINGLE) & (culture == 0) & (rng.random(n) < 0.02)
    suffix[other] = rng.choice([JR, III], size=int(other.sum()))

    partner = np.full(n, -1, dtype=np.int64)
    partner[couple_like & (pos == 0)] = np.nonzero(couple_like & (pos == 0))[0] + 1
    partner[wife] = np.nonzero(wife)[0] - 1
    married_at = np.full(n, n_years, dtype=np.int64)
    in_period = rng.random(n) < 0.15
    m_year = np.where(in_period, rng.integers(1, n_years, size=n), 0)
    married_at[couple_like & (pos == 0)] = m_year[couple_like & (pos == 0)]
    married_at[wife] = married_at[anchor[wife]]
    name_change = wife & (married_at > 0) & (married_at < n_years) & (
        rng.random(n) < np.where(culture == HISPANIC, 0.25, 0.7))
    # Wives married before the period mostly carry the husband's surname already.
    took = wife & (married_at == 0) & (culture != HISPANIC) & (rng.random(n) < 0.8)
    last1[took], last2[took], form[took] = last1[anchor[took]], -1, 0
    primary = (pos == 0) & couple_like & (rng.random(n) < 0.8)
    husband = couple_like & (pos == 0)
    wife_primary = np.zeros(n, dtype=bool)
    wife_primary[wife] = ~primary[anchor[wife]] | (
        name_change[wife] & (rng.random(int(wife.sum())) < 0.5))
    primary[wife] = wife_primary[wife]
    primary[husband] = ~wife_primary[np.nonzero(husband)[0] + 1]

    # Where they live: one trajectory per household, personal ones before marriage / after
    # the son moves out.
    traj, parts = _trajectories(rng, geo, hh_culture, n_years, 0)
    address = traj[hh]
    alone = np.zeros((n, n_years), dtype=bool)
    years = np.arange(n_years)[None, :]
    alone[wife] = years < married_at[wife][:, None]
    moves_out = son & (rng.random(n) < 0.4)
    out_year = np.where(moves_out, rng.integers(1, n_years, size=n), n_years)
    alone[son] = years >= out_year[son][:, None]
    solo = np.nonzero(alone.any(axis=1))[0]
    offset = sum(len(p) for p in parts)
    own, more = _trajectories(rng, geo, culture[solo], n_years, offset)
    address[solo] = np.where(alone[solo], own, address[solo])
    addresses = Addresses.concat(parts + more)

    pid = first_pid + np.arange(n, dtype=np.int64)
    itin = rng.random(n) < ITIN_RATE[culture]
    return People(
        pid=pid, tin=make_tins(pid, itin, seed), household=hh, kind=kind, pos=pos,
        culture=culture, sex=sex, dob=dob, dob_known=dob_known, first=first, middle=middle,
        last1=last1, last2=last2, last_form=form, suffix=suffix, partner=partner,
        married_at=married_at, primary=primary, name_change=name_change, address=address,
        addresses=addresses,
    )
