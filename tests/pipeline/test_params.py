"""Model parameters: serialization, rendering per dialect, completeness, requester-noise mixing."""

from __future__ import annotations

import json
import math
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinmatch.master.comparisons import COMPARISONS, level_labels
from tinmatch.master.database import read_params
from tinmatch.master.noise import (
    CONFLICT_BITS,
    CONFLICTS,
    DEFAULT_U,
    M_FLOOR,
    NESTED,
    NEUTRAL,
    NEVER_POSITIVE,
    REQUEST_NOISE,
    apply_request_noise,
)
from tinmatch.master.params import (
    LevelParams,
    ModelParams,
    params_from_settings_dict,
    render_settings,
)

# What label-based estimation might return on a smallish master (m sums to 1 per comparison).
OBSERVED: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "first_name": {
        "exact": (0.926, 0.02), "nickname": (0.02, 0.004), "jaro_winkler_0.92": (0.03, 0.002),
        "one_edit": (0.004, 0.001),
        "phonetic": (0.005, 0.001), "middle_as_first": (0.005, 0.002),
        "middle_as_first_typo": (None, 0.001),
        "swapped_with_surname": (None, 0.001), "nickname_typo": (None, 0.001),
        "two_edits": (None, 0.002), "else": (0.01, 0.95),
    },
    "last_name": {
        "exact": (0.9, 0.01), "swapped_with_first": (None, 0.0004),
        "jaro_winkler_0.92": (0.02, 0.003), "one_edit": (0.005, 0.001),
        "compound_part": (0.06, 0.002),
        "phonetic": (0.01, 0.004), "swapped_fuzzy": (None, 0.0007), "else": (0.01, 0.97),
    },
    "middle_name": {
        "exact": (0.7, 0.03), "similar": (0.005, 0.001), "initial": (0.275, 0.06),
        "overlap": (None, 0.0004), "else": (0.02, 0.6),
    },
    "suffix": {"exact": (0.99, 0.004), "else": (0.01, 0.002)},
    "date_of_birth": {
        "exact": (0.99, 4e-5), "day_month_transposed": (None, None), "year_month": (0.004, 1e-3),
        "year": (0.003, 0.013), "else": (0.003, 0.98),
    },
    "address": {
        "street_and_unit": (0.6, 1e-5), "street_other_unit": (0.05, 2e-5),
        "house_number_and_zip": (0.02, 4e-5), "zip": (0.15, 2e-3), "city_and_state": (0.08, 5e-3),
        "state": (0.08, 0.06), "else": (0.02, 0.93),
    },
}  # fmt: skip


def observed_params() -> ModelParams:
    levels = {
        comp: {label: LevelParams(m, u) for label, (m, u) in by_label.items()}
        for comp, by_label in OBSERVED.items()
    }
    return ModelParams(1e-4, levels, {"trained_on_people": 311})


def complete_params() -> ModelParams:
    return apply_request_noise(observed_params())


def weight(p: LevelParams) -> float:
    assert p.m is not None and p.u is not None
    return math.log2(p.m / p.u)


# --- serialization ------------------------------------------------------------------------


def test_json_round_trip_and_stable_hash() -> None:
    params = complete_params()
    text = params.to_json()
    again = ModelParams.from_json(text)
    assert again.to_json() == text
    assert again.sha256 == params.sha256 == complete_params().sha256
    assert len(params.sha256) == 64
    assert again.levels["address"]["zip"] == params.levels["address"]["zip"]
    assert again.probability_two_random_records_match == 1e-4
    assert json.loads(text)["format_version"] == 1


def test_hash_ignores_insertion_order_but_not_values() -> None:
    params = complete_params()
    reordered = ModelParams(
        params.probability_two_random_records_match,
        {c: dict(reversed(list(lv.items()))) for c, lv in reversed(list(params.levels.items()))},
        dict(params.meta),
    )
    assert reordered.sha256 == params.sha256
    changed = ModelParams.from_json(params.to_json())
    changed.levels["suffix"]["exact"] = LevelParams(0.5, changed.levels["suffix"]["exact"].u)
    assert changed.sha256 != params.sha256
    changed = ModelParams.from_json(params.to_json())
    changed.meta["seed"] = 1
    assert changed.sha256 != params.sha256


def test_from_json_refuses_an_unknown_format() -> None:
    body = json.loads(complete_params().to_json())
    body["format_version"] = 99
    with pytest.raises(ValueError, match="unsupported model format"):
        ModelParams.from_json(json.dumps(body))


def test_stored_model_round_trips(master_con: duckdb.DuckDBPyConnection) -> None:
    params = read_params(master_con)
    params.check_complete()
    assert ModelParams.from_json(params.to_json()).sha256 == params.sha256
    meta = dict(master_con.execute("SELECT key, value FROM m.meta").fetchall())
    assert json.loads(meta["model_sha256"]) == params.sha256


