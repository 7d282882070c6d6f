"""The ledger as a Merkle log (RFC 9162) with signed checkpoints (C2SP), proofs and witnesses.

Pure parts only -- no database: ``entry`` (an entry, its kind and its canonical leaf bytes),
``merkle`` (tree hash, proofs, their verification), ``tiles`` (which interior hashes are stored
and how proofs read them), ``note`` and ``checkpoint`` (signed notes, checkpoints, witness
cosignatures), ``verify`` (what a stored log departs from), ``export``. Storage lives in
``tinmatch.ops`` (``ops.chain``). To add an entry kind, add one line to ``entry.KINDS``.
"""

from tinmatch.ledger import merkle, tiles
from tinmatch.ledger.entry import KINDS, LedgerEntry, canonical_json, leaf_bytes, utc
from tinmatch.ledger.export import write_csv, write_jsonl
from tinmatch.ledger.verify import Anchor, Audit, Problem, audit_log

__all__ = [
    "KINDS",
    "Anchor",
    "Audit",
    "LedgerEntry",
    "Problem",
    "audit_log",
    "canonical_json",
    "leaf_bytes",
    "merkle",
    "tiles",
    "utc",
    "write_csv",
    "write_jsonl",
]
