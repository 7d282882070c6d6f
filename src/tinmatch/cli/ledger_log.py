"""`tinmatch ledger checkpoint | public-key | proof | consistency | verify | witness | notice`:
the ledger as a Merkle log that outsiders can check (docs/ledger.md)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from tinmatch.cli.app import one_line_errors
from tinmatch.cli.ledger import ledger_app
from tinmatch.cli.state import StateDbOption, open_store, utc_now
from tinmatch.errors import ConfigError, LedgerBrokenError, NotFoundError
from tinmatch.ledger.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    open_checkpoint,
    witness_step,
    witnessed_by,
)
from tinmatch.ledger.merkle import verify_consistency
from tinmatch.ledger.note import (
    COSIGNATURE_V1,
    Ed25519Signer,
    NoteError,
    VerifierKey,
    parse_note,
)
from tinmatch.ledger.verify import Anchor
from tinmatch.ops import Store

CheckpointFile = Annotated[
    Path | None,
    typer.Option("--checkpoint", help="A checkpoint file (from `ledger checkpoint`).", exists=True),
]


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"written to {out}", err=True)


def _open(path: Path, key: VerifierKey) -> SignedCheckpoint:
    try:
        return open_checkpoint(path.read_text(encoding="utf-8"), key)
    except (NoteError, UnicodeDecodeError) as exc:
        raise LedgerBrokenError(f"checkpoint {path}: {exc} (not signed by this log's key)") from exc


def _vkey(text: str) -> VerifierKey:
    try:
        return VerifierKey.parse(text)
    except NoteError as exc:
        raise ConfigError(str(exc)) from exc


def _json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


@ledger_app.command("checkpoint")
@one_line_errors
def checkpoint(
    out: Annotated[Path | None, typer.Option("--out", help="File to write.")] = None,
    state_db: StateDbOption = None,
) -> None:
    """The log's current signed checkpoint (C2SP tlog-checkpoint, Ed25519 signed note).

    A new checkpoint is signed when the log has grown or the newest is a day old; hand it to
    the oversight offices (and `ledger witness`), who keep it.

    Example:

      tinmatch ledger checkpoint --out cp-2026-09-01.txt
    """
    with open_store(state_db) as store:
        _emit(store.checkpoint_if_due(utc_now()), out)


@ledger_app.command("public-key")
@one_line_errors
def public_key(state_db: StateDbOption = None) -> None:
    """The log's verifier key (signed-note NAME+KEYHASH+BASE64KEY), to publish.

    Example:

      tinmatch ledger public-key
    """
    with open_store(state_db) as store:
        typer.echo(str(store.verifier_key()))


@ledger_app.command("proof")
@one_line_errors
def proof(
    seq: Annotated[int, typer.Argument(help="The entry's seq (leaf index + 1).")],
    cp: CheckpointFile = None,
    state_db: StateDbOption = None,
) -> None:
    """Inclusion proof of entry SEQ (RFC 9162), as JSON: leaf_index, tree_size, leaf (base64 of
    the leaf's bytes), inclusion_path. Against --checkpoint's tree, or the current checkpoint.

    Example:

      tinmatch ledger proof 42 --checkpoint cp-2026-09-01.txt
    """
    with open_store(state_db) as store:
        if cp is None:
            size = parse_note_size(store.checkpoint_if_due(utc_now()))
        else:
            size = _open(cp, store.verifier_key()).checkpoint.size
        _json(store.inclusion_proof(seq, size))


def parse_note_size(note: str) -> int:
    """The tree size of a checkpoint note (the log's own, just signed: not verified here)."""
    return Checkpoint.from_text(parse_note(note).text).size


@ledger_app.command("consistency")
@one_line_errors
def consistency(
    old: Annotated[Path, typer.Option("--from", help="The older checkpoint file.", exists=True)],
    new: Annotated[Path, typer.Option("--to", help="The newer checkpoint file.", exists=True)],
    state_db: StateDbOption = None,
) -> None:
    """Consistency proof between two checkpoints (RFC 9162), as JSON: from_size, to_size,
    consistency_path. Fails when the log cannot prove that --to extends --from.

    Example:

      tinmatch ledger consistency --from cp-2026-09-01.txt --to cp-2026-09-02.txt
    """
    with open_store(state_db) as store:
        key = store.verifier_key()
        first, second = _open(old, key).checkpoint, _open(new, key).checkpoint
        result = store.consistency_proof(first.size, second.size)
    path = [_b64decode(h) for h in result["consistency_path"]]
    if not verify_consistency(first.size, second.size, first.root, second.root, path):
        raise LedgerBrokenError(
            f"the checkpoint of size {second.size} does not extend the one of size {first.size}"
        )
    _json(result)


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


@ledger_app.command("verify")
@one_line_errors
def verify(
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint held outside the database (repeatable): the log must extend it.",
            exists=True,
        ),
    ] = None,
    witnesses: Annotated[
        list[str] | None,
        typer.Option("--witness", help="A witness's verifier key (repeatable)."),
    ] = None,
    min_witnesses: Annotated[
        int,
        typer.Option("--min-witnesses", help="Cosignatures each --checkpoint must carry."),
    ] = 0,
    state_db: StateDbOption = None,
) -> None:
    """Recompute every leaf and the root; exit non-zero naming what is wrong.

    Catches an entry edited, deleted or reordered in the database, the tail cut, and history
    rewritten and re-hashed: the stored log must reproduce its stored leaves, its size, every
    checkpoint it signed and every --checkpoint given.

    Example:

      tinmatch ledger verify --checkpoint cp-2026-09-01.txt --witness 'oig.example/w+...' \\
          --min-witnesses 1
    """
    keys = [_vkey(w) for w in witnesses or []]
    if any(k.key_type != COSIGNATURE_V1 for k in keys):
        raise ConfigError("a --witness key is a cosignature key (type 0x04, `ledger witness`)")
    with open_store(state_db) as store:
        key = store.verifier_key()
        held = [(path, _open(path, key)) for path in checkpoints or []]
        if min_witnesses and not held:
            latest = store.latest_checkpoint()
            if latest is None:
                raise NotFoundError("the log has no checkpoint yet")
            held.append((Path("(newest stored checkpoint)"), open_checkpoint(latest, key)))
        for path, signed in held:
            seen = witnessed_by(signed.note, keys)
            if len(seen) < min_witnesses:
                raise LedgerBrokenError(
                    f"checkpoint {path} carries {len(seen)} of the {min_witnesses} witness "
                    f"cosignatures required ({', '.join(seen) or 'none'})"
                )
        anchors = [Anchor(s.checkpoint.size, s.checkpoint.root, f"checkpoint {p}") for p, s in held]
        problems = store.verify_problems(anchors)
        if not problems:
            store.checkpoint_if_due(utc_now())
        n, _ = store.ledger_head()
    if not problems:
        typer.echo(
            f"ledger intact: {n} entries; every leaf, the root and "
            f"{len(held)} checkpoint(s) given verified"
        )
        return
    for problem in problems:
        typer.echo(str(problem))
    first = problems[0]
    raise LedgerBrokenError(
        f"ledger broken at seq {first.seq} ({first.kind}); {len(problems)} problem(s) listed above"
    )


