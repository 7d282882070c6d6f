"""Standardize names and addresses the same way for the master file and for requests.

Two paths, one definition. A request's rows go through :func:`name_features` and
:func:`address_features` (a frame in, the model's columns out). The master file standardizes
each distinct value of each input column once, with one function per column kind
(``first_name_columns`` ... ``zip_columns``, each with its schema), and combines the columns in
SQL with :func:`name_features_sql` and :func:`address_features_sql`. Each SQL form sits in the
module of its Python form; ``tests/unit/test_standardize_parity.py`` holds the paths equal.
"""

from tinmatch.standardize.addresses import (
    ADDRESS_SCHEMA,
    CITY_SCHEMA,
    LINE2_SCHEMA,
    STATE_SCHEMA,
    STREET_SCHEMA,
    ZIP_SCHEMA,
    address_features,
    address_features_sql,
    city_columns,
    is_placeholder_street,
    line2_columns,
    state_columns,
    street_columns,
    valid_state,
    zip_columns,
)
from tinmatch.standardize.names import (
    FIRST_NAME_SCHEMA,
    LAST_NAME_SCHEMA,
    MIDDLE_NAME_SCHEMA,
    NAME_SCHEMA,
    SUFFIX_SCHEMA,
    clean_name,
    first_name_columns,
    last_name_columns,
    middle_name_columns,
    name_features,
    name_features_sql,
    suffix_columns,
)
from tinmatch.standardize.streets import (
    PLAIN_STREET,
    STREET_REST_SCHEMA,
    plain_street_sql,
    street_rest_columns,
)
from tinmatch.standardize.text import Row

__all__ = [
    "ADDRESS_SCHEMA",
    "CITY_SCHEMA",
    "FIRST_NAME_SCHEMA",
    "LAST_NAME_SCHEMA",
    "LINE2_SCHEMA",
    "MIDDLE_NAME_SCHEMA",
    "NAME_SCHEMA",
    "PLAIN_STREET",
    "STATE_SCHEMA",
    "STREET_REST_SCHEMA",
    "STREET_SCHEMA",
    "SUFFIX_SCHEMA",
    "ZIP_SCHEMA",
    "Row",
    "address_features",
    "address_features_sql",
    "city_columns",
    "clean_name",
    "first_name_columns",
    "is_placeholder_street",
    "last_name_columns",
    "line2_columns",
    "middle_name_columns",
    "name_features",
    "name_features_sql",
    "plain_street_sql",
    "state_columns",
    "street_columns",
    "street_rest_columns",
    "suffix_columns",
    "valid_state",
    "zip_columns",
]
