"""Every private Splink API tinmatch uses, in one module (Splink 5.0; ``pyproject.toml`` pins it).

Nothing else in tinmatch imports ``splink.internals`` or reads a linker's private attributes.
What is used, and why:

- the base classes and types the model definitions name (:mod:`tinmatch.master.comparisons`
  subclasses ``ComparisonLevelCreator`` for levels whose similarity function is named per
  dialect; :mod:`tinmatch.master.blocking` returns ``BlockingRuleCreator`` objects);
- :func:`block_pairs` and :func:`score_pairs`: Splink 5's ``predict_between`` in two steps, for
  the DuckDB engine (:func:`block_pairs_sql`, :func:`score_pairs_sql`: their SQL, not run, which
  a warm engine compiles once for small requests). Splink's own ``predict_between`` selects each
  side into a CTE that DuckDB materializes (every chunk copied the whole master), and ends by
  materializing every scored pair with ~55 columns; here the same blocking SQL reads the tables
  directly, and one more SQL step (the engine's best-row query) runs before anything is
  materialized.

Both follow ``LinkerInference.predict_between`` and ``LinkerInference._score_blocked_pairs`` of
Splink 5.0 step by step. :data:`PRIVATE_API` names each private callable with the keywords
tinmatch passes it, and :func:`private_api_problems` checks them (and the private attributes)
against the installed Splink: ``tests/pipeline/test_splink_adapter.py`` fails, naming what moved,
when an upgrade changes one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from splink import Linker
from splink.internals.blocking import block_using_rules_sqls
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.comparison_vector_values import (
    compute_comparison_vector_values_from_id_pairs_sqls,
)
from splink.internals.database_api import DatabaseAPI
from splink.internals.dialects import SplinkDialect
from splink.internals.linker_components.inference import LinkerInference
from splink.internals.pipeline import CTEPipeline
from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings
from splink.internals.splink_dataframe import SplinkDataFrame

__all__ = [
    "PRIVATE_API",
    "BlockingRuleCreator",
    "ComparisonCreator",
    "ComparisonLevelCreator",
    "SplinkDataFrame",
    "SplinkDialect",
    "block_pairs",
    "blocking_conditions",
    "block_pairs_sql",
    "private_api_problems",
    "score_pairs",
    "score_pairs_sql",
]

# Splink's names for the two sides' tables with term frequencies (as predict_between names them).
_LEFT = "__splink__df_concat_with_tf_left"
_RIGHT = "__splink__df_concat_with_tf_right"

#: Private callables -> the parameters tinmatch passes them (by keyword, or ``self``).
PRIVATE_API: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "splink.internals.blocking.block_using_rules_sqls": (
        block_using_rules_sqls,
        ("input_tablename_l", "input_tablename_r", "blocking_rules", "link_type",
         "source_dataset_input_column", "unique_id_input_column"),
    ),
    "splink.internals.comparison_vector_values."
    "compute_comparison_vector_values_from_id_pairs_sqls": (
        compute_comparison_vector_values_from_id_pairs_sqls,
        ("columns_to_select_for_blocking", "columns_to_select_for_comparison_vector_values",
         "input_tablename_l", "input_tablename_r", "source_dataset_input_column",
         "unique_id_input_column", "link_type", "sql_dialect_str"),
    ),
    "splink.internals.predict.predict_from_comparison_vectors_sqls_using_settings": (
        predict_from_comparison_vectors_sqls_using_settings,
        ("settings_obj", "threshold_match_probability", "threshold_match_weight"),
    ),
    "LinkerInference._append_required_tf_to_pipeline": (
        LinkerInference._append_required_tf_to_pipeline,
        ("self", "pipeline", "dfs"),
    ),
    "LinkerInference._enqueue_concat_with_tf_cte": (
        LinkerInference._enqueue_concat_with_tf_cte,
        ("self", "pipeline", "splink_df_dict", "output_table_name", "force_source_dataset"),
    ),
    "CTEPipeline": (CTEPipeline, ("input_dataframes",)),
    "CTEPipeline.enqueue_sql": (CTEPipeline.enqueue_sql, ("self", "sql", "output_table_name")),
    "CTEPipeline.enqueue_list_of_sqls": (
        CTEPipeline.enqueue_list_of_sqls, ("self", "sql_list")
    ),
    "DatabaseAPI.sql_pipeline_to_splink_dataframe": (
        DatabaseAPI.sql_pipeline_to_splink_dataframe, ("self", "pipeline")
    ),
    "CTEPipeline.generate_cte_pipeline_sql": (CTEPipeline.generate_cte_pipeline_sql, ("self",)),
}  # fmt: skip

#: Private attributes read: of the linker, and of its settings object.
LINKER_ATTRIBUTES = ("_settings_obj", "_sql_dialect_str")
SETTINGS_ATTRIBUTES = (
    "column_info_settings",
    "_blocking_rules_to_generate_predictions",
    "_columns_to_select_for_blocking",
    "_columns_to_select_for_comparison_vector_values",
    "_link_type",
)
#: Private attributes read from each of the settings' blocking rules.
BLOCKING_RULE_ATTRIBUTES = ("blocking_rule_sql", "match_key")
#: What a subclass of ``ComparisonLevelCreator`` must implement, and the dialect names it reads.
LEVEL_CREATOR_ABSTRACT = frozenset({"create_sql", "create_label_for_charts"})
DIALECT_ATTRIBUTES = ("jaro_winkler_function_name", "damerau_levenshtein_function_name")


def block_pairs(
    linker: Linker, db_api: DatabaseAPI, left: SplinkDataFrame, right: SplinkDataFrame
) -> SplinkDataFrame:
    """The pairs the linker's blocking rules generate between `left` and `right`, materialized.

    Splink's blocking SQL for a two-table link, reading the two tables themselves (Splink's
    ``predict_between`` first selects each side into a CTE, which DuckDB materializes when the
    blocking rules reference it more than once).
    """
    pipeline = _block_pipeline(linker, left.physical_name, right.physical_name)
    return db_api.sql_pipeline_to_splink_dataframe(pipeline)


def block_pairs_sql(linker: Linker, left: str, right: str) -> str:
    """The SQL of :func:`block_pairs` between the tables named `left` and `right`, not run.

    An engine answering many small requests compiles it once and runs the same text each time
    (Splink generating it took longer than DuckDB running it for a dozen rows)."""
    return _block_pipeline(linker, left, right).generate_cte_pipeline_sql()


def _block_pipeline(linker: Linker, left: str, right: str) -> CTEPipeline:
    settings = linker._settings_obj
    columns = settings.column_info_settings
    if columns.source_dataset_input_column is not None:
        raise ValueError("block_pairs links two tables: the settings must not name a source column")
    pipeline = CTEPipeline()
    pipeline.enqueue_list_of_sqls(
        block_using_rules_sqls(
            input_tablename_l=left,
            input_tablename_r=right,
            blocking_rules=settings._blocking_rules_to_generate_predictions,
            link_type="two_dataset_link_only",
            source_dataset_input_column=None,
            unique_id_input_column=columns.unique_id_input_column,
        )
    )
    return pipeline


def blocking_conditions(linker: Linker) -> list[tuple[str, str]]:
    """(match_key, condition over ``l`` and ``r``) of each of the linker's blocking rules, in
    Splink's order: the conditions its blocking SQL joins on. A pair is blocked by the first
    rule whose condition is true (Splink excludes from each rule the pairs of the rules before
    it), and that rule's match_key is the pair's."""
    rules = linker._settings_obj._blocking_rules_to_generate_predictions
    return [(str(rule.match_key), rule.blocking_rule_sql) for rule in rules]


def score_pairs(
    linker: Linker,
    db_api: DatabaseAPI,
    blocked: SplinkDataFrame,
    left: SplinkDataFrame,
    right: SplinkDataFrame,
    *,
    threshold_match_weight: float | None,
    then: tuple[str, Callable[[str], str]] | None = None,
) -> SplinkDataFrame:
    """Score the `blocked` pairs of `left` and `right` as ``predict_between`` does.

    Term frequencies, comparison vectors and scoring are Splink's SQL, in Splink 5's order
    (``LinkerInference._score_blocked_pairs``). `then` is (name, sql_for) for one more step:
    ``sql_for(predictions_table)`` is enqueued after scoring, and its result is what is
    materialized, so the database streams pairs from comparison to that step.
    """
    pipeline = _score_pipeline(
        linker, blocked, left, right, threshold_match_weight=threshold_match_weight, then=then
    )
    return db_api.sql_pipeline_to_splink_dataframe(pipeline=pipeline)


def score_pairs_sql(
    linker: Linker,
    blocked: SplinkDataFrame,
    left: SplinkDataFrame,
    right: SplinkDataFrame,
    *,
    threshold_match_weight: float | None,
    then: tuple[str, Callable[[str], str]] | None = None,
) -> str:
    """The SQL of :func:`score_pairs` (a query over the tables `blocked`, `left` and `right`
    name), not run: compiled once, run as it is for every small request."""
    pipeline = _score_pipeline(
        linker, blocked, left, right, threshold_match_weight=threshold_match_weight, then=then
    )
    return pipeline.generate_cte_pipeline_sql()


def _score_pipeline(
    linker: Linker,
    blocked: SplinkDataFrame,
    left: SplinkDataFrame,
    right: SplinkDataFrame,
    *,
    threshold_match_weight: float | None,
    then: tuple[str, Callable[[str], str]] | None,
) -> CTEPipeline:
    inference = linker.inference
    settings = linker._settings_obj
    columns = settings.column_info_settings
    pipeline = CTEPipeline(input_dataframes=[blocked])
    inference._append_required_tf_to_pipeline(pipeline=pipeline, dfs=[left, right])
    for table, name in ((left, _LEFT), (right, _RIGHT)):
        inference._enqueue_concat_with_tf_cte(
            pipeline=pipeline,
            splink_df_dict={table.templated_name: table},
            output_table_name=name,
            force_source_dataset=False,
        )
    pipeline.enqueue_list_of_sqls(
        sql_list=compute_comparison_vector_values_from_id_pairs_sqls(
            columns_to_select_for_blocking=settings._columns_to_select_for_blocking,
            columns_to_select_for_comparison_vector_values=(
                settings._columns_to_select_for_comparison_vector_values
            ),
            input_tablename_l=_LEFT,
            input_tablename_r=_RIGHT,
            source_dataset_input_column=columns.source_dataset_input_column,
            unique_id_input_column=columns.unique_id_input_column,
            link_type=settings._link_type,
            sql_dialect_str=linker._sql_dialect_str,
        )
    )
    predict = predict_from_comparison_vectors_sqls_using_settings(
        settings_obj=settings,
        threshold_match_probability=None,
        threshold_match_weight=threshold_match_weight,
    )
    pipeline.enqueue_list_of_sqls(sql_list=predict)
    if then is not None:
        name, sql_for = then
        pipeline.enqueue_sql(sql=sql_for(predict[-1]["output_table_name"]), output_table_name=name)
    return pipeline


def private_api_problems(linker: Linker | None = None) -> list[str]:
    """What of the private API this module uses is missing or changed in the installed Splink.

    Each callable of :data:`PRIVATE_API` must take the parameters tinmatch passes and require no
    other; with a `linker`, the private attributes read from it and its settings must exist.
    Empty when everything is where this module expects it.
    """
    problems: list[str] = []
    for name, (func, passed) in PRIVATE_API.items():
        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError) as exc:
            problems.append(f"{name}: no signature ({exc})")
            continue
        missing = [p for p in passed if p not in params]
        required = [
            p
            for p, spec in params.items()
            if p not in passed
            and spec.default is inspect.Parameter.empty
            and spec.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        ]
        if missing or required:
            problems.append(
                f"{name}{inspect.signature(func)}: tinmatch passes ({', '.join(passed)})"
                + (f"; no parameter {', '.join(missing)}" if missing else "")
                + (f"; new required {', '.join(required)}" if required else "")
            )
    abstract = frozenset(getattr(ComparisonLevelCreator, "__abstractmethods__", frozenset()))
    if abstract != LEVEL_CREATOR_ABSTRACT:
        problems.append(
            f"ComparisonLevelCreator's abstract methods are {sorted(abstract)}, "
            f"master/comparisons.py implements {sorted(LEVEL_CREATOR_ABSTRACT)}"
        )
    problems += [
        f"SplinkDialect.{attr} is gone" for attr in DIALECT_ATTRIBUTES
        if not hasattr(SplinkDialect, attr)
    ]  # fmt: skip
    if linker is not None:
        problems += [f"Linker.{a} is gone" for a in LINKER_ATTRIBUTES if not hasattr(linker, a)]
        settings = getattr(linker, "_settings_obj", None)
        if settings is not None:
            problems += [
                f"Settings.{attr} is gone" for attr in SETTINGS_ATTRIBUTES
                if not hasattr(settings, attr)
            ]  # fmt: skip
            for rule in getattr(settings, "_blocking_rules_to_generate_predictions", []):
                problems += [
                    f"BlockingRule.{attr} is gone" for attr in BLOCKING_RULE_ATTRIBUTES
                    if not hasattr(rule, attr)
                ]  # fmt: skip
    return problems
