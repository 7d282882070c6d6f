"""``load-master --engine spark``: the master's names and addresses standardized on Spark.

The loader standardizes every distinct value of every name and address column with the Python
functions that standardize a request (:mod:`tinmatch.master.features`), in batches of
:data:`~tinmatch.master.features.CHUNK` values handed to an :class:`concurrent.futures.Executor`
(by default worker processes on the loading machine). :class:`SparkExecutor` is such an executor
whose ``map`` runs the batches as one Spark job, a task per batch, on the session's executors
(``local[N]`` or a cluster), and returns the results in order. The values, the functions and
their results are the same as on one machine, so the features, the link rows and the trained
model (its hash) are the same: ``tests/spark/test_spark_load.py`` checks it.

What stays on the loading machine: reading the files, the appearances, the distinct values
(collected to the driver and shipped to the executors), the joins that build the link rows and
block keys, and the training (DuckDB). The executors need tinmatch installed (the same version
as the driver: the functions are sent by reference to their module).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

T = TypeVar("T")


class SparkExecutor(Executor):
    """A ``concurrent.futures`` executor whose work runs as Spark tasks, one per item."""

    # Every column's values go to the cluster, however few (the local workers' threshold, which
    # saves forking for small columns, does not apply: the session is up already).
    min_values = 1

    def __init__(self, spark: SparkSession | None = None) -> None:
        self._spark = spark
        self.tasks = 0  # items run on Spark so far
        self.jobs = 0

    @property
    def spark(self) -> SparkSession:
        """The session given, else :func:`tinmatch.engines.spark.spark_session` on first use
        (a load that finds its master already loaded starts no JVM)."""
        if self._spark is None:
            from tinmatch.engines.spark import spark_session

            self._spark = spark_session()
        return self._spark

    def map(
        self,
        fn: Callable[..., T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[T]:
        """``fn`` over the items as one Spark job (a partition per item); results in order."""
        items = list(zip(*iterables, strict=True))
        if not items:
            return iter([])
        rdd = self.spark.sparkContext.parallelize(items, len(items))
        results = rdd.map(lambda args: fn(*args)).collect()
        self.tasks += len(items)
        self.jobs += 1
        return iter(results)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """``fn(*args, **kwargs)`` as a one-task Spark job, finished when this returns."""
        future: Future[T] = Future()
        try:
            (result,) = self.map(lambda _: fn(*args, **kwargs), [None])
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future
