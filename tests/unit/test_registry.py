"""Registered agreements, floors, suspension by agency and registered requesters, each played
by an insider trying to get around it (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from _ops_fixtures import BACKENDS, T0, backend_url, held_request, open_store

from enroll import enroll, register_agreement
from tinmatch.agreement import Agreement
from tinmatch.errors import ConfigError, ConflictError, RefusedError
from tinmatch.ops import Store
from tinmatch.ops.admission import Submission
from tinmatch.ops.records import Limits
from tinmatch.ops.registry import Registry
from tinmatch.ops.requesters import name_key

DEFAULT = Path(__file__).parents[2] / "src" / "tinmatch" / "data" / "default_agreement.toml"
LIMITS = Limits(
    max_rows_per_request=100, max_rows_per_agency_per_period=1000, period_days=30,
    max_rows_per_official_per_period=500, min_interval_seconds=None,
)  # fmt: skip


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from open_store(request.param, tmp_path)


def edited(tmp_path: Path, name: str, **edits: str) -> Path:
    text = DEFAULT.read_text(encoding="utf-8")
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def per_request(n: int) -> dict[str, str]:
    return {"max_rows_per_request = 100000": f"max_rows_per_request = {n}"}


def submission(key: str, n: int, *, agency: str = "Agency A", official: str = "J. Doe",
               scope: str = "*") -> Submission:  # fmt: skip
    return Submission(
        request_id=f"req-{key}", request_key=key, agency=agency, official=official,
        attestation="under active criminal investigation", agreement_id="default",
        agreement_scope=scope, agreement_sha256="a" * 64, input_sha256="i" * 64,
        input_name=f"{key}.csv", out_dir=f"/nonexistent/{key}", n_rows=n,
    )  # fmt: skip


# -- floors: refused when the agreement is loaded (and so when it is registered) -------------


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ({'"8 U.S.C. 1326"]': '"8 U.S.C. 1326", "99 U.S.C. 9999 (made up)"]'}, "99 U.S.C. 9999"),
        ({'"8 U.S.C. 1326"]': '"8 U.S.C. 1326", "ANYTHING"]'}, "ANYTHING"),
        ({'"criminal_statute", "case_number",': '"criminal_statute",'}, "case_number"),
        ({'"criminal_statute", "case_number",': '"case_number",'}, "criminal_statute"),
        ({"required = true": "required = false"}, "review.required"),
        ({'"tax_year"]': '"tax_year", "filing_status"]'}, "filing_status"),
        ({'"tax_year"]': '"tax_year", "date_of_birth"]'}, "date_of_birth"),
        ({"max_rows_per_agency_per_period = 1000000\n": ""}, "max_rows_per_agency_per_period"),
        ({"max_rows_per_request = 100000": "max_rows_per_request = 9223372036854775807"},
         "max_rows_per_request"),
        ({"expires = 2027-06-30": "expires = 2029-06-30"}, "18 months"),
        ({"cover_required = true": "cover_required = false"}, "cover_required"),
    ],
)  # fmt: skip
def test_floors_hold_whatever_the_file_says(
    tmp_path: Path, edit: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(").replace(".", r"\.")):
        Agreement.load(edited(tmp_path, "bad", **edit))


def test_a_real_statute_from_the_table_is_accepted(tmp_path: Path) -> None:
    path = edited(tmp_path, "drugs", **{'"8 U.S.C. 1326"]': '"8 U.S.C. 1326", "21 USC 841(a)(1)"]'})
    assert "21 U.S.C. 841(a)(1)" in Agreement.load(path).request.authorized_statutes


# -- registration -----------------------------------------------------------------------------


def test_packaged_default_registers_itself(store: Store) -> None:
    registry = Registry(store)
    reg = registry.require_registered(Agreement.load(), T0)
    assert reg.status == "active" and reg.agency == "*"
    assert [r.agreement_id for r in registry.registrations()] == ["default"]
    assert store.ledger_entries()[-1].entry_type == "agreement_registration"


def test_an_edited_copy_of_a_registered_agreement_is_not_registered(
    store: Store, tmp_path: Path
) -> None:
    path = edited(tmp_path, "tight", **per_request(50))
    register_agreement(store, path)
    Registry(store).require_registered(Agreement.load(path), T0)
    path.write_text(path.read_text() + "# one more comment\n")
    with pytest.raises(ConfigError, match="is not registered"):
        Registry(store).require_registered(Agreement.load(path), T0)


def test_a_tighter_agreement_needs_one_approver(store: Store, tmp_path: Path) -> None:
    from enroll import APPROVERS, approvers

    approvers(store)
    stricter = {"min_match_probability = 0.99": "min_match_probability = 0.995"}
    path = edited(tmp_path, "tight", **stricter)
    agreement = Agreement.load(path)
    reg = Registry(store).register(agreement, agreement.raw_bytes, approver=APPROVERS[0], now=T0)
    assert reg.status == "active" and reg.loosens == ()


@pytest.mark.parametrize(
    "edit",
    [
        {"min_match_probability = 0.99": "min_match_probability = 0.95"},
        {'"8 U.S.C. 1326"]': '"8 U.S.C. 1326", "18 U.S.C. 1546"]'},
        {"recent = 6": "recent = 8"},
        {"expires = 2027-06-30": "expires = 2027-07-01"},
        {"max_rows_per_official_per_period = 1000": "max_rows_per_official_per_period = 2000"},
    ],
)
def test_a_looser_agreement_needs_a_second_different_approver(
    store: Store, tmp_path: Path, edit: dict[str, str]
) -> None:
    from enroll import APPROVERS, approvers

    approvers(store)
    agreement = Agreement.load(edited(tmp_path, "loose", **edit))
    registry = Registry(store)
    first = registry.register(agreement, agreement.raw_bytes, approver=APPROVERS[0], now=T0)
    assert first.status == "pending" and first.loosens
    with pytest.raises(ConfigError, match="awaits a second approver"):
        registry.require_registered(agreement, T0)
    with pytest.raises(ConflictError, match="second approver"):
        registry.register(agreement, agreement.raw_bytes, approver=APPROVERS[0].upper(), now=T0)
    second = registry.register(agreement, agreement.raw_bytes, approver=APPROVERS[1], now=T0)
    assert second.status == "active" and second.approvers == ", ".join(APPROVERS)
    assert registry.require_registered(agreement, T0).sha256 == agreement.sha256


def test_loosening_is_judged_against_the_agreement_it_replaces(
    store: Store, tmp_path: Path
) -> None:
    from enroll import APPROVERS, approvers

    approvers(store)
    enroll(store, "Agency A")
    scoped = {'requesting_agency = "*"': 'requesting_agency = "Agency A"'}
    strict = edited(tmp_path, "a1", **scoped, **per_request(10))
    register_agreement(store, strict)
    wider = edited(tmp_path, "a2", **scoped, **per_request(20))
    agreement = Agreement.load(wider)
    reg = Registry(store).register(agreement, agreement.raw_bytes, approver=APPROVERS[0], now=T0)
    assert reg.status == "pending"  # tighter than the default, looser than its predecessor
    assert any("max_rows_per_request 10 -> 20" in x for x in reg.loosens)
    assert reg.replaces_sha256 == Agreement.load(strict).sha256
    assert "+max_rows_per_request = 20" in Registry(store).diff(reg.sha256)


# -- suspension by agency ---------------------------------------------------------------------


def test_suspending_the_default_also_stops_a_renamed_copy(store: Store, tmp_path: Path) -> None:
    enroll(store, "Agency A", "J. Doe")
    registry = Registry(store)
    default = Agreement.load()
    registry.require_registered(default, T0)
    renamed = edited(tmp_path, "copy", **{'id = "default"': 'id = "default-2"'})
    copy = register_agreement(store, renamed)
    registry.suspend(registry.scope(default), "court order 26-1", "Oversight", T0)
    scope = registry.require_registered(copy, T0).agency
    with pytest.raises(RefusedError, match="court order 26-1"):
        registry.admit(submission("k1", 5, scope=scope), LIMITS, T0)
    registry.resume("*", "order lifted", "Oversight", T0)
    assert registry.admit(submission("k1", 5, scope=scope), LIMITS, T0).reserved == 5
    kinds = [e.entry_type for e in store.ledger_entries()]
    assert "suspension" in kinds and "resumption" in kinds


def test_suspending_an_agency_stops_it_and_agreements_registered_later(store: Store) -> None:
    enroll(store, "Agency A", "J. Doe")
    enroll(store, "Agency B", "K. Roe")
    registry = Registry(store)
    registry.suspend("Agency A", "audit", "Oversight", T0)
    with pytest.raises(RefusedError, match="audit"):
        registry.admit(submission("a", 5, scope="Agency A"), LIMITS, T0)
    with pytest.raises(RefusedError, match="audit"):  # any agreement, whatever its scope
        registry.admit(submission("a", 5), LIMITS, T0)
    ok = registry.admit(submission("b", 5, agency="Agency B", official="K. Roe"), LIMITS, T0)
    assert ok.reserved == 5


# -- registered requesters ----------------------------------------------------------------------


def test_name_keys_fold_punctuation_case_and_order() -> None:
    assert name_key("J. Doe") == name_key("J Doe") == name_key("Doe, J.") == name_key("doe j")
    assert name_key("J. Doe (2)") != name_key("J. Doe")
    assert name_key("ICE") != name_key("ICE ERO Houston")


def test_an_unregistered_official_or_agency_is_refused_whole(store: Store) -> None:
    enroll(store, "ICE", "J. Doe")
    registry = Registry(store)
    tries = [("ICE", "J. Doe (2)"), ("ICE", "Jane Doe"), ("ICE ERO Houston", "J. Doe")]
    for agency, official in tries:
        with pytest.raises(RefusedError, match="not a registered"):
            registry.admit(submission("x", 1, agency=agency, official=official), LIMITS, T0)
    with pytest.raises(ConflictError, match="registered already"):
        registry.add_official("Doe, J.", "ICE", T0)


def test_caseload_and_interval_count_per_registered_identity(store: Store) -> None:
    enroll(store, "ICE", "J. Doe")
    registry = Registry(store)
    limits = replace(LIMITS, max_rows_per_official_per_period=30, min_interval_seconds=3600)
    registry.admit(submission("k1", 20, agency="ICE", official="J. Doe"), limits, T0)
    later = T0 + timedelta(hours=2)
    for i, spelling in enumerate(["J Doe", "Doe, J.", "j. doe"]):
        # the refusal names the registered identity, not the spelling
        with pytest.raises(RefusedError, match="official 'J. Doe' of 'ICE' already has 20 rows.*"
                           "cap of 30 rows per official"):  # fmt: skip
            registry.admit(submission(f"s{i}", 20, agency="ice", official=spelling), limits, later)
    with pytest.raises(RefusedError, match="agency 'ICE' sent a request at .* between requests"):
        registry.admit(submission("k2", 1, agency=" ice ", official="Doe J"), limits, T0)
    record = registry.admit(submission("k3", 10, agency="ice", official="Doe, J."), limits, later)
    assert (record.record.agency, record.record.official) == ("ICE", "J. Doe")


def test_a_suspended_agreement_scope_stops_its_requests(store: Store) -> None:
    """An agreement registered for another agency (its scope) is suspended: a request made under
    it is refused, though the requesting agency itself is not suspended."""
    enroll(store, "Agency A", "J. Doe")
    registry = Registry(store)
    registry.suspend("Task Force 9", "scope audit 26-4", "Oversight", T0)
    with pytest.raises(RefusedError, match="scope audit 26-4"):
        registry.admit(submission("a", 5, scope="Task Force 9"), LIMITS, T0)
    assert registry.admit(submission("a", 5, scope="Task Force 8"), LIMITS, T0).reserved == 5


def test_readmitting_a_request_reuses_it_and_it_never_counts_against_itself(store: Store) -> None:
    enroll(store, "Agency A", "J. Doe")
    registry = Registry(store)
    limits = replace(LIMITS, max_rows_per_agency_per_period=30, max_rows_per_request=25)
    first = registry.admit(submission("k1", 20), limits, T0)
    assert (first.record.status, first.reserved, first.record.n_rows) == ("received", 20, 20)
    again = registry.admit(
        replace(submission("k1", 30), request_id="req-new", out_dir="/elsewhere",
                agreement_sha256="b" * 64),
        limits, T0 + timedelta(hours=1),
    )  # fmt: skip
    # the same row, updated; its own 20 rows do not count: the request cap (25) is the limit
    assert again.record.id == first.record.id == "req-k1"
    assert (again.reserved, again.record.n_rows, again.record.out_dir) == (25, 25, "/elsewhere")
    assert again.record.agreement_sha256 == "b" * 64
    assert again.quota.remaining_rows_for_agency_in_period == 30
    # another request sees the 25 rows reserved
    assert registry.admit(submission("k2", 10), limits, T0).reserved == 5


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_readmitting_a_decided_request_reserves_nothing(store: Store, decision: str) -> None:
    enroll(store, "Agency A", "Officer One")
    rid = held_request(store, "done", n=3)
    getattr(store, decision)(rid, reviewer="Reviewer R", note="checked", now=T0)
    status = store.get_request(rid).status
    assert status == {"approve": "released", "deny": "denied"}[decision]
    again = Registry(store).admit(
        replace(submission("done", 5, official="Officer One"), out_dir="/elsewhere"),
        LIMITS, T0 + timedelta(days=1),
    )  # fmt: skip
    assert again.record.id == rid and again.record.status == status
    assert (again.reserved, again.quota.remaining_rows_for_agency_in_period) == (0, 0)
    assert again.quota.max_rows_per_request == 100
    assert store.get_request(rid).out_dir == "/nonexistent/done"  # left as it was


# -- caps under concurrency ---------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_submitters_never_exceed_the_agency_cap(backend: str, tmp_path: Path) -> None:
    """8 submitters at once whose requests together exceed the cap: exactly the cap is
    admitted, on every run."""
    url = backend_url(backend, tmp_path)
    cap, rows, submitters, runs = 100, 30, 8, 20
    limits = replace(
        LIMITS, max_rows_per_agency_per_period=cap, max_rows_per_official_per_period=10_000
    )
    with Store.open(url) as setup:
        enroll(setup, "Agency A", *[f"Officer {i}" for i in range(submitters)])
    stores = [Store.open(url) for _ in range(submitters)]
    try:
        for run in range(runs):
            now = T0 + timedelta(days=40 * run)  # each run in a fresh period

            def submit(i: int, now: object = now, run: int = run) -> int:
                sub = submission(f"r{run}-{i}", rows, official=f"Officer {i}")
                return Registry(stores[i]).admit(sub, limits, now).reserved  # type: ignore[arg-type]

            with ThreadPoolExecutor(max_workers=submitters) as pool:
                reserved = list(pool.map(submit, range(submitters)))
            assert sum(reserved) == cap, (run, reserved)
            assert all(0 <= r <= rows for r in reserved)
    finally:
        for s in stores:
            s.close()


def test_nothing_is_released_while_the_agency_is_suspended(store: Store) -> None:
    from _ops_fixtures import held_request

    rid = held_request(store, "k-susp", agency="Agency A", n=2)
    Registry(store).suspend("Agency A", "audit 2026-12", "Oversight", T0)
    with pytest.raises(RefusedError, match="audit 2026-12"):
        store.approve(rid, reviewer="Rita Reviewer", note="ok", now=T0)
    assert store.get_request(rid).status == "held"
    Registry(store).resume("Agency A", "closed", "Oversight", T0)
    assert store.approve(rid, reviewer="Rita Reviewer", note="ok", now=T0).status == "released"


def test_a_suspension_made_before_the_registry_stays_in_force(tmp_path: Path) -> None:
    """Migration 0004 carries an agreement suspended by id over as a suspension of every
    agency: upgrading never quietly lifts a stop."""
    from sqlalchemy import text

    from tinmatch.ops.engine import make_engine
    from tinmatch.ops.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(url)
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO agreement_events (agreement_id, action, why, at) "
                "VALUES ('pilot', 'suspend', 'audit', '2026-09-01 12:00:00')"
            )
        )
    engine.dispose()
    with Store.open(url) as store:
        why = Registry(store).suspension("Agency A")
    assert why is not None and "pilot" in why
