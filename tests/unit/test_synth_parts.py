"""Pieces of the generator: TINs, name tables, typos, geography."""

from __future__ import annotations

import jellyfish
import numpy as np

from tinmatch.synth.geography import build_geography, new_addresses, street_text
from tinmatch.synth.names import HISPANIC, ascii_upper, load_name_tables
from tinmatch.synth.people import make_tins
from tinmatch.synth.variants import typo


def test_tins_are_unique_and_valid_over_a_large_range() -> None:
    pid = np.arange(2_000_000, 2_200_000)
    itin = pid % 7 == 0
    tins = make_tins(pid, itin, seed=3)
    assert len(set(tins)) == len(tins)
    assert all(len(t) == 9 and t.isdigit() for t in tins[:1000])
    starts = np.array([t[:3] for t in tins])
    assert (np.char.startswith(starts[itin].astype(str), "9")).all()
    ssn = starts[~itin]
    assert not np.isin(ssn, ["000", "666"]).any()
    assert not np.char.startswith(ssn.astype(str), "9").any()
    assert list(make_tins(pid[:10], itin[:10], seed=3)) == list(tins[:10])


def test_name_tables_are_weighted_and_have_nicknames() -> None:
    t = load_name_tables()
    ids, p = t.last[HISPANIC]
    top = [t.vocab[i] for i in ids[np.argsort(-p)[:5]]]
    assert "GARCIA" in top and "RODRIGUEZ" in top
    nick = {t.vocab[i] for i in t.nick[t.index["WILLIAM"]] if i >= 0}
    assert "BILL" in nick
    assert {t.vocab[i] for i in t.nick[t.index["JOSE"]] if i >= 0} >= {"PEPE"}
    assert {t.vocab[i] for i in t.nick[t.index["GUADALUPE"]] if i >= 0} >= {"LUPE"}
    assert all(v == ascii_upper(v) for v in t.vocab)


def test_typo_is_one_small_edit() -> None:
    rng = np.random.default_rng(0)
    for name in ["WILLIAM", "GARCIA", "NGUYEN", "Maria"]:
        for a, b in rng.random((50, 2)):
            out = typo(name, float(a), float(b))
            assert out[0] == name[0]
            assert 1 <= jellyfish.damerau_levenshtein_distance(name, out) <= 1


def test_street_lines_vary_in_form_not_in_place() -> None:
    geo = build_geography(1)
    rng = np.random.default_rng(1)
    addr = new_addresses(rng, geo, np.array([5, 5, 17]))
    forms = {street_text(geo, addr, 0, f, False) for f in range(4)}
    assert len(forms) >= 2
    assert all(s.split()[0] == str(addr.house[0]) for s in forms)
    assert street_text(geo, addr, 0, 2, True) == street_text(geo, addr, 0, 2, True).upper()
