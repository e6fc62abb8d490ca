"""Refusals and the user's mistakes in a database session are one line, through the real
command on SQLite and PostgreSQL: the documented exit code (1 for a script's statement, the
prompt goes on), never a traceback through appshell's own frames; the end line counts the
statements the user's code ran."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from tests.databases.test_e2e import blog, run_blog, snapshot, sqlite_blog  # noqa: F401

if t.TYPE_CHECKING:
    from tests.conftest import Result

Run = t.Callable[..., "Result"]

MISTAKES = {
    "autocommit": (
        "from blog import engine\nengine.connect().execution_options(isolation_level='AUTOCOMMIT')",
        "SandboxError: appshell's sandbox refused isolation_level='AUTOCOMMIT': every"
        " statement would commit by itself, outside the sandbox.",
    ),
    "echo": ("sql.echo = 'on'", "TypeError: sql.echo is True or False, not 'on'"),
    "command": ("cli.nosuch_cmd()", "AttributeError: no command 'nosuch_cmd'; the commands are: "),
}


@pytest.mark.parametrize("mistake", list(MISTAKES), ids=list(MISTAKES))
def test_a_refusal_or_a_mistake_in_a_script_is_one_line_and_exit_1(
    blog: str,  # noqa: F811
    run_appshell: Run,
    mistake: str,
) -> None:
    code, line = MISTAKES[mistake]
    before = snapshot(blog)
    result = run_blog(run_appshell, blog, "--sandbox", "-c", code)
    assert result.returncode == 1
    first, end = result.stderr.splitlines()
    assert first.startswith(line)
    assert end.startswith("appshell: Sandbox: rolled back ")
    assert snapshot(blog) == before


def test_at_the_prompt_each_is_one_line_and_the_prompt_goes_on(
    blog: str,  # noqa: F811
    run_appshell: Run,
) -> None:
    typed = "".join(code.replace("\n", "; ") + "\n" for code, _ in MISTAKES.values())
    result = run_appshell(
        *("--app", "blog", "shell", "--sandbox", "--repl", "python", "-i", "-q"),
        env={"BLOG_URL": blog, "NO_COLOR": "1"},
        input=typed + "6*7\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    shown = [line for line in result.stderr.splitlines() if "Error:" in line]
    assert len(shown) == 3
    for (_, line), got in zip(MISTAKES.values(), shown, strict=True):
        assert line in got
    assert "42" in result.stdout


FIVE = """\
from blog import Post, Session, User
s = Session()
print(s.query(User).count())
user = s.get(User, 1)
user.name = "renamed"
s.flush()
with s.begin_nested():
    s.add(Post(user_id=1, title="t"))
s.commit()
print(s.query(Post).count())
"""


def test_the_end_line_counts_the_users_statements_not_savepoints(
    blog: str,  # noqa: F811
    run_appshell: Run,
    tmp_path: Path,
) -> None:
    """Five statements (count, get, update, insert, count); the savepoint of begin_nested()
    and its release are the ORM's (before, 7 were counted)."""
    (tmp_path / "five.py").write_text(FIVE)
    before = snapshot(blog)
    result = run_blog(run_appshell, blog, "--sandbox", "five.py")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("appshell: Sandbox: rolled back 5 statements on 1 database")
    assert snapshot(blog) == before


@pytest.mark.parametrize("option", ["--sandbox", "--read-only", "--sql"])
def test_a_database_option_without_the_orm_installed_is_one_line_and_exit_2(
    run_appshell: Run, tmp_path: Path, option: str
) -> None:
    (tmp_path / "plain.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    # SQLAlchemy looks not installed to the session (as tests/test_profiles.py's block()).
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "sitecustomize.py").write_text("import sys\nsys.modules['sqlalchemy'] = None\n")
    result = run_appshell(
        "--app", "plain", "shell", option, "-c", "1", env={"PYTHONPATH": str(blocked)}
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: {option} needs a database, and this app has none appshell can reach: no ORM"
        " it knows is installed (SQLAlchemy, or Django for a Django project). Install the"
        " app's ORM, or leave out the option.\n"
    )


def test_a_missing_script_is_said_before_the_app_loads(
    sqlite_blog: str,  # noqa: F811
    run_appshell: Run,
    tmp_path: Path,
) -> None:
    (tmp_path / "blog.py").write_text(
        "print('the app module ran')\n" + (tmp_path / "blog.py").read_text()
    )
    result = run_blog(run_appshell, sqlite_blog, "--sandbox", "nosuch.py")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "Error: Cannot run 'nosuch.py': there is no such file.\n"
