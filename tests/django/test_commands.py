"""The project's management commands, as appshell commands, from cli() and from %cli."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from tests.conftest import Result
from tests.e2e.test_repls import PROMPTS, Session, spawn_appshell, stop_all

RunAppshell = t.Callable[..., Result]


def test_help_lists_every_management_command(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    result = run_appshell("--help")
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert {"migrate", "makemigrations", "publish", "createsuperuser", "runserver"} <= listed
    # Django's shell clashes with appshell's: listed apart, appshell's keeps the name.
    assert {"shell", "django-shell"} <= listed
    assert "Run a shell, or a script, in the app context." in result.stdout


def test_migrate_and_the_projects_command(django_project: Path, run_appshell: RunAppshell) -> None:
    migrated = run_appshell("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    assert "Applying blog.0001_initial... OK" in migrated.stdout
    dry = run_appshell("makemigrations", "blog", "--dry-run")
    assert (dry.returncode, dry.stdout.strip()) == (0, "No changes detected in app 'blog'")
    published = run_appshell("publish", "first")
    assert (published.returncode, published.stdout) == (0, "published 'first'\n")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["first"], 1, "CommandError: 'first' is already published"),
        (["other", "--fail-code", "3"], 3, "CommandError: refused to publish 'other'"),
    ],
    ids=["default-code", "own-code"],
)
def test_a_command_error_is_its_message_and_exit_code(
    django_project: Path, run_appshell: RunAppshell, args: list[str], code: int, message: str
) -> None:
    assert run_appshell("migrate", "--noinput").returncode == 0
    assert run_appshell("publish", "first").returncode == 0
    result = run_appshell("publish", *args)
    assert (result.returncode, result.stderr.strip()) == (code, message)


def test_djangos_parser_reads_the_words(django_project: Path, run_appshell: RunAppshell) -> None:
    result = run_appshell("migrate", "--no-such-option")
    assert result.returncode == 2
    assert "appshell migrate: error: unrecognized arguments: --no-such-option" in result.stderr
    helped = run_appshell("publish", "--help")
    assert helped.returncode == 0
    assert "Publish the post with the given title." in helped.stdout


def test_a_clashing_command_is_reached_by_its_django_name(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    result = run_appshell("django-shell", "-c", "print(greet('django'))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "hello, django"
    # Every command answers to its django- name too.
    assert run_appshell("django-check").returncode == 0


def test_an_unknown_command_is_one_paragraph(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    result = run_appshell("nosuch")
    assert result.returncode == 2
    assert result.stderr.startswith("Error: No such command 'nosuch': it is neither")
    assert len(result.stderr.strip().splitlines()) == 1


#: A management command written with django-click: a click command Django runs through its
#: own run_from_argv, which parses the words with click.
CLICK_COMMAND = """\
import djclick as click
from django.core.management import CommandError

from blog.models import Post


@click.command()
@click.argument("name")
@click.option("--shout", is_flag=True, help="Say it loudly.")
@click.option("--times", type=int, default=1)
def command(name, shout, times):
    \"\"\"Greet someone, counting the posts.\"\"\"
    if name == "nobody":
        raise CommandError("nobody to greet")
    text = f"hello {name}, {Post.objects.count()} posts"
    for _ in range(times):
        click.echo(text.upper() if shout else text)
