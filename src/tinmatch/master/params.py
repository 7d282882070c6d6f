"""Trained model parameters, kept apart from the comparison definitions.

A :class:`ModelParams` holds, per comparison and level label, the m and u probabilities, plus the
prior. It serializes to canonical JSON whose SHA-256 is the model's identity, recorded with every
disclosure. :func:`render_settings` pours the parameters into Splink settings rendered for one SQL
dialect, so DuckDB and Spark score with the very same numbers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from splink import SettingsCreator

from tinmatch.master.blocking import blocking_rules
from tinmatch.master.comparisons import COMPARISONS, comparison_creators, level_labels

FORMAT_VERSION = 1


@dataclass
class LevelParams:
    """m and u of one level; None while not (yet) estimated from data."""

    m: float | None
    u: float | None


@dataclass
class ModelParams:
    probability_two_random_records_match: float
    levels: dict[str, dict[str, LevelParams]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        body = {
            "format_version": FORMAT_VERSION,
            "probability_two_random_records_match": self.probability_two_random_records_match,
            "levels": {
                comp: {label: {"m": p.m, "u": p.u} for label, p in sorted(lv.items())}
                for comp, lv in sorted(self.levels.items())
            },
            "meta": self.meta,
        }
        return json.dumps(body, sort_keys=True, indent=1)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> ModelParams:
        body = json.loads(text)
        if body.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported model format {body.get('format_version')!r}")
        levels = {
            comp: {label: LevelParams(_num(p["m"]), _num(p["u"])) for label, p in lv.items()}
            for comp, lv in body["levels"].items()
        }
        return cls(float(body["probability_two_random_records_match"]), levels, body["meta"])

    def check_complete(self) -> None:
        missing = [
            f"{comp}.{label}"
            for comp in COMPARISONS
            for label in level_labels(comp)[1:]
            if label not in self.levels.get(comp, {})
            or self.levels[comp][label].m is None
            or self.levels[comp][label].u is None
        ]
        if missing:
            raise ValueError(f"model parameters missing for: {', '.join(missing)}")


LINK_COLUMNS = [
    "unique_id",
    "tin",
    "first_name_std",
    "middle_name_std",
    "middle_initial",
    "last_name_std",
    "last_name_tokens",
    "suffix_std",
    "first_name_variants",
    "first_name_mp",
    "last_name_mp",
    "dob",
    "house_number",
    "street_name",
    "street_key",
    "unit",
    "city_std",
    "state_std",
    "zip5",
]


def settings_creator(prior: float = 1e-6) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=list[Any](comparison_creators()),
        blocking_rules_to_generate_predictions=list[Any](blocking_rules()),
        probability_two_random_records_match=prior,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=["tin"],
    )


def render_settings(params: ModelParams, dialect: str) -> dict[str, Any]:
    """Splink settings for `dialect` ("duckdb", "spark") carrying `params`."""
    params.check_complete()
    settings = settings_creator(params.probability_two_random_records_match)
    rendered = settings.create_settings_dict(dialect)
    for comparison in rendered["comparisons"]:
        name = comparison["output_column_name"]
        labels = level_labels(name)
        for label, level in zip(labels, comparison["comparison_levels"], strict=True):
            if level.get("is_null_level"):
                continue
            p = params.levels[name][label]
            level["m_probability"] = p.m
            level["u_probability"] = p.u
    return rendered


def params_from_settings_dict(settings: dict[str, Any], meta: dict[str, Any]) -> ModelParams:
    """Read trained m/u back out of a Splink settings dict (as saved by a trained linker)."""
    levels: dict[str, dict[str, LevelParams]] = {}
    for comparison in settings["comparisons"]:
        name = comparison["output_column_name"]
        labels = level_labels(name)
        out: dict[str, LevelParams] = {}
        for label, level in zip(labels, comparison["comparison_levels"], strict=True):
            if level.get("is_null_level"):
                continue
            out[label] = LevelParams(
                _num(level.get("m_probability")), _num(level.get("u_probability"))
            )
        levels[name] = out
    return ModelParams(float(settings["probability_two_random_records_match"]), levels, meta)


def _num(value: object) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # Splink marks levels it never saw with text
        return None
    return number if number > 0 else None
