"""`tinmatch ledger checkpoint | public-key | proof | consistency | verify | witness | notice |
export --format jsonl`, end to end on SQLite and PostgreSQL, checked by tools/verify_ledger.py
(which shares no code with tinmatch)."""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType

import _ledger_fixtures as lf
import pytest
from _ops_fixtures import BACKENDS, backend_url
from typer.testing import CliRunner

from tinmatch.cli import app
from tinmatch.ops import Store

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_ledger", ROOT / "tools/verify_ledger.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VERIFY = _tool()


def outside(*args: str | Path) -> tuple[int, str]:
    """Run the independent verifier."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = VERIFY.main([str(a) for a in args])
    return code, out.getvalue()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = backend_url(request.param, tmp_path)
    with Store.open(url) as store:
        lf.release(store, 5)
        lf.release(store, 1, start=9, tin="900000003")
    return url


def run(db: str, *args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["ledger", *map(str, args), "--state-db", db])
    return result.exit_code, result.stdout, result.stderr


def test_checkpoint_proof_export_check_out_from_outside(db: str, tmp_path: Path) -> None:
    cp, leaves, proof = tmp_path / "cp.txt", tmp_path / "leaves.jsonl", tmp_path / "p.json"
    assert run(db, "checkpoint", "--out", cp)[0] == 0
    text = cp.read_text()
    origin, size, root, blank, sig = text.split("\n")[:5]
    assert (origin, size, blank) == ("tinmatch.invalid/ledger", "6", "")
    assert sig.startswith("\u2014 tinmatch.invalid/ledger ")
    code, key, _ = run(db, "public-key")
    key = key.strip()
    assert code == 0 and key.startswith("tinmatch.invalid/ledger+")
    code, _, err = run(db, "export", "--format", "jsonl", "--out", leaves)
    assert code == 0 and "exported 6 entries" in err
    code, out, _ = run(db, "proof", "3", "--checkpoint", cp)
    body = json.loads(out)
    assert set(body) == {"leaf_index", "tree_size", "leaf", "inclusion_path"}
    assert (body["leaf_index"], body["tree_size"]) == (2, 6)
    assert json.loads(base64.b64decode(body["leaf"]))["values"]["street"] == "2 Elm St"
    proof.write_text(out)
    code, report = outside("--key", key, "--checkpoint", cp, "--export", leaves, "--proof", proof)
    assert code == 0, report
    assert "first 6 of 6 leaves hash to the root" in report

    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(leaves.read_bytes().replace(b'"2 Elm St"', b'"2 Oak St"'))
    code, report = outside("--key", key, "--checkpoint", cp, "--export", tampered)
    assert code == 1 and "FAIL  export: the first 6" in report
    shortened = tmp_path / "short.jsonl"
    shortened.write_bytes(b"".join(leaves.read_bytes().splitlines(keepends=True)[:5]))
    assert "holds 5 leaves" in outside("--key", key, "--checkpoint", cp, "--export", shortened)[1]
    other = tmp_path / "other.txt"
    other.write_text(text.replace("\n6\n", "\n7\n"))
    code, report = outside("--key", key, "--checkpoint", other)
    assert code == 1 and "invalid" in report


def test_consistency_between_two_checkpoints(db: str, tmp_path: Path) -> None:
    old, new, cons = tmp_path / "old.txt", tmp_path / "new.txt", tmp_path / "c.json"
    run(db, "checkpoint", "--out", old)
    with Store.open(db) as store:
        lf.release(store, 4, start=20)
    run(db, "checkpoint", "--out", new)
    code, out, _ = run(db, "consistency", "--from", old, "--to", new)
    assert code == 0
    body = json.loads(out)
    assert (body["from_size"], body["to_size"]) == (6, 10) and body["consistency_path"]
    cons.write_text(out)
    key = run(db, "public-key")[1].strip()
    code, report = outside(
        "--key", key, "--checkpoint", new, "--old-checkpoint", old, "--consistency", cons
    )
    assert code == 0 and "extends the one of size 6" in report
    code, out, _ = run(db, "verify", "--checkpoint", old, "--checkpoint", new)
    assert code == 0 and out.startswith("ledger intact: 10 entries")


def test_verify_with_a_held_checkpoint_catches_a_rewritten_log(db: str, tmp_path: Path) -> None:
    held = tmp_path / "held.txt"
    run(db, "checkpoint", "--out", held)
    with Store.open(db) as store:
        lf.drop_guards(store)
        lf.sql(store, "UPDATE ledger_entries SET reviewer = 'auto' WHERE seq = 2")
        lf.sql(store, "DELETE FROM ledger_checkpoints")
        lf.rehash_everything(store)
    code, out, _ = run(db, "verify")
    assert code == 0  # nothing left in the database can tell...
    code, out, err = run(db, "verify", "--checkpoint", held)
    assert code == 7  # ...but the checkpoint the oversight office kept does
    assert "seq 6: rewritten" in out and "not an append-only extension" in out
    assert "ledger broken at seq 6 (rewritten)" in err
    leaves = tmp_path / "leaves.jsonl"
    run(db, "export", "--format", "jsonl", "--out", leaves)
    key = run(db, "public-key")[1].strip()
    assert outside("--key", key, "--checkpoint", held, "--export", leaves)[0] == 1


def test_verify_names_a_cut_tail(db: str, tmp_path: Path) -> None:
    with Store.open(db) as store:
        lf.drop_guards(store)
        lf.sql(store, "DELETE FROM ledger_entries WHERE seq > 4")
    code, out, err = run(db, "verify")
    assert code == 7 and "seq 5: truncated" in out


def test_witness_cosigns_and_refuses_a_fork(db: str, tmp_path: Path) -> None:
    state = tmp_path / "oig"
    key = run(db, "public-key")[1].strip()
    code, wkey, _ = run(db, "witness", "--state", state, "--name", "oig.example/w", "--show-key")
    wkey = wkey.strip()
    assert code == 0 and wkey.startswith("oig.example/w+")
    assert (state / "witness.key").stat().st_mode & 0o777 == 0o600
    code, _, err = run(db, "witness", "--state", state)
    assert code == 2 and "--log-key" in err
    code, cosigned, _ = run(db, "witness", "--state", state, "--log-key", key)
    assert code == 0 and cosigned.count("\u2014 ") == 2
    with Store.open(db) as store:
        lf.release(store, 3, start=30)
    code, cosigned, _ = run(db, "witness", "--state", state)
    assert code == 0 and "\n9\n" in cosigned
    code, out, _ = run(db, "verify", "--witness", wkey, "--min-witnesses", "1")
    assert code == 0, out
    plain = tmp_path / "plain.txt"
    plain.write_text(cosigned.rsplit("\u2014 oig.example/w", 1)[0])
    code, _, err = run(
        db, "verify", "--checkpoint", plain, "--witness", wkey, "--min-witnesses", "1"
    )
    assert code == 7 and "0 of the 1 witness cosignatures" in err
    withcos = tmp_path / "cos.txt"
    withcos.write_text(cosigned)
    code, report = outside(
        "--key", key, "--checkpoint", withcos, "--witness", wkey, "--min-witnesses", "1"
    )
    assert code == 0 and "1 witness cosignature(s) (oig.example/w)" in report

    # The operator (who holds the log key) rewrites history and signs the new root.
    with Store.open(db) as store:
        lf.drop_guards(store)
        lf.sql(store, "UPDATE ledger_entries SET tin = '111111111' WHERE seq = 1")
        lf.rehash_everything(store)
        lf.release(store, 1, start=40)
    code, _, err = run(db, "witness", "--state", state)
    assert code == 7 and "not an append-only extension" in err


def test_notice_carries_inclusion_proofs(db: str, tmp_path: Path) -> None:
    code, out, _ = run(db, "notice", "--tin", "900000003")
    assert code == 0
    body = json.loads(out)
    assert [e["seq"] for e in body["entries"]] == [4, 6]
    cp_file = tmp_path / "cp.txt"
    cp_file.write_text(body["checkpoint"])
    for i, entry in enumerate(body["entries"]):
        proof = tmp_path / f"p{i}.json"
        proof.write_text(json.dumps(entry["proof"]))
        code, report = outside("--key", body["log_key"], "--checkpoint", cp_file, "--proof", proof)
        assert code == 0, report
    assert body["entries"][0]["values"]["street"] == "3 Elm St"


def test_export_csv_still_has_every_field(db: str, tmp_path: Path) -> None:
    target = tmp_path / "ledger.csv"
    code, _, err = run(db, "export", "--out", target)
    lines = target.read_text().splitlines()
    assert code == 0 and len(lines) == 7
    assert lines[0].startswith("seq,entry_type,request_id,agency") and "values" in lines[0]
    assert lines[1].startswith("1,disclosure,req-1,")
