"""Standardize: a request's valid rows as the link columns the master was built with.

The same name and address functions as the master (:mod:`tinmatch.standardize`), so a request
row and a master row are compared like with like, whichever engine scores them.
"""

from __future__ import annotations

import pandas as pd

from tinmatch.master.params import LINK_COLUMNS
from tinmatch.standardize.addresses import address_features
from tinmatch.standardize.names import name_features


def request_features(valid: pd.DataFrame) -> pd.DataFrame:
    """Standardized link columns for valid request rows (same functions as the master)."""
    names = name_features(valid[["first_name", "middle_name", "last_name", "suffix"]])
    addrs = address_features(valid[["street", "address_line2", "city", "state", "zip"]])
    out = pd.concat([names, addrs], axis=1)
    out["unique_id"] = "q" + valid["_row"].astype(str)
    out["tin"] = None
    out["dob"] = valid["dob"] if "dob" in valid else None
    return out[LINK_COLUMNS]
