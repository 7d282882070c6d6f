"""Docs that cannot drift: the CLI reference, reason codes and agreement keys are all documented.

Fails when docs/cli.md is not the real --help output (run `python tools/cli_docs.py`), when a reason
code or an agreement key has no entry, or when an agreement default in the docs differs from the
shipped file.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from datetime import date
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from tinmatch.agreement import Agreement
from tinmatch.reasons import REASONS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DEFAULT_TOML = ROOT / "src" / "tinmatch" / "data" / "default_agreement.toml"


@cache
def cli_docs() -> ModuleType:
    """tools/cli_docs.py, imported from its path (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("cli_docs", ROOT / "tools" / "cli_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@cache
def command_helps() -> list[tuple[str, str]]:
    return [(h.name, h.help) for h in cli_docs().command_helps()]


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def table_rows(text: str) -> dict[str, list[str]]:
    """Markdown table rows whose first cell is a `code`: {name: [other cells]}."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = [c.strip() for c in match.group(2).split("|")]
    return rows


def section(text: str, name: str) -> str:
    """The part of agreement.md under the heading ## `[name]`, up to the next ## heading."""
    match = re.search(rf"^## `\[{re.escape(name)}\]`\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/agreement.md has no section ## `[{name}]`"
    return match.group(1)


def section_models() -> dict[str, type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {}
    for name, info in Agreement.model_fields.items():
        assert isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
        models[name] = info.annotation
    return models


def toml_text(value: object) -> list[str]:
    """How a default value must appear in the docs' default cell (each part of a list)."""
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, str):
        return [f'"{value}"']
    if isinstance(value, list):
        return [part for item in value for part in toml_text(item)]
    if isinstance(value, date):
        return [value.isoformat()]
    return [str(value)]


# -- (a) the CLI reference is the real --help ---------------------------------------------------


def test_cli_md_is_the_generated_help() -> None:
    expected = cli_docs().generate()
    assert read("cli.md") == expected, "docs/cli.md is stale: run `python tools/cli_docs.py`"


def test_generated_help_is_plain_text_at_100_columns() -> None:
    text = cli_docs().generate()
    assert "\x1b[" not in text, "ANSI escapes: rich formatting was not switched off"
    assert not re.search("[╭╮╰╯│─]", text), "rich panel borders in the help"
    blocks = re.findall(r"```text\n(.*?)```", text, re.S)
    assert len(blocks) == len(command_helps())
    for block in blocks:
        for line in block.splitlines()[1:]:  # the first line is the `$ ... --help` prompt
            assert len(line) <= 100, line


def test_check_mode_fails_on_a_stale_file(tmp_path: Path) -> None:
    out = tmp_path / "cli.md"
    tool = cli_docs()
    assert tool.main(["--out", str(out)]) == 0
    assert tool.main(["--check", "--out", str(out)]) == 0
    out.write_text(out.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    assert tool.main(["--check", "--out", str(out)]) == 1
    out.unlink()
    assert tool.main(["--check", "--out", str(out)]) == 1


# -- (d) every command is in the reference, with an example -------------------------------------


def test_every_command_has_a_section_in_cli_md() -> None:
    text = read("cli.md")
    names = [name for name, _ in command_helps()]
    assert {"tinmatch process", "tinmatch review approve", "tinmatch ledger verify"} <= set(names)
    for name in names:
        assert f"\n## {name}\n" in text, f"{name} is missing from docs/cli.md"
        assert f"$ {name} --help\n" in text


def test_every_command_help_has_an_example() -> None:
    missing = [name for name, text in command_helps() if "Example:" not in text]
    assert not missing, f"commands without an Example: block in their help: {missing}"


# -- (b) every reason code is explained --------------------------------------------------------


@pytest.mark.parametrize("code", [r.code for r in REASONS])
def test_every_reason_code_is_explained(code: str) -> None:
    rows = {**table_rows(read("agreement.md")), **table_rows(read("operations.md"))}
    assert code in rows, f"reason code {code} has no table row in operations.md or agreement.md"
    meaning = " ".join(rows[code])
    assert len(meaning) > 40, f"reason code {code} is not really explained: {meaning!r}"


def test_reason_tables_name_no_unknown_code() -> None:
    text = read("operations.md")
    tables = text.split("## Reason codes", 1)[1]
    documented = set(table_rows(tables))
    assert documented == {r.code for r in REASONS}


# -- (c) every agreement key is documented, with the shipped default ----------------------------


@pytest.mark.parametrize("name", list(Agreement.model_fields))
def test_every_agreement_key_is_documented(name: str) -> None:
    model = section_models()[name]
    rows = table_rows(section(read("agreement.md"), name))
    assert set(rows) == set(model.model_fields), (
        f"[{name}]: documented {sorted(rows)}, model has {sorted(model.model_fields)}"
    )
    for key, cells in rows.items():
        assert len(cells) == 3 and all(cells), f"[{name}] {key}: type, default and meaning"


@pytest.mark.parametrize("name", list(Agreement.model_fields))
def test_documented_defaults_are_the_shipped_ones(name: str) -> None:
    shipped = tomllib.loads(DEFAULT_TOML.read_text(encoding="utf-8")).get(name, {})
    model = section_models()[name]
    rows = table_rows(section(read("agreement.md"), name))
    for key, info in model.model_fields.items():
        default_cell = rows[key][1]
        if key in shipped:
            expected = toml_text(shipped[key])
        elif info.is_required():
            pytest.fail(f"[{name}] {key} is required but not in the shipped agreement")
        elif info.default is None:
            expected = ["unset"]
        else:
            expected = toml_text(info.default)
        for part in expected:
            assert part in default_cell, f"[{name}] {key}: default {part} not in {default_cell!r}"


def test_forbidden_fields_are_all_listed() -> None:
    from tinmatch.agreement import FORBIDDEN_FIELDS

    text = read("agreement.md")
    missing = sorted(f for f in FORBIDDEN_FIELDS if f"`{f}`" not in text)
    assert not missing, f"forbidden fields not listed in docs/agreement.md: {missing}"


def test_documented_agreement_hash_is_the_shipped_one() -> None:
    assert Agreement.load().sha256 in read("agreement.md")


def test_exit_codes_are_documented() -> None:
    from tinmatch import errors

    rows = {}
    for line in read("operations.md").splitlines():
        match = re.match(r"\|\s*(\d+)\s*\|(.*)\|\s*$", line)
        if match:
            rows[int(match.group(1))] = match.group(2)
    classes = [errors.TinmatchError, *errors.TinmatchError.__subclasses__()]
    assert len(classes) >= 7
    for cls in classes:
        assert cls.exit_code in rows, f"exit code {cls.exit_code} ({cls.__name__})"
        if cls is not errors.TinmatchError:
            assert cls.__name__ in rows[cls.exit_code], f"{cls.__name__} not named in its row"
