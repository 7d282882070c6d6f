"""C2SP signed notes, checkpoints and witness cosignatures."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tinmatch.ledger.checkpoint import Checkpoint, open_checkpoint, witness_step, witnessed_by
from tinmatch.ledger.merkle import ListSource, consistency_path, leaf_hash, root_of
from tinmatch.ledger.note import (
    COSIGNATURE_V1,
    ED25519,
    Ed25519Signer,
    NoteError,
    VerifierKey,
    key_id,
    parse_note,
    sign_note,
)

# The example of golang.org/x/mod/sumdb/note (also in the C2SP signed-note examples).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"
    "dngotpRZb6KE6RyyBwJnAM=\n"
)


def test_the_go_example_verifies_and_a_changed_text_does_not() -> None:
    key = VerifierKey.parse(GO_VKEY)
    assert key.key_type == ED25519 and str(key) == GO_VKEY
    note = parse_note(GO_NOTE)
    assert note.signed_by(key)
    forged = parse_note(GO_NOTE.replace("answer", "question"))
    with pytest.raises(NoteError, match="does not verify"):
        forged.signed_by(key)
    assert str(note) == GO_NOTE


def test_key_id_and_verifier_key_format() -> None:
    signer = Ed25519Signer.generate("example.com/log")
    vkey = signer.verifier()
    name, hex_id, _ = str(vkey).split("+", 2)
    assert name == "example.com/log"
    assert bytes.fromhex(hex_id) == key_id(name, 0x01, signer.public_key)
    assert VerifierKey.parse(str(vkey)) == vkey
    with pytest.raises(NoteError, match="key ID"):
        VerifierKey.parse(f"{name}+00000000+{str(vkey).split('+', 2)[2]}")


def test_checkpoint_text_and_signature_line() -> None:
    signer = Ed25519Signer.generate("tinmatch.example/ledger")
    root = root_of([leaf_hash(b"a"), leaf_hash(b"b")])
    note = str(Checkpoint("tinmatch.example/ledger", 2, root).sign(signer))
    text, blank, sig = note.partition("\n\n")
    assert text.split("\n") == [
        "tinmatch.example/ledger",
        "2",
        __import__("base64").b64encode(root).decode(),
    ]
    assert sig.startswith("\u2014 tinmatch.example/ledger ") and sig.endswith("=\n")
    opened = open_checkpoint(note, signer.verifier())
    assert opened.checkpoint == Checkpoint("tinmatch.example/ledger", 2, root)
    other = Ed25519Signer.generate("tinmatch.example/ledger")
    with pytest.raises(NoteError, match="no signature of the log key"):
        open_checkpoint(note, other.verifier())


def test_key_file_is_created_0600_and_refused_when_readable(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ledger.key"
    first = Ed25519Signer.load_or_create(path, "tinmatch.example/ledger")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("PRIVATE+KEY+tinmatch.example/ledger+")
    again = Ed25519Signer.load_or_create(path, "another/name")
    assert again.public_key == first.public_key and again.name == first.name
    os.chmod(path, 0o644)
    with pytest.raises(NoteError, match="readable by others"):
        Ed25519Signer.load(path)


def _log(n: int) -> list[bytes]:
    return [leaf_hash(str(i).encode()) for i in range(n)]


def test_witness_cosigns_an_extension_and_refuses_a_fork() -> None:
    log = Ed25519Signer.generate("tinmatch.example/ledger")
    oig = Ed25519Signer.generate("oig.example/witness")
    leaves = _log(20)
    old = Checkpoint(log.name, 7, root_of(leaves[:7]))
    new_cp = Checkpoint(log.name, 20, root_of(leaves))
    new = open_checkpoint(str(new_cp.sign(log)), log.verifier())
    proof = consistency_path(ListSource(leaves), 7, 20)
    cosigned = witness_step(old, new, proof, oig, 1_700_000_000)
    assert len(cosigned.signatures) == 2
    assert cosigned.signatures[1].key_id == key_id(oig.name, COSIGNATURE_V1, oig.public_key)
    assert cosigned.signatures[1].signature[:8] == (1_700_000_000).to_bytes(8, "big")
    assert witnessed_by(cosigned, [oig.verifier(COSIGNATURE_V1)]) == [oig.name]
    assert open_checkpoint(str(cosigned), log.verifier()).checkpoint == new_cp
    # a plain Ed25519 key of the same witness is another key: the cosignature is not its
    assert witnessed_by(cosigned, [oig.verifier(ED25519)]) == []

    forked = _log(6) + [leaf_hash(b"rewritten")] + leaves[7:]
    fork = open_checkpoint(str(Checkpoint(log.name, 20, root_of(forked)).sign(log)), log.verifier())
    bad = consistency_path(ListSource(forked), 7, 20)
    with pytest.raises(NoteError, match="not an append-only extension"):
        witness_step(old, fork, bad, oig, 1_700_000_001)
    shrunk = open_checkpoint(
        str(Checkpoint(log.name, 5, root_of(leaves[:5])).sign(log)), log.verifier()
    )
    with pytest.raises(NoteError, match="shrank"):
        witness_step(old, shrunk, [], oig, 1_700_000_002)


def test_malformed_notes_are_refused() -> None:
    signer = Ed25519Signer.generate("a/b")
    good = str(sign_note("x\n", signer))
    for bad in (good.replace("\u2014", "--"), good.replace("\n\n", "\n"), "x\n\n", good + "\x07"):
        with pytest.raises(NoteError):
            parse_note(bad)
    with pytest.raises(NoteError):
        sign_note("no newline", signer)


def test_a_key_whose_base64_holds_a_plus_parses() -> None:
    signer = Ed25519Signer.generate("a.example/log")
    while "+" not in str(signer.verifier()).split("+", 2)[2]:
        signer = Ed25519Signer.generate("a.example/log")
    assert VerifierKey.parse(str(signer.verifier())).public_key == signer.public_key
    assert Ed25519Signer.from_text(signer.private_text()).public_key == signer.public_key
