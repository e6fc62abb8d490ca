"""A small but real web app on werkzeug alone: notes in SQLite, a JSON API, two commands.

It exists so that ``appshell --app appshell.demo shell`` gives a newcomer a working shell
with no app of their own, and so that the tests have an app that is not Flask. It uses
only what the WSGI adapter looks for: ``url_map`` (a werkzeug Map), ``cli`` (a click
group), ``app_context()``, ``test_request_context()`` and ``make_shell_context()``.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import os
import sqlite3
import typing as t

import click
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

__all__ = ["DemoApp", "Note", "create_app", "current_app", "default_database", "get_db"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS note (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT ''
)
"""

SAMPLE_NOTES = [
    ("Welcome", "This note lives in the demo app's SQLite database."),
    ("Try the shell", "Note.all(), Note.create('title', 'body'), db.execute(...)"),
    ("Run a command", "cli.routes() or cli('seed --count 3') from the prompt."),
]


class _AppContext:
    def __init__(self, app: DemoApp) -> None:
        self.app = app
        self.connection: sqlite3.Connection | None = None
        self.request: Request | None = None


_context: contextvars.ContextVar[_AppContext] = contextvars.ContextVar("appshell_demo_context")


def current_app() -> DemoApp:
    """The app whose context is active. Raises RuntimeError outside of one."""
    return _current_context().app


def _current_context() -> _AppContext:
    try:
        return _context.get()
    except LookupError:
        raise RuntimeError(
            "Working outside of the demo app's context: use 'with app.app_context():'."
        ) from None


def get_db() -> sqlite3.Connection:
    """The database connection of the active app context, opened on first use."""
    ctx = _current_context()
    if ctx.connection is None:
        path = ctx.app.database
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        ctx.connection = sqlite3.connect(path)
        ctx.connection.row_factory = sqlite3.Row
        ctx.connection.execute(SCHEMA)
    return ctx.connection


@dataclasses.dataclass
class Note:
    """A note, stored in the ``note`` table of the active app's database."""

    id: int
    title: str
    body: str = ""

    @classmethod
    def create(cls, title: str, body: str = "") -> Note:
        db = get_db()
        with db:
            cursor = db.execute("INSERT INTO note (title, body) VALUES (?, ?)", (title, body))
        return cls(t.cast(int, cursor.lastrowid), title, body)

    @classmethod
    def get(cls, note_id: int) -> Note | None:
        row = get_db().execute("SELECT * FROM note WHERE id = ?", (note_id,)).fetchone()
        return cls(**row) if row is not None else None

    @classmethod
    def all(cls) -> list[Note]:
        return [cls(**row) for row in get_db().execute("SELECT * FROM note ORDER BY id")]

    @classmethod
    def count(cls) -> int:
        return int(get_db().execute("SELECT COUNT(*) FROM note").fetchone()[0])

    def delete(self) -> None:
        db = get_db()
        with db:
            db.execute("DELETE FROM note WHERE id = ?", (self.id,))

    def to_dict(self) -> dict[str, t.Any]:
        return dataclasses.asdict(self)


def default_database() -> str:
    """``$APPSHELL_DEMO_DATABASE``, else ``demo.sqlite3`` in appshell's user data folder."""
    configured = os.environ.get("APPSHELL_DEMO_DATABASE")
    if configured:
        return configured
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(data_home, "appshell", "demo.sqlite3")


