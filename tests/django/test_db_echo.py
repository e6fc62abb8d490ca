"""Statement echo for Django, in-process on a real SQLite file and the real PostgreSQL: every
statement of every connection, in any thread, with no DEBUG, naming the user's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.django.db_harness import Project, migrated_project

START = """
from appshell.databases.echo import SQLEcho
sql = SQLEcho()
Post.objects.count()  # a connection open before the echo is attached
from appshell.databases.django.echo import attach
detach = attach(databases, sql)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    database = "sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres_db")
    return migrated_project(tmp_path / "site", database)


def test_every_statement_of_every_thread_is_counted_with_the_users_line(project: Project) -> None:
    (project.folder / "fix.py").write_text(
        "from blog.models import Post\n"
        "\n"
        "def fix():\n"
        "    return Post.objects.filter(title='first').count()\n"
    )
    done = project.python(
        START,
        """
        from django.conf import settings
        print("DEBUG", settings.DEBUG)
        import fix
        fix.fix()
        print(sql.count, sql.last.database, sql.last.line, "blog_post" in sql.last.sql)
        asyncio.run(Post.objects.acount())
        worker = threading.Thread(target=Post.objects.count)
        worker.start(); worker.join()
        print(sql.count)
        sql.echo = True
        Item.objects.count()
        sql.echo = False
        detach()
        Post.objects.count()
        print(sql.count)
        """,
        DEBUG="0",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "1 default fix.py:4 True"
    assert lines[2:] == ["3", "4"]
    echoed = done.stderr.splitlines()
    assert echoed[0].startswith("-- [default]  <string>:")
    assert 'FROM "shop_item"' in echoed[1]


def test_n_plus_1_is_found_in_a_loop_over_a_relationship(project: Project) -> None:
    done = project.python(
        START,
        """
        for n in range(12):
            Comment.objects.create(post=Post.objects.create(title=str(n)), text=str(n))
        sql.reset()
        for comment in Comment.objects.all():
            comment.post.title
        print(sql.after_statement())
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("N+1? 12 times in one statement from <string>:")
