"""The settings registry: one table of every environment variable, read only through it.

Fails when code reads the environment around the registry, names a TINMATCH_* variable the
registry does not know, or when docs/operations.md's generated tables are stale."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tinmatch import settings
from tinmatch.errors import ConfigError
from tinmatch.master.database import default_db_path
from tinmatch.master.features import default_workers
from tinmatch.ops.engine import resolve_url
from tinmatch.settings import BY_NAME, SETTINGS, Setting

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "tinmatch"
NAME = re.compile(r"\b(?:TINMATCH_[A-Z0-9_]+|SOURCE_DATE_EPOCH)\b")
ENVIRONMENT = re.compile(r"\bos\.environ\b|\bgetenv\(|\bos\.putenv\b")


def python_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py"))


def test_every_variable_named_anywhere_is_registered() -> None:
    """A TINMATCH_* name in the code, the tests, the benchmarks or the tools is a setting: it
    must be in tinmatch.settings (and so in the generated docs)."""
    unknown: dict[str, set[str]] = {}
    for path in python_files(SRC, ROOT / "tests", ROOT / "bench", ROOT / "tools"):
        for name in NAME.findall(path.read_text(encoding="utf-8")):
            if name not in BY_NAME:
                unknown.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert not unknown, f"register these in src/tinmatch/settings.py: {unknown}"


def test_only_the_registry_reads_the_environment() -> None:
    readers = [
        str(path.relative_to(ROOT))
        for path in python_files(SRC)
        if path != SRC / "settings.py" and ENVIRONMENT.search(path.read_text(encoding="utf-8"))
    ]
    assert readers == [], f"read settings through tinmatch.settings, not os.environ: {readers}"


def test_the_registry_is_complete_and_documented() -> None:
    assert len(BY_NAME) == len(SETTINGS), "a setting is registered twice"
    for s in SETTINGS:
        assert s.name.startswith("TINMATCH_") or s.name == "SOURCE_DATE_EPOCH"
        assert len(s.meaning) > 20, f"{s.name} is not really explained"
        assert s.documented_default()
    # the three the docs used to miss
    assert {"TINMATCH_DUCKDB_MEMORY", "TINMATCH_SPILL_DIR", "TINMATCH_LOAD_WORKERS"} <= set(BY_NAME)
    assert {s.name for s in SETTINGS if s.secret} == {
        "TINMATCH_REVIEWER_PASSWORD",
        "TINMATCH_SESSION_SECRET",
        "TINMATCH_SPARK_SECRET",
    }


def test_values_defaults_and_bad_values() -> None:
    workers = Setting("EXAMPLE_X", None, "integer", "a number of worker processes")
    assert workers.integer({}) is None
    assert workers.integer({"EXAMPLE_X": ""}) is None  # empty is unset
    assert workers.integer({"EXAMPLE_X": " 3 "}) == 3
    with pytest.raises(ConfigError, match=r"EXAMPLE_X='three': a whole number"):
        workers.integer({"EXAMPLE_X": "three"})
    method = Setting("EXAMPLE_Y", "labels", "choice", "how m is found", choices=("labels", "em"))
    assert method.text({}) == "labels"
    assert method.text({"EXAMPLE_Y": "em"}) == "em"
    with pytest.raises(ConfigError, match="choose one of labels, em"):
        method.text({"EXAMPLE_Y": "EM"})
    pin = Setting("EXAMPLE_PIN", None, "secret", "a secret that must be a number")
    with pytest.raises(ConfigError) as bad_secret:
        pin.integer({"EXAMPLE_PIN": "hunter2"})
    assert "hunter2" not in str(bad_secret.value) and "EXAMPLE_PIN=***" in str(bad_secret.value)
    proxies = Setting("EXAMPLE_Z", None, "list", "the reverse proxies in front of serve")
    assert proxies.items({"EXAMPLE_Z": " 10.0.0.1, ,10.0.0.0/8 "}) == ("10.0.0.1", "10.0.0.0/8")


def test_modules_read_through_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The readers of the registry see the environment as it is when they are called."""
    monkeypatch.setenv("TINMATCH_MASTER_DB", "/data/master.duckdb")
    monkeypatch.setenv("TINMATCH_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("TINMATCH_LOAD_WORKERS", "0")
    assert default_db_path() == Path("/data/master.duckdb")
    assert resolve_url() == "postgresql+psycopg://u@h/db"
    assert default_workers() == 1
    monkeypatch.setenv("TINMATCH_MASTER_DB", "")
    assert default_db_path() == Path("tinmatch.duckdb")
    monkeypatch.setenv("TINMATCH_LOAD_WORKERS", "lots")
    with pytest.raises(ConfigError, match="TINMATCH_LOAD_WORKERS"):
        default_workers()
    monkeypatch.setenv("TINMATCH_M_METHOD", "fancy")
    with pytest.raises(ConfigError, match="TINMATCH_M_METHOD"):
        settings.M_METHOD.text()


def ref_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ref_docs", ROOT / "tools" / "ref_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_operations_md_tables_are_generated() -> None:
    """docs/operations.md's settings, exit-code and reason-code tables are what
    tools/ref_docs.py makes."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert ref_docs().generate(text) == text, "run python tools/ref_docs.py"
    for s in SETTINGS:
        assert f"| `{s.name}` |" in text


def test_every_error_class_has_its_exit_code_documented() -> None:
    """Each subclass of TinmatchError defined anywhere in src/ is in the generated table (a
    module defining one outside errors.py must be in tools/ref_docs.py's ERROR_MODULES)."""
    bases: dict[str, str] = {}
    for path in python_files(SRC):
        for name, base in re.findall(r"^class (\w+)\((\w+)\)", path.read_text("utf-8"), re.M):
            bases[name] = base
    errors = {"TinmatchError"}
    while new := {n for n, b in bases.items() if b in errors} - errors:
        errors |= new
    documented = {cls.__name__ for cls in ref_docs().error_classes()}
    assert errors <= documented, f"add to ERROR_MODULES: {errors - documented}"
    table = (ROOT / "docs" / "operations.md").read_text("utf-8").split("## Exit codes", 1)[1]
    assert all(f"`{name}`" in table for name in errors - {"TinmatchError"})
