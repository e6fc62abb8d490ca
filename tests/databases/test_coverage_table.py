"""The README's table of what the sandbox and read-only cover names tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_the_coverage_table_names_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("**What the sandbox and read-only cover**")
    table = readme[start : readme.index("**Read-only sessions.**", start)]
    named = re.findall(r"`((?:django/)?test_\w+\.py)::(test_\w+)`", table)
    assert len(named) >= 20
    missing = []
    for file, test in named:
        folder = ROOT / "tests" / ("" if file.startswith("django/") else "databases")
        source = (folder / file).read_text(encoding="utf-8")
        if not re.search(rf"^def {test}\(", source, re.MULTILINE):
            missing.append(f"{file}::{test}")
    assert missing == []
