"""What the Django database tests share: the test project migrated on SQLite or PostgreSQL,
Python run in a process of its own with Django set up, and a database's whole contents."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

from tests.conftest import _clean_environ
from tests.django.project import write_project

#: The start of every in-process script: Django set up on the project, its databases found.
PRELUDE = """\
import asyncio, os, sys, threading
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
import django
django.setup()
from django.db import close_old_connections, connection, connections, transaction
from appshell.databases.scope import Scope
from appshell.databases.django import integration
from blog.models import Comment, Post
from shop.models import Item
databases = integration.find_databases(Scope(None, None, []))
"""


class Project(t.NamedTuple):
    folder: Path
    #: ``sqlite`` or the PostgreSQL URL the settings read.
    database: str

    @property
    def env(self) -> dict[str, str]:
        env = {**_clean_environ(), "PYTHONPATH": str(self.folder)}
        if self.database != "sqlite":
            env["APPSHELL_TEST_DATABASE_URL"] = self.database
        return env

    def python(
        self, *code: str, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run the parts of ``code`` (each dedented) after :data:`PRELUDE` in a new
        interpreter, in the project's folder, with ``env`` added to its environment."""
        source = PRELUDE + "".join(textwrap.dedent(part) for part in code)
        return subprocess.run(
            [sys.executable, "-c", source],
            cwd=self.folder,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def contents(self) -> list[tuple[str, list[tuple[t.Any, ...]]]]:
        """Every table and its rows (on SQLite the whole dump, schema included)."""
        if self.database == "sqlite":
            conn = sqlite3.connect(self.folder / "db.sqlite3")
            try:
                return [("dump", [(line,) for line in conn.iterdump()])]
            finally:
                conn.close()
        return postgres_contents(self.database)


def postgres_contents(url: str) -> list[tuple[str, list[tuple[t.Any, ...]]]]:
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "", 1)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' ORDER BY table_name"
            )
        ]
        found = []
        for table in tables:
            rows = conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
            found.append((table, [tuple(str(v) for v in row) for row in rows]))
        return found


#: The migrated project of each kind of database, made once per test session and copied
#: for each test (migrating takes a new interpreter and a second or two every time).
_templates: dict[str, Project] = {}


def migrated_project(folder: Path, database: str) -> Project:
    """The test project in ``folder`` on ``database`` (``sqlite`` or the URL of a new empty
    PostgreSQL database), migrated, with one post and one item in it: a copy of a project
    migrated once per session (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on
    PostgreSQL)."""
    write_project(folder, database)
    project = Project(folder, database)
    kind = "sqlite" if database == "sqlite" else "postgresql"
    template = _templates.get(kind)
    if template is None:
        template = _templates[kind] = _migrate(_template_location(database))
    if kind == "sqlite":
        shutil.copyfile(template.folder / "db.sqlite3", folder / "db.sqlite3")
    else:
        _copy_postgres_database(template.database, database)
    return project


def _template_location(database: str) -> Project:
    import atexit
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="appshell-django-template-"))
    atexit.register(shutil.rmtree, folder, True)
    if database == "sqlite":
        return Project(folder, "sqlite")
    import sqlalchemy as sa

    url = sa.make_url(database)
    name = f"appshell_template_{os.getpid()}"
    _admin(database, f"CREATE DATABASE {name}")
    return Project(folder, url.set(database=name).render_as_string(hide_password=False))


def _migrate(template: Project) -> Project:
    write_project(template.folder, template.database)
    done = template.python(
        """
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        Post.objects.create(title="first")
        Item.objects.create(name="pen", price=2)
        """
    )
    assert done.returncode == 0, done.stderr
    return template


def _copy_postgres_database(template_url: str, url: str) -> None:
    """Make the (new, empty) database of ``url`` a copy of the template's."""
    import sqlalchemy as sa

    name = sa.make_url(url).database
    template = sa.make_url(template_url).database
    _admin(url, f"DROP DATABASE {name} WITH (FORCE)", f"CREATE DATABASE {name} TEMPLATE {template}")


def _admin(url: str, *statements: str) -> None:
    import sqlalchemy as sa

    server = sa.make_url(url).set(database="postgres")
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
