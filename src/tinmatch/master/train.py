"""Train the linkage model on the master itself, once, at load time.

Training records are person-years: each return a person appears on, with the name as written on
it and the address filed. Two records of one taxpayer are a true match, so the master shows how
one person's records drift (typos, marriage, moves) without any labels being used:

- u by random sampling of record pairs (almost all are different people), except for the levels
  that say two records share an address, which are counted exactly over the sample's pairs of
  different people (:func:`address_u_between_people`);
- m from pairs of records of one person (same TIN), blended with a stated prior of how one
  person's records agree (:data:`tinmatch.master.noise.MASTER_M_PRIOR`, worth 2,000 pairs): a
  master of people who each filed once has no such pairs, and m is then the prior alone
  (``TINMATCH_M_METHOD=em``: expectation maximisation instead, blocked on date of birth and then
  on street and ZIP);
- the prior is one over the number of people: a request row names one person at most;
- then the requester-error prior of :mod:`tinmatch.master.noise` is mixed into every m.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import duckdb
from splink import DuckDBAPI, Linker, block_on

from tinmatch.master.noise import apply_request_noise, blend_master_prior
from tinmatch.master.params import (
    LevelParams,
    ModelParams,
    params_from_settings_dict,
    settings_creator,
)
from tinmatch.settings import M_METHOD

TRAINING_PEOPLE = 60_000
U_MAX_PAIRS = 3_000_000
SEED = 20260101


def train_model(con: duckdb.DuckDBPyConnection, n_people: int) -> ModelParams:
    """Train on table ``train_rows`` (built by the loader) in `con`; leaves no Splink tables."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    prior = min(0.5, 1.0 / max(n_people, 2))
    db_api = DuckDBAPI(con)
    train = db_api.register("train_rows", table_name="tinmatch_train_rows")
    linker = Linker(train, settings_creator(prior), log_level=logging.ERROR)
    for col in ("first_name_std", "last_name_std"):
        lookup = db_api.register(f"tf_{col}", table_name=f"tinmatch_tf_{col}")
        linker.table_management.register_term_frequency_lookup(lookup, col)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    within: int
    if M_METHOD.text() == "em":
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("dob"), estimate_without_term_frequencies=True
        )
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("street_key", "zip5"), estimate_without_term_frequencies=True
        )
        within = U_MAX_PAIRS  # EM's m stands on its own
    else:
        within = pairs_within_people(con)
        if within > 0:
            linker.training.estimate_m_from_label_column("tin")
    settings = linker.misc.save_model_to_json()
    params = params_from_settings_dict(
        settings, {"trained_on_people": n_people, "u_max_pairs": U_MAX_PAIRS, "seed": SEED}
    )
    params = blend_master_prior(params, within)
    params.probability_two_random_records_match = prior
    _drop_splink_tables(con)
    _measure_address_u(params, address_u_between_people(con))
    return apply_request_noise(params)


def pairs_within_people(con: duckdb.DuckDBPyConnection) -> int:
    """Pairs of ``train_rows`` records of one person (same TIN): what m is measured on. None
    when everyone has a single record (a one-year extract, FEBRL4)."""
    row = con.execute(
        "SELECT coalesce(sum(c * (c - 1) // 2), 0) "
        "FROM (SELECT count(*) AS c FROM train_rows GROUP BY tin)"
    ).fetchall()[0]
    return int(row[0])


def _drop_splink_tables(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_name LIKE '__splink%'"
    ).fetchall()
    for name, kind in rows:
        what = "VIEW" if "VIEW" in str(kind).upper() else "TABLE"
        con.execute(f'DROP {what} IF EXISTS "{name}"')


# Levels whose chance agreement is two people sharing one address.
ADDRESS_IDENTITY = ("street_and_unit", "street_other_unit", "house_number_and_zip")


class AddressPairs(NamedTuple):
    """Pairs of training records of different people: in all, and agreeing at each level."""

    agreeing: dict[str, int]
    pairs: int
    people: int


