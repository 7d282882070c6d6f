"""Suite-wide rules.

Under ``CI=true`` a skipped test is a failed test: CI installs every service the suite needs
(PostgreSQL, a Java runtime for Spark, Chromium, the optional packages), so a skip there means a
guarantee went untested (the engines-agree test skipping for want of Java, say), and that must not
pass quietly. On a developer's machine skips stay skips.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

pytest_plugins = ["pytester"]


def skips_fail() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not (report.skipped and skips_fail()) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true (a service or package CI must provide): {reason}"


@pytest.fixture(autouse=True)
def _ledger_key(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test signs its ledger checkpoints with a key of its own, never one in $HOME."""
    if "TINMATCH_LEDGER_KEY" not in os.environ:
        path = tmp_path_factory.mktemp("ledger-key") / "ledger.key"
        monkeypatch.setenv("TINMATCH_LEDGER_KEY", str(path))
