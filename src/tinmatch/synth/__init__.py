"""Synthetic master file and request, with the truth about every request row.

`generate()` writes taxpayers/returns (Parquet and/or CSV, contract section 1), request.csv and
request.xlsx (section 2), truth.csv and cover.toml (section 3). People are generated in chunks
with numpy (seeded: same seed, same files), so millions of people fit in little memory. The mix
of people and of request rows is documented in `people`, `returns` and `requests`, and in
docs/synthetic-data.md. Only synthetic people, ever.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from tinmatch.errors import ConfigError
from tinmatch.synth.fieldnoise import NOISE_MODELS, builder_class
from tinmatch.synth.geography import build_geography
from tinmatch.synth.names import load_name_tables
from tinmatch.synth.people import make_people
from tinmatch.synth.requests import build_rows, quotas_for
from tinmatch.synth.returns import RETURN_COLUMNS, make_returns, taxpayer_table
from tinmatch.synth.targets import MASTER_SCENARIOS, Target, plant_namesakes, select_targets
from tinmatch.synth.write import (
    FORMATS,
    TableSink,
    write_cover,
    write_request_csv,
    write_request_xlsx,
    write_truth,
)

#: The requester the cover letter names: register them before processing the request
#: (`tinmatch agencies add` / `tinmatch officials add`; `make demo` does).
SYNTH_AGENCY = "U.S. Immigration and Customs Enforcement (synthetic test request)"
SYNTH_OFFICIAL = "Jane Q. Example, Special Agent in Charge (synthetic)"

CHUNK = 250_000
ALLOWED_RECENT = 6
TAXPAYER_SCHEMA = pa.schema([(c, pa.string()) for c in (
    "tin", "first_name", "middle_name", "last_name", "suffix", "date_of_birth")])
RETURN_SCHEMA = pa.schema([(c, pa.int32() if c == "tax_year" else pa.string())
                           for c in RETURN_COLUMNS])


@dataclass(frozen=True)
class SynthSummary:
    people: int
    returns: int
    requests: int
    seconds: float
    out: Path


def parse_years(text: str) -> list[int]:
    """`2019-2025` -> [2019, ..., 2025]."""
    try:
        lo, _, hi = text.partition("-")
        first, last = int(lo), int(hi or lo)
    except ValueError:
        raise ConfigError(f"--years must look like 2019-2025, got {text!r}") from None
    if not 1990 <= first <= last <= 2100 or last - first > 30:
        raise ConfigError(f"--years must be an increasing range of at most 31 years: {text!r}")
    return list(range(first, last + 1))


def generate(out: Path, people: int, requests: int, seed: int = 0,
             years: list[int] | None = None, fmt: str = "both",
             chunk_size: int = CHUNK, noise_model: str = "standard") -> SynthSummary:
    """Write the master, the request, its truth and a cover letter to `out`.

    `noise_model` says how request rows of people in the master are corrupted: ``standard``
    (:mod:`tinmatch.synth.requests`) or ``field`` (:mod:`tinmatch.synth.fieldnoise`, written
    apart, with the phenomena of issue 16). The master is the same for both."""
    started = time.perf_counter()
    years = years or list(range(2019, 2026))
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if noise_model not in NOISE_MODELS:
        raise ConfigError(f"--noise-model must be one of {', '.join(NOISE_MODELS)}, "
                          f"got {noise_model!r}")
    if people < 50:
        raise ConfigError("--people must be at least 50")
    if not 1 <= requests <= people // 2:
        raise ConfigError("--requests must be between 1 and half of --people")
    if len(years) < 2:
        raise ConfigError("--years must span at least two years")
    out.mkdir(parents=True, exist_ok=True)
    allowed = years[-ALLOWED_RECENT:]
    geo = build_geography(seed)
    names = load_name_tables()
    totals = quotas_for(requests)
    taken = dict.fromkeys(totals, 0)
    targets: list[Target] = []
    n_returns = 0
    with TableSink(out, "taxpayers", TAXPAYER_SCHEMA, fmt) as tp_sink, \
            TableSink(out, "returns", RETURN_SCHEMA, fmt) as ret_sink:
        for c, lo in enumerate(range(0, people, chunk_size)):
            n = min(chunk_size, people - lo)
            rng = np.random.default_rng([seed, 1, c])
            chunk = make_people(rng, geo, names, lo, n, len(years), years[-1], seed)
            quotas = {s: round(totals[s] * (lo + n) / people) - taken[s] for s in totals}
            pairs = plant_namesakes(rng, chunk, geo, int(quotas["ambiguous_namesake"] * 1.5) + 2)
            rets = make_returns(rng, geo, names, chunk, years)
            tp_sink.write(taxpayer_table(names, chunk).cast(TAXPAYER_SCHEMA))
            ret_sink.write(rets.table.cast(RETURN_SCHEMA))
            n_returns += rets.table.num_rows
            left = dict(quotas)
            got = select_targets(rng, chunk, rets, names, geo, years, allowed[0], left, pairs)
            for s in totals:
                taken[s] += quotas[s] - left[s]
            targets += got
    # Small masters may lack eligible people for a scenario: fill with not-in-master rows.
    shortfall = requests - len(targets)
    fillers = [t for t in targets if t.scenario in ("matched", "not_in_master_random")]
    for i in range(shortfall):
        base = fillers[i % len(fillers)]
        targets.append(Target(**{**base.__dict__, "scenario": "not_in_master_random"}))
    order = {s: k for k, s in enumerate(MASTER_SCENARIOS)}
    targets.sort(key=lambda t: order[t.scenario])  # stable: scenario, then chunk order
    builder = builder_class(noise_model)(np.random.default_rng([seed, 2]), geo, names, years,
                                         allowed)
    rows = build_rows(builder, targets)
    write_request_csv(out / "request.csv", rows, np.random.default_rng([seed, 3]))
    write_request_xlsx(out / "request.xlsx", rows)
    write_truth(out / "truth.csv", rows)
    write_cover(
        out / "cover.toml",
        agency=SYNTH_AGENCY,
        official=SYNTH_OFFICIAL,
        attestation=("Each person named in this request is the subject of an active criminal "
                     "investigation, and the information requested will be used only for "
                     "that investigation."),
    )
    return SynthSummary(people=people, returns=n_returns, requests=len(rows),
                        seconds=time.perf_counter() - started, out=out)


__all__ = ["SYNTH_AGENCY", "SYNTH_OFFICIAL", "SynthSummary", "generate", "parse_years"]
