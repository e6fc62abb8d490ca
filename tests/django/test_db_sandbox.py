"""The Django sandbox in-process, on a real SQLite file and the real PostgreSQL: whatever road
the project's code takes to its databases, every table is the same afterwards, row for row."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.django.db_harness import Project, migrated_project

START = """
from appshell.databases.django.sandbox import Sandbox, SandboxError
sandbox = Sandbox(databases, wait={wait})
sandbox.start()
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    database = "sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres_db")
    return migrated_project(tmp_path / "site", database)


def sandboxed(project: Project, code: str, *, wait: float = 30) -> str:
    """Run ``code`` inside a started sandbox, then end it; its output (the summary last)."""
    done = project.python(START.format(wait=wait), code, "\nprint(sandbox.end())\n")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_road_to_the_database_is_rolled_back(project: Project) -> None:
    before = project.contents()
    out = sandboxed(
        project,
        """
        post = Post.objects.create(title="second")
        Comment.objects.create(post=post, text="hi")
        with transaction.atomic():
            Item.objects.create(name="cup")
            with transaction.atomic():
                Item.objects.filter(name="pen").update(price=9)
        asyncio.run(Post.objects.acreate(title="through acreate"))
        worker = threading.Thread(target=lambda: Post.objects.create(title="from a thread"))
        worker.start(); worker.join()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM shop_item WHERE name = 'cup'")
            cursor.execute("COMMIT")
        Post.objects.filter(title="first").delete()
        print(sorted(Post.objects.values_list("title", flat=True)))
        """,
    )
    assert out.splitlines()[0] == "['from a thread', 'second', 'through acreate']"
    assert out.splitlines()[-1].startswith("Sandbox: rolled back ")
    assert project.contents() == before


def test_the_apps_atomic_blocks_are_savepoints(project: Project) -> None:
    before = project.contents()
    out = sandboxed(
        project,
        """
        try:
            with transaction.atomic():
                Post.objects.create(title="undone by the app")
                raise ValueError
        except ValueError:
            pass
        with transaction.atomic():
            Post.objects.create(title="kept by the app")
        print(sorted(Post.objects.values_list("title", flat=True)))
        """,
    )
    assert out.splitlines()[0] == "['first', 'kept by the app']"
    assert project.contents() == before


def test_on_commit_callbacks_are_held_never_run_and_named(project: Project) -> None:
    """Django runs on_commit callbacks at once outside a transaction and at the end of the
    outermost atomic block: in the sandbox nothing commits, so neither runs (a callback that
    deletes a file, as Wagtail's do, would delete it for a row that is still there)."""
    before = project.contents()
    (project.folder / "media.txt").write_text("kept")
    out = sandboxed(
        project,
        """
        import os


        def delete_file():
            os.remove("media.txt")


        def notify():
            print("notified")


        Post.objects.filter(title="first").delete()
        transaction.on_commit(delete_file)
        with transaction.atomic():
            Post.objects.create(title="second")
            transaction.on_commit(notify)
            transaction.on_commit(delete_file)
        with transaction.atomic():
            transaction.on_commit(delete_file, robust=True)
        print(Post.objects.count(), os.path.exists("media.txt"))
        """,
    )
    lines = out.splitlines()
    assert lines[0] == "1 True"
    assert "notified" not in out
    assert lines[-1].startswith("Sandbox: rolled back ")
    assert lines[-1].endswith(
        "; 4 transaction.on_commit callbacks not run, since nothing was committed"
        " (__main__.delete_file x3, __main__.notify)"
    )
    assert (project.folder / "media.txt").read_text() == "kept"
    assert project.contents() == before
    after = project.python(
        START.format(wait=30),
        """
        sandbox.end()
        transaction.on_commit(lambda: print("runs again once the sandbox is over"))
        """,
    )
    assert after.stdout == "runs again once the sandbox is over\n", after.stderr


