"""Print how fast name and address standardization run on made-up rows.

Usage: .venv/bin/python bench/standardize_speed.py [ROWS]   (default 200000)

Rows are synthetic: names and streets drawn from small lists with the variations seen in real files
(case, accents, suffixes, unit designators, directionals), so values repeat as they do in practice.
Address speed is reported both per row and per distinct street (cold cache), the figure that
matters for a master file of millions of distinct addresses.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

import pandas as pd

from tinmatch.standardize import address_features, name_features
from tinmatch.standardize.streets import parse_line2, parse_street

FIRST = ["José", "MARIA ELENA", "Bill", "robert", "Pepe", "Beto", "Lupe", "John", "Ann-Marie",
         "Chuy", "Guadalupe", "William", "Nguyen Van", "Mary", "D'Andre", "Luis"]  # fmt: skip
LAST = ["Garcia-Lopez", "Smith Jr.", "O'Brien", "de la Cruz", "Hernández", "Nguyen", "Johnson III",
        "Van der Berg", "MARTINEZ", "Lee", "Williams Sr", "Rodriguez y Perez"]  # fmt: skip
STREET_NAMES = ["Main", "Oak", "Fifth", "5th", "Martin Luther King Jr", "Elm", "Saint James",
                "Park", "Lake Shore", "Washington", "Maple", "42nd", "Cedar Creek"]  # fmt: skip
SUFFIXES = ["St", "Street", "Ave", "Avenue", "Blvd", "Rd", "Road", "Dr.", "Ln", "Ct", "Way", ""]
DIRS = ["", "", "", "N", "North", "SW", "E."]
UNITS = ["", "", "", " Apt 4B", " #12", " Unit 3-C", " Ste 200"]
ODD = ["PO Box 1234", "RR 2 Box 7", "123 Avenue B", "456 County Road 12", "N/A", "90210"]
CITIES = ["Los Angeles", "St. Louis", "Ft Worth", "Mt Vernon", "N Las Vegas", "San José"]
STATES = ["CA", "ca", "Texas", "NY", "il", "Puerto Rico", "XX"]
ZIPS = ["90210", "2134", "12345-6789", "021341234", "501", None]


def _street(rng: random.Random) -> str:
    if rng.random() < 0.03:
        return rng.choice(ODD)
    parts = [str(rng.randint(1, 99999)), rng.choice(DIRS), rng.choice(STREET_NAMES)]
    parts += [rng.choice(SUFFIXES), rng.choice(DIRS[:4])]
    return " ".join(p for p in parts if p) + rng.choice(UNITS)


def make_rows(n: int, seed: int = 7) -> pd.DataFrame:
    rng = random.Random(seed)
    return pd.DataFrame(
        {
            "first_name": [rng.choice(FIRST) for _ in range(n)],
            "middle_name": [rng.choice(["A.", "", None, "Elena"]) for _ in range(n)],
            "last_name": [rng.choice(LAST) + rng.choice(["", "", "s", "ez"]) for _ in range(n)],
            "suffix": [rng.choice([None, None, None, "Jr", "II"]) for _ in range(n)],
            "street": [_street(rng) for _ in range(n)],
            "address_line2": [
                rng.choice([None, None, None, "Apt 7", "Suite 100"]) for _ in range(n)
            ],
            "city": [rng.choice(CITIES) for _ in range(n)],
            "state": [rng.choice(STATES) for _ in range(n)],
            "zip": [rng.choice(ZIPS) for _ in range(n)],
        }
    )


def _timed(label: str, count: int, func: Callable[[], object]) -> None:
    """Run ``func`` once; print count/s by wall clock and by this process's CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{label:<38} {count:>9,} in {wall:6.2f}s = {count / wall:>9,.0f}/s"
        f"  (CPU {cpu:5.2f}s = {count / max(cpu, 1e-9):>9,.0f}/s)"
    )


def _cold() -> None:
    parse_street.cache_clear()
    parse_line2.cache_clear()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    df = make_rows(n)
    distinct = df["street"].nunique()
    print(f"{n:,} rows, {distinct:,} distinct streets")
    _timed("name_features: rows", n, lambda: name_features(df))
    _cold()
    _timed("address_features: rows, cold cache", n, lambda: address_features(df))
    _cold()
    _timed("  per distinct street, cold cache", distinct, lambda: address_features(df))
    _timed("address_features: rows, warm cache", n, lambda: address_features(df))
    rng = random.Random(1)
    odd = [f"{rng.randint(1, 9999)} Avenue {rng.choice('BCDFGH')} Apt {i}" for i in range(2000)]
    odd += [f"RR {rng.randint(1, 9)} Box {i}" for i in range(1000)]
    _cold()
    _timed("tagger fallback (usaddress) streets", len(odd), lambda: [parse_street(s) for s in odd])


if __name__ == "__main__":
    main()
