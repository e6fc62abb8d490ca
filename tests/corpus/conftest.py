"""The corpus: appshell run through its real command on the real projects of ../shared/corpus.

Each project gets a virtualenv of its own, with the project's own requirements installed as
its README says, on a Python it supports, plus appshell built from this tree (a real wheel,
not an editable install) and IPython/ipykernel. The virtualenvs are cached between runs in
``~/.cache/appshell-corpus/<project>-<key>`` (``$XDG_CACHE_HOME`` or
``$APPSHELL_CORPUS_CACHE`` when set), the key being a hash of the project's requirement
files, the Python's version and appshell's own dependencies; only appshell is reinstalled at
each run. The corpus is read-only: every test works on a copy of its project.

These tests are collected only when ``APPSHELL_CORPUS_TESTS=1`` (``nox -s corpus`` sets it,
see tests/conftest.py): the plain ``pytest`` run never builds these virtualenvs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import tomllib
import typing as t
from pathlib import Path

import pytest

from .. import interpreters
from ..databases.conftest import postgres_url  # noqa: F401  (the suite's one PostgreSQL)

ROOT = Path(__file__).parents[2]
#: Bump when the way a virtualenv is built changes, so that cached ones are rebuilt.
BUILD_RECIPE = "1"
# Read at import, before tests/conftest.py points XDG_CACHE_HOME into each test's folder.
CACHE = Path(
    os.environ.get("APPSHELL_CORPUS_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "appshell-corpus"
)


def _find_corpus() -> Path:
    """../shared/corpus from the clone (searched upward, so that a worktree nested deeper
    finds it too), or ``$APPSHELL_CORPUS_DIR``."""
    given = os.environ.get("APPSHELL_CORPUS_DIR")
    candidates = [Path(given)] if given else [p / "shared" / "corpus" for p in ROOT.parents]
    for candidate in candidates:
        if (candidate / "README.md").is_file():
            return candidate
    pytest.fail(
        "the corpus was not found: looked for "
        + ", ".join(str(c) for c in candidates)
        + " (set APPSHELL_CORPUS_DIR to its folder)",
        pytrace=False,
    )


CORPUS = _find_corpus()


class Result(t.NamedTuple):
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def find_python(version: str) -> Path:
    """The interpreter of ``version`` ("3.12"): ``pythonX.Y`` on PATH, else pyenv's; a test
    fails (never skips) when the machine has none."""
    found, candidates = interpreters.find_python(version)
    if found is not None:
        return found
    pytest.fail(
        f"the corpus needs Python {version} and none was found (tried {candidates or 'nothing'};"
        f" put python{version} on PATH, e.g. PYENV_VERSION=3.11.7:3.12.1:3.13.0)",
        pytrace=False,
    )


def _pip(python: Path, *args: str, cwd: Path | None = None) -> None:
    proc = subprocess.run(
        [str(python), "-m", "pip", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**_plain_environ(), "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if proc.returncode:
        pytest.fail(
            f"pip {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}",
            pytrace=False,
        )


def _plain_environ() -> dict[str, str]:
    """This process's environment without what would point a child at another app, project or
    virtualenv."""
    dropped = ("APPSHELL_", "FLASK_", "DJANGO_", "QUART_", "LITESTAR_", "APP_CONFIG_FILE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"):
        env.pop(name, None)
    return env


def _appshell_requirements() -> list[str]:
    """appshell's dependencies and extras as pyproject.toml declares them (part of the key:
    a new dependency rebuilds the cached virtualenvs)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], json.dumps(project["optional-dependencies"], sort_keys=True)]