def test_a_failed_statement_leaves_the_sandbox_intact(project: Project) -> None:
    before = project.contents()
    out = sandboxed(
        project,
        """
        from django.db import IntegrityError
        Post.objects.create(title="before")
        try:
            Post.objects.create(title=None)
        except IntegrityError as e:
            print("refused:", type(e).__name__)
        Post.objects.create(title="after")
        print(Post.objects.count())
        """,
    )
    assert out.splitlines()[:2] == ["refused: IntegrityError", "3"]
    assert project.contents() == before


def test_close_old_connections_keeps_the_sandbox(project: Project) -> None:
    before = project.contents()
    out = sandboxed(
        project,
        """
        Post.objects.create(title="second")
        close_old_connections()
        connection.close()
        print(Post.objects.count())
        """,
    )
    assert out.splitlines()[0] == "2"
    assert project.contents() == before


def test_an_alias_never_used_is_never_connected_to(project: Project) -> None:
    (project.folder / "withreplica.py").write_text(
        "from mysite.settings import *\n"
        "DATABASES = {**DATABASES, 'replica': {'ENGINE': 'django.db.backends.postgresql',"
        " 'NAME': 'gone', 'HOST': '127.0.0.1', 'PORT': '9', 'USER': 'nobody'}}\n"
    )
    done = project.python(
        """
        print([db.name for db in databases])
        """,
        START.format(wait=30),
        """
        Post.objects.create(title="second")
        print(sandbox.end())
        """,
        DJANGO_SETTINGS_MODULE="withreplica",
    )
    assert done.returncode == 0, done.stderr
    names, summary = done.stdout.splitlines()
    assert names == "['default', 'replica']"
    assert summary.startswith("Sandbox: rolled back ")
    assert "(default, replica)" in summary


def test_threads_take_turns_and_one_that_waits_too_long_is_refused(project: Project) -> None:
    before = project.contents()
    out = sandboxed(
        project,
        """
        import time
        failures = []
        def other():
            try:
                Post.objects.create(title="from another thread")
            except SandboxError as e:
                failures.append(str(e))
        with transaction.atomic():
            Post.objects.create(title="held")
            worker = threading.Thread(target=other, name="worker")
            worker.start(); worker.join()
        print(failures)
        worker = threading.Thread(target=other, name="worker")
        worker.start(); worker.join()
        print(sorted(Post.objects.values_list("title", flat=True)))
        """,
        wait=0.5,
    )
    refused, titles = out.splitlines()[:2]
    assert "refused a statement on database 'default' in thread 'worker'" in refused
    assert titles == "['first', 'from another thread', 'held']"
    assert project.contents() == before


def test_migrate_on_sqlite_is_refused_with_one_line(tmp_path: Path) -> None:
    project = migrated_project(tmp_path / "site", "sqlite")
    before = project.contents()
    out = sandboxed(
        project,
        """
        from django.core.management import CommandError, call_command
        try:
            call_command("migrate", "blog", "zero", verbosity=0)
        except CommandError as e:
            print(e)
        """,
    )
    assert out.splitlines()[0] == (
        "appshell's sandbox refused migrate on database 'default': SQLite cannot change its"
        " schema inside the sandbox's transaction. Run migrate without --sandbox."
    )
    assert project.contents() == before


def test_migrate_on_postgresql_runs_inside_and_is_rolled_back(
    tmp_path: Path, postgres_db: str
) -> None:
    project = migrated_project(tmp_path / "site", postgres_db)
    before = project.contents()
    out = sandboxed(
        project,
        """
        from django.core.management import call_command
        from django.db import connection
        call_command("migrate", "blog", "zero", verbosity=0)
        print("blog_post" in connection.introspection.table_names())
        """,
    )
    assert out.splitlines()[0] == "False"
    assert project.contents() == before


def test_postgresql_names_the_sequences_that_advanced(tmp_path: Path, postgres_db: str) -> None:
    project = migrated_project(tmp_path / "site", postgres_db)
    out = sandboxed(project, 'Post.objects.create(title="second")\n')
    assert "PostgreSQL does not roll back sequences, these advanced: 'default':" in out
    assert "public.blog_post_id_seq" in out


