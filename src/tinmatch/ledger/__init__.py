"""The tamper-evident ledger: one hash-chained entry per disclosed row (and per recall).

Storage lives in `tinmatch.ops`; this package holds the entry, its hash, the verification of
the chain and the CSV export, none of which touch a database.
"""

from tinmatch.ledger.entry import GENESIS_HASH, LedgerEntry, canonical_json, compute_hash
from tinmatch.ledger.export import write_csv
from tinmatch.ledger.verify import Problem, verify_chain

__all__ = [
    "GENESIS_HASH",
    "LedgerEntry",
    "Problem",
    "canonical_json",
    "compute_hash",
    "verify_chain",
    "write_csv",
]
