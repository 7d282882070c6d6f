"""Checkpoints in the C2SP tlog-checkpoint format: a signed note whose text is the origin line,
the tree size in decimal and the base64 root hash, each ending in a newline.

Witnesses (`witness_step`) keep the last checkpoint they co-signed, check the consistency proof
from it to the new one, and add their tlog-cosignature/v1 line to the same note.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from tinmatch.ledger.merkle import HASH_SIZE, verify_consistency
from tinmatch.ledger.note import (
    Note,
    NoteError,
    Signer,
    VerifierKey,
    cosign,
    parse_note,
    sign_note,
)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def sign(self, signer: Signer) -> Note:
        return sign_note(self.text(), signer)

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("a checkpoint is an origin line, a size line and a root line")
        origin, size_text, root_text = lines[:3]
        if not size_text.isdigit() or (size_text.startswith("0") and size_text != "0"):
            raise NoteError(f"checkpoint size is not a decimal number: {size_text!r}")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error as exc:
            raise NoteError("checkpoint root hash is not base64") from exc
        if len(root) != HASH_SIZE:
            raise NoteError(f"checkpoint root hash is {len(root)} bytes, not {HASH_SIZE}")
        return cls(origin, int(size_text), root)


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: Note

    def __str__(self) -> str:
        return str(self.note)


def open_checkpoint(raw: str, log_key: VerifierKey) -> SignedCheckpoint:
    """Parse a checkpoint note and check the log's signature on it (NoteError if absent/bad)."""
    note = parse_note(raw)
    if not note.signed_by(log_key):
        raise NoteError(f"the checkpoint carries no signature of the log key {log_key.name}")
    checkpoint = Checkpoint.from_text(note.text)
    if checkpoint.origin != log_key.name:
        raise NoteError(f"the checkpoint's origin {checkpoint.origin!r} is not the log key's name")
    return SignedCheckpoint(checkpoint, note)


def witnessed_by(note: Note, witnesses: Sequence[VerifierKey]) -> list[str]:
    """Names of the `witnesses` whose cosignature on `note` verifies."""
    return [w.name for w in witnesses if note.signed_by(w)]


def witness_step(
    old: Checkpoint | None,
    new: SignedCheckpoint,
    proof: Sequence[bytes],
    signer: Signer,
    timestamp: int,
) -> Note:
    """What a witness does: refuse a checkpoint that does not extend the last one it saw
    (RFC 9162 consistency proof), else co-sign it. Raises NoteError naming the cause."""
    cp = new.checkpoint
    if old is not None:
        if old.origin != cp.origin:
            raise NoteError(f"the witness follows {old.origin!r}, not {cp.origin!r}")
        if cp.size < old.size:
            raise NoteError(
                f"the log shrank: size {cp.size} is smaller than the {old.size} already witnessed"
            )
        if not verify_consistency(old.size, cp.size, old.root, cp.root, proof):
            raise NoteError(
                f"the checkpoint of size {cp.size} is not an append-only extension of the one "
                f"of size {old.size} this witness co-signed (consistency proof fails)"
            )
    return cosign(new.note, signer, timestamp)
