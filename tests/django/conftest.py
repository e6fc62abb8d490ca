"""Fixtures of the Django tests: a real project in the test's folder, and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.databases.conftest import postgres_db, postgres_url  # noqa: F401
from tests.django.project import write_project


@pytest.fixture
def django_project(tmp_path: Path) -> Path:
    """The test project (tests/django/project.py) written into the test's own folder, on
    SQLite (``db.sqlite3`` there, not yet migrated); returns the folder."""
    return write_project(tmp_path)