"""


@pytest.fixture
def click_command(django_project: Path) -> Path:
    commands = django_project / "blog" / "management" / "commands"
    (commands / "greet_click.py").write_text(CLICK_COMMAND)
    return django_project


def _manage(folder: Path, *args: str) -> Result:
    import subprocess
    import sys

    from tests.conftest import _clean_environ

    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=folder, env=_clean_environ(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["greet_click", "bob"],
        ["greet_click", "bob", "--shout", "--times", "2"],
        ["greet_click", "nobody"],
        ["greet_click"],
        ["greet_click", "--help"],
    ],
    ids=["argument", "options", "command-error", "usage-error", "help"],
)
def test_a_django_click_command_runs_as_under_manage_py(
    click_command: Path, run_appshell: RunAppshell, args: list[str]
) -> None:
    assert run_appshell("migrate", "--noinput").returncode == 0
    own = _manage(click_command, *args)
    result = run_appshell(*args)
    # The same words, code and output; only the program's name differs.
    spelled = (
        own.stdout.replace("manage.py", "appshell"),
        own.stderr.replace("manage.py", "appshell"),
    )
    assert (result.returncode, result.stdout, result.stderr) == (own.returncode, *spelled)


def test_a_django_click_command_from_cli_in_the_shell(
    click_command: Path, run_appshell: RunAppshell
) -> None:
    code = "\n".join(
        [
            "cli('greet_click ann --shout')",
            "cli.greet_click('eve', times=2)",
            "cli.greet_click(name='zed', shout=True)",
            "r = cli.greet_click('nobody', capture=True)",
            "print('error', r.exit_code, r.stderr.strip())",
            "r = cli.greet_click('x', loud=True, capture=True)",
            "print('bad', r.exit_code)",
        ]
    )
    assert run_appshell("migrate", "--noinput").returncode == 0
    result = run_appshell("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-6:] == [
        "HELLO ANN, 0 POSTS",
        "hello eve, 0 posts",
        "hello eve, 0 posts",
        "HELLO ZED, 0 POSTS",
        "error 1 CommandError: nobody to greet",
        "bad 2",
    ]
    assert "greet_click() has no option 'loud'; its options are: shout, times" in result.stderr


def test_commands_from_cli_in_the_shell(django_project: Path, run_appshell: RunAppshell) -> None:
    code = "\n".join(
        [
            "print('migrate', cli.migrate(capture=True).exit_code)",
            "print('publish', cli('publish first').exit_code)",
            "r = cli('publish first', capture=True)",
            "print('again', r.exit_code, r.stderr.strip())",
            "r = cli('createsuperuser --noinput --username a --email a@b.co')",
            "print('user', r.exit_code, User.objects.get().email)",
            "print('posts', Post.objects.filter(published=True).count())",
        ]
    )
    result = run_appshell("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    lines = [
        line
        for line in result.stdout.splitlines()
        if line.split()[0] in {"migrate", "publish", "again", "user", "posts"}
    ]
    assert lines == [
        "migrate 0",
        "publish 0",
        "again 1 CommandError: 'first' is already published",
        "user 0 a@b.co",
        "posts 1",
    ]


def test_cli_takes_keywords_as_djangos_parser_spells_them(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    code = "\n".join(
        [
            "print('plain', cli.migrate(noinput=True, verbosity=0).exit_code)",
            "r = cli.migrate(interactive=False, database='default', plan=True, capture=True)",
            "print('plan', r.exit_code, 'No planned migration operations' in r.stdout)",
            "r = cli.createsuperuser(no_input=True, username='b', email='b@b.co', capture=True)",
            "print('user', r.exit_code, User.objects.get().username)",
            "print('positional', cli.showmigrations('blog', capture=True).stdout.split())",
            "print('unknown', cli.migrate(nosuch=1).exit_code)",
        ]
    )
    result = run_appshell("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "plain 0",
        "plan 0 True",
        "user 0 b",
        "positional ['blog', '[X]', '0001_initial']",
        "unknown 2",
    ]
    assert "migrate() has no option 'nosuch'; its options are:" in result.stderr
    assert "interactive" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("repl", ["ipython", "ptpython", "python"])
def test_commands_and_the_orm_at_each_prompt(django_project: Path, repl: str) -> None:
    child = spawn_appshell(django_project, ["shell", "--repl", repl])
    try:
        session = Session(child, PROMPTS[repl])
        session.wait_prompt()
        session.run("cli('migrate --noinput').exit_code", r"Applying shop\.0001_initial")
        if repl == "ipython":
            session.run("%cli publish first", r"published 'first'")
        else:
            session.run("cli('publish first').exit_code", r"published 'first'")
        session.run("Post.objects.get().published", r"True")
        assert session.exit(repl) == 0
    finally:
        stop_all([child])
