"""Every table of the operational database, in one ``MetaData``.

The tables are declared in three modules on one ``Base``: the requests, review and ledger
(:mod:`tinmatch.ops.models`), the web service's accounts and logs
(:mod:`tinmatch.ops.service_models`) and the registries (:mod:`tinmatch.ops.registry_models`).
A module that needs all of them (the migrations' environment, schema checks, tests that drop
every table) imports :data:`metadata` from here, never ``Base.metadata`` alone, which holds
only the tables of the modules imported so far.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from tinmatch.ops import models, registry_models, service_models

TABLE_MODULES = (models, service_models, registry_models)

#: The metadata of every table of the operational database.
metadata: MetaData = models.Base.metadata