def test_typed_sql_that_ends_the_transaction_is_a_savepoint_or_refused(project: Project) -> None:
    """COMMIT, END, ROLLBACK and BEGIN typed alone act on a savepoint of their own; in a string
    of several statements, or as SET TRANSACTION, they are refused before anything runs, in
    one line (before, PostgreSQL committed "UPDATE ...; COMMIT;" for real)."""
    before = project.contents()
    out = sandboxed(
        project,
        """
        from appshell.exceptions import format_at_prompt
        def attempt(sql):
            try:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                print("ran")
            except SandboxError as e:
                print(format_at_prompt(e).strip())
        attempt("UPDATE shop_item SET price = 7 WHERE name = 'pen'; COMMIT;")
        attempt("INSERT INTO blog_post (title, published) VALUES ('a; b', false); END")
        attempt("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        for sql in ("UPDATE shop_item SET price = 8", "END", "BEGIN", "DELETE FROM blog_post",
                    "COMMIT AND CHAIN", "UPDATE shop_item SET price = 9", "ROLLBACK",
                    "/* hidden */ COMMIT"):
            attempt(sql)
        print(Post.objects.count(), [int(p) for p in Item.objects.values_list("price", flat=True)])
        """,
    )
    lines = out.splitlines()
    assert lines[0] == (
        "SandboxError: appshell's sandbox refused a string of 2 statements, one of which is"
        " 'COMMIT', before any of them ran: it would begin, end or change the sandbox's"
        " transaction. Run that statement alone (COMMIT, ROLLBACK and BEGIN alone become"
        " savepoints)."
    )
    assert lines[1].startswith("SandboxError: appshell's sandbox refused a string of 2 ")
    assert lines[2] == (
        "SandboxError: appshell's sandbox refused 'SET TRANSACTION ISOLATION LEVEL' before it"
        " ran: it would act on the sandbox's own transaction or the connection's later ones,"
        " which only the sandbox begins and ends."
    )
    assert lines[3:11] == ["ran"] * 8
    # COMMIT AND CHAIN kept the DELETE and began anew: the ROLLBACK undid the price of 9 only.
    assert lines[11] == "0 [8]"
    assert lines[-1].startswith("Sandbox: rolled back 5 statements ")  # 3 typed, 2 ORM
    assert project.contents() == before


def test_sqlite_executescript_runs_a_statement_at_a_time_inside_the_sandbox(
    tmp_path: Path,
) -> None:
    """sqlite3's executescript() commits the open transaction before its script: in a sandbox
    it ran everything for real; now each statement is judged as execute()'s are, and SQLite
    itself refuses a COMMIT that reaches the driver some other way."""
    project = migrated_project(tmp_path / "site", "sqlite")
    before = project.contents()
    out = sandboxed(
        project,
        """
        connection.ensure_connection()
        connection.connection.executescript(
            "UPDATE shop_item SET price = 5; COMMIT;"
            " INSERT INTO blog_post (title, published) VALUES ('x;y', 0);"
            " CREATE TABLE extra (id integer); END TRANSACTION;"
        )
        print(Post.objects.count(), [int(p) for p in Item.objects.values_list("price", flat=True)])
        raw = connection.connection.cursor().connection  # the driver's own connection
        try:
            raw.execute("COMMIT")
        except Exception as e:
            print(type(e).__name__, e)
        print(Post.objects.count())
        """,
    )
    lines = out.splitlines()
    assert lines[:3] == ["2 [5]", "DatabaseError not authorized", "2"]
    assert lines[-1] == "Sandbox: rolled back 6 statements on 1 database (default)"  # 3 + 3
    assert project.contents() == before


