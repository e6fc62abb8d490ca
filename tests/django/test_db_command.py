"""The database options of a Django project through the real command, on a real SQLite file
and the real PostgreSQL: ``appshell --app mysite.settings shell --sandbox script.py``,
``--sql`` and ``--read-only``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import APPSHELL
from tests.django.db_harness import Project, migrated_project

pytestmark = pytest.mark.slow

SAVES = """\
import threading
from django.db import transaction
from blog.models import Comment, Post
from shop.models import Item

post = Post.objects.create(title="from the script")
Comment.objects.create(post=post, text="hi")
with transaction.atomic():
    Item.objects.create(name="cup")
await Post.objects.acreate(title="through acreate")
worker = threading.Thread(target=lambda: Post.objects.create(title="from a thread"))
worker.start()
worker.join()
Post.objects.filter(title="first").delete()
print(sorted(Post.objects.values_list("title", flat=True)))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    database = "sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres_db")
    return migrated_project(tmp_path / "site", database)


def appshell(
    project: Project, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(APPSHELL), "--app", "mysite.settings", *args],
        cwd=project.folder,
        env=project.env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_sandboxed_script_that_saves_leaves_the_database_unchanged(project: Project) -> None:
    (project.folder / "script.py").write_text(SAVES)
    before = project.contents()
    done = appshell(project, "shell", "--sandbox", "script.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "['from a thread', 'from the script', 'through acreate']"
    )
    assert "appshell: Sandbox: rolled back " in done.stderr
    assert project.contents() == before


def test_a_sandboxed_script_that_exits_keeps_its_code_and_nothing_it_did(
    project: Project,
) -> None:
    (project.folder / "script.py").write_text(
        "import sys\nfrom blog.models import Post\nPost.objects.create(title='x')\nsys.exit(3)\n"
    )
    before = project.contents()
    done = appshell(project, "shell", "--sandbox", "script.py")
    assert done.returncode == 3, done.stderr
    assert "appshell: Sandbox: rolled back " in done.stderr
    assert project.contents() == before


def test_migrate_in_a_sandbox_on_sqlite_is_refused_with_one_line(tmp_path: Path) -> None:
    project = migrated_project(tmp_path / "site", "sqlite")
    before = project.contents()
    done = appshell(project, "shell", "--sandbox", "-c", "cli('migrate blog zero')")
    assert (
        "appshell's sandbox refused migrate on database 'default': SQLite cannot change its"
        " schema inside the sandbox's transaction. Run migrate without --sandbox."
    ) in done.stderr
    assert project.contents() == before


