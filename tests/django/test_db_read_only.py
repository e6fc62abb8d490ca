"""Django's databases under --read-only, in-process on a real SQLite file and the real
PostgreSQL: every write fails with the database's own error, on every connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from appshell.databases import Database
from appshell.databases.django.readonly import ReadOnly
from appshell.exceptions import AppShellUsageError
from tests.django.db_harness import Project, migrated_project

START = """
from appshell.databases.django.readonly import ReadOnly
read_only = ReadOnly(databases)
read_only.start()
def attempt(what, write):
    try:
        write()
        print(what, "written")
    except Exception as e:
        print(what, "refused:", type(e).__name__)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    database = "sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres_db")
    return migrated_project(tmp_path / "site", database)


def test_writes_are_refused_on_every_road_and_reads_go_on(project: Project) -> None:
    before = project.contents()
    done = project.python(
        START,
        """
        attempt("create", lambda: Post.objects.create(title="second"))
        print("count", Post.objects.count())
        def in_atomic():
            with transaction.atomic():
                Item.objects.create(name="cup")
        attempt("atomic", in_atomic)
        attempt("acreate", lambda: asyncio.run(Post.objects.acreate(title="async")))
        def in_thread():
            attempt("thread", lambda: Post.objects.create(title="t"))
        worker = threading.Thread(target=in_thread)
        worker.start(); worker.join()
        close_old_connections(); connection.close()
        attempt("reconnected", lambda: Post.objects.create(title="again"))
        read_only.end()
        Post.objects.create(title="after the end")
        print("after", Post.objects.count())
        """,
    )
    assert done.returncode == 0, done.stderr
    refused = "OperationalError" if project.database == "sqlite" else "InternalError"
    assert done.stdout.splitlines() == [
        f"create refused: {refused}",
        "count 1",
        *(f"{what} refused: {refused}" for what in ("atomic", "acreate", "thread", "reconnected")),
        "after 2",
    ]
    assert before != project.contents()  # the write after the end went through


def test_sqlite_query_only_cannot_be_switched_off_by_a_pragma(tmp_path: Path) -> None:
    project = migrated_project(tmp_path / "site", "sqlite")
    done = project.python(
        START,
        """
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only = OFF")
        attempt("create", lambda: Post.objects.create(title="second"))
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["create refused: OperationalError"]


@pytest.mark.parametrize(
    "undo",
    [
        "SET default_transaction_read_only = off",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "RESET ALL",
        "DISCARD ALL",
        "BEGIN READ WRITE",
        "START TRANSACTION READ WRITE",
    ],
    ids=["set-default", "characteristics", "reset-all", "discard-all", "begin", "start"],
)
def test_postgresql_read_only_survives_what_would_undo_it(
    tmp_path: Path, postgres_db: str, undo: str
) -> None:
    project = migrated_project(tmp_path / "site", postgres_db)
    before = project.contents()
    done = project.python(
        START,
        f"""
        def write():
            with connection.cursor() as cursor:
                cursor.execute({undo!r})
                cursor.execute("INSERT INTO blog_post (title, published) VALUES ('x', false)")
                cursor.execute("COMMIT")
        attempt("raw", write)
        connection.close()  # the raw BEGIN's transaction, failed, is the test's own to end
        def in_atomic():
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION READ WRITE")
                Post.objects.create(title="y")
        attempt("atomic", in_atomic)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "raw refused: InternalError",
        "atomic refused: InternalError",
    ]
    assert project.contents() == before


def test_other_vendors_are_a_usage_error() -> None:
    mysql = Database("default", "mysql://db/app", "mysql", "default", orm="django")
    with pytest.raises(
        AppShellUsageError, match=r"not supported for the Django database default \(mysql\)"
    ):
        ReadOnly([mysql]).start()