def test_mail_goes_to_the_outbox_and_the_end_line_counts_it(project: Project) -> None:
    """Django's mail in a sandbox goes to its in-memory backend, as Django's own test set-up
    sends it: the app's backend (here one that writes files) sends nothing, and the end line
    says how many messages were kept back. Before, the mail went out."""
    (project.folder / "withmail.py").write_text(
        "from mysite.settings import *\n"
        "EMAIL_BACKEND = 'django.core.mail.backends.filebased.EmailBackend'\n"
        "EMAIL_FILE_PATH = 'sent'\n"
    )
    before = project.contents()
    done = project.python(
        START.format(wait=30),
        """
        from django.conf import settings
        from django.core import mail
        Post.objects.create(title="announced")
        mail.send_mail("new post", "body", "a@example.com", ["b@example.com"])
        mail.EmailMessage("second", "body", to=["c@example.com"]).send()
        print(len(mail.outbox), [m.subject for m in mail.outbox])
        print(sandbox.end())
        print(settings.EMAIL_BACKEND, hasattr(mail, "outbox"))
        """,
        DJANGO_SETTINGS_MODULE="withmail",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "2 ['new post', 'second']"
    assert lines[1].endswith("; 2 emails not sent (Django's mail went to django.core.mail.outbox)")
    assert lines[2] == "django.core.mail.backends.filebased.EmailBackend False"
    assert not (project.folder / "sent").exists()
    assert project.contents() == before


def test_postgresql_refuses_a_commit_that_reaches_the_driver(
    tmp_path: Path, postgres_db: str
) -> None:
    """The driver's own commit(), which no text judge sees, fails on PostgreSQL (a deferred
    trigger of the sandbox's): nothing is committed and the sandbox says it has ended. Django's
    check_constraints() (SET CONSTRAINTS ALL IMMEDIATE, as loaddata runs it) still works, and
    the guard is armed again after it."""
    project = migrated_project(tmp_path / "site", postgres_db)
    before = project.contents()
    out = sandboxed(
        project,
        """
        Post.objects.create(title="second")
        connection.check_constraints()
        print(Post.objects.count())
        raw = connection.connection.cursor().connection  # the driver's own connection
        try:
            raw.commit()
        except Exception as e:
            print(str(e).splitlines()[0])
        try:
            Post.objects.count()
        except SandboxError as e:
            print(type(e).__name__)
        """,
    )
    lines = out.splitlines()
    assert lines[:3] == [
        "2",
        "appshell's sandbox refused to commit its transaction: nothing the session did is"
        " committed",
        "SandboxEnded",
    ]
    assert lines[-1].endswith(
        "; the sandbox on 'default' had already ended (nothing was committed)"
    )
    assert project.contents() == before


def test_a_drivers_own_connect_is_refused_with_one_line(project: Project) -> None:
    """A connection made straight from the driver (an audit log's sqlite3.connect, a script's
    psycopg.connect) would commit for real under a SANDBOX banner: refused, while Django's own
    connections, in any thread, are the sandbox's."""
    before = project.contents()
    url = project.database.replace("+psycopg", "", 1)
    out = sandboxed(
        project,
        f"""
        import sqlite3
        import psycopg
        from appshell.exceptions import format_at_prompt
        Post.objects.create(title="second")
        for connect in (lambda: sqlite3.connect("db.sqlite3"), lambda: psycopg.connect({url!r})):
            try:
                connect()
                print("connected")
            except SandboxError as e:
                print(format_at_prompt(e).strip())
        worker = threading.Thread(target=lambda: Post.objects.create(title="from a thread"))
        worker.start(); worker.join()
        print(Post.objects.count())
        """,
    )
    lines = out.splitlines()
    assert lines[0] == (
        "SandboxError: appshell's sandbox refused sqlite3.connect('db.sqlite3'): a connection"
        " made straight from the driver is none of the app's engines, and what it did would be"
        " committed for real; use the app's engines (the ORM, connection.cursor(),"
        " connections[alias])."
    )
    assert lines[1].startswith("SandboxError: appshell's sandbox refused psycopg.connect(")
    assert lines[2] == "3"
    assert project.contents() == before
