"""Frequency-weighted name tables read from Faker's locale providers, sampled with numpy.

Faker is only used as a maintained source of name lists and weights (US Census-derived for
`en_US`); sampling one name at a time through Faker would be far too slow, so the tables are
read from the provider classes once and turned into (ids, probabilities) arrays over a single
upper-case ASCII vocabulary shared by first, middle and last names.

Weights: an `OrderedDict` table keeps its own weights; a plain list borrows the `en_US` weight
of the same name when there is one (GARCIA, NGUYEN, JOSE ...), else a small floor weight; a list
with no overlap at all (Japanese romanized names, ordered by frequency) gets Zipf weights.
"""

from __future__ import annotations

import importlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from nicknames import NickNamer

# Cultures of naming, with their share of the synthetic population.
CULTURES: tuple[str, ...] = (
    "anglo", "hispanic", "chinese", "vietnamese", "japanese", "south_asian",
)
CULTURE_SHARE: tuple[float, ...] = (0.58, 0.30, 0.045, 0.03, 0.015, 0.03)
ANGLO, HISPANIC, CHINESE, VIETNAMESE, JAPANESE, SOUTH_ASIAN = range(6)
MALE, FEMALE = 0, 1
NICK_SLOTS = 6

# Spanish hypocorisms have no maintained package; these are the common ones.
SPANISH_NICKNAMES: dict[str, tuple[str, ...]] = {
    "JOSE": ("PEPE", "CHEPE"),
    "ROBERTO": ("BETO",),
    "ALBERTO": ("BETO",),
    "GUADALUPE": ("LUPE", "LUPITA"),
    "FRANCISCO": ("PACO", "PANCHO"),
    "JESUS": ("CHUY",),
    "IGNACIO": ("NACHO",),
    "GUILLERMO": ("MEMO",),
    "EDUARDO": ("LALO",),
    "ANTONIO": ("TONO", "TONY"),
    "ENRIQUE": ("QUIQUE",),
    "ALEJANDRO": ("ALEX",),
    "CONCEPCION": ("CONCHITA", "CONCHA"),
    "DOLORES": ("LOLA",),
    "CONSUELO": ("CHELO",),
    "ROSARIO": ("CHARO",),
    "MARIA": ("MARY",),
    "RAFAEL": ("RAFA",),
    "MANUEL": ("MANOLO", "MANNY"),
    "GUSTAVO": ("TAVO",),
    "REFUGIO": ("CUCO",),
    "ANA": ("ANITA",),
    "MARGARITA": ("MAGGIE",),
}


def ascii_upper(text: str) -> str:
    """`José` -> `JOSE`: strip accents, upper-case (tax records are written this way)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper().strip()


def _provider(locale: str) -> Any:
    return importlib.import_module(f"faker.providers.person.{locale}").Provider


@dataclass
class NameTables:
    """One vocabulary of names plus weighted samplers per (culture, sex)."""

    vocab: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    first: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    middle: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    last: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    nick: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int32))

    def ids(self, names: Iterable[str]) -> list[int]:
        out = []
        for name in names:
            key = ascii_upper(name)
            if key not in self.index:
                self.index[key] = len(self.vocab)
                self.vocab.append(key)
            out.append(self.index[key])
        return out

    def array(self) -> np.ndarray:
        return np.array(self.vocab, dtype=object)

    def sample_first(
        self, rng: np.random.Generator, culture: int, sex: int, n: int
    ) -> np.ndarray:
        ids, p = self.first[(culture, sex)]
        return ids[rng.choice(len(ids), size=n, p=p)]

    def sample_middle(
        self, rng: np.random.Generator, culture: int, sex: int, n: int
    ) -> np.ndarray:
        ids, p = self.middle[(culture, sex)]
        return ids[rng.choice(len(ids), size=n, p=p)]

    def sample_last(self, rng: np.random.Generator, culture: int, n: int) -> np.ndarray:
        ids, p = self.last[culture]
        return ids[rng.choice(len(ids), size=n, p=p)]


def _weights(names: Sequence[str] | Mapping[str, float], reference: Mapping[str, float]) -> (
    tuple[list[str], np.ndarray]
):
    if isinstance(names, Mapping):
        keys = list(names)
        w = np.array([float(names[k]) for k in keys])
    else:
        keys = list(dict.fromkeys(names))
        found = [reference.get(ascii_upper(k)) for k in keys]
        known = [f for f in found if f is not None]
        if known:
            floor = float(np.percentile(known, 10))
            w = np.array([f if f is not None else floor for f in found])
        else:
            w = 1.0 / (np.arange(len(keys)) + 5.0)
    return keys, w / w.sum()


def _mix(tables: NameTables, parts: list[tuple[float, Sequence[str] | Mapping[str, float]]],
         reference: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Combine several weighted lists (share, names) into one (ids, probabilities) sampler."""
    acc: dict[int, float] = {}
    for share, names in parts:
        keys, w = _weights(names, reference)
        for i, p in zip(tables.ids(keys), w, strict=True):
            acc[i] = acc.get(i, 0.0) + share * float(p)
    ids = np.fromiter(acc.keys(), dtype=np.int32)
    p = np.fromiter(acc.values(), dtype=float)
    return ids, p / p.sum()