# --- completeness and rendering -----------------------------------------------------------


def test_check_complete_names_a_missing_level() -> None:
    params = complete_params()
    del params.levels["suffix"]["else"]
    with pytest.raises(ValueError, match=r"suffix\.else"):
        params.check_complete()


def test_check_complete_names_a_level_without_u() -> None:
    params = complete_params()
    params.levels["address"]["zip"] = LevelParams(0.1, None)
    with pytest.raises(ValueError, match=r"address\.zip"):
        params.check_complete()


def test_check_complete_names_a_missing_comparison() -> None:
    params = complete_params()
    del params.levels["date_of_birth"]
    with pytest.raises(ValueError, match=r"date_of_birth\.exact"):
        params.check_complete()
    with pytest.raises(ValueError):
        render_settings(params, "duckdb")


def test_observed_params_are_incomplete_until_noise_fills_them() -> None:
    with pytest.raises(ValueError, match=r"date_of_birth\.day_month_transposed"):
        observed_params().check_complete()
    complete_params().check_complete()


def _rendered_levels(settings: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (comp["output_column_name"], i): level
        for comp in settings["comparisons"]
        for i, level in enumerate(comp["comparison_levels"])
    }


def test_render_settings_same_numbers_for_duckdb_and_spark() -> None:
    params = complete_params()
    duck = render_settings(params, "duckdb")
    spark = render_settings(params, "spark")
    assert duck["probability_two_random_records_match"] == 1e-4
    assert spark["probability_two_random_records_match"] == 1e-4
    d_levels, s_levels = _rendered_levels(duck), _rendered_levels(spark)
    assert d_levels.keys() == s_levels.keys()
    for key, d in d_levels.items():
        s = s_levels[key]
        assert d.get("is_null_level") == s.get("is_null_level")
        assert (d.get("m_probability"), d.get("u_probability")) == (
            s.get("m_probability"),
            s.get("u_probability"),
        ), key
    # the SQL really is rendered per dialect (list_intersect vs array_intersect)
    nickname = ("first_name", 2)
    assert d_levels[nickname]["sql_condition"] != s_levels[nickname]["sql_condition"]


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_render_settings_puts_each_level_where_its_label_is(dialect: str) -> None:
    params = complete_params()
    rendered = render_settings(params, dialect)
    assert [c["output_column_name"] for c in rendered["comparisons"]] == list(COMPARISONS)
    for comp in rendered["comparisons"]:
        name = comp["output_column_name"]
        labels = level_labels(name)
        assert len(comp["comparison_levels"]) == len(labels)
        assert comp["comparison_levels"][0].get("is_null_level") is True
        for label, level in zip(labels[1:], comp["comparison_levels"][1:], strict=True):
            if label != "else":
                assert level["label_for_charts"] == label
            p = params.levels[name][label]
            assert (level["m_probability"], level["u_probability"]) == (p.m, p.u)


def test_params_from_settings_dict_inverts_render() -> None:
    params = complete_params()
    back = params_from_settings_dict(render_settings(params, "duckdb"), params.meta)
    assert back.to_json() == params.to_json()


def test_params_from_settings_dict_treats_unseen_levels_as_missing() -> None:
    rendered = render_settings(complete_params(), "duckdb")
    level = rendered["comparisons"][4]["comparison_levels"][2]  # date_of_birth transposed
    level["m_probability"] = "level not observed in training dataset"
    level["u_probability"] = 0.0
    back = params_from_settings_dict(rendered, {})
    assert back.levels["date_of_birth"]["day_month_transposed"] == LevelParams(None, None)


# --- requester-noise mixing ---------------------------------------------------------------


def _check_noise_properties(params: ModelParams) -> None:
    for comp in COMPARISONS:
        labels = level_labels(comp)[1:]
        levels = params.levels[comp]
        assert set(levels) == set(labels)
        for label in labels:
            p = levels[label]
            assert p.m is not None and 0 < p.m <= 1, (comp, label, p)
            assert p.u is not None and p.u > 0
        weights = [weight(levels[lbl]) for lbl in labels if (comp, lbl) not in NEUTRAL]
        if comp in NESTED:  # name levels are alternatives, not a ladder
            assert all(a >= b - 1e-9 for a, b in zip(weights, weights[1:], strict=False)), comp
        if (comp, "else") in NEVER_POSITIVE:
            assert weight(levels["else"]) <= 1e-9, comp
        # Neutral levels (weight 0: m = u) sit outside the m distribution.
        counted = [levels[lbl].m or 0 for lbl in labels if (comp, lbl) not in NEUTRAL]
        assert sum(counted) <= 1 + len(labels) * M_FLOOR
    for comp, label in NEUTRAL:
        assert weight(params.levels[comp][label]) == pytest.approx(0)
    for comp, label in CONFLICTS:
        assert weight(params.levels[comp][label]) <= -CONFLICT_BITS + 1e-9


