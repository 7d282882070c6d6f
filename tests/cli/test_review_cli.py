"""The review, ledger, agreement, report and purge commands, end to end on a SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from reviewers import REVIEWER_PASSWORD, add_reviewers
from tinmatch.cli import app
from tinmatch.ops import Decision, PendingDisclosure, Store

NOW = datetime.now(UTC)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    with Store.open(url) as store:
        add_reviewers(store, "Ann", "Sup")
    monkeypatch.setenv("TINMATCH_REVIEWER_PASSWORD", REVIEWER_PASSWORD)
    monkeypatch.chdir(tmp_path)
    return url


def _held(db: str, key: str = "k1", out_dir: str = "result", when: datetime = NOW) -> str:
    with Store.open(db) as store:
        record = store.begin_request(
            request_key=key,
            agency="Agency A",
            official="Officer One",
            attestation="yes",
            agreement_id="default",
            agreement_sha256="a" * 64,
            model_sha256=None,
            input_sha256="i" * 64,
            input_name="request.xlsx",
            out_dir=out_dir,
            n_rows=4,
            now=when,
        )
        store.record_outcome(
            record.id,
            counts={"received": 4, "matched": 2, "ambiguous": 1, "rejected": 1},
            disclosures=[
                PendingDisclosure(
                    f"R-{i}",
                    f"90011122{i}",
                    {"street": "1 Elm St", "city": "Dayton"},
                    2024,
                    0.998,
                    "8 U.S.C. 1326",
                    "C-9",
                )
                for i in range(2)
            ],
            decisions=[
                Decision("R-0", "matched", None, "900111220", 0.998),
                Decision("R-1", "matched", None, "900111221", 0.9991),
                Decision("R-2", "unmatched", "ambiguous", "900111229", 0.97),
                Decision("R-3", "rejected", "missing_field", None, None),
            ],
            now=when,
        )
        return record.id


def run(db: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--state-db", db])
    return result.exit_code, result.stdout, result.stderr


def test_list_show_approve(db: str) -> None:
    rid = _held(db)
    code, out, _ = run(db, "review", "list", "--status", "held")
    assert code == 0 and rid in out and "Agency A" in out
    assert (
        "no requests with status released" in run(db, "review", "list", "--status", "released")[1]
    )
    code, out, _ = run(db, "review", "show", rid)
    assert code == 0
    assert "pending disclosures 2" in out
    assert "unmatched  ambiguous      1" in out
    assert "[0.999, 1    ]       1  ####" in out
    assert "R-2" in out and "0.9700" in out
    assert "9001112" not in out  # no TIN is printed
    code, out, _ = run(db, "review", "approve", rid, "--reviewer", "Ann", "--note", "ok")
    assert code == 0 and "2 disclosures recorded" in out
    code, _, err = run(db, "review", "approve", rid, "--reviewer", "Ann", "--note", "again")
    assert code == 7 and err.startswith("error: request") and "already released" in err
    with Store.open(db) as store:
        assert len(store.ledger_entries()) == 2


def test_deny_then_approve_refused(db: str) -> None:
    rid = _held(db)
    assert run(db, "review", "deny", rid, "--reviewer", "Ann", "--note", "no")[0] == 0
    code, _, err = run(db, "review", "approve", rid, "--reviewer", "Ann", "--note", "x")
    assert code == 7 and "already denied" in err


def test_ledger_verify_disclosures_export_recall(db: str, tmp_path: Path) -> None:
    rid = _held(db)
    run(db, "review", "approve", rid, "--reviewer", "Ann", "--note", "ok")
    code, out, _ = run(db, "ledger", "verify")
    assert code == 0 and out.startswith("ledger intact: 2 entries; every leaf, the root")
    code, out, _ = run(db, "ledger", "disclosures", "--tin", "900111221")
    assert code == 0 and "R-1" in out and "street,city" in out and "R-0" not in out
    code, out, _ = run(db, "ledger", "recall", rid, "R-1", "--why", "wrong person", "--by", "Sup")
    assert code == 0 and "ledger seq 3 (recalls seq 2)" in out
    assert "recall of 2" in run(db, "ledger", "disclosures", "--tin", "900111221")[1]
    target = tmp_path / "ledger.csv"
    code, _, err = run(db, "ledger", "export", "--out", str(target))
    assert code == 0 and "exported 3 entries" in err
    assert len(target.read_text().splitlines()) == 4
    with Store.open(db) as store, store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER ledger_entries_no_update"))  # the insider's first step
        conn.execute(text("UPDATE ledger_entries SET case_number = 'C-10' WHERE seq = 2"))
    code, out, err = run(db, "ledger", "verify")
    assert code == 7
    assert "seq 2: edited" in out
    assert "ledger broken at seq 2 (edited)" in err


def test_agreement_suspend_status_resume(db: str) -> None:
    code, out, _ = run(db, "agreement", "suspend", "--why", "audit finding")
    # suspending the packaged default suspends every agency (a renamed copy included)
    assert code == 0 and "every agency suspended" in out
    assert "SUSPENDED: every agency suspended: audit finding" in run(db, "agreement", "status")[1]
    rid = _held(db)
    code, _, err = run(db, "review", "approve", rid, "--reviewer", "Ann", "--note", "ok")
    assert code == 6 and "suspended" in err
    # the shipped file, as suspended above (this database never registered it by id)
    resumed = run(db, "agreement", "resume", "--why", "closed")
    assert resumed[0] == 0, resumed[2]
    code, out, _ = run(db, "agreement", "status")
    assert "every agency: active" in out and "suspend" in out and "resume" in out
    code, _, err = run(db, "agreement", "status", "--id", "x", "--agreement", __file__)
    assert code == 2 and "give one of --agreement PATH, --id ID or --agency NAME" in err


def test_report(db: str, tmp_path: Path) -> None:
    rid = _held(db)
    run(db, "review", "approve", rid, "--reviewer", "Ann", "--note", "ok")
    period = f"{NOW:%Y-%m}"
    out_csv = tmp_path / "report.csv"
    code, out, _ = run(db, "report", "--period", period, "--out", str(out_csv))
    assert code == 0 and "Agency A" in out
    header, row = out_csv.read_text().splitlines()
    figures = dict(zip(header.split(","), row.split(","), strict=True))
    assert (figures["received"], figures["matched"], figures["ledger_disclosed"]) == ("4", "2", "2")
    code, _, err = run(db, "report", "--period", "2026-Q5")
    assert code == 2 and "period" in err


def test_purge(db: str, tmp_path: Path) -> None:
    results = tmp_path / "result"
    old = NOW - timedelta(days=40)
    rid = _held(db, out_dir=str(results), when=old)
    code, _, err = run(db, "review", "approve", rid, "--reviewer", "Ann", "--note", "ok")
    assert code == 0, err
    assert (results / "matched.csv").exists()
    (results / "operator-notes.txt").write_text("not tinmatch's")
    with Store.open(db) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE requests SET decided_at = :t"), {"t": old.replace(tzinfo=None)})
    code, out, _ = run(db, "purge", "--older-than", "30d", "--dry-run")
    assert code == 0 and "would delete" in out and (results / "matched.csv").exists()
    code, out, _ = run(db, "purge", "--older-than", "30d")
    assert code == 0 and "1 request(s) purged" in out
    assert not (results / "matched.csv").exists() and not (results / "result.xlsx").exists()
    assert (results / "operator-notes.txt").read_text() == "not tinmatch's"
    assert "0 request(s) purged" in run(db, "purge", "--older-than", "30d")[1]
    assert run(db, "ledger", "verify")[0] == 0


def test_exit_codes_by_meaning(db: str) -> None:
    """Not found and an unreachable database are exit 7 (like a conflict, above), a blank
    reason exit 2 (a usage error); each is one line on stderr."""
    rid = _held(db)
    code, _, err = run(db, "review", "show", "req-0000000000000000")
    assert code == 7 and err.startswith("error: no request 'req-0000000000000000'")
    code, _, err = run(db, "ledger", "recall", rid, "R-0", "--why", "  ", "--by", "Sup")
    assert code == 2 and err == "error: say why the disclosure is recalled (--why)\n"
    code, _, err = run(
        "postgresql://user:secret@127.0.0.1:1/none?connect_timeout=2", "review", "show", rid
    )
    assert code == 7 and err.startswith("error: cannot open the operational database")
    assert "secret" not in err and err.count("\n") == 1


def test_reviewer_must_authenticate_and_withhold_needs_a_reason(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = _held(db)
    code, _, err = run(db, "review", "approve", rid, "--reviewer", "Nobody", "--note", "ok")
    assert code == 6 and "not a registered reviewer" in err and err.count("\n") == 1
    monkeypatch.setenv("TINMATCH_REVIEWER_PASSWORD", "a wrong password entirely")
    code, _, err = run(db, "review", "approve", rid, "--reviewer", "Ann", "--note", "ok")
    assert code == 6 and "password is wrong" in err
    monkeypatch.setenv("TINMATCH_REVIEWER_PASSWORD", REVIEWER_PASSWORD)
    code, _, err = run(db, "review", "approve", rid, "--reviewer", "Ann", "--note", "ok",
                       "--withhold", "R-0")  # fmt: skip
    assert code == 2 and "--withhold-why" in err
    code, out, _ = run(db, "review", "show", rid, "--lowest", "--limit", "1")
    assert code == 0 and "rows to be disclosed: 1 shown of 2 (lowest first)" in out
    assert out.index("\nR-0  probability") > 0 and "R-1  probability" not in out
    code, out, err = run(db, "review", "approve", rid, "--reviewer", "Ann", "--note", "ok",
                         "--withhold", "R-0", "--withhold-why", "not our person")  # fmt: skip
    assert code == 0 and "1 disclosures recorded in the ledger, 1 withheld" in out, err
    with Store.open(db) as store:
        assert [(e.entry_type, e.record_id) for e in store.ledger_entries(rid)] == [
            ("withheld", "R-0"), ("disclosure", "R-1")
        ]
