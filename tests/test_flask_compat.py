"""Flask's own ``tests/test_cli.py``, run against ``appshell.cli``: code written against
``flask.cli`` works with only its import line changed."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

#: Flask's tests that check the root help's wording about FLASK_APP: appshell names
#: APPSHELL_APP (and puts the hint in the help text), on purpose (see the README).
DOCUMENTED_DIFFERENCES = {
    "test_no_command_echo_loading_error",
    "test_help_echo_loading_error",
}


def run_flask_tests(tests: Path) -> dict[str, str]:
    """Run Flask's test_cli.py in a subprocess; test name -> "passed", "failed" or "skipped"."""
    report = tests / "report.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPSHELL_", "FLASK_"))}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("--rootdir", str(tests), f"--junitxml={report}", str(tests / "test_cli.py")),
        ],
        cwd=tests,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.exists(), proc.stdout + proc.stderr
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "").split("[", 1)[0]
        kinds = {child.tag for child in case}
        outcome = "failed" if kinds & {"failure", "error"} else "passed"
        outcome = "skipped" if "skipped" in kinds else outcome
        # A parametrized test is failed if any of its cases is.
        if outcomes.get(name) != "failed":
            outcomes[name] = outcome
    return outcomes


@pytest.mark.slow
def test_flask_cli_tests_pass_against_appshell(flask_cli_tests: Path) -> None:
    report = flask_cli_tests / "report.xml"
    outcomes = run_flask_tests(flask_cli_tests)
    failed = {name for name, outcome in outcomes.items() if outcome == "failed"}
    assert failed == DOCUMENTED_DIFFERENCES, report.read_text()
    cases = ET.parse(report).getroot().iter("testcase")
    assert sum(1 for _ in cases) >= 58  # Flask 3.1's test_cli.py has 58
