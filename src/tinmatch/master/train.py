"""Train the linkage model on the master itself, once, at load time.

Training records are person-years: each return a person appears on, with the name as written on
it and the address filed. Two records of one taxpayer are a true match, so the master shows how
one person's records drift (typos, marriage, moves) without any labels being used:

- u by random sampling of record pairs (almost all are different people);
- m by expectation maximisation, twice: blocked on date of birth (which trains names, suffix,
  middle name and address) and blocked on street and ZIP (which trains names and date of birth);
- the prior is one over the number of people: a request row names one person at most;
- then the requester-error prior of :mod:`tinmatch.master.noise` is mixed into every m.
"""

from __future__ import annotations

import logging
import os

import duckdb
from splink import DuckDBAPI, Linker, block_on

from tinmatch.master.noise import apply_request_noise
from tinmatch.master.params import ModelParams, params_from_settings_dict, settings_creator

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
    if os.environ.get("TINMATCH_M_METHOD", "labels") == "em":
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("dob"), estimate_without_term_frequencies=True
        )
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("street_key", "zip5"), estimate_without_term_frequencies=True
        )
    else:
        linker.training.estimate_m_from_label_column("tin")
    settings = linker.misc.save_model_to_json()
    params = params_from_settings_dict(
        settings, {"trained_on_people": n_people, "u_max_pairs": U_MAX_PAIRS, "seed": SEED}
    )
    params.probability_two_random_records_match = prior
    _drop_splink_tables(con)
    return apply_request_noise(params)


def _drop_splink_tables(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_name LIKE '__splink%'"
    ).fetchall()
    for name, kind in rows:
        what = "VIEW" if "VIEW" in str(kind).upper() else "TABLE"
        con.execute(f'DROP {what} IF EXISTS "{name}"')
