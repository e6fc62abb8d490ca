"""The database tools through the real command, on the real tools: ``--read-only``,
``--sql``, the N+1 line and ``--sandbox``, at a prompt in a pseudo-terminal and in scripts,
on SQLite files and a real PostgreSQL, with apps the tests write."""

from __future__ import annotations

import os
import re
import signal
import time
import typing as t
from pathlib import Path

import pexpect
import pytest
import sqlalchemy as sa

from ..conftest import APPSHELL, Result, _clean_environ
from .test_sandbox import snapshot

#: A Flask app with plain SQLAlchemy: its own engine (on $BLOG_URL), sessionmaker and base,
#: users with posts (a lazy relationship).
BLOG_APP = """
import os

from flask import Flask
from sqlalchemy import ForeignKey, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

engine = create_engine(os.environ["BLOG_URL"])
Session = sessionmaker(bind=engine)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    posts: Mapped[list["Post"]] = relationship(back_populates="user")


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(50))
    user: Mapped[User] = relationship(back_populates="posts")


app = Flask(__name__)
"""

SCHEMA = {
    "sqlite": [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50) UNIQUE NOT NULL)",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY,"
        " user_id INTEGER NOT NULL REFERENCES users (id), title VARCHAR(50) NOT NULL)",
    ],
    "postgresql": [
        "CREATE TABLE users (id SERIAL PRIMARY KEY, name VARCHAR(50) UNIQUE NOT NULL)",
        "CREATE TABLE posts (id SERIAL PRIMARY KEY,"
        " user_id INTEGER NOT NULL REFERENCES users (id), title VARCHAR(50) NOT NULL)",
    ],
}
USERS = 12

#: What each database says when a read-only session writes.
READ_ONLY_ERROR = {
    "sqlite": "attempt to write a readonly database",
    "postgresql": "cannot execute INSERT in a read-only transaction",
}


def fill(url: str) -> None:
    """The blog's tables, with USERS users of one post each."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        for statement in SCHEMA[engine.dialect.name]:
            conn.exec_driver_sql(statement)
        for n in range(1, USERS + 1):
            conn.exec_driver_sql(f"INSERT INTO users (name) VALUES ('u{n}')")
            conn.exec_driver_sql(f"INSERT INTO posts (user_id, title) VALUES ({n}, 'p{n}')")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def blog(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The blog app in the test's folder, on each database tested: its URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'blog.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_db")
    fill(url)
    (tmp_path / "blog.py").write_text(BLOG_APP)
    return url


@pytest.fixture
def sqlite_blog(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'blog.sqlite3'}"
    fill(url)
    (tmp_path / "blog.py").write_text(BLOG_APP)
    return url


def dialect(url: str) -> str:
    return sa.make_url(url).get_backend_name()


def appshell_frames(output: str) -> list[str]:
    """The traceback lines of ``output`` that name a file of appshell's own package."""
    package = os.sep + "appshell" + os.sep
    return [
        line for line in output.splitlines() if line.lstrip().startswith("File") and package in line
    ]


# -- a pseudo-terminal -----------------------------------------------------------------------

#: The prompts (IPython's with its count, as it redraws the prompt of the line typed).
PROMPT = {"python": r"\[(SANDBOX|READ-ONLY)\] >>> ", "ipython": r"In \[\S*?{n}\S*?\]: "}


