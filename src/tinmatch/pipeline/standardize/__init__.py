"""Standardize names and addresses the same way for the master file and for requests."""

from tinmatch.pipeline.standardize.addresses import (
    address_features,
    is_placeholder_street,
    valid_state,
)
from tinmatch.pipeline.standardize.names import clean_name, name_features

__all__ = [
    "address_features",
    "clean_name",
    "is_placeholder_street",
    "name_features",
    "valid_state",
]