def _measure_address_u(params: ModelParams, measured: AddressPairs) -> None:
    """Put the measured u of the ADDRESS_IDENTITY levels into `params`, and how in its meta."""
    address = params.levels["address"]
    params.meta["address_u"] = {
        "method": "pairs of records of different people in the training sample, counted exactly",
        "sampled_people": measured.people,
        "different_person_pairs": measured.pairs,
        "levels": {
            label: {"pairs": n, "u_random_sampling": address[label].u}
            for label, n in measured.agreeing.items()
        },
    }
    for label, n in measured.agreeing.items():
        # a level the sample never showed keeps its default (filled in by apply_request_noise)
        u = n / measured.pairs if n and measured.pairs else None
        address[label] = LevelParams(address[label].m, u)


def address_u_between_people(con: duckdb.DuckDBPyConnection) -> AddressPairs:
    """Pairs of ``train_rows`` records of *different* people, and how many of them agree at each
    ADDRESS_IDENTITY level (as the model's levels define them, each below the ones above).

    u is the chance that two different people agree. Splink's random sampling cannot tell them
    from two years of one person, and for these levels those dominate: at a million people the
    sample's street-and-unit u was 1.2e-5, about 0.77 over the 62,000 sampled people (one
    person's own years at one address), while two different people share an address about 0.55
    over the number of people in the *master*. The sample is a random set of people, so the
    pairs of different people in it agree as often as two random people of the whole master do:
    housemates are sampled at the same rate as anyone. Counted exactly (by grouping, not by
    sampling pairs), the rare levels are measured too, and the weight grows with the master as
    the prior (1 / people) shrinks, as it must.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _addr AS
        SELECT tin, street_key, state_std, coalesce(unit, '') AS unit, house_number, zip5
        FROM train_rows
        WHERE street_key IS NOT NULL OR zip5 IS NOT NULL OR city_std IS NOT NULL
        """
    )
    try:
        people, pairs = con.execute(
            "SELECT count(*), (sum(c) * sum(c) - sum(c * c)) // 2 "
            "FROM (SELECT count(*) AS c FROM _addr GROUP BY tin)"
        ).fetchall()[0]
        same_unit = _pairs_between_people(con, "street_key, state_std, unit")
        same_street = _pairs_between_people(con, "street_key, state_std")
        near = con.execute(
            """
            SELECT count(*) FROM _addr l JOIN _addr r
              ON l.house_number = r.house_number AND l.zip5 = r.zip5 AND l.tin < r.tin
            WHERE NOT coalesce(l.street_key = r.street_key AND l.state_std = r.state_std, false)
              AND jaro_winkler_similarity(l.street_key, r.street_key) >= 0.92
            """
        ).fetchall()[0][0]
    finally:
        con.execute("DROP TABLE IF EXISTS _addr")
    agreeing = {
        "street_and_unit": same_unit,
        "street_other_unit": same_street - same_unit,
        "house_number_and_zip": int(near),
    }
    return AddressPairs(agreeing, int(pairs or 0), int(people or 0))


def _pairs_between_people(con: duckdb.DuckDBPyConnection, keys: str) -> int:
    """Pairs of ``_addr`` records of different people equal on `keys` (none of them NULL):
    per key, (records^2 - sum over its people of their records^2) / 2."""
    not_null = " AND ".join(f"{k.strip()} IS NOT NULL" for k in keys.split(","))
    row = con.execute(
        f"""
        WITH per_person AS (
            SELECT {keys}, tin, count(*) AS c FROM _addr WHERE {not_null} GROUP BY ALL
        ), per_key AS (
            SELECT sum(c) AS n, sum(c * c) AS same FROM per_person GROUP BY {keys}
        )
        SELECT coalesce(sum(n * n - same), 0) // 2 FROM per_key
        """
    ).fetchall()[0]
    return int(row[0])
