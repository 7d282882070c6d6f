"""Every TINMATCH_* environment variable the code reads is listed in docs/operations.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"\bTINMATCH_[A-Z0-9_]+\b")


def names_in(paths: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        found |= set(NAME.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_setting_in_the_code_is_documented() -> None:
    code = names_in(sorted((ROOT / "src" / "tinmatch").rglob("*.py")))
    code |= names_in(sorted((ROOT / "tests").rglob("conftest.py")))
    settings = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = settings.split("## Settings", 1)[1].split("\n## ", 1)[0]
    listed = set(NAME.findall(section))
    assert code - listed == set(), "add these to docs/operations.md, section Settings"
    assert {"TINMATCH_MASTER_DB", "TINMATCH_DATABASE_URL"} <= listed
