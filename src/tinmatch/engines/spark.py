"""The Spark engine: the same linkage and disclosure as the DuckDB path, on a Spark session.

:class:`SparkLinkEngine` is an :class:`tinmatch.engines.Engine` like the DuckDB engine: the same
``candidates`` frame, the same ``model_sha256``, the same ``disclose``; the best-row and disclose
queries are :mod:`tinmatch.engines.queries`, translated to Spark's SQL. It reads the master from
a Parquet export (see :mod:`tinmatch.engines.export`), which a cluster can read from HDFS or S3.

The model is *never* a Splink JSON saved under DuckDB: the trained parameters are rendered into
Spark settings by :func:`tinmatch.master.params.render_settings`, and any condition still written
in DuckDB's SQL (double-quoted identifiers, which Spark reads as string literals, so that level
would silently never fire) is translated here and checked before a single pair is scored.

pyspark is imported only inside functions, so ``import tinmatch`` works without it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import sqlglot

from tinmatch.engines.chunks import C, linked_in_order
from tinmatch.engines.export import IDENTITY_KEYS, ensure_export
from tinmatch.engines.queries import (
    DOUBLE_QUOTED,
    GAMMA_COLUMNS,
    MIN_MATCH_WEIGHT,
    MW_COLUMNS,
    best_rows_sql,
    disclose_sql,
    empty_candidates,
    empty_disclosure,
    for_dialect,
    tf_comparisons,
    top_candidates_sql,
)
from tinmatch.errors import EngineError, MasterNotLoadedError
from tinmatch.master.database import open_master, read_meta
from tinmatch.master.params import LINK_COLUMNS, ModelParams, render_settings
from tinmatch.settings import (
    SPARK_DATA,
    SPARK_DRIVER_MEMORY,
    SPARK_MASTER,
    SPARK_PARTITIONS,
    SPARK_SECRET,
    default_for_libraries,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from splink import Linker, SparkAPI

    from tinmatch.master.splink_adapter import SplinkDataFrame

DEFAULT_MASTER_URL = "local[2]"
DEFAULT_SHUFFLE_PARTITIONS = 8
# Request rows per chunk (:func:`chunk_rows_for`): ROWS_PER_CORE for each core of the cluster,
# within MIN_CHUNK_ROWS and MAX_CHUNK_ROWS.
ROWS_PER_CORE = 50_000
MIN_CHUNK_ROWS = 100_000
MAX_CHUNK_ROWS = 2_000_000
_ARRAY_COLUMNS = ("last_name_tokens", "first_name_variants")


def cluster_cores(conf: Mapping[str, str], default_parallelism: int) -> int:
    """The cores the application's executors have, from the session's `conf`.

    ``local[N]``: N (``local[*]``: this machine's cores; ``local``: 1); else
    ``spark.cores.max`` (a standalone cluster's cap); else ``spark.executor.instances`` x
    ``spark.executor.cores`` (YARN, Kubernetes); else Spark's default parallelism (the cores of
    the executors registered so far, at least 2).
    """
    master = conf.get("spark.master", "")
    local = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
    if local:
        n = local.group(1)
        return (os.cpu_count() or 1) if n == "*" else int(n or 1)
    if conf.get("spark.cores.max"):
        return max(1, int(conf["spark.cores.max"]))
    if conf.get("spark.executor.instances"):
        per = int(conf.get("spark.executor.cores") or 1)
        return max(1, int(conf["spark.executor.instances"]) * per)
    return max(1, default_parallelism)


def chunk_rows_for(cores: int) -> int:
    """Request rows per chunk on `cores` executor cores: ``ROWS_PER_CORE`` x cores, at least
    ``MIN_CHUNK_ROWS``, at most ``MAX_CHUNK_ROWS``.

    Every chunk re-reads and re-shuffles the master side once per blocking rule, a cost spread
    over the cores like the scoring, so a chunk should give each core enough rows to score
    (50,000 rows x ~10-70 pairs each) that this fixed cost stays a small share; more cores take
    proportionally larger chunks. The cap is the driver's memory: it holds a chunk's rows and
    features and collects every candidate of every row into pandas
    (``TINMATCH_SPARK_DRIVER_MEMORY``).
    """
    return min(MAX_CHUNK_ROWS, max(MIN_CHUNK_ROWS, cores * ROWS_PER_CORE))


def spark_master_url(master: str | None = None) -> str:
    """The Spark master: the argument, else ``TINMATCH_SPARK_MASTER``, else ``local[2]``."""
    return master or SPARK_MASTER.text() or DEFAULT_MASTER_URL


def security_conf(master: str) -> dict[str, str]:
    """Spark's authentication and encryption settings for a session on `master`.

    RPC between driver and executors is authenticated with a shared secret and encrypted
    (AES-GCM), and shuffle and spill files are encrypted on the executors' disks. The secret is
    ``TINMATCH_SPARK_SECRET``; in local mode, without one, a random secret per session (nothing
    else has to share it). On YARN and Kubernetes, unset, Spark makes one per application; a
    standalone cluster (``spark://``) must be started with the same secret as the session.
    """
    conf = {
        "spark.authenticate": "true",
        "spark.network.crypto.enabled": "true",
        "spark.io.encryption.enabled": "true",
    }
    secret = SPARK_SECRET.text()
    if secret is None and master.startswith("local"):
        secret = secrets.token_hex(32)
    if secret is not None:
        conf["spark.authenticate.secret"] = secret
    return conf


def spark_session(master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """A Spark session with Splink's similarity UDF jar (local[2] unless told otherwise).

    ``TINMATCH_SPARK_PARTITIONS`` sets ``spark.sql.shuffle.partitions`` (default 8: right for
    one machine; on a cluster use two to three times the executor cores). Authentication and
    encryption (:func:`security_conf`) are always on: `conf` cannot turn them off.
    """
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:
        raise EngineError(f"the Spark engine needs pyspark (pip install pyspark): {exc}") from None
    url = spark_master_url(master)
    if url.startswith("local"):
        # Local Python workers run tinmatch's own functions (load-master --engine spark): they
        # need this interpreter, not whatever `python3` is first on PATH. On a cluster the
        # executors' Python is the operator's to set (PYSPARK_PYTHON).
        default_for_libraries("PYSPARK_PYTHON", sys.executable)
    partitions = str(SPARK_PARTITIONS.integer() or DEFAULT_SHUFFLE_PARTITIONS)
    settings = {
        "spark.jars": similarity_jar_location(),
        "spark.sql.shuffle.partitions": partitions,
        "spark.default.parallelism": partitions,
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
        # Local mode runs everything in the driver: give it room (default 1g thrashes).
        "spark.driver.memory": SPARK_DRIVER_MEMORY.text() or "4g",
        **(conf or {}),
        **security_conf(url),
    }
    builder = SparkSession.builder.master(url).appName("tinmatch")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: no Java, bad master URL, ...
        raise EngineError(f"cannot start Spark ({url}): {exc}") from None
    spark.sparkContext.setLogLevel("ERROR")
    if spark.sparkContext.getCheckpointDir() is None:
        spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="tinmatch-spark-"))
    return spark


def spark_settings(params: ModelParams) -> dict[str, Any]:
    """Splink settings for Spark carrying `params`, with every condition in Spark's SQL."""
    settings = render_settings(params, "spark")
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            sql = level["sql_condition"]
            if DOUBLE_QUOTED.search(sql):
                sql = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
                level["sql_condition"] = sql
            if DOUBLE_QUOTED.search(sql):
                name = comparison["output_column_name"]
                raise EngineError(f"comparison {name} has a level Spark cannot run: {sql}")
    return settings


@dataclass
class SparkLinkEngine:
    """A Splink linker on Spark over an exported master, reused for every chunk of a request."""

    spark: SparkSession
    params: ModelParams
    linker: Linker
    db_api: SparkAPI
    master: SplinkDataFrame
    source: str
    meta: dict[str, Any] = field(default_factory=dict)  # the export's
    tag: str = ""
    tf: frozenset[str] = frozenset()  # comparisons with term-frequency levels
    db_meta: dict[str, Any] | None = None  # the DuckDB master's, when opened for one
    rows_per_chunk: int = MIN_CHUNK_ROWS  # chunk_rows_for(the session's cores)
    _chunks: int = 0

    @classmethod
    def open(
        cls, source: str | os.PathLike[str], spark: SparkSession | None = None
    ) -> SparkLinkEngine:
        """Open the Parquet export at `source` (a local directory or any Hadoop URL).

        A table of the export is a file or, partitioned, a directory of part files
        (:mod:`tinmatch.engines.export`): Spark reads either as one table, a directory one task
        or more per file, spread over the executors.
        """
        from splink import Linker, SparkAPI

        logging.getLogger("splink").setLevel(logging.ERROR)
        logging.getLogger("py4j").setLevel(logging.ERROR)
        spark = spark or spark_session()
        root = str(source).rstrip("/")
        try:
            tables = {
                name: spark.read.parquet(f"{root}/{name}.parquet")
                for name in ("link_rows", "appearances", "tf_first_name_std", "tf_last_name_std")
            }
            model_rows = spark.read.parquet(f"{root}/model.parquet").collect()
            meta_rows = spark.read.parquet(f"{root}/meta.parquet").collect()
        except Exception as exc:
            raise MasterNotLoadedError(
                f"no exported master at {root} (run `tinmatch export-master`): "
                f"{str(exc).splitlines()[0]}"
            ) from None
        if not model_rows:
            raise MasterNotLoadedError(f"{root}: the master has no trained model")
        meta = {row["key"]: json.loads(row["value"]) for row in meta_rows}
        params = ModelParams.from_json(model_rows[0]["params_json"])
        db_api = SparkAPI(spark_session=spark, break_lineage_method="persist")
        tag = uuid.uuid4().hex[:10]  # several engines may share one session
        tables["appearances"].createOrReplaceTempView(f"tinmatch_appearances_{tag}")
        master = db_api.register(
            tables["link_rows"].select(*LINK_COLUMNS), table_name=f"tinmatch_master_rows_{tag}"
        )
        settings = spark_settings(params)
        settings["retain_intermediate_calculation_columns"] = True
        linker = Linker(master, settings, log_level=logging.ERROR)
        for col in ("first_name_std", "last_name_std"):
            lookup = db_api.register(tables[f"tf_{col}"], table_name=f"tinmatch_tf_{col}_{tag}")
            linker.table_management.register_term_frequency_lookup(lookup, col)
        context = spark.sparkContext
        cores = cluster_cores(dict(context.getConf().getAll()), context.defaultParallelism)
        return cls(
            spark, params, linker, db_api, master, root, meta, tag, tf_comparisons(settings),
            rows_per_chunk=chunk_rows_for(cores),
        )  # fmt: skip

    @property
    def model_sha256(self) -> str:
        return self.params.sha256

    @property
    def chunk_rows(self) -> int:
        """Request rows per chunk, from the cluster's cores (:func:`chunk_rows_for`)."""
        return self.rows_per_chunk

    def master_meta(self) -> dict[str, Any]:
        """The DuckDB master's meta (as ``open_spark_engine`` read it), else the export's."""
        return self.meta if self.db_meta is None else self.db_meta

    def link_chunks(
        self,
        chunks: Iterable[C],
        features: Callable[[C], pd.DataFrame | None],
        top: int | None = None,
    ) -> AbstractContextManager[Iterator[tuple[C, pd.DataFrame | None]]]:
        """Each chunk with its candidates, one chunk after the other on the caller's thread."""
        return linked_in_order(lambda found: self.candidates(found, top), chunks, features)

    def candidates(self, features: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
        """Per (request row, taxpayer): as :meth:`tinmatch.engines.duckdb.LinkEngine.candidates`."""
        if features.empty:
            return empty_candidates()
        self._chunks += 1
        before = self._temp_views()
        frame = self.spark.createDataFrame(_request_table(features))
        name = f"tinmatch_request_{self.tag}_{self._chunks}"
        try:
            request = self.db_api.register(frame, table_name=name)
            predictions = self.linker.inference.predict_between(
                request, self.master, threshold_match_weight=MIN_MATCH_WEIGHT, warning_mode="never"
            )
            sql = best_rows_sql(predictions.physical_name, self.tf)
            if top is not None:
                sql = top_candidates_sql(f"({sql}) AS best", top)
            out = self.spark.sql(for_dialect(sql, "spark")).toPandas()
            predictions.drop_table_from_database_and_remove_from_cache()
        finally:
            # Splink leaves each step's view cached; dropping them frees the memory, so a long
            # request streams through in constant memory.
            self._drop_views(self._temp_views() - before)
        return _candidate_dtypes(out)

    def disclose(self, identified: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
        """As :func:`tinmatch.engines.duckdb.disclose`, against the exported appearances."""
        from pyspark.sql.types import ArrayType, IntegerType, StringType, StructField, StructType

        if identified.empty:
            return empty_disclosure(fields)
        wanted_view = f"tinmatch_wanted_{self.tag}"
        sql = disclose_sql(wanted_view, f"tinmatch_appearances_{self.tag}", fields)
        schema = StructType(
            [
                StructField("qid", StringType()),
                StructField("tin", StringType()),
                StructField("tax_years", ArrayType(IntegerType())),
            ]
        )
        rows = [
            (str(q), str(t), [int(y) for y in ys])
            for q, t, ys in zip(
                identified["qid"], identified["tin"], identified["tax_years"], strict=True
            )
        ]
        wanted = self.spark.createDataFrame(rows, schema)
        wanted.createOrReplaceTempView(wanted_view)
        try:
            return self.spark.sql(for_dialect(sql, "spark")).toPandas()
        finally:
            self.spark.catalog.dropTempView(wanted_view)

    def release(self) -> None:
        self.close()

    def close(self) -> None:
        """Drop this engine's views and caches (the session stays up for the next request)."""
        self._drop_views({v for v in self._temp_views() if v.endswith(self.tag)})

    def _temp_views(self) -> set[str]:
        return {t.name for t in self.spark.catalog.listTables() if t.isTemporary}

    def _drop_views(self, names: set[str]) -> None:
        for view in names:
            self.spark.catalog.dropTempView(view)  # uncaches it too


def open_spark_engine(
    db: Path, data: str | None = None, master: str | None = None
) -> SparkLinkEngine:
    """The Spark engine for the master `db`, as ``process --engine spark`` opens it.

    `data` is where the cluster reads the Parquet export (``TINMATCH_SPARK_DATA``: an HDFS or S3
    URL the export was copied to); without it the export beside `db` is written or refreshed
    and read from there, which suits local mode or a filesystem every executor mounts.
    `master` is the Spark master URL (else ``TINMATCH_SPARK_MASTER``, else ``local[2]``).
    """
    source = data or SPARK_DATA.text()
    if not source:
        source = str(ensure_export(db).resolve())
    engine = SparkLinkEngine.open(source, spark_session(master))
    con = open_master(db)
    try:
        expected = read_meta(con, "m")
    finally:
        con.close()
    stale = [k for k in IDENTITY_KEYS if engine.meta.get(k) != expected.get(k)]
    if stale:
        engine.close()
        raise MasterNotLoadedError(
            f"the Parquet master at {source} is not the master in {db} "
            f"({', '.join(stale)} differ): export it again with `tinmatch export-master`"
        )
    engine.db_meta = expected
    return engine


def _request_table(features: pd.DataFrame) -> pa.Table:
    """Request features with the master's column types (an all-NULL column stays a string)."""
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for col in LINK_COLUMNS:
        values = features[col].tolist()
        if col in _ARRAY_COLUMNS:
            typ: pa.DataType = pa.list_(pa.string())
            values = [None if _missing(v) else [str(x) for x in v] for v in values]
        else:
            typ = pa.string()
            values = [None if _missing(v) else str(v) for v in values]
        arrays.append(pa.array(values, typ))
        fields.append(pa.field(col, typ))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float | str) or value is pd.NA or value is pd.NaT:
        return bool(pd.isna(value))
    return False


def _candidate_dtypes(out: pd.DataFrame) -> pd.DataFrame:
    for col in GAMMA_COLUMNS:
        out[col] = out[col].astype("int32")
    for col in ("match_weight", "match_probability", *MW_COLUMNS):
        out[col] = out[col].astype("float64")
    return out
