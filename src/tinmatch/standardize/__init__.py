"""Standardize names and addresses the same way for the master file and for requests."""

from tinmatch.standardize.addresses import (
    ADDRESS_SCHEMA,
    address_features,
    is_placeholder_street,
    valid_state,
)
from tinmatch.standardize.names import NAME_SCHEMA, clean_name, name_features

__all__ = [
    "ADDRESS_SCHEMA",
    "NAME_SCHEMA",
    "address_features",
    "clean_name",
    "is_placeholder_street",
    "name_features",
    "valid_state",
]
