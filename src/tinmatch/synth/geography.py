"""A synthetic but plausible US geography: states, cities, ZIPs, streets; addresses rendered.

States carry their 2020 census population (millions) and rough Hispanic / Asian shares, so
Hispanic people concentrate in CA, TX, FL, AZ, NM... and common names collide within a state.
Within a state city sizes follow a Zipf law. ZIPs come from the state's real ZIP range (Faker's
`states_postcode`); city and street names are made from Faker's word lists and census surnames.
Street suffixes and directionals are written in varied forms ("Street", "St", "ST", "St.").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker.providers.address.en_US import Provider as UsAddress
from faker.providers.person.en_US import Provider as UsPerson
from faker.providers.person.es_MX import Provider as MxPerson

from tinmatch.synth.names import CULTURES, HISPANIC, ascii_upper
from tinmatch.synth.variants import masked, zero_pad

# state: (population in millions, Hispanic share, Asian share) -- 2020 census, rounded.
STATES: dict[str, tuple[float, float, float]] = {
    "CA": (39.5, .40, .16), "TX": (29.1, .40, .05), "FL": (21.5, .27, .03),
    "NY": (20.2, .19, .09), "PA": (13.0, .08, .04), "IL": (12.8, .18, .06),
    "OH": (11.8, .04, .03), "GA": (10.7, .10, .04), "NC": (10.4, .10, .03),
    "MI": (10.1, .05, .03), "NJ": (9.3, .21, .10), "VA": (8.6, .10, .07),
    "WA": (7.7, .13, .10), "AZ": (7.2, .32, .04), "MA": (7.0, .13, .07),
    "TN": (6.9, .06, .02), "IN": (6.8, .08, .03), "MD": (6.2, .11, .07),
    "MO": (6.2, .05, .02), "WI": (5.9, .08, .03), "CO": (5.8, .22, .04),
    "MN": (5.7, .06, .05), "SC": (5.1, .06, .02), "AL": (5.0, .05, .02),
    "LA": (4.7, .07, .02), "KY": (4.5, .04, .02), "OR": (4.2, .14, .05),
    "OK": (4.0, .12, .02), "CT": (3.6, .17, .05), "UT": (3.3, .15, .03),
    "IA": (3.2, .07, .03), "NV": (3.1, .29, .09), "AR": (3.0, .08, .02),
    "MS": (3.0, .03, .01), "KS": (2.9, .13, .03), "NM": (2.1, .49, .02),
    "NE": (2.0, .12, .03), "ID": (1.8, .13, .02), "WV": (1.8, .02, .01),
    "HI": (1.5, .11, .37), "NH": (1.4, .04, .03), "ME": (1.4, .02, .01),
    "RI": (1.1, .17, .04), "MT": (1.1, .04, .01), "DE": (1.0, .10, .04),
    "SD": (0.9, .04, .02), "ND": (0.8, .04, .02), "AK": (0.7, .07, .07),
    "DC": (0.7, .11, .05), "VT": (0.6, .02, .02), "WY": (0.6, .10, .01),
}
SPANISH_PLACE_STATES = {"CA", "TX", "NM", "AZ", "FL", "CO", "NV"}

# Suffix forms: (full, title abbreviation, USPS upper, abbreviation with period).
SUFFIXES: list[tuple[str, str, str, str]] = [
    ("Street", "St", "ST", "St."), ("Avenue", "Ave", "AVE", "Ave."), ("Road", "Rd", "RD", "Rd."),
    ("Drive", "Dr", "DR", "Dr."), ("Lane", "Ln", "LN", "Ln."),
    ("Boulevard", "Blvd", "BLVD", "Blvd."), ("Court", "Ct", "CT", "Ct."),
    ("Way", "Way", "WAY", "Way"), ("Place", "Pl", "PL", "Pl."), ("Circle", "Cir", "CIR", "Cir."),
]
SUFFIX_WEIGHTS = np.array([.30, .20, .12, .15, .07, .03, .06, .03, .02, .02])
DIRECTIONS: list[tuple[str, str, str, str]] = [
    ("North", "N", "N", "N."), ("South", "S", "S", "S."),
    ("East", "E", "E", "E."), ("West", "W", "W", "W."),
]
N_FORMS = 4
UNIT_FORMS = ("APT {}", "Apt {}", "# {}", "Unit {}", "APT. {}", "#{}")
STREET_WORDS = (
    "Main Park Lake Hill Church High Mill River Spring Center Market Union Washington Lincoln "
    "Jefferson Franklin Madison Jackson Adams Monroe Sunset Valley Ridge Meadow Forest Prospect "
    "Highland Oak Pine Maple Cedar Elm Walnut Willow Birch Chestnut Spruce Aspen Magnolia "
    "Sycamore Hickory Dogwood Cherry Laurel Orchard Railroad Broad Water Bridge Grand College"
).split()
SPANISH_STREET_WORDS = (
    "Camino Real|Las Flores|Santa Rosa|Del Mar|Vista Del Sol|El Camino|La Paloma|Los Robles|"
    "San Pedro|Alameda|Mesa Verde|Rio Grande|Las Palmas|Montecito"
).split("|")
ORDINALS = [f"{i}{'th' if 10 <= i % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(i % 10, 'th')}"
            for i in range(1, 60)]


@dataclass(frozen=True)
class Geography:
    """Cities (with state, ZIPs, streets) and, per naming culture, where people live."""

    states: np.ndarray          # state codes
    city_name: np.ndarray       # object (upper-case)
    city_state: np.ndarray      # int index into states
    city_p: np.ndarray          # (n_cultures, n_cities) residence probabilities
    state_city_p: list[tuple[np.ndarray, np.ndarray]]  # per state: (city ids, probabilities)
    zip_start: np.ndarray       # per city, offset into zips
    zip_count: np.ndarray
    zips: np.ndarray            # object, 5-digit strings
    street_start: np.ndarray    # per city, offset into street arrays
    street_count: np.ndarray
    street_name: np.ndarray     # object, title case
    street_suffix: np.ndarray   # int index into SUFFIXES
    street_dir: np.ndarray      # int index into DIRECTIONS or -1

    @property
    def n_cities(self) -> int:
        return len(self.city_name)


def _city_names(rng: np.random.Generator, state: str, n: int) -> list[str]:
    surnames = list(UsPerson.last_names)[:600]
    spanish = [ascii_upper(x) for x in MxPerson.first_names]
    prefixes, suffixes = UsAddress.city_prefixes, UsAddress.city_suffixes
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        kind = rng.random()
        if state in SPANISH_PLACE_STATES and kind < 0.25:
            saint = spanish[rng.integers(len(spanish))]
            name = ("SANTA " if saint.endswith("A") else "SAN ") + saint
        else:
            base = surnames[rng.integers(len(surnames))].upper()
            name = base + suffixes[rng.integers(len(suffixes))].upper()
            if kind > 0.8:
                name = prefixes[rng.integers(len(prefixes))].upper() + " " + name
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


@lru_cache(maxsize=4)
def build_geography(seed: int, n_cities: int = 2500) -> Geography:
    rng = np.random.default_rng([seed, 7])
    codes = np.array(list(STATES))
    pop = np.array([v[0] for v in STATES.values()])
    hisp = np.array([v[1] for v in STATES.values()])
    asian = np.array([v[2] for v in STATES.values()])
    per_state = np.maximum(8, np.round(n_cities * pop / pop.sum())).astype(int)
    city_state = np.repeat(np.arange(len(codes)), per_state)
    names: list[str] = []
    zipf = np.zeros(len(city_state))
    zip_lists: list[list[str]] = []
    state_city_p: list[tuple[np.ndarray, np.ndarray]] = []
    offset = 0
    for s, code in enumerate(codes):
        k = int(per_state[s])
        names += _city_names(rng, str(code), k)
        w = 1.0 / (np.arange(k) + 1.0) ** 1.05
        w /= w.sum()
        zipf[offset: offset + k] = w
        state_city_p.append((np.arange(offset, offset + k), w))
        lo, hi = UsAddress.states_postcode[str(code)]
        for j in range(k):
            n_zip = int(np.clip(round(w[j] * 60), 1, 12))
            start = int(rng.integers(lo, max(lo + 1, hi - n_zip)))
            zip_lists.append([f"{z:05d}" for z in range(start, min(start + n_zip, hi + 1))])
        offset += k
    # Residence probability per culture: state share of that culture, Zipf within the state.
    state_w = np.stack([
        pop * (1 - hisp - asian) if c == 0 else pop * hisp if c == HISPANIC else pop * asian
        if c in (2, 3, 4) else pop * (asian * 0.3 + 0.02)
        for c in range(len(CULTURES))
    ])
    state_w /= state_w.sum(axis=1, keepdims=True)
    city_p = state_w[:, city_state] * zipf[None, :]
    city_p /= city_p.sum(axis=1, keepdims=True)
    zip_count = np.array([len(z) for z in zip_lists])
    zip_start = np.concatenate([[0], np.cumsum(zip_count)[:-1]])
    # Streets: more in bigger cities.
    share = city_p[0] * 0.6 + city_p[HISPANIC] * 0.4
    street_count = np.clip(np.round(share * 150_000), 15, 900).astype(int)
    street_start = np.concatenate([[0], np.cumsum(street_count)[:-1]])
    n_streets = int(street_count.sum())
    words = np.array(STREET_WORDS + [s.title() for s in list(UsPerson.last_names)[:400]]
                     + ORDINALS, dtype=object)
    street_name = words[rng.integers(len(words), size=n_streets)]
    spanish_city = np.isin(codes[city_state], list(SPANISH_PLACE_STATES))
    sp = np.repeat(spanish_city, street_count) & (rng.random(n_streets) < 0.15)
    street_name[sp] = np.array(SPANISH_STREET_WORDS, dtype=object)[
        rng.integers(len(SPANISH_STREET_WORDS), size=int(sp.sum()))]
    suffix = rng.choice(len(SUFFIXES), size=n_streets, p=SUFFIX_WEIGHTS)
    direction = np.where(rng.random(n_streets) < 0.15,
                         rng.integers(len(DIRECTIONS), size=n_streets), -1)
    return Geography(
        states=codes, city_name=np.array(names, dtype=object), city_state=city_state,
        city_p=city_p, state_city_p=state_city_p,
        zip_start=zip_start, zip_count=zip_count,
        zips=np.array([z for zs in zip_lists for z in zs], dtype=object),
        street_start=street_start, street_count=street_count, street_name=street_name,
        street_suffix=suffix.astype(np.int16), street_dir=direction.astype(np.int16),
    )


@dataclass
class Addresses:
    """A table of physical addresses (one row per dwelling), columns as numpy arrays."""

    city: np.ndarray
    street: np.ndarray      # global street id
    house: np.ndarray
    unit: np.ndarray        # object: unit label ("4B", "12") or None
    zip: np.ndarray         # object: 5-digit
    zip4: np.ndarray        # object: 4-digit

    def __len__(self) -> int:
        return len(self.city)

    @staticmethod
    def concat(parts: list[Addresses]) -> Addresses:
        return Addresses(*(np.concatenate([getattr(p, f) for p in parts])
                           for f in ("city", "street", "house", "unit", "zip", "zip4")))

    def state(self, geo: Geography) -> np.ndarray:
        return geo.city_state[self.city]


def new_addresses(rng: np.random.Generator, geo: Geography, city: np.ndarray) -> Addresses:
    """One fresh dwelling in each given city."""
    n = len(city)
    street = geo.street_start[city] + (rng.random(n) * geo.street_count[city]).astype(np.int64)
    house = np.exp(rng.uniform(np.log(10), np.log(19999), size=n)).astype(np.int64)
    has_unit = rng.random(n) < 0.25
    floor = rng.integers(1, 30, size=n)
    letter = np.array(list("ABCDEF"), dtype=object)[rng.integers(6, size=n)]
    style = rng.random(n)
    label = np.where(style < 0.4, floor.astype(str).astype(object) + letter,
                     np.where(style < 0.7, (floor * 100 + rng.integers(1, 20, size=n))
                              .astype(str).astype(object), floor.astype(str).astype(object)))
    unit = masked(has_unit, label)
    zi = geo.zip_start[city] + (rng.random(n) * geo.zip_count[city]).astype(np.int64)
    zip4 = zero_pad(rng.integers(1, 9999, size=n), 4)
    return Addresses(city=city, street=street, house=house, unit=unit, zip=geo.zips[zi],
                     zip4=zip4)


def sample_cities(rng: np.random.Generator, geo: Geography, culture: np.ndarray) -> np.ndarray:
    out = np.empty(len(culture), dtype=np.int64)
    for c in range(len(CULTURES)):
        mask = culture == c
        out[mask] = rng.choice(geo.n_cities, size=int(mask.sum()), p=geo.city_p[c])
    return out


def move_cities(rng: np.random.Generator, geo: Geography, city: np.ndarray,
                culture: np.ndarray) -> np.ndarray:
    """Where movers go: 65% same city, 25% another city of the same state, 10% anywhere."""
    r = rng.random(len(city))
    out = city.copy()
    far = r >= 0.9
    out[far] = sample_cities(rng, geo, culture[far])
    near = (r >= 0.65) & (r < 0.9)
    state = geo.city_state[city]
    for s in np.unique(state[near]):
        m = near & (state == s)
        ids, p = geo.state_city_p[int(s)]
        out[m] = rng.choice(ids, size=int(m.sum()), p=p)
    return out


def _forms(table: list[tuple[str, str, str, str]]) -> np.ndarray:
    return np.array([f for row in table for f in row], dtype=object)


SUFFIX_FORMS = _forms(SUFFIXES)
DIRECTION_FORMS = _forms(DIRECTIONS)


def render_street(geo: Geography, addr: Addresses, idx: np.ndarray, form: np.ndarray,
                  upper: np.ndarray) -> pa.Array:
    """`123 N Main St` for addresses `idx`, suffix/direction written in `form` (0..3)."""
    street = addr.street[idx]
    suffix = geo.street_suffix[street].astype(np.int64) * N_FORMS + form
    direction = geo.street_dir[street].astype(np.int64)
    dir_text = np.where(direction >= 0, DIRECTION_FORMS[np.maximum(direction, 0) * N_FORMS
                                                         + form], None)
    text = pc.binary_join_element_wise(
        pa.array(addr.house[idx]).cast(pa.string()), pa.array(dir_text, type=pa.string()),
        pa.array(geo.street_name[street], type=pa.string()),
        pa.array(SUFFIX_FORMS[suffix], type=pa.string()), " ", null_handling="skip")
    return pc.if_else(pa.array(upper), pc.utf8_upper(text), text)


def street_text(geo: Geography, addr: Addresses, i: int, form: int, upper: bool) -> str:
    """One address's street line, same rules as `render_street` (for small request files)."""
    street = int(addr.street[i])
    parts = [str(addr.house[i])]
    if geo.street_dir[street] >= 0:
        parts.append(DIRECTIONS[int(geo.street_dir[street])][form])
    parts += [str(geo.street_name[street]), SUFFIXES[int(geo.street_suffix[street])][form]]
    text = " ".join(parts)
    return text.upper() if upper else text


def render_unit(addr: Addresses, idx: np.ndarray, form: np.ndarray) -> pa.Array:
    """`APT 4B` / `# 4B` / `Unit 4B` ..., null when the dwelling has no unit."""
    label = addr.unit[idx]
    out = np.full(len(idx), None, dtype=object)
    for f, pattern in enumerate(UNIT_FORMS):
        m = (form == f) & (label != None)  # noqa: E711  (object array comparison)
        if m.any():
            prefix, _, _ = pattern.partition("{}")
            out[m] = prefix + label[m]
    return pa.array(out, type=pa.string())
