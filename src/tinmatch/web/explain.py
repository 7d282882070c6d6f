"""Read the pipeline's `explain.csv` (per-field levels and weights of the best two candidates)
for the reviewer's side-by-side view. The file names no taxpayer: candidates are ranks."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

FILENAME = "explain.csv"


@dataclass
class Candidate:
    rank: int
    probability: float | None
    weight: float | None
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)
    """comparison -> (level, weight in bits)"""


def read_candidates(out_dir: Path, record_ids: set[str]) -> dict[str, list[Candidate]]:
    """Candidates (rank order) of the given rows; empty when the file is absent."""
    path = out_dir / FILENAME
    found: dict[str, list[Candidate]] = {}
    if not path.is_file() or not record_ids:
        return found
    with path.open(encoding="utf-8", newline="") as fh:
        for line in csv.DictReader(fh):
            rid = line.get("record_id", "")
            if rid not in record_ids:
                continue
            names = [k[: -len("_level")] for k in line if k.endswith("_level")]
            found.setdefault(rid, []).append(
                Candidate(
                    rank=_int(line.get("rank")) or 0,
                    probability=_float(line.get("match_probability")),
                    weight=_float(line.get("match_weight")),
                    fields={
                        n: (line.get(f"{n}_level", ""), line.get(f"{n}_weight", "")) for n in names
                    },
                )
            )
    for cands in found.values():
        cands.sort(key=lambda c: c.rank)
    return found


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    value = _float(text)
    return None if value is None else int(value)
