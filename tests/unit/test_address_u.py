"""u of the address-identity levels: pairs of different people sharing an address, counted."""

from __future__ import annotations

import duckdb
import pytest

from tinmatch.master.train import address_u_between_people

COLUMNS = ["tin", "street_key", "state_std", "unit", "house_number", "zip5", "city_std"]


def _con(rows: list[tuple[object, ...]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE train_rows ({', '.join(c + ' VARCHAR' for c in COLUMNS)})")
    con.executemany(f"INSERT INTO train_rows VALUES ({', '.join('?' * len(COLUMNS))})", rows)
    return con


def _row(tin: str, street: str | None, unit: str | None = None, zip5: str = "62701") -> tuple:
    house = street.split()[0] if street else None
    return (tin, street, "IL" if street else None, unit, house, zip5, "springfield")


def test_counts_pairs_of_different_people_only() -> None:
    rows = [
        *[_row("A", "1 main st")] * 3,  # three years of A: their own pairs are not counted
        _row("B", "1 main st"),  # B shares A's address: 3 pairs
        *[_row("C", "1 main st", "2")] * 2,  # the building, another unit: 2 x 4 pairs
        _row("D", "1 mian st"),  # same house number and ZIP, street alike: 6 pairs
        _row("E", "1 elm st"),  # same house number and ZIP, another street: none
        _row("F", None, zip5="60601"),  # no street: in the denominator only
    ]
    got = address_u_between_people(_con(rows))
    assert got.agreeing == {"street_and_unit": 3, "street_other_unit": 8, "house_number_and_zip": 6}
    assert got.people == 6
    # 9 records, pairs of one person: A 3, C 1
    assert got.pairs == 9 * 8 // 2 - 3 - 1


def test_the_rate_falls_as_one_over_the_people() -> None:
    """The same households k times over, at other addresses: the chance that two different
    people share an address falls as 1/k (and so grows the weight of sharing one)."""

    def rate(k: int) -> float:
        rows = []
        for copy in range(k):
            for house in range(20):
                street = f"{house + 1} street{copy}"
                rows += [_row(f"{copy}-{house}-a", street)] * 4  # a couple, four years each
                rows += [_row(f"{copy}-{house}-b", street)] * 4
        got = address_u_between_people(_con(rows))
        return got.agreeing["street_and_unit"] / got.pairs

    assert rate(1) / rate(4) == pytest.approx(4, rel=0.05)
    assert rate(1) / rate(16) == pytest.approx(16, rel=0.05)


def test_leaves_no_tables() -> None:
    con = _con([_row("A", "1 main st"), _row("B", "1 main st")])
    address_u_between_people(con)
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert tables == {"train_rows"}
