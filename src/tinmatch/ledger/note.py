"""C2SP signed notes (c2sp.org/signed-note) with Ed25519, and witness cosignatures
(c2sp.org/tlog-cosignature, Ed25519 ``cosignature/v1``).

A note is a text ending in a newline, a blank line, then signature lines
``— NAME base64(key ID (4 bytes, big-endian) || signature)``. The key ID is
``SHA-256(name || 0x0A || type || public key)[:4]`` with type 0x01 for the log's Ed25519 key and
0x04 for a witness's timestamped cosignature, whose signature is ``timestamp (u64 big-endian) ||
Ed25519(b"cosignature/v1\\ntime <timestamp>\\n" || note text)``. A verifier key (vkey) is
``NAME+hex(key ID)+base64(type || public key)``.

Signing goes through the :class:`Signer` protocol (a name, a 32-byte public key and ``sign``),
so an HSM or a KMS can hold the private key instead of :class:`Ed25519Signer`'s key file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A note, signature line, key or key file is malformed, or a known key's signature fails."""


def key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()[:4]


def check_name(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"not a key name (non-empty, no spaces, no '+'): {name!r}")
    return name


class Signer(Protocol):
    """Whatever holds a private Ed25519 key: a key file, an HSM, a KMS."""

    @property
    def name(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message`."""
        ...


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.key_type, self.public_key)

    def __str__(self) -> str:
        blob = base64.b64encode(bytes([self.key_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"not a verifier key NAME+KEYID+KEY: {vkey.strip()!r}")
        name, hex_id, blob = parts
        try:
            raw = base64.b64decode(blob, validate=True)
            wanted = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError) as exc:
            raise NoteError(f"verifier key {name!r}: bad encoding") from exc
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError(f"verifier key {name!r}: not an Ed25519 key (type 0x01 or 0x04)")
        key = cls(check_name(name), raw[0], raw[1:])
        if key.key_id != wanted:
            raise NoteError(f"verifier key {name!r}: key ID {hex_id} does not match the key")
        return key

    def verify(self, text: str, signature: bytes) -> bool:
        """Check one signature (the bytes after the key ID) over the note `text`."""
        message = text.encode()
        if self.key_type == COSIGNATURE_V1:
            if len(signature) != 72:
                return False
            (stamp,) = struct.unpack(">Q", signature[:8])
            message = cosigned_message(text, stamp)
            signature = signature[8:]
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[NoteSignature, ...]

    def __str__(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def signed_by(self, key: VerifierKey) -> bool:
        """True when a signature line of `key` verifies; False when it has none.

        Raises NoteError when a signature line with the key's name and key ID fails (the
        signed-note spec: a failed known-key signature rejects the whole note).
        """
        for sig in self.signatures:
            if sig.name == key.name and sig.key_id == key.key_id:
                if not key.verify(self.text, sig.signature):
                    raise NoteError(f"the signature of {key.name} does not verify")
                return True
        return False

    def with_signature(self, signature: NoteSignature) -> Note:
        kept = tuple(
            s for s in self.signatures if (s.name, s.key_id) != (signature.name, signature.key_id)
        )
        return Note(self.text, (*kept, signature))


def parse_note(raw: str) -> Note:
    if any(ord(c) < 0x20 and c != "\n" for c in raw):
        raise NoteError("a note contains no control characters other than newline")
    cut = raw.rfind("\n\n")
    if cut < 0 or not raw.endswith("\n"):
        raise NoteError("not a signed note (text, a blank line, signature lines)")
    text, block = raw[: cut + 1], raw[cut + 2 :]
    signatures = []
    for line in block.splitlines():
        if not line.startswith(DASH):
            raise NoteError(f"not a signature line: {line[:60]!r}")
        name, _, blob = line[len(DASH) :].partition(" ")
        try:
            data = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise NoteError(f"signature of {name!r} is not base64") from exc
        if len(data) < 5 or " " in blob:
            raise NoteError(f"signature of {name!r} is too short")
        signatures.append(NoteSignature(check_name(name), data[:4], data[4:]))
    if not signatures or len(signatures) > MAX_SIGNATURES:
        raise NoteError(f"a note carries 1 to {MAX_SIGNATURES} signatures")
    return Note(text, tuple(signatures))


def sign_note(text: str, signer: Signer) -> Note:
    """A note of `text` with one Ed25519 signature (type 0x01)."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note text ends in a newline and has no blank line")
    kid = key_id(signer.name, ED25519, signer.public_key)
    return Note(text, (NoteSignature(signer.name, kid, signer.sign(text.encode())),))


def cosign(note: Note, signer: Signer, timestamp: int) -> Note:
    """`note` with a tlog-cosignature/v1 line of `signer` added (replacing an earlier one)."""
    kid = key_id(signer.name, COSIGNATURE_V1, signer.public_key)
    sig = signer.sign(cosigned_message(note.text, timestamp))
    return note.with_signature(NoteSignature(signer.name, kid, struct.pack(">Q", timestamp) + sig))


class Ed25519Signer:
    """An Ed25519 key held in memory, read from (or created as) a 0600 key file.

    The key file holds one line ``PRIVATE+KEY+NAME+KEYID+base64(0x01 || 32-byte seed)`` (the
    golang.org/x/mod/sumdb/note format).
    """

    def __init__(self, name: str, private: Ed25519PrivateKey) -> None:
        self._name = check_name(name)
        self._private = private

    @property
    def name(self) -> str:
        return self._name

    @property
    def public_key(self) -> bytes:
        return self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def verifier(self, key_type: int = ED25519) -> VerifierKey:
        return VerifierKey(self.name, key_type, self.public_key)

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        return cls(name, Ed25519PrivateKey.generate())

    def private_text(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        kid = key_id(self.name, ED25519, self.public_key).hex()
        blob = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{kid}+{blob}\n"

    @classmethod
    def from_text(cls, text: str) -> Ed25519Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("not a private key file (PRIVATE+KEY+NAME+KEYID+KEY)")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except binascii.Error as exc:
            raise NoteError("private key: bad base64") from exc
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("private key: not an Ed25519 seed")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if key_id(signer.name, ED25519, signer.public_key).hex() != parts[3]:
            raise NoteError("private key: key ID does not match the key")
        return signer

    @classmethod
    def load(cls, path: Path) -> Ed25519Signer:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise NoteError(f"cannot read the key file {path}: {exc.strerror}") from exc
        if path.stat().st_mode & 0o077:
            raise NoteError(f"key file {path} is readable by others: chmod 600 it")
        return cls.from_text(text)

    @classmethod
    def load_or_create(cls, path: Path, name: str) -> Ed25519Signer:
        """The key in `path`; a new one (file created 0600, never overwritten) if none."""
        if path.exists():
            return cls.load(path)
        signer = cls.generate(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created meanwhile by another process
            return cls.load(path)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(signer.private_text())
        return signer