def _build_cli() -> click.Group:
    @click.group("demo", help="The demo app's own commands.")
    def cli() -> None:
        pass

    @cli.command("init-db")
    @click.option("--keep", is_flag=True, help="Keep existing notes; only create the table.")
    def init_db(keep: bool) -> None:
        """Create the database table, emptying it unless --keep is given."""
        db = get_db()
        with db:
            if not keep:
                db.execute("DROP TABLE IF EXISTS note")
            db.execute(SCHEMA)
        click.echo(f"Initialized the database at {current_app().database}")

    @cli.command("seed")
    @click.option(
        "--count",
        "-n",
        default=len(SAMPLE_NOTES),
        show_default=True,
        type=click.IntRange(min=0),
        help="How many sample notes to add.",
    )
    def seed(count: int) -> None:
        """Add sample notes."""
        for i in range(count):
            title, body = SAMPLE_NOTES[i % len(SAMPLE_NOTES)]
            Note.create(title if i < len(SAMPLE_NOTES) else f"{title} ({i + 1})", body)
        click.echo(f"Added {count} notes; there are {Note.count()} now.")

    return cli


class DemoApp:
    """The demo WSGI app. ``create_app()`` makes one."""

    import_name = "appshell.demo"

    def __init__(self, database: str | None = None, name: str = "appshell-demo") -> None:
        self.name = name
        self._database = database
        self.debug = False
        self.url_map = Map(
            [
                Rule("/", endpoint="index", methods=["GET"]),
                Rule("/health", endpoint="health", methods=["GET"]),
                Rule("/notes", endpoint="notes.list", methods=["GET"]),
                Rule("/notes", endpoint="notes.create", methods=["POST"]),
                Rule("/notes/<int:note_id>", endpoint="notes.detail", methods=["GET"]),
            ]
        )
        self.cli = _build_cli()

    def __repr__(self) -> str:
        return f"<DemoApp {self.name!r} database={self.database!r}>"

    @property
    def database(self) -> str:
        """The SQLite file: the one given to create_app(), else default_database() now."""
        return self._database or default_database()

    @contextlib.contextmanager
    def app_context(self) -> t.Iterator[_AppContext]:
        """Make this app current; the database connection is closed when it ends."""
        ctx = _AppContext(self)
        token = _context.set(ctx)
        try:
            yield ctx
        finally:
            _context.reset(token)
            if ctx.connection is not None:
                ctx.connection.close()

    @contextlib.contextmanager
    def test_request_context(self, path: str = "/", **kwargs: t.Any) -> t.Iterator[Request]:
        """An app context with a request for ``path`` in it (``request()`` returns it)."""
        with self.app_context() as ctx:
            ctx.request = Request(EnvironBuilder(path=path, **kwargs).get_environ())
            yield ctx.request

    def make_shell_context(self) -> dict[str, t.Any]:
        """The names the demo adds to every shell: ``db`` and ``Note``."""
        return {"db": get_db(), "Note": Note}

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        request = Request(environ)
        with self.app_context() as ctx:
            ctx.request = request
            response = self._dispatch(request)
            return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        urls = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = urls.match()
            return t.cast(
                Response, getattr(self, "_" + endpoint.replace(".", "_"))(request, **values)
            )
        except HTTPException as e:
            return e.get_response(request.environ)

    def _index(self, request: Request) -> Response:
        lines = [f"{self.name}: {Note.count()} notes"]
        lines += [f"{note.id}. {note.title}" for note in Note.all()]
        return Response("\n".join(lines) + "\n", mimetype="text/plain")

    def _health(self, request: Request) -> Response:
        return Response("ok\n", mimetype="text/plain")

    def _notes_list(self, request: Request) -> Response:
        return _json([note.to_dict() for note in Note.all()])

    def _notes_create(self, request: Request) -> Response:
        data = request.get_json(silent=True) or request.form
        title = data.get("title")
        if not title:
            return _json({"error": "a note needs a title"}, status=400)
        return _json(Note.create(title, data.get("body", "")).to_dict(), status=201)

    def _notes_detail(self, request: Request, note_id: int) -> Response:
        note = Note.get(note_id)
        if note is None:
            raise NotFound(f"No note {note_id}.")
        return _json(note.to_dict())


def _json(data: t.Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def create_app(database: str | None = None, name: str = "appshell-demo") -> DemoApp:
    """Make a demo app that keeps its notes in ``database`` (default: see default_database)."""
    return DemoApp(database, name)
