"""Pick, in each chunk of the master, the people a request will ask about, and keep their data.

Only these few people are kept once a chunk is written, so the master can be much larger than
memory. Namesake pairs (two master people with the same first and last name in the same state)
are planted before the returns are written, so that rows built to be ambiguous really are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from tinmatch.synth.geography import Addresses, Geography
from tinmatch.synth.names import NameTables
from tinmatch.synth.people import FAMILY, SINGLE, SUFFIX_TEXT, People
from tinmatch.synth.returns import Returns

# Scenarios drawn from master people, in the order they are filled.
MASTER_SCENARIOS = (
    "ambiguous_namesake", "ambiguous_jr_sr", "no_return", "rejected", "not_in_master_namesake",
    "not_in_master_random", "matched",
)


@dataclass
class Target:
    """A master person a request row is built from, with everything the row and truth need."""

    scenario: str
    tin: str
    first: str
    middle: str | None
    last: str
    last1: str
    last2: str | None
    suffix: str | None
    dob: date
    culture: int
    sex: int
    state: int                       # state index of the latest address
    returns: list[dict[str, Any]]    # rows where the person is tin or spouse_tin, with `addr`
    addresses: Addresses             # the dwellings those rows refer to (local ids)
    years_appearing: list[int]
    same_name_at_home: bool = False  # father or son named alike: requests keep DOB and suffix
    other: Target | None = None      # the namesake / father-son partner
    common_years: list[int] = field(default_factory=list)


def plant_namesakes(rng: np.random.Generator, people: People, geo: Geography,
                    k: int) -> np.ndarray:
    """Give k single adults the first, last name (and no suffix) of another single adult of
    the same culture and sex living in the same state at the end of the period. Returns pairs."""
    if k <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    cand = np.nonzero(people.kind == SINGLE)[0]
    cand = cand[rng.permutation(len(cand))]
    state = geo.city_state[people.addresses.city[people.address[cand, -1]]]
    key = (state * 16 + people.culture[cand]) * 2 + people.sex[cand]
    order = np.argsort(key, kind="stable")
    cand, key = cand[order], key[order]
    first_of_pair = np.nonzero(key[:-1] == key[1:])[0]
    chosen: list[int] = []
    last_used = -2
    for i in first_of_pair:  # non-overlapping adjacent pairs
        if i > last_used + 1:
            chosen.append(int(i))
            last_used = int(i) + 1
    if not chosen:
        return np.zeros((0, 2), dtype=np.int64)
    chosen_arr = np.array(chosen)[rng.permutation(len(chosen))[:k]]
    x, y = cand[chosen_arr], cand[chosen_arr + 1]
    people.first[y], people.last1[y] = people.first[x], people.last1[x]
    people.last2[y], people.last_form[y] = people.last2[x], people.last_form[x]
    people.suffix[x] = people.suffix[y] = 0
    return np.stack([x, y], axis=1)


def _target(scenario: str, i: int, people: People, returns: Returns,
            table: list[dict[str, Any]], sub: Addresses, names: NameTables, geo: Geography,
            years: list[int]) -> Target:
    table = sorted((dict(r) for r in table), key=lambda r: r["tax_year"])
    a = people.addresses
    v = names.vocab
    l1, l2, form = int(people.last1[i]), int(people.last2[i]), int(people.last_form[i])
    last = v[l1] if form == 0 or l2 < 0 else v[l1] + ("-" if form == 2 else " ") + v[l2]
    latest = people.address[i, -1]
    return Target(
        scenario=scenario, tin=str(people.tin[i]), first=v[int(people.first[i])],
        middle=v[int(people.middle[i])] if people.middle[i] >= 0 else None, last=last,
        last1=v[l1], last2=v[l2] if l2 >= 0 else None, suffix=SUFFIX_TEXT[people.suffix[i]],
        dob=people.dob[i].item(), culture=int(people.culture[i]),
        sex=int(people.sex[i]), state=int(geo.city_state[a.city[latest]]), returns=table,
        addresses=sub,
        years_appearing=[years[y] for y in np.nonzero(returns.appear[i])[0]],
        same_name_at_home=bool(people.kind[i] == FAMILY and people.pos[i] in (0, 2)),
    )


def select_targets(rng: np.random.Generator, people: People, returns: Returns,
                   names: NameTables, geo: Geography, years: list[int], allowed_from: int,
                   quotas: dict[str, int], pairs: np.ndarray) -> list[Target]:
    """Fill each scenario's quota from this chunk; quotas are decremented in place."""
    n = len(people)
    allowed = np.array(years) >= allowed_from
    appear = returns.appear
    in_allowed = np.asarray(appear[:, allowed].any(axis=1))
    gap = np.asarray((~appear[:, allowed]).any(axis=1) & appear.any(axis=1))
    used = np.zeros(n, dtype=bool)
    chosen: list[tuple[str, int, int]] = []  # scenario, person, partner (-1)

    for x, y in pairs:
        if quotas["ambiguous_namesake"] <= 0:
            break
        if in_allowed[x] and in_allowed[y] and not used[x] and not used[y]:
            chosen.append(("ambiguous_namesake", int(x), int(y)))
            used[x] = used[y] = True
            quotas["ambiguous_namesake"] -= 1
    fathers = np.nonzero((people.kind == FAMILY) & (people.pos == 0))[0]
    fathers = fathers[rng.permutation(len(fathers))]
    for f in fathers:
        if quotas["ambiguous_jr_sr"] <= 0:
            break
        s = f + 2
        common = appear[f] & appear[s] & (people.address[f] == people.address[s]) & allowed
        if common.any() and not used[f] and not used[s]:
            pick = (int(f), int(s)) if rng.random() < 0.5 else (int(s), int(f))
            chosen.append(("ambiguous_jr_sr", *pick))
            used[f] = used[s] = True
            quotas["ambiguous_jr_sr"] -= 1
    order = rng.permutation(n)
    eligible: dict[str, np.ndarray] = {
        "no_return": gap, "rejected": in_allowed, "matched": in_allowed,
        "not_in_master_namesake": in_allowed, "not_in_master_random": np.ones(n, dtype=bool),
    }
    for scenario in MASTER_SCENARIOS[2:]:
        want = quotas[scenario]
        if want <= 0:
            continue
        ok = order[eligible[scenario][order] & ~used[order]][:want]
        used[ok] = True
        quotas[scenario] -= len(ok)
        chosen += [(scenario, int(i), -1) for i in ok]

    # Rows where each chosen person appears, as tin or as spouse_tin.
    wanted = {p for _, i, j in chosen for p in (i, j) if p >= 0}
    wanted_arr = np.array(sorted(wanted), dtype=np.int64)
    row_ids = np.arange(len(returns.person))
    by_primary = np.isin(returns.person, wanted_arr)
    by_spouse = np.isin(returns.spouse, wanted_arr)
    owner = np.concatenate([returns.person[by_primary], returns.spouse[by_spouse]])
    rows = np.concatenate([row_ids[by_primary], row_ids[by_spouse]])
    sort = np.argsort(owner, kind="stable")
    owner, rows = owner[sort], rows[sort]

    # One take for the whole chunk; addresses renumbered into one small shared table.
    uniq_rows, row_local = np.unique(rows, return_inverse=True)
    records = returns.table.take(pa.array(uniq_rows)).to_pylist()
    uniq_addr, addr_local = np.unique(returns.addr[uniq_rows], return_inverse=True)
    for rec, loc in zip(records, addr_local, strict=True):
        rec["addr"] = int(loc)
    a = people.addresses
    sub = Addresses(a.city[uniq_addr], a.street[uniq_addr], a.house[uniq_addr],
                    a.unit[uniq_addr], a.zip[uniq_addr], a.zip4[uniq_addr])

    def rows_of(p: int) -> list[dict[str, Any]]:
        lo, hi = np.searchsorted(owner, [p, p + 1])
        return [records[k] for k in row_local[lo:hi]]

    def make(scenario: str, p: int) -> Target:
        return _target(scenario, p, people, returns, rows_of(p), sub, names, geo, years)

    out: list[Target] = []
    for scenario, i, j in chosen:
        t = make(scenario, i)
        if j >= 0:
            t.other = make(scenario, j)
            both = appear[i] & appear[j] & allowed
            if scenario == "ambiguous_jr_sr":
                both &= people.address[i] == people.address[j]
            t.common_years = [years[y] for y in np.nonzero(both)[0]]
        out.append(t)
    return out
