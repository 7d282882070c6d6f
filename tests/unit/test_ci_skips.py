"""Under CI=true a skip is a failure (tests/conftest.py): a missing service cannot hide a test."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = (Path(__file__).parents[1] / "conftest.py").read_text(encoding="utf-8")

BODY = """
import pytest

def test_needs_java():
    pytest.skip("no Java runtime for Spark")

@pytest.mark.skipif(True, reason="TINMATCH_TEST_POSTGRES_URL unset")
def test_needs_postgres():
    pass

@pytest.mark.xfail(reason="known")
def test_known_failure():
    assert False

def test_plain():
    pass
"""


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str) -> pytest.RunResult:
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest(CONFTEST.replace('pytest_plugins = ["pytester"]', ""))
    pytester.makepyfile(test_sample=BODY)
    return pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")


def test_under_ci_every_skip_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, "true")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1
    assert outcomes.get("xfailed") == 1
    assert outcomes.get("skipped", 0) == 0
    assert outcomes.get("failed", 0) + outcomes.get("errors", outcomes.get("error", 0)) == 2
    result.stdout.fnmatch_lines(["*skipped under CI=true*no Java runtime for Spark*"])


def test_outside_ci_skips_stay_skips(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, "")
    result.assert_outcomes(passed=1, skipped=2, xfailed=1)