def test_noise_properties_on_observed_params() -> None:
    _check_noise_properties(complete_params())


def test_address_u_is_measured_between_people(master_con: duckdb.DuckDBPyConnection) -> None:
    """The stored model says how the address-identity u were measured, and uses them."""
    params = read_params(master_con)
    meta = params.meta["address_u"]
    total = meta["different_person_pairs"]
    assert total > 0
    assert meta["sampled_people"] > 300
    for label, seen in meta["levels"].items():
        u = params.levels["address"][label].u
        if seen["pairs"]:
            assert u == pytest.approx(seen["pairs"] / total)
        else:  # never seen in the sample: the default stands
            assert u == DEFAULT_U["address"][label]
    # one person's own years, which Splink's random pairs counted, made street u several times
    # larger than two different people sharing the address
    same = meta["levels"]["street_and_unit"]
    assert same["pairs"] / total < same["u_random_sampling"]


def test_noise_properties_on_the_trained_master(master_con: duckdb.DuckDBPyConnection) -> None:
    _check_noise_properties(read_params(master_con))


def test_noise_keeps_m_summing_to_about_one() -> None:
    params = complete_params()
    for comp in ("date_of_birth", "address"):  # no cap binds on these two with OBSERVED
        total = sum(p.m or 0 for p in params.levels[comp].values())
        assert total == pytest.approx(1.0, abs=1e-9), comp
    for comp in COMPARISONS:  # caps (monotone, conflict) only ever take m away
        total = sum(
            p.m or 0 for lbl, p in params.levels[comp].items() if (comp, lbl) not in NEUTRAL
        )
        assert 0.9 < total <= 1.0 + 1e-9, comp


def test_noise_mixes_the_stated_share() -> None:
    params = complete_params()
    epsilon, share = REQUEST_NOISE["first_name"]
    nickname = params.levels["first_name"]["nickname"]
    assert nickname.m == pytest.approx((1 - epsilon) * 0.02 + epsilon * share["nickname"])
    assert nickname.u == 0.004


def test_noise_fills_unobserved_levels_from_defaults() -> None:
    params = complete_params()
    epsilon, share = REQUEST_NOISE["date_of_birth"]
    transposed = params.levels["date_of_birth"]["day_month_transposed"]
    assert transposed.u == DEFAULT_U["date_of_birth"]["day_month_transposed"]
    assert transposed.m == pytest.approx(epsilon * share["day_month_transposed"])
    assert weight(transposed) > 0
    swapped = params.levels["first_name"]["swapped_with_surname"]  # m unseen, u seen
    assert swapped.u == 0.001
    epsilon, share = REQUEST_NOISE["first_name"]
    assert swapped.m == pytest.approx(epsilon * share["swapped_with_surname"])


def test_noise_never_lets_else_weigh_for_a_match() -> None:
    params = observed_params()
    params.levels["suffix"]["else"] = LevelParams(0.5, 0.01)  # data say: "else" is a match
    params.levels["address"]["else"] = LevelParams(0.6, 0.3)
    noised = apply_request_noise(params)
    assert weight(noised.levels["address"]["else"]) <= 0
    assert weight(noised.levels["suffix"]["else"]) <= -CONFLICT_BITS


def test_noise_caps_a_sparse_level_at_the_one_above() -> None:
    params = observed_params()
    # house number + ZIP agreement seen by chance almost never: a huge raw weight
    params.levels["address"]["house_number_and_zip"] = LevelParams(0.02, 1e-9)
    noised = apply_request_noise(params).levels["address"]
    assert weight(noised["house_number_and_zip"]) == pytest.approx(
        weight(noised["street_other_unit"])
    )


def test_noise_is_recorded_in_meta_and_changes_the_hash() -> None:
    raw, noised = observed_params(), complete_params()
    assert "request_noise" in noised.meta
    assert noised.meta["trained_on_people"] == 311
    assert "request_noise" not in raw.meta  # the input is not mutated
    assert noised.sha256 != raw.sha256
    # the recorded noise alone changes the hash: same levels, the meta entry dropped
    stripped = ModelParams.from_json(noised.to_json())
    del stripped.meta["request_noise"]
    assert stripped.sha256 != noised.sha256


_prob = st.one_of(st.none(), st.floats(min_value=1e-7, max_value=1.0))


@st.composite
def raw_params(draw: st.DrawFn) -> ModelParams:
    levels = {
        comp: {label: LevelParams(draw(_prob), draw(_prob)) for label in level_labels(comp)[1:]}
        for comp in COMPARISONS
    }
    return ModelParams(1e-4, levels, {})


@settings(max_examples=150, deadline=None)
@given(raw_params())
def test_noise_properties_hold_for_any_estimate(params: ModelParams) -> None:
    noised = apply_request_noise(params)
    _check_noise_properties(noised)
    noised.check_complete()