@ledger_app.command("witness")
@one_line_errors
def witness(
    state: Annotated[
        Path, typer.Option("--state", help="The witness's own folder: its key, what it saw.")
    ],
    name: Annotated[
        str, typer.Option("--name", help="The witness's key name, on first use.")
    ] = "witness.invalid/oversight",
    log_key: Annotated[
        str | None,
        typer.Option("--log-key", help="The log's verifier key (required on first use)."),
    ] = None,
    cp: CheckpointFile = None,
    proof_file: Annotated[
        Path | None,
        typer.Option(
            "--proof", help="Consistency proof JSON (default: asked of the log).", exists=True
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Cosigned checkpoint file.")] = None,
    show_key: Annotated[
        bool, typer.Option("--show-key", help="Print the witness's verifier key and stop.")
    ] = False,
    state_db: StateDbOption = None,
) -> None:
    """Co-sign the log's checkpoint as an oversight office (C2SP tlog-cosignature).

    The witness keeps its own Ed25519 key and the last checkpoint it co-signed in --state;
    it refuses a checkpoint that is not an append-only extension of that one (RFC 9162
    consistency proof) and otherwise adds its signature line to the note.

    Example:

      tinmatch ledger witness --state /srv/oig-witness --log-key "$(tinmatch ledger public-key)"
    """
    signer = Ed25519Signer.load_or_create(state / "witness.key", name)
    if show_key:
        typer.echo(str(signer.verifier(COSIGNATURE_V1)))
        return
    known = state / "log.vkey"
    if known.exists():
        trusted = _vkey(known.read_text(encoding="utf-8"))
        if log_key is not None and _vkey(log_key) != trusted:
            raise ConfigError(f"this witness follows {trusted}, not {log_key.strip()}")
    elif log_key is None:
        raise ConfigError("first use: give the log's verifier key (--log-key)")
    else:
        trusted = _vkey(log_key)
        known.write_text(str(trusted) + "\n", encoding="utf-8")
    last_path = state / "last-checkpoint"
    old = (
        open_checkpoint(last_path.read_text(encoding="utf-8"), trusted)
        if last_path.exists()
        else None
    )
    store: Store | None = None
    try:
        if cp is None or (old is not None and proof_file is None):
            store = open_store(state_db)
        if cp is not None:
            raw = cp.read_text(encoding="utf-8")
        else:
            assert store is not None
            raw = store.checkpoint_if_due(utc_now())
        try:
            new = open_checkpoint(raw, trusted)
        except NoteError as exc:
            raise LedgerBrokenError(f"refused: {exc}") from exc
        path: list[bytes] = []
        if old is not None:
            if proof_file is not None:
                body = json.loads(proof_file.read_text(encoding="utf-8"))
            else:
                assert store is not None
                body = store.consistency_proof(old.checkpoint.size, new.checkpoint.size)
            path = [_b64decode(h) for h in body["consistency_path"]]
        try:
            cosigned = witness_step(
                old.checkpoint if old else None, new, path, signer, int(time.time())
            )
        except NoteError as exc:
            raise LedgerBrokenError(f"refused: {exc}") from exc
        if store is not None:
            store.record_checkpoint(str(cosigned), utc_now())
    finally:
        if store is not None:
            store.close()
    last_path.write_text(str(cosigned), encoding="utf-8")
    _emit(str(cosigned), out)


@ledger_app.command("notice")
@one_line_errors
def notice(
    tin: Annotated[str, typer.Option("--tin", help="The taxpayer's TIN (9 digits).")],
    out: Annotated[Path | None, typer.Option("--out", help="JSON file to write.")] = None,
    state_db: StateDbOption = None,
) -> None:
    """A taxpayer's accounting of disclosures, provable: every entry about them with its
    inclusion proof, the signed checkpoint the proofs lead to, and the log's public key.

    Example:

      tinmatch ledger notice --tin 900123456 --out notice-900123456.json
    """
    with open_store(state_db) as store:
        note = store.checkpoint_if_due(utc_now())
        size = parse_note_size(note)
        entries = [e for e in store.disclosures_for_tin(tin) if e.seq <= size]
        body = {
            "tin": tin.strip(),
            "log_key": str(store.verifier_key()),
            "checkpoint": note,
            "entries": [
                {
                    "seq": e.seq,
                    "kind": e.kind,
                    "agency": e.agency,
                    "request_id": e.request_id,
                    "released_at": e.as_dict()["released_at"],
                    "values": e.values,
                    "proof": store.inclusion_proof(e.seq, size),
                }
                for e in entries
            ],
        }
    _emit(json.dumps(body, indent=2) + "\n", out)
