"""Django's databases under --read-only, in-process on a real SQLite file and the real
PostgreSQL: every write fails with the database's own error, on every connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from appshell.databases.database import Database
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


def test_sqlite_query_only_cannot_be_switched_off(tmp_path: Path) -> None:
    """A PRAGMA typed through Django is refused in one line; one run by the driver without
    Django (executescript(), the driver connection's execute()) is refused by SQLite's
    authorizer. Before, executescript("PRAGMA query_only=0; INSERT ...") wrote."""
    project = migrated_project(tmp_path / "site", "sqlite")
    before = project.contents()
    done = project.python(
        START,
        """
        from appshell.exceptions import format_at_prompt
        with connection.cursor() as cursor:
            try:
                cursor.execute("PRAGMA query_only = OFF")
            except Exception as e:
                print(format_at_prompt(e).strip())
            cursor.execute("PRAGMA query_only")
            print("query_only", cursor.fetchone()[0])
        attempt("create", lambda: Post.objects.create(title="second"))
        attempt("script", lambda: connection.connection.executescript(
            "PRAGMA query_only=0; INSERT INTO blog_post (title, published) VALUES ('x', 0);"
        ))
        attempt("driver", lambda: connection.connection.execute("PRAGMA main.query_only = 0"))
        read_only.end()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only")
            print("after the end", cursor.fetchone()[0])
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "ReadOnlyError: appshell's read-only session refused 'PRAGMA QUERY_ONLY = OFF' before"
        " it ran: it would make the database writable. Start the session without --read-only"
        " to write.",
        "query_only 1",
        "create refused: OperationalError",
        "script refused: DatabaseError",
        "driver refused: DatabaseError",
        "after the end 0",
    ]
    assert project.contents() == before


@pytest.mark.parametrize(
    "undo",
    [
        "SET default_transaction_read_only = off",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "RESET ALL",
        "DISCARD ALL",
        "BEGIN READ WRITE",
        "START TRANSACTION READ WRITE",
        "COMMIT; BEGIN READ WRITE",
        "ROLLBACK; SET TRANSACTION READ WRITE",
        "SET default_transaction_read_only = off; SELECT 1",
        "SELECT set_config('default_transaction_read_only', 'off', false)",
    ],
    ids=[
        "set-default",
        "characteristics",
        "reset-all",
        "discard-all",
        "begin",
        "start",
        "commit-begin",
        "rollback-set",
        "set-in-a-string",
        "set-config",
    ],
)
def test_postgresql_read_only_refuses_what_would_undo_it(
    tmp_path: Path, postgres_db: str, undo: str
) -> None:
    """Each is refused in one line before it runs, at the prompt's own statement and inside
    an atomic block (before, the strings of several statements and set_config() wrote)."""
    project = migrated_project(tmp_path / "site", postgres_db)
    before = project.contents()
    then_write = undo + "; INSERT INTO blog_post (title, published) VALUES ('x', false)"
    done = project.python(
        START,
        f"""
        def write():
            with connection.cursor() as cursor:
                cursor.execute({then_write!r})
                cursor.execute("COMMIT")
        attempt("raw", write)
        connection.close()
        def in_atomic():
            with transaction.atomic():
                Post.objects.count()
                with connection.cursor() as cursor:
                    cursor.execute("ROLLBACK")
                    cursor.execute({undo!r})
                Post.objects.create(title="y")
        attempt("atomic", in_atomic)
        connection.close()
        attempt("after", lambda: Post.objects.create(title="z"))
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "raw refused: ReadOnlyError",
        "atomic refused: ReadOnlyError",
        "after refused: InternalError",
    ]
    assert project.contents() == before


def test_other_vendors_are_a_usage_error() -> None:
    mysql = Database("default", "mysql://db/app", "mysql", "default", orm="django")
    with pytest.raises(
        AppShellUsageError, match=r"not supported for the Django database default \(mysql\)"
    ):
        ReadOnly([mysql]).start()


def test_a_drivers_own_connect_is_refused(project: Project) -> None:
    before = project.contents()
    done = project.python(
        START,
        """
        import sqlite3
        attempt("sqlite3", lambda: sqlite3.connect("db.sqlite3").execute(
            "INSERT INTO blog_post (title, published) VALUES ('x', 0)"))
        print("count", Post.objects.count())
        read_only.end()
        sqlite3.connect("db.sqlite3").close()
        print("after the end")
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "sqlite3 refused: ReadOnlyError",
        "count 1",
        "after the end",
    ]
    assert project.contents() == before