class Prompt:
    """``appshell --app blog shell ARGS`` in a pseudo-terminal."""

    def __init__(self, folder: Path, url: str, *args: str, repl: str = "python") -> None:
        env = _clean_environ() | {
            "BLOG_URL": url,
            "TERM": "xterm",
            "NO_COLOR": "1",
            "PROMPT_TOOLKIT_NO_CPR": "1",
            "IPYTHONDIR": str(folder / "ipython"),
        }
        self.repl = repl
        self.statements = 0
        #: The test closed the terminal and waited for the process itself.
        self.hung_up = False
        self.child = pexpect.spawn(
            str(APPSHELL),
            ["--app", "blog", "shell", "--repl", repl, *args],
            cwd=str(folder),
            env=env,
            encoding="utf-8",
            timeout=30,
            dimensions=(40, 250),
        )
        self.child.logfile_read = (folder / "pty.log").open("a")
        self.banner = self.wait()

    def wait(self) -> str:
        self.statements += 1
        self.child.expect(PROMPT[self.repl].format(n=self.statements))
        return t.cast(str, self.child.before)

    def run(self, line: str) -> str:
        """Type ``line``; what it printed before the next prompt (the echoed line left out)."""
        self.child.sendline(line)
        out = self.wait()
        return out.replace("\r\n", "\n").split("\n", 1)[-1]

    def exit(self) -> tuple[int, str]:
        """Ctrl-D: the exit code and what the session printed as it ended."""
        self.child.sendcontrol("d")
        if self.repl == "ipython" and self.child.expect(["really want to exit", pexpect.EOF]) == 0:
            self.child.send("y\n")
        self.child.expect(pexpect.EOF)
        rest = t.cast(str, self.child.before)
        self.child.close()
        assert self.child.signalstatus is None
        return t.cast(int, self.child.exitstatus), rest

    def stop(self) -> None:
        if not self.hung_up and self.child.isalive():
            self.child.terminate(force=True)
        if self.child.logfile_read:
            self.child.logfile_read.close()


@pytest.fixture
def prompt(tmp_path: Path) -> t.Iterator[t.Callable[..., Prompt]]:
    started: list[Prompt] = []

    def start(url: str, *args: str, repl: str = "python") -> Prompt:
        started.append(Prompt(tmp_path, url, *args, repl=repl))
        return started[-1]

    yield start
    for session in started:
        session.stop()


def run_blog(run_appshell: t.Callable[..., Result], url: str, *args: str) -> Result:
    return run_appshell("--app", "blog", "shell", *args, env={"BLOG_URL": url, "NO_COLOR": "1"})


# -- 1. --read-only ----------------------------------------------------------------------------


@pytest.mark.slow
def test_read_only_a_write_at_the_prompt_is_the_databases_error_and_the_session_goes_on(
    blog: str, prompt: t.Callable[..., Prompt]
) -> None:
    before = snapshot(blog)
    shell = prompt(blog, "--read-only")
    assert f"READ-ONLY: writes are refused on default ({dialect(blog)})" in shell.banner
    assert "[READ-ONLY] >>> " in shell.child.after
    shell.run("from blog import Session; s = Session()")
    out = shell.run("s.add(User(name='new')); s.commit()")
    assert READ_ONLY_ERROR[dialect(blog)] in out
    assert 'File "<console>", line 1, in <module>' in out
    assert appshell_frames(out) == []
    # The next statement, a read, runs in the same session.
    assert shell.run("Session().query(User).count()").strip() == str(USERS)
    assert shell.run("s.rollback(); s.query(User).filter_by(name='new').count()").strip() == "0"
    code, _ = shell.exit()
    assert code == 0
    assert snapshot(blog) == before


def test_read_only_a_script_that_writes_is_exit_1_with_the_databases_error(
    blog: str, run_appshell: t.Callable[..., Result]
) -> None:
    before = snapshot(blog)
    code = "from blog import Session\ns = Session(); s.add(User(name='new')); s.commit()"
    result = run_blog(run_appshell, blog, "--read-only", "-c", code)
    assert result.returncode == 1
    assert READ_ONLY_ERROR[dialect(blog)] in result.stderr
    assert 'File "<string>", line 2, in <module>' in result.stderr
    assert appshell_frames(result.stderr) == []
    assert snapshot(blog) == before


# -- 2. --sql ------------------------------------------------------------------------------------

FIX_SCRIPT = """
from blog import Session
s = Session()
s.query(User).count()
sql.echo = False
s.query(Post).count()
sql.echo = True
s.get(User, 1)
print("statements:", sql.count)
"""