def test_sql_names_the_scripts_line(project: Project) -> None:
    (project.folder / "script.py").write_text(
        "from blog.models import Post\n\nprint(Post.objects.filter(title='first').count())\n"
    )
    done = appshell(project, "shell", "--sql", "script.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1\n"
    header = next(line for line in done.stderr.splitlines() if line.startswith("-- [default]"))
    assert header.startswith("-- [default]  script.py:3  ")
    assert 'FROM "blog_post"' in done.stderr


def test_read_only_refuses_a_write_with_the_databases_error(project: Project) -> None:
    (project.folder / "script.py").write_text(
        "from blog.models import Post\n"
        "print(Post.objects.count())\n"
        "Post.objects.create(title='x')\n"
    )
    before = project.contents()
    done = appshell(project, "shell", "--read-only", "script.py")
    assert done.returncode == 1
    assert done.stdout == "1\n"
    error = (
        "attempt to write a readonly database"
        if project.database == "sqlite"
        else "cannot execute INSERT in a read-only transaction"
    )
    assert error in done.stderr
    assert 'script.py", line 3, in <module>' in done.stderr
    # The user's traceback and Django's, without the hooks the statement passed through.
    assert f"{os.sep}appshell{os.sep}" not in done.stderr
    assert project.contents() == before


def test_sql_counts_without_any_option_and_a_sandbox_imports_no_sqlalchemy(
    tmp_path: Path,
) -> None:
    project = migrated_project(tmp_path / "site", "sqlite")
    code = (
        "import sys; Post.objects.count(); Item.objects.count();"
        " print(sql.count, 'sqlalchemy' in sys.modules)"
    )
    plain = appshell(project, "shell", "-c", code)
    assert (plain.returncode, plain.stdout) == (0, "2 False\n"), plain.stderr
    sandboxed = appshell(project, "shell", "--sandbox", "-c", code)
    assert (sandboxed.returncode, sandboxed.stdout) == (0, "2 False\n"), sandboxed.stderr


def test_sigterm_during_a_sandboxed_script_leaves_nothing_committed(project: Project) -> None:
    (project.folder / "script.py").write_text(
        "import time\nfrom blog.models import Post\n"
        "Post.objects.create(title='x')\nprint('saved', flush=True)\ntime.sleep(60)\n"
    )
    before = project.contents()
    process = subprocess.Popen(
        [str(APPSHELL), "--app", "mysite.settings", "shell", "--sandbox", "script.py"],
        cwd=project.folder,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "saved\n"
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "appshell: Sandbox: rolled back " in err
    assert project.contents() == before


def test_the_sandbox_banner_says_what_it_cannot_roll_back(tmp_path: Path) -> None:
    project = migrated_project(tmp_path / "site", "sqlite")
    done = subprocess.run(
        [str(APPSHELL), "--app", "mysite.settings", "shell", "--repl=python", "-i", "--sandbox"],
        cwd=project.folder,
        env=project.env,
        input="from django.core.mail import send_mail\n"
        "send_mail('s', 'b', 'a@example.com', ['b@example.com'])\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[2] == (
        "  not rolled back: files written, HTTP calls, caches and queues;"
        " Django's mail is kept in django.core.mail.outbox, unsent"
    )
    assert done.stderr.splitlines()[-1] == (
        "appshell: Sandbox: rolled back 0 statements on 1 database (default);"
        " 1 email not sent (Django's mail went to django.core.mail.outbox)"
    )


FIVE = """\
from django.db import transaction
from blog.models import Post
from shop.models import Item

print(Post.objects.count())
with transaction.atomic():
    Post.objects.create(title="second")
    with transaction.atomic():
        Item.objects.filter(name="pen").update(price=3)
Post.objects.filter(title="first").update(title="renamed")
print(Item.objects.get(name="pen").price)
"""


def test_the_end_line_counts_the_users_statements_not_savepoints(project: Project) -> None:
    """Five ORM statements (count, insert, update, update, get); Django's savepoints and
    BEGIN and its DEBUG quoting of parameters are not the user's (before, 7 to 9 counted)."""
    (project.folder / "five.py").write_text(FIVE)
    before = project.contents()
    done = appshell(project, "shell", "--sandbox", "five.py")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "appshell: Sandbox: rolled back 5 statements on 1 database (default)"
    )
    assert project.contents() == before


def test_a_sandbox_refusal_in_a_script_is_one_line_and_exit_1(project: Project) -> None:
    before = project.contents()
    done = appshell(
        project,
        "shell",
        "--sandbox",
        "-c",
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        '    cursor.execute("UPDATE shop_item SET price = 1; COMMIT")\n',
    )
    assert done.returncode == 1
    refused, end = done.stderr.splitlines()
    assert refused.startswith("SandboxError: appshell's sandbox refused a string of 2 statements")
    assert end.startswith("appshell: Sandbox: rolled back 0 statements")
    assert project.contents() == before


def test_migrate_in_a_sqlite_sandbox_script_is_one_line_and_exit_1(tmp_path: Path) -> None:
    project = migrated_project(tmp_path / "site", "sqlite")
    before = project.contents()
    done = appshell(
        project,
        "shell",
        "--sandbox",
        "-c",
        "from django.core.management import call_command\n"
        "call_command('migrate', 'blog', 'zero', verbosity=0)\n",
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        "SandboxError: appshell's sandbox refused migrate on database 'default': SQLite cannot"
        " change its schema inside the sandbox's transaction. Run migrate without --sandbox."
    )
    assert "Traceback" not in done.stderr
    assert project.contents() == before


def test_a_sandbox_the_server_ended_is_one_line_at_each_statement(
    tmp_path: Path, postgres_db: str
) -> None:
    project = migrated_project(tmp_path / "site", postgres_db)
    before = project.contents()
    done = appshell(
        project,
        "shell",
        "--sandbox",
        "--repl=python",
        "-i",
        "-q",
        "-c",
        "from blog.models import Post; Post.objects.create(title='gone')",
        input="from django.db import connection\n"
        "connection.cursor().execute('SELECT pg_terminate_backend(pg_backend_pid())')\n"
        "Post.objects.count()\n"
        "6*7\n",
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    ended = [line for line in done.stderr.splitlines() if line.startswith("SandboxEnded: ")]
    assert len(ended) == 2
    assert "the server closed the connection" in ended[0]
    assert "42" in done.stdout
    assert project.contents() == before


def test_a_missing_script_is_said_before_the_project_loads(tmp_path: Path) -> None:
    project = migrated_project(tmp_path / "site", "sqlite")
    done = appshell(project, "shell", "--sandbox", "nosuch.py")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "Error: Cannot run 'nosuch.py': there is no such file.\n"


#: The start of each script the SIGKILL test kills: ``written(evidence)`` prints that the
#: write is done (with what the script sees of it), then waits on stdin for the kill.
KILLED = """\
import sys
from django.db import connection, transaction
from blog.models import Post
from shop.models import Item


def written(evidence):
    print("written", evidence, flush=True)
    sys.stdin.read()


"""

#: Each kind of write (its code, and the evidence it prints once done).
WRITES = {
    "save": (
        "Post(title='x').save()\n"
        "first = Post.objects.get(title='first')\n"
        "first.title = 'renamed'\n"
        "first.save()\n"
        "written(sorted(Post.objects.values_list('title', flat=True)))\n",
        "['renamed', 'x']",
    ),
    "atomic": (  # killed inside the app's own transaction.atomic(), after a write outside it
        "Post.objects.create(title='x')\n"
        "with transaction.atomic():\n"
        "    Item.objects.create(name='cup')\n"
        "    written((Post.objects.count(), Item.objects.count()))\n",
        "(2, 2)",
    ),
    "bulk_create": (
        "Item.objects.bulk_create([Item(name=f'n{i}', price=i) for i in range(100)])\n"
        "written(Item.objects.count())\n",
        "101",
    ),
    "update": (
        "Item.objects.update(price=7)\n"
        "written([int(p) for p in Item.objects.values_list('price', flat=True)])\n",
        "[7]",
    ),
    "delete": (
        "Post.objects.all().delete()\n"
        "Item.objects.filter(name='pen').delete()\n"
        "written((Post.objects.count(), Item.objects.count()))\n",
        "(0, 0)",
    ),
    "raw_sql": (  # with a COMMIT of its own, which the sandbox makes a savepoint
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('UPDATE shop_item SET price = 1')\n"
        "    cursor.execute('COMMIT')\n"
        "    cursor.execute('SELECT price FROM shop_item')\n"
        "    written(int(cursor.fetchone()[0]))\n",
        "1",
    ),
    "ddl": (
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('CREATE TABLE extra (id integer)')\n"
        "    cursor.execute('INSERT INTO extra VALUES (1)')\n"
        "    cursor.execute('SELECT count(*) FROM extra')\n"
        "    written(cursor.fetchone()[0])\n",
        "1",
    ),
    "executescript": (  # SQLite's driver only
        "connection.ensure_connection()\n"
        "connection.connection.executescript(\n"
        "    'DELETE FROM blog_post; COMMIT; CREATE TABLE extra (id integer);'\n"
        "    ' INSERT INTO extra VALUES (1); END TRANSACTION;'\n"
        ")\n"
        "written(Post.objects.count())\n",
        "0",
    ),
}


@pytest.mark.parametrize(
    ("database", "kind"),
    [("sqlite", kind) for kind in WRITES]
    + [("postgresql", kind) for kind in WRITES if kind != "executescript"],
    ids=lambda value: str(value),
)
def test_sigkill_mid_write_in_a_sandbox_leaves_nothing_committed(
    request: pytest.FixtureRequest, tmp_path: Path, database: str, kind: str
) -> None:
    """Killed with no chance to roll back, once each kind of write is done (as far as the
    script can see), the database finds nothing committed: SQLite's journal, PostgreSQL's
    dropped connection."""
    url = "sqlite" if database == "sqlite" else request.getfixturevalue("postgres_db")
    project = migrated_project(tmp_path / "site", url)
    code, evidence = WRITES[kind]
    (project.folder / "script.py").write_text(KILLED + code)
    before = project.contents()
    process = subprocess.Popen(
        [str(APPSHELL), "--app", "mysite.settings", "shell", "--sandbox", "script.py"],
        cwd=project.folder,
        env=project.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if line != f"written {evidence}\n":
        process.kill()
        _, err = process.communicate(timeout=60)
        pytest.fail(f"the script did not write as expected: {line!r}\n{err}")
    process.kill()
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert project.contents() == before


#: A backend of the project's own, imported only when the script names it (so its class is
#: made after the sandbox began): each message a file in ``outgoing/``, as an HTTP API's
#: backend would post it.
OWN_BACKEND = """\
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


class DropBackend(BaseEmailBackend):
    def send_messages(self, messages):
        Path("outgoing").mkdir(exist_ok=True)
        for message in messages:
            Path("outgoing", message.subject).write_bytes(message.message().as_bytes())
        return len(messages)
"""

NAMED_BACKENDS = """\
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from blog.models import Post

Post.objects.create(title="announced")
smtp = get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port={port})
EmailMessage("smtp", "b", "a@example.com", ["b@example.com"], connection=smtp).send()
with get_connection(settings.NEWSLETTER_BACKEND, file_path="sent") as files:
    files.send_messages([EmailMessage("files", "b", "a@example.com", ["c@example.com"])])
own = get_connection("newsletter.DropBackend")
own.send_messages([EmailMessage("own", "b", "a@example.com", ["d@example.com"])])
with SMTPBackend(host="127.0.0.1", port={port}) as direct:
    direct.send_messages([EmailMessage("direct", "b", "a@example.com", ["e@example.com"])])
print(sorted(m.subject for m in mail.outbox))
"""


def _refusing_port() -> tuple[socket.socket, int]:
    """A loopback port bound but never listening: an SMTP backend that connects to it fails
    at once (connection refused), so a message that went out would fail the script."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    return closed, closed.getsockname()[1]


def test_a_mail_backend_the_script_names_itself_sends_nothing(tmp_path: Path) -> None:
    """SMTP through get_connection(path) and EmailMessage(connection=...), a backend path
    from a setting of the project's own, a backend class of the project's imported during
    the session, an SMTP backend made from its class: each keeps its message in the outbox,
    counted on the end line, and opens nothing (before, each sent: the SMTP ones failed on a
    refused port, the others wrote their files)."""
    project = migrated_project(tmp_path / "site", "sqlite")
    with (project.folder / "mysite" / "settings.py").open("a") as settings:
        settings.write('NEWSLETTER_BACKEND = "django.core.mail.backends.filebased.EmailBackend"\n')
    (project.folder / "newsletter.py").write_text(OWN_BACKEND)
    closed, port = _refusing_port()
    with closed:
        (project.folder / "script.py").write_text(NAMED_BACKENDS.format(port=port))
        before = project.contents()
        done = appshell(project, "shell", "--sandbox", "script.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['direct', 'files', 'own', 'smtp']\n"
    assert done.stderr.splitlines()[-1].endswith(
        "; 4 emails not sent (Django's mail went to django.core.mail.outbox)"
    )
    # The file backend's constructor makes its folder; nothing is written into it.
    assert list((project.folder / "sent").glob("*")) == []
    assert not (project.folder / "outgoing").exists()
    assert project.contents() == before


def test_mail_through_mailers_goes_to_the_outbox(tmp_path: Path) -> None:
    """Django 6.1's MAILERS: each alias's backend is Django's in-memory one in a sandbox, as
    Django's own test set-up makes it, and the end line counts what was kept (before, the
    sandbox could not start on a project that defines MAILERS)."""
    import django

    if django.VERSION < (6, 1):
        pytest.skip(f"MAILERS came in Django 6.1; this is {django.get_version()}")
    project = migrated_project(tmp_path / "site", "sqlite")
    closed, port = _refusing_port()
    with (project.folder / "mysite" / "settings.py").open("a") as settings:
        settings.write(
            "MAILERS = {\n"
            '    "default": {"BACKEND": "django.core.mail.backends.filebased.EmailBackend",'
            ' "OPTIONS": {"file_path": "sent"}},\n'
            '    "newsletter": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",'
            f' "OPTIONS": {{"host": "127.0.0.1", "port": {port}}}}},\n'
            "}\n"
        )
    (project.folder / "script.py").write_text(
        "from django.core import mail\n"
        "mail.send_mail('default', 'b', 'a@example.com', ['b@example.com'])\n"
        "mail.EmailMessage('alias', 'b', to=['c@example.com']).send(using='newsletter')\n"
        "mail.mailers['newsletter'].send_messages([mail.EmailMessage('direct', 'b',"
        " to=['d@example.com'])])\n"
        "print(sorted((m.subject, m.sent_using) for m in mail.outbox))\n"
    )
    with closed:
        done = appshell(project, "shell", "--sandbox", "script.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "[('alias', 'newsletter'), ('default', 'default'), ('direct', 'newsletter')]\n"
    )
    assert done.stderr.splitlines()[-1] == (
        "appshell: Sandbox: rolled back 0 statements on 1 database (default);"
        " 3 emails not sent (Django's mail went to django.core.mail.outbox)"
    )
    assert not (project.folder / "sent").exists()
