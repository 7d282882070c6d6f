#!/usr/bin/env python3
"""Check a tinmatch ledger from outside, trusting nothing but a public key.

Written from the specifications, not from tinmatch's code, and importing nothing from it
(standard library and `cryptography` only), so an oversight office can read all of it:

- RFC 9162 section 2.1: leaf hash SHA-256(0x00 || leaf), node hash SHA-256(0x01 || l || r),
  the Merkle tree hash MTH with the largest power of two smaller than n as split, inclusion
  proof verification (2.1.3.2) and consistency proof verification (2.1.4.2);
- C2SP signed-note (text, blank line, lines "— NAME base64(keyID || sig)", key ID
  SHA-256(NAME || 0x0A || type || key)[:4], verifier keys NAME+hex(keyID)+base64(type || key)),
  C2SP tlog-checkpoint (origin, decimal size, base64 root), C2SP tlog-cosignature
  (type 0x04: u64 timestamp || Ed25519 over "cosignature/v1\\ntime T\\n" || checkpoint text);
- tinmatch's leaf encoding (docs/ledger.md): one canonical JSON object per entry (keys sorted,
  no whitespace, UTF-8), ``seq`` = leaf index + 1, exported one per line by
  ``tinmatch ledger export --format jsonl``.

    python tools/verify_ledger.py --key 'tinmatch.invalid/ledger+1234abcd+AQ...' \\
        --checkpoint cp.txt --export leaves.jsonl [--proof proof.json ...] \\
        [--old-checkpoint old.txt --consistency cons.json] \\
        [--witness 'oig.example/w+....' --min-witnesses 1]

Prints one line per check; exits 1 when any check fails, 2 on unusable arguments.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EM_DASH = "\u2014"
LEAF_KEYS = {
    "v", "seq", "kind", "request_id", "agency", "official", "record_id", "tin",
    "fields_released", "values", "tax_year", "match_probability", "agreement_id",
    "agreement_sha256", "model_sha256", "statute", "case_number", "reviewer", "note",
    "recalls_seq", "created_at", "released_at", "detail",
}  # fmt: skip


class Failed(Exception):
    pass


# -- RFC 9162 section 2.1 ---------------------------------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def hash_leaf(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf)


def hash_children(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def mth(hashes: list[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) given the leaf hashes: the RFC's recursion, split at the largest power of
    two smaller than the number of leaves."""
    n = hi - lo
    if n == 0:
        return sha256(b"")
    if n == 1:
        return hashes[lo]
    k = 1
    while k * 2 < n:
        k *= 2
    return hash_children(mth(hashes, lo, lo + k), mth(hashes, lo + k, hi))