def test_sql_names_the_scripts_line_and_switches_inside_it(
    sqlite_blog: str, tmp_path: Path, run_appshell: t.Callable[..., Result]
) -> None:
    (tmp_path / "fix.py").write_text(FIX_SCRIPT.lstrip())
    result = run_blog(run_appshell, sqlite_blog, "--sql", "fix.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "statements: 3\n"
    # Lines 3 and 7 ran with echo on; line 5 with echo off, counted but not shown.
    shown = re.findall(r"-- \[default\]\s+(\S+)", result.stderr)
    assert shown == ["fix.py:3", "fix.py:7"], result.stderr
    assert "FROM users" in result.stderr
    assert "FROM posts" not in result.stderr


def test_sql_names_string_for_c(sqlite_blog: str, run_appshell: t.Callable[..., Result]) -> None:
    code = "from blog import Session; print(Session().query(User).count(), sql.count)"
    result = run_blog(run_appshell, sqlite_blog, "--sql", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{USERS} 1\n"
    assert re.findall(r"-- \[default\]\s+(\S+)", result.stderr) == ["<string>:1"]


#: The app of the venv test: an engine and a model, the table made on import.
VENV_APP = """
import os

from flask import Flask
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

engine = create_engine(os.environ["BLOG_URL"])


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


Base.metadata.create_all(engine)
app = Flask(__name__)
"""

#: A library installed in the project's own virtualenv, querying on its caller's behalf.
VENV_LIBRARY = """
from sqlalchemy import text


def count(session, table):
    return session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
"""

#: The project's own package, installed in editable mode: its lines are the user's.
PROJECT_REPORTS = """
from sqlalchemy import func, select

def user_count(session, model):
    return session.scalar(select(func.count()).select_from(model))
"""

VENV_SCRIPT = """
from sqlalchemy.orm import Session
import dbhelpers
from blog import User, engine
from myproj.reports import user_count
session = Session(engine)
dbhelpers.count(session, "users")
user_count(session, User)
session.add(User(name="new"))
session.commit()
"""


def _venv_site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


@pytest.mark.slow
def test_sql_names_the_users_line_with_a_virtualenv_inside_the_project(tmp_path: Path) -> None:
    import subprocess
    import sys

    # The project's folder holds its virtualenv (.venv), as uv and poetry make it.
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", ".venv"], cwd=tmp_path, check=True
    )
    venv = tmp_path / ".venv"
    python = venv / "bin" / "python"
    site_packages = _venv_site_packages(venv)
    # What this test run has installed (appshell, SQLAlchemy, Flask, hatchling) is
    # installed there too, linked as uv links a package from its cache.
    installed_here = Path(sa.__file__).parent.parent
    for entry in installed_here.iterdir():
        if not entry.name.startswith(("_virtualenv", "__pycache__")):
            (site_packages / entry.name).symlink_to(entry)
    (site_packages / "dbhelpers").mkdir()
    (site_packages / "dbhelpers" / "__init__.py").write_text(VENV_LIBRARY)
    (tmp_path / "myproj").mkdir()
    (tmp_path / "myproj" / "__init__.py").write_text("")
    (tmp_path / "myproj" / "reports.py").write_text(PROJECT_REPORTS.lstrip())
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "myproj"\nversion = "0.1"\n\n'
        # The project's folder put on sys.path by a .pth file, as pip install -e does.
        '[tool.hatch.build.targets.wheel]\npackages = ["myproj"]\ndev-mode-dirs = ["."]\n'
    )
    env = _clean_environ()
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-build-isolation", "--no-index", "-q", "-e", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    # The script and the app in a folder of the project's: myproj is found only where the
    # editable install puts it, and its lines are shown by their full path.
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "blog.py").write_text(VENV_APP)
    (scripts / "fix.py").write_text(VENV_SCRIPT.lstrip())
    env.update(BLOG_URL=f"sqlite:///{tmp_path / 'blog.sqlite3'}", NO_COLOR="1")
    result = subprocess.run(
        [str(python), "-m", "appshell", "--app", "blog", "shell", "--sql", "fix.py"],
        cwd=scripts, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shown = re.findall(r"^-- \[default\]\s+(\S+)\s.*\n(\w+)", result.stderr, re.M)
    assert shown == [
        ("fix.py:6", "SELECT"),  # through the library in .venv: the script's line
        (f"{tmp_path / 'myproj' / 'reports.py'}:4", "SELECT"),  # the project's, editable
        ("fix.py:9", "INSERT"),  # the commit's flush
    ], result.stderr


# -- 3. the N+1 line ------------------------------------------------------------------------------

LOOP = "sum(len(u.posts) for u in Session().query(User))"
N_PLUS_1 = re.compile(
    rf"N\+1\? {USERS} times in one statement from (.+?) \([^)]* in all\): SELECT posts\.id.*"
    r"FROM posts WHERE"
)


@pytest.mark.slow
@pytest.mark.parametrize("repl", ["python", "ipython"])
def test_the_n_plus_1_line_counts_a_loop_over_a_relationship_at_the_prompt(
    sqlite_blog: str, prompt: t.Callable[..., Prompt], repl: str
) -> None:
    # --sandbox for the stdlib prompt's mark; IPython's prompt is matched as it is.
    shell = prompt(sqlite_blog, "--sandbox", repl=repl)
    shell.run("from blog import Session")
    out = shell.run(LOOP)
    assert str(USERS) in out
    found = N_PLUS_1.search(out)
    assert found is not None, out
    assert found.group(1) == ("<console>:1" if repl == "python" else "In [2]:1")
    # One statement that loads the users only: no line.
    assert "N+1" not in shell.run("len(Session().query(User).all())")
    code, _ = shell.exit()
    assert code == 0


LOOP_SCRIPT = f"""
from blog import Session
print({LOOP})
"""


@pytest.mark.parametrize("how", ["file", "c"])
def test_the_n_plus_1_line_comes_after_a_script(
    sqlite_blog: str, tmp_path: Path, run_appshell: t.Callable[..., Result], how: str
) -> None:
    (tmp_path / "loop.py").write_text(LOOP_SCRIPT.lstrip())
    args = ["loop.py"] if how == "file" else ["-c", LOOP_SCRIPT.lstrip()]
    result = run_blog(run_appshell, sqlite_blog, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{USERS}\n"
    found = N_PLUS_1.search(result.stderr)
    assert found is not None, result.stderr
    assert found.group(1) == ("loop.py:2" if how == "file" else "<string>:2")


def test_the_n_plus_1_line_comes_after_a_script_that_raised(
    sqlite_blog: str, run_appshell: t.Callable[..., Result]
) -> None:
    code = LOOP_SCRIPT.lstrip() + "1 / 0\n"
    result = run_blog(run_appshell, sqlite_blog, "-c", code)
    assert result.returncode == 1
    traceback, _, after = result.stderr.partition("ZeroDivisionError: division by zero")
    assert 'File "<string>", line 3' in traceback
    assert N_PLUS_1.search(after) is not None, result.stderr


# -- 4. --sandbox ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_closed_terminal_rolls_back_what_the_prompt_committed(
    sqlite_blog: str, prompt: t.Callable[..., Prompt]
) -> None:
    before = snapshot(sqlite_blog)
    shell = prompt(sqlite_blog, "--sandbox")
    assert "SANDBOX: every change to default (sqlite) is rolled back" in shell.banner
    assert "on SQLite its write lock blocks every other writer" in shell.banner
    shell.run("from blog import Session; s = Session()")
    shell.run("s.add(User(name='new')); s.query(Post).delete(); s.commit()")
    assert shell.run("s.query(Post).count(), s.query(User).count()").strip() == f"(0, {USERS + 1})"
    # The terminal goes away (its master side closed: the kernel hangs up the session).
    child = shell.child
    os.close(child.child_fd)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pid, status = os.waitpid(child.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the session did not end when its terminal closed")
    shell.hung_up = True
    # As exit(129) would: the session ended itself (the sandbox rolled back, nobody left
    # to tell), not killed, and not exit 1 for failing to say so on the closed terminal.
    assert os.WIFEXITED(status), status
    assert os.WEXITSTATUS(status) == 128 + signal.SIGHUP
    assert snapshot(sqlite_blog) == before


@pytest.mark.slow
def test_a_constraint_violation_in_the_sandbox_is_the_users_error_and_the_sandbox_holds(
    blog: str, prompt: t.Callable[..., Prompt]
) -> None:
    before = snapshot(blog)
    shell = prompt(blog, "--sandbox")
    shell.run("from blog import Session; s = Session()")
    shell.run("s.add(User(name='kept')); s.commit()")
    out = shell.run("s.add(User(name='u1')); s.commit()")
    assert "IntegrityError" in out
    assert 'File "<console>", line 1, in <module>' in out
    assert appshell_frames(out) == []
    shell.run("s.rollback()")
    # Still inside the sandbox: what was committed before the error is there.
    assert shell.run("s.query(User).filter_by(name='kept').count()").strip() == "1"
    shell.run("s.add(User(name='after')); s.commit()")
    assert shell.run("s.query(User).count()").strip() == str(USERS + 2)
    code, rest = shell.exit()
    assert code == 0
    assert "appshell: Sandbox: rolled back" in rest
    assert snapshot(blog) == before


PG_FIX = """
from blog import Session, Post
with Session() as s:
    for user in s.query(User):
        s.add(Post(user=user, title=user.name.upper()))
    s.commit()
    print("posts", s.query(Post).count())
"""


def test_a_sandboxed_script_on_postgresql_names_the_sequences_that_advanced(
    postgres_db: str, tmp_path: Path, run_appshell: t.Callable[..., Result]
) -> None:
    fill(postgres_db)
    (tmp_path / "blog.py").write_text(BLOG_APP)
    (tmp_path / "fix.py").write_text(PG_FIX.lstrip())
    before = snapshot(postgres_db)
    result = run_blog(run_appshell, postgres_db, "--sandbox", "fix.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"posts {2 * USERS}\n"
    assert (
        "PostgreSQL does not roll back sequences, these advanced: 'default': public.posts_id_seq"
    ) in result.stderr
    assert "users_id_seq" not in result.stderr
    assert snapshot(postgres_db) == before


ASYNC_APP = """
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


@asynccontextmanager
async def lifespan(app):
    engine = create_async_engine("sqlite+aiosqlite:///notes.sqlite3")
    app.state.engine = engine
    app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.post("/notes")
async def add(text: str):
    async with app.state.sessions() as session:
        session.add(Note(text=text))
        await session.commit()
    return {"added": text}


@app.get("/notes")
async def notes():
    async with app.state.sessions() as session:
        return [note.text for note in await session.scalars(select(Note).order_by(Note.id))]
"""

ASYNC_SCRIPT = """
added = await client.post("/notes", params={"text": "new"})
print(added.status_code, added.json())
print((await client.get("/notes")).json())
"""


def test_an_async_fastapi_app_commits_through_its_async_session_inside_the_sandbox(
    tmp_path: Path, run_appshell: t.Callable[..., Result]
) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("aiosqlite")
    url = f"sqlite:///{tmp_path / 'notes.sqlite3'}"
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, text VARCHAR(50))")
        conn.exec_driver_sql("INSERT INTO notes (text) VALUES ('first')")
    engine.dispose()
    (tmp_path / "notes.py").write_text(ASYNC_APP)
    before = snapshot(url)
    result = run_appshell("--app", "notes", "shell", "--sandbox", "-c", ASYNC_SCRIPT.strip())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "200 {'added': 'new'}\n['first', 'new']\n"
    assert "appshell: Sandbox: rolled back 2 statements on 1 database (default)" in result.stderr
    assert snapshot(url) == before


@pytest.mark.slow
def test_banner_and_prompt_say_read_only_wins_over_the_sandbox(
    sqlite_blog: str, prompt: t.Callable[..., Prompt]
) -> None:
    shell = prompt(sqlite_blog, "--sandbox", "--read-only", "--sql")
    first = shell.banner.replace("\r\n", "\n").lstrip("\n").splitlines()
    assert first[0] == (
        "READ-ONLY (--sandbox too: read-only wins): writes are refused on default (sqlite)"
    )
    assert first[1] == "  sql echo on (sql.echo = False turns it off)"
    assert shell.child.after == "[READ-ONLY] >>> "
    code, _ = shell.exit()
    assert code == 0