@lru_cache(maxsize=1)
def load_name_tables() -> NameTables:
    """Read Faker's person providers once; deterministic (no randomness here)."""
    us, mx, es, cn, tw = (_provider(x) for x in ("en_US", "es_MX", "es_ES", "zh_CN", "zh_TW"))
    vi, ja, ind = (_provider(x) for x in ("vi_VN", "ja_JP", "en_IN"))
    ref_first = {ascii_upper(k): float(v) for k, v in
                 {**us.first_names_female, **us.first_names_male}.items()}
    ref_last = {ascii_upper(k): float(v) for k, v in us.last_names.items()}
    t = NameTables()
    t.ids(us.last_names)  # anglo surnames first: stable low ids
    male_us, female_us = us.first_names_male, us.first_names_female
    firsts: dict[tuple[int, int], list[tuple[float, Any]]] = {
        (ANGLO, MALE): [(1.0, male_us)],
        (ANGLO, FEMALE): [(1.0, female_us)],
        (HISPANIC, MALE): [(0.75, mx.first_names_male), (0.1, es.first_names_male),
                           (0.15, male_us)],
        (HISPANIC, FEMALE): [(0.75, mx.first_names_female), (0.1, es.first_names_female),
                             (0.15, female_us)],
        (CHINESE, MALE): [(0.35, tw.first_romanized_names_male), (0.3, cn.first_romanized_names),
                          (0.35, male_us)],
        (CHINESE, FEMALE): [(0.35, tw.first_romanized_names_female),
                            (0.3, cn.first_romanized_names), (0.35, female_us)],
        (VIETNAMESE, MALE): [(0.7, vi.first_names_male), (0.3, male_us)],
        (VIETNAMESE, FEMALE): [(0.7, vi.first_names_female), (0.3, female_us)],
        (JAPANESE, MALE): [(0.7, ja.first_romanized_names_male), (0.3, male_us)],
        (JAPANESE, FEMALE): [(0.7, ja.first_romanized_names_female), (0.3, female_us)],
        (SOUTH_ASIAN, MALE): [(0.9, ind.first_names_male), (0.1, male_us)],
        (SOUTH_ASIAN, FEMALE): [(0.9, ind.first_names_female), (0.1, female_us)],
    }
    for key, parts in firsts.items():
        t.first[key] = _mix(t, parts, ref_first)
        t.middle[key] = t.first[key]
    # Vietnamese middle names (VAN, THI ...) and Hispanic second given names.
    t.middle[(VIETNAMESE, MALE)] = _mix(t, [(1.0, ["Văn", "Quang", "Đức", "Hữu", "Minh"])],
                                        ref_first)
    t.middle[(VIETNAMESE, FEMALE)] = _mix(t, [(1.0, ["Thị", "Ngọc", "Thanh", "Kim"])], ref_first)
    t.middle[(HISPANIC, FEMALE)] = _mix(
        t, [(0.5, ["Guadalupe", "Del Carmen", "De Jesus", "Isabel", "Elena", "Luisa"]),
            (0.5, mx.first_names_female)], ref_first)
    lasts: dict[int, list[tuple[float, Any]]] = {
        ANGLO: [(1.0, us.last_names)],
        HISPANIC: [(0.85, mx.last_names), (0.15, es.last_names)],
        CHINESE: [(0.5, tw.last_romanized_names), (0.5, cn.last_romanized_names)],
        VIETNAMESE: [(1.0, vi.last_names)],
        JAPANESE: [(1.0, ja.last_romanized_names)],
        SOUTH_ASIAN: [(1.0, ind.last_names)],
    }
    for c, parts in lasts.items():
        t.last[c] = _mix(t, parts, ref_last)
    t.nick = _nickname_table(t)
    return t


def _nickname_table(t: NameTables) -> np.ndarray:
    """For each vocabulary id, up to NICK_SLOTS nickname ids (-1 when none)."""
    namer = NickNamer()
    first_ids = sorted({int(i) for ids, _ in t.first.values() for i in ids})
    pairs: dict[int, list[str]] = {}
    for i in first_ids:
        name = t.vocab[i]
        nicks = list(SPANISH_NICKNAMES.get(name, ()))
        if not nicks:
            nicks = sorted(n.upper() for n in namer.nicknames_of(name.lower()) if len(n) > 2)
        if nicks:
            pairs[i] = nicks[:NICK_SLOTS]
    for nicks in pairs.values():
        t.ids(nicks)
    table = np.full((len(t.vocab), NICK_SLOTS), -1, dtype=np.int32)
    for i, nicks in pairs.items():
        ids = t.ids(nicks)
        table[i, : len(ids)] = ids
    return table