def inclusion_ok(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2, step by step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = hash_children(p, r)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            r = hash_children(r, p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def consistency_ok(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2, step by step (first == second: empty path, equal roots)."""
    if first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            sr = hash_children(sr, c)
        fn //= 2
        sn //= 2
    return fr == first_root and sr == second_root and sn == 0


# -- C2SP signed-note, tlog-checkpoint, tlog-cosignature ----------------------------------------


class Key:
    def __init__(self, vkey: str) -> None:
        try:
            name, hex_id, blob = vkey.strip().split("+", 2)
            raw = base64.b64decode(blob, validate=True)
        except ValueError as exc:
            raise Failed(f"not a verifier key NAME+KEYID+KEY: {vkey!r}") from exc
        if len(raw) != 33 or raw[0] not in (0x01, 0x04):
            raise Failed(f"{name}: not an Ed25519 (0x01) or cosignature (0x04) key")
        self.name, self.type, self.key = name, raw[0], raw[1:]
        self.id = sha256(name.encode() + b"\n" + raw)[:4]
        if self.id.hex() != hex_id:
            raise Failed(f"{name}: the key ID {hex_id} is not the hash of the key")

    def check(self, text: str, sig: bytes) -> bool:
        message = text.encode()
        if self.type == 0x04:
            if len(sig) != 8 + 64:
                return False
            stamp = int.from_bytes(sig[:8], "big")
            message = b"cosignature/v1\ntime " + str(stamp).encode() + b"\n" + message
            sig = sig[8:]
        try:
            Ed25519PublicKey.from_public_bytes(self.key).verify(sig, message)
            return True
        except InvalidSignature:
            return False


def split_note(raw: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    cut = raw.rfind("\n\n")
    if cut < 0:
        raise Failed("the checkpoint is not a signed note (no blank line)")
    text, sigs = raw[: cut + 1], []
    for line in raw[cut + 2 :].split("\n"):
        if not line:
            continue
        if not line.startswith(EM_DASH + " "):
            raise Failed(f"not a signature line: {line[:50]!r}")
        name, _, blob = line[2:].partition(" ")
        data = base64.b64decode(blob, validate=True)
        sigs.append((name, data[:4], data[4:]))
    return text, sigs


def signed(text: str, sigs: list[tuple[str, bytes, bytes]], key: Key) -> bool:
    for name, kid, sig in sigs:
        if name == key.name and kid == key.id:
            if not key.check(text, sig):
                raise Failed(f"the signature of {key.name} on the checkpoint is invalid")
            return True
    return False


def read_checkpoint(path: Path, key: Key) -> tuple[int, bytes, str, list[Any]]:
    raw = path.read_text(encoding="utf-8")
    text, sigs = split_note(raw)
    if not signed(text, sigs, key):
        raise Failed(f"{path}: no signature of the log key {key.name}")
    lines = text.split("\n")
    if len(lines) < 4 or lines[0] != key.name or not lines[1].isdigit():
        raise Failed(f"{path}: not a checkpoint of {key.name}")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise Failed(f"{path}: the root hash is not 32 bytes")
    return int(lines[1]), root, text, sigs


# -- tinmatch leaves -----------------------------------------------------------------------------


def check_leaf(line: bytes, number: int) -> None:
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Failed(f"line {number}: not UTF-8 JSON") from exc
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if canonical.encode("utf-8") != line:
        raise Failed(f"line {number}: not in canonical form")
    if not isinstance(obj, dict) or set(obj) != LEAF_KEYS or obj["v"] != 1:
        raise Failed(f"line {number}: not a version 1 leaf")
    if obj["seq"] != number:
        raise Failed(f"line {number}: holds seq {obj['seq']} (entries out of order)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--key", required=True, help="the log's verifier key")
    ap.add_argument("--checkpoint", required=True, type=Path)
    ap.add_argument("--export", type=Path, help="`tinmatch ledger export --format jsonl` output")
    ap.add_argument("--proof", type=Path, action="append", default=[])
    ap.add_argument("--old-checkpoint", type=Path)
    ap.add_argument("--consistency", type=Path)
    ap.add_argument("--witness", action="append", default=[], help="a witness's verifier key")
    ap.add_argument("--min-witnesses", type=int, default=0)
    args = ap.parse_args(argv)
    failures = 0

    def report(ok: bool, what: str) -> None:
        nonlocal failures
        print(("OK    " if ok else "FAIL  ") + what)
        failures += not ok

    try:
        key = Key(args.key)
        size, root, text, sigs = read_checkpoint(args.checkpoint, key)
        witnesses = [Key(w) for w in args.witness]
    except (Failed, OSError, ValueError) as exc:
        print(f"FAIL  {exc}")
        return 1
    report(True, f"checkpoint signed by {key.name}: size {size}, root {root.hex()}")
    seen = []
    for w in witnesses:
        try:
            if signed(text, sigs, w):
                seen.append(w.name)
        except Failed as exc:
            report(False, str(exc))
    report(
        len(seen) >= args.min_witnesses,
        f"{len(seen)} witness cosignature(s) ({', '.join(seen) or 'none'}), "
        f"{args.min_witnesses} required",
    )
    lines: list[bytes] = []
    if args.export:
        lines = args.export.read_bytes().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        hashes = []
        try:
            for number, line in enumerate(lines, start=1):
                check_leaf(line, number)
                hashes.append(hash_leaf(line))
        except Failed as exc:
            report(False, f"export: {exc}")
        else:
            if len(hashes) < size:
                report(False, f"export holds {len(hashes)} leaves; the checkpoint has {size}")
            else:
                report(
                    mth(hashes, 0, size) == root,
                    f"export: the first {size} of {len(hashes)} leaves hash to the root",
                )
    for path in args.proof:
        p = json.loads(path.read_text(encoding="utf-8"))
        leaf = base64.b64decode(p["leaf"], validate=True)
        path_hashes = [base64.b64decode(h, validate=True) for h in p["inclusion_path"]]
        good = p["tree_size"] == size and inclusion_ok(
            p["leaf_index"], size, hash_leaf(leaf), path_hashes, root
        )
        if lines and p["leaf_index"] < len(lines):
            good = good and lines[p["leaf_index"]] == leaf
        report(good, f"{path}: leaf {p['leaf_index']} is in the checkpoint's tree")
    if args.consistency:
        if args.old_checkpoint is None:
            print("FAIL  --consistency needs --old-checkpoint")
            return 2
        try:
            old_size, old_root, _, _ = read_checkpoint(args.old_checkpoint, key)
        except Failed as exc:
            report(False, str(exc))
        else:
            c = json.loads(args.consistency.read_text(encoding="utf-8"))
            path_hashes = [base64.b64decode(h, validate=True) for h in c["consistency_path"]]
            good = (c["from_size"], c["to_size"]) == (old_size, size) and consistency_ok(
                old_size, size, old_root, root, path_hashes
            )
            report(good, f"the log of size {size} extends the one of size {old_size}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