@dataclasses.dataclass(frozen=True)
class Venv:
    """A project's virtualenv, and how to run its commands as a user with it activated."""

    path: Path

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def environ(self, **extra: str) -> dict[str, str]:
        env = _plain_environ()
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.path)
        env["NO_COLOR"] = "1"
        env.update(extra)
        return env

    def run(
        self,
        *argv: str,
        cwd: Path,
        env: dict[str, str] | None = None,
        input: str | None = None,
        timeout: float = 180,
    ) -> Result:
        """Run a command in ``cwd`` as with the virtualenv activated: its own (``appshell``,
        ``flask``, ``python``...) or the system's (``bash``)."""
        own = self.bin / argv[0]
        command = [str(own) if own.exists() else argv[0], *argv[1:]]
        proc = subprocess.run(
            command,
            cwd=cwd,
            env=self.environ(**(env or {})),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def check(self, *argv: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
        """Run a set-up step; the test fails, with its output, when the step does."""
        result = self.run(*argv, cwd=cwd, env=env, timeout=900)
        if result.returncode:
            pytest.fail(
                f"set-up step {' '.join(argv)} failed (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}",
                pytrace=False,
            )
        return result


@pytest.fixture(scope="session")
def appshell_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this tree, built once per run: what every project's virtualenv gets."""
    where = tmp_path_factory.mktemp("wheel")
    _pip(Path(sys.executable), "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
         str(where), str(ROOT))  # fmt: skip
    (wheel,) = where.glob("appshell-*.whl")
    return wheel


@dataclasses.dataclass(frozen=True)
class Project:
    """A corpus project: its folder, the Python it runs on, and how its README installs it."""

    name: str
    folder: str  # under the corpus
    python: str
    extras: str  # appshell's extras a user of this stack would install
    requirements: tuple[str, ...] = ()  # requirement files (pip -r), relative to the folder
    packages: tuple[str, ...] = ()  # pip arguments (packages the README names)
    pyproject_dependencies: bool = False  # the folder's own pyproject.toml dependencies

    @property
    def source(self) -> Path:
        return CORPUS / self.folder

    def pip_arguments(self) -> list[str]:
        args = [arg for req in self.requirements for arg in ("-r", req)]
        args += self.packages
        if self.pyproject_dependencies:
            pyproject = tomllib.loads((self.source / "pyproject.toml").read_text())
            args += pyproject["project"]["dependencies"]
        return args

    def key_files(self) -> list[Path]:
        files = [self.source / req for req in self.requirements]
        # what -r files include (bakerydemo's development.txt: -r base.txt)
        files += sorted((self.source / req).parent / line.split(None, 1)[1]
                        for req in self.requirements
                        for line in (self.source / req).read_text().splitlines()
                        if line.startswith("-r "))  # fmt: skip
        if self.pyproject_dependencies:
            files.append(self.source / "pyproject.toml")
        return files


PROJECTS = {
    p.name: p
    for p in [
        Project("microblog", "microblog", "3.11", "ipython,jupyter",
                requirements=("requirements.txt",)),
        # The README's own list (uv sync installs the same from uv.lock).
        Project("async-fastapi-sqlalchemy", "async-fastapi-sqlalchemy", "3.11",
                "ipython,jupyter,asgi",
                packages=("alembic", "fastapi[standard]", "pydantic-settings",
                          "sqlalchemy[postgresql-asyncpg]")),
        # `pip install -e backend`: its dependencies here, cached; the project itself is
        # installed (editable) by its tests, on their copy (hatchling, its build backend, and
        # editables, which hatchling needs for an editable install).
        Project("full-stack-fastapi-template", "full-stack-fastapi-template/backend", "3.11",
                "ipython,jupyter,asgi", packages=("hatchling", "editables"),
                pyproject_dependencies=True),
        Project("bakerydemo", "bakerydemo", "3.12", "ipython,jupyter",
                requirements=("requirements/development.txt",)),
    ]
}  # fmt: skip


def project_venv(project: Project, wheel: Path) -> Venv:
    """The cached virtualenv of ``project``, built on first use, with this run's appshell."""
    interpreter = find_python(project.python)
    version = subprocess.run(
        [str(interpreter), "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    install = project.pip_arguments()
    digest = hashlib.sha256()
    for part in [BUILD_RECIPE, str(interpreter), version, *install, project.extras]:
        digest.update(part.encode() + b"\0")
    for part in _appshell_requirements():
        digest.update(part.encode() + b"\0")
    for file in project.key_files():
        digest.update(file.read_bytes() + b"\0")
    CACHE.mkdir(parents=True, exist_ok=True)
    venv = Venv(CACHE / f"{project.name}-{digest.hexdigest()[:16]}")
    built = venv.path / "appshell-corpus-built"
    # Another run (a second clone's CI, say) may build the same virtualenv at the same time.
    with open(CACHE / f"{project.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            for old in CACHE.glob(f"{project.name}-*"):
                shutil.rmtree(old)  # this project's older builds, and a half-built one
            subprocess.run([str(interpreter), "-m", "venv", str(venv.path)], check=True)
            # Built in place: a virtualenv's scripts name its folder, it cannot be moved.
            _pip(venv.python, "install", "-q", *install, f"{wheel}[{project.extras}]",
                 cwd=project.source)  # fmt: skip
            built.write_text(version)
        # The tree changes between runs while its version does not: always this run's build.
        _pip(venv.python, "install", "-q", "--no-deps", "--force-reinstall", str(wheel))
    return venv


def copy_project(source: Path, target: Path) -> Path:
    """A copy of ``source`` at ``target`` (bytecode caches left out), to run things that write."""
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and a hash of its content. Python's bytecode caches are left
    out: importing a module writes them, whoever does it."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        files[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


# -- serving ------------------------------------------------------------------------------------


@contextlib.contextmanager
def running(
    venv: Venv, *argv: str, cwd: Path, env: dict[str, str] | None = None
) -> t.Iterator[str]:
    """``appshell run ...`` in the background until its ``Running on URL`` line; yields URL.
    The server is stopped (SIGINT, then killed) when the block ends."""
    proc = subprocess.Popen(
        [str(venv.bin / argv[0]), *argv[1:]],
        cwd=cwd,
        env=venv.environ(**(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    url = None
    drain = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    # Bounded by the server: it prints the line or exits. A watchdog ends a hung start.
    watchdog = threading.Timer(120, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Running on " in line:
                url = line.split("Running on ", 1)[1].split()[0]
                break
        if url is None:
            proc.wait()
            pytest.fail(f"{' '.join(argv)} never said where it runs:\n{''.join(lines)}")
        drain.start()  # the server's log, read so that it never blocks on a full pipe
        yield url
    finally:
        watchdog.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if drain.is_alive():
            drain.join()
        if proc.stdout is not None:
            proc.stdout.close()


def http_get(url: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# -- PostgreSQL ---------------------------------------------------------------------------------


class _Forward(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    socket_path: str


class _ForwardOne(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = t.cast(_Forward, self.server)
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(server.socket_path)

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        back.start()
        pump(self.request, upstream)
        back.join()
        upstream.close()


@dataclasses.dataclass(frozen=True)
class Postgres:
    """The suite's PostgreSQL as the projects reach it: a host and a TCP port."""

    url: str  # SQLAlchemy URL (psycopg), for the suite's own queries
    host: str
    port: int

    def create_database(self, name: str, template: str | None = None) -> None:
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    def admin(self, sql: str) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
        engine.dispose()

    def dump(self, database: str) -> dict[str, list[tuple[t.Any, ...]]]:
        """Every row of every table of ``database``, sorted: compared row for row."""
        import sqlalchemy as sa

        engine = sa.create_engine(
            sa.make_url(self.url).set(database=database), poolclass=sa.NullPool
        )
        try:
            with engine.connect() as conn:
                names = sa.inspect(conn).get_table_names()
                return {
                    name: sorted(
                        (
                            tuple(map(repr, row))
                            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"'))
                        ),
                    )
                    for name in names
                }
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> t.Iterator[Postgres]:
    """The session's PostgreSQL (tests/databases/conftest.py starts it), reachable over TCP.

    Where the server cannot start, that fixture skips; a corpus project is never skipped, so
    here that is a failure with the same reason.

    pgserver's server listens on a Unix socket only, and the projects' settings build a
    ``host:port`` URL (the template's ``POSTGRES_SERVER``/``POSTGRES_PORT``), so the suite
    forwards a loopback port to that socket. It also gives the server the ``uuid-ossp``
    extension the template's migration creates, which pgserver's build lacks (see
    _provide_uuid_ossp).
    """
    import sqlalchemy as sa

    try:
        postgres_url = request.getfixturevalue("postgres_url")
    except pytest.skip.Exception as skipped:
        pytest.fail(f"the corpus needs PostgreSQL: {skipped}", pytrace=False)
    url = sa.make_url(postgres_url)
    folder = url.query["host"]
    socket_path = f"{folder}/.s.PGSQL.{url.port or 5432}"
    _provide_uuid_ossp()
    server = _Forward(("127.0.0.1", 0), _ForwardOne)
    server.socket_path = socket_path
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Postgres(postgres_url, "127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _provide_uuid_ossp() -> None:
    """The smallest equivalent of PostgreSQL's ``uuid-ossp`` where the server lacks it.

    The template's migration runs ``CREATE EXTENSION IF NOT EXISTS "uuid-ossp"`` for its
    ``uuid_generate_v4()``; pgserver's PostgreSQL ships without that extension. Rather than
    change the project's migration, the suite adds an extension of that name to the server's
    extension folder whose one function is ``uuid_generate_v4()``, a random (version 4) UUID
    from PostgreSQL's built-in ``gen_random_uuid()`` (what uuid-ossp's function returns too).
    A real uuid-ossp, where the server has one, is left alone.
    """
    from pgserver._commands import POSTGRES_BIN_PATH

    extensions = POSTGRES_BIN_PATH.parent / "share" / "postgresql" / "extension"
    control = extensions / "uuid-ossp.control"
    if control.exists():
        return
    (extensions / "uuid-ossp--1.1.sql").write_text(
        "CREATE FUNCTION uuid_generate_v4() RETURNS uuid VOLATILE LANGUAGE sql\n"
        "AS 'SELECT gen_random_uuid()';\n"
    )
    control.write_text(
        "# The corpus tests' stand-in (tests/corpus/conftest.py): uuid_generate_v4() only.\n"
        "comment = 'uuid_generate_v4() from gen_random_uuid()'\n"
        "default_version = '1.1'\n"
        "relocatable = true\n"
        "trusted = true\n"
    )
    for path in (control, extensions / "uuid-ossp--1.1.sql"):
        path.chmod(0o644)


# -- Jupyter ------------------------------------------------------------------------------------


def run_notebook(
    venv: Venv,
    cells: t.Sequence[str],
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str] | None = None,
) -> list[t.Any]:
    """Run ``cells`` in a real kernel of the project's virtualenv (cwd ``folder``, ``env`` added
    to its environment); each cell's outputs (nbformat objects), a failed cell's error among
    them."""
    import nbclient
    import nbformat

    jupyter = folder.parent / "jupyter-data"
    kernel = jupyter / "kernels" / "corpus"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(venv.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "corpus",
                "language": "python",
                "env": {**venv.environ(**(env or {})), "JUPYTER_DATA_DIR": str(jupyter)},
            }
        )
    )
    # Where nbclient looks for the kernel, and keeps its connection files: the test's folder.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(jupyter))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(jupyter / "runtime"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="corpus",
        allow_errors=True,
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return [cell.outputs for cell in notebook.cells]


def cell_text(outputs: t.Sequence[t.Any]) -> str:
    """What a cell showed, as text: its streams, its value, its error."""
    parts = []
    for out in outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "".join(parts)


def cell_errors(outputs: t.Sequence[t.Any]) -> list[str]:
    return [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]


def sqlite_dump(database: Path) -> dict[str, list[tuple[t.Any, ...]]]:
    """Every row of every table of a SQLite file, sorted: compared row for row."""
    import sqlite3

    # Opened read-only, so that looking at the file cannot change it.
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            name: sorted(map(tuple, conn.execute(f'SELECT * FROM "{name}"')), key=repr)
            for name in names
        }
    finally:
        conn.close()


def context_names(result: Result) -> dict[str, dict[str, t.Any]]:
    """The records of ``shell --print-context --json``, by name."""
    assert result.returncode == 0, result.output
    return {record["name"]: record for record in json.loads(result.stdout)}


def cell_value(outputs: t.Sequence[t.Any]) -> str:
    """A cell's value as text (its ``Out[n]``), without what it printed or logged."""
    return "".join(
        o.data.get("text/plain", "") for o in outputs if o.output_type == "execute_result"
    )


def venv_inside(venv: Venv, project: Path) -> Venv:
    """A copy of ``venv`` at ``project/venv``: the layout of a user who made their virtualenv
    inside the project (``python -m venv venv``, as many tutorials do). Its scripts name the
    copy's own interpreter, as they would had it been made there."""
    inside = Venv(project / "venv")
    shutil.copytree(venv.path, inside.path, symlinks=True)
    old, new = f"#!{venv.path}/bin/".encode(), f"#!{inside.path}/bin/".encode()
    for script in inside.bin.iterdir():
        if script.is_file() and not script.is_symlink():
            content = script.read_bytes()
            if content.startswith(old):
                script.write_bytes(new + content[len(old) :])
    return inside
