"""A session's databases and the tools it runs on them: sandbox, read-only, ``sql``.

:class:`SessionDatabases` is what :class:`~appshell.shell.session.ShellSession` holds:
the databases and models the integrations found, the ``sql`` name, and the sandbox or the
read-only setting, started before the first statement and ended however the session ends.
The sandbox, read-only and echo modules are imported only when their option is on (the
echo hooks whenever a database is found: ``sql`` counts every statement).
"""

from __future__ import annotations

import sys
import typing as t

from . import NoDatabaseFound, find_databases, find_models, integrations, no_database_message
from .scope import make_scope

if t.TYPE_CHECKING:
    from .database import Database
    from .echo import SQLEcho
    from .protocols import Integration, Tool

__all__ = ["DatabaseOptions", "SessionDatabases"]


#: Each database option with its value when neither the command line nor a profile sets it.
_OPTION_DEFAULTS: dict[str, t.Any] = {
    "sandbox": False,
    "read_only": False,
    "sql": False,
    "models": True,
    "repeat_threshold": 10,
}


class DatabaseOptions:
    """What the session was asked to do with its databases (options over profile keys)."""

    __slots__ = ("models", "read_only", "repeat_threshold", "sandbox", "sql")

    sandbox: bool
    read_only: bool
    sql: bool
    models: bool
    #: The N+1 line's threshold: a statement run this many times in one prompt statement
    #: (0 turns the line off).
    repeat_threshold: int

    def __init__(self, **given: t.Any) -> None:
        unknown = given.keys() - _OPTION_DEFAULTS.keys()
        if unknown:
            raise TypeError(f"unknown database options: {', '.join(sorted(unknown))}")
        for key, default in _OPTION_DEFAULTS.items():
            setattr(self, key, given.get(key, default))

    @property
    def asked(self) -> str | None:
        """The first option that needs a database, as typed, or None."""
        for flag, name in ((self.sandbox, "--sandbox"), (self.read_only, "--read-only")):
            if flag:
                return name
        return "--sql" if self.sql else None


class SessionDatabases:
    """The databases of one session and the tools running on them."""

    def __init__(
        self,
        databases: list[Database],
        models: list[type],
        integrations: list[Integration],
        options: DatabaseOptions,
    ) -> None:
        self.databases = databases
        self.models = models
        self.integrations = integrations
        self.options = options
        #: The ``sql`` name, once :meth:`start` made it (None without a database).
        self.sql: SQLEcho | None = None
        self._tools: list[Tool] = []
        self._detach: list[t.Callable[[], None]] = []
        self._started = False

    @classmethod
    def find(
        cls,
        app: t.Any,
        adapter: t.Any,
        options: DatabaseOptions,
        *,
        origin: str = "",
        state: t.Mapping[str, t.Any] | None = None,
    ) -> SessionDatabases:
        """Find the app's databases and models.

        :raises NoDatabaseFound: an option needs a database and none was found (exit 2).
        """
        asked = options.asked
        scope = make_scope(app, adapter, origin=origin, state=state)
        found = integrations(load=asked is not None, adapter=adapter)
        databases = find_databases(app, adapter, scope=scope, load=asked is not None)
        if asked is not None and not databases:
            raise NoDatabaseFound(no_database_message(asked, found))
        models = find_models(app, adapter, scope=scope) if options.models else []
        return cls(databases, models, found, options)

    @property
    def mode(self) -> str | None:
        """``READ-ONLY`` or ``SANDBOX`` when one is on (read-only wins over the sandbox)."""
        if not self.databases:
            return None
        if self.options.read_only:
            return "READ-ONLY"
        return "SANDBOX" if self.options.sandbox else None

    def _by_integration(self) -> list[tuple[Integration, list[Database]]]:
        groups = []
        for integration in self.integrations:
            mine = [db for db in self.databases if db.orm == integration.name]
            if mine:
                groups.append((integration, mine))
        return groups

    def start(self) -> None:
        """Start read-only (or else the sandbox) and the ``sql`` echo on every database.

        :raises AppShellUsageError: the sandbox cannot be set up (exit 2).
        """
        if self._started or not self.databases:
            return
        self._started = True
        groups = self._by_integration()
        for integration, databases in groups:
            if self.options.read_only:
                tool = integration.read_only(databases)
            elif self.options.sandbox:
                tool = integration.sandbox(databases)
            else:
                continue
            tool.start()
            self._tools.append(tool)
        from .echo import SQLEcho

        sql = SQLEcho(threshold=self.options.repeat_threshold)
        sql.echo = self.options.sql
        self.sql = sql
        for integration, databases in groups:
            self._detach.append(integration.attach_echo(databases, sql))

    def names(self) -> dict[str, t.Any]:
        """The names the session adds to its ``default`` source: ``sql``."""
        return {} if self.sql is None else {"sql": self.sql}

    def after_statement(self) -> None:
        """Called after each prompt statement: the N+1 line of ``sql``, if any, on stderr."""
        if self.sql is None:
            return
        line = self.sql.after_statement()
        if line:
            sys.stdout.flush()
            sys.stderr.write(line.rstrip("\n") + "\n")
            sys.stderr.flush()

    def end_on_loop(self, loop: t.Any) -> None:
        """What the tools must still do on the session's event loop before it closes (the
        sandbox's rollback on an asyncpg connection, which only that loop can run)."""
        for tool in self._tools:
            on_loop = getattr(tool, "end_on_loop", None)
            if on_loop is not None:
                on_loop(loop)

    def end(self) -> list[str]:
        """Detach the echo and end the tools (the sandbox rolls back): their summaries."""
        detach, self._detach = self._detach, []
        for undo in reversed(detach):
            undo()
        tools, self._tools = self._tools, []
        summaries = []
        for tool in reversed(tools):
            summary = tool.end()
            if isinstance(summary, str) and summary:
                summaries.append(summary)
        return summaries

    def finish(self) -> None:
        """:meth:`end`, then its summaries said on stderr; a failure to end is one warning
        line, and a terminal that is gone (closed) is nobody left to tell."""
        import click

        from ..term import warn

        try:
            summaries = self.end()
        except Exception as e:
            warn(f"ending the database tools failed: {type(e).__name__}: {e}")
            return
        try:
            sys.stdout.flush()
            for summary in summaries:
                click.echo(f"appshell: {summary}", err=True)
        except OSError:
            pass

    def banner_lines(self) -> list[str]:
        """The banner's first lines when a database option is on: the mode and the
        databases, and what a sandbox holds meanwhile."""
        if not self.databases or self.options.asked is None:
            return []
        names = ", ".join(f"{db.name} ({db.dialect})" for db in self.databases)
        mode = self.mode
        if mode == "READ-ONLY":
            both = " (--sandbox too: read-only wins)" if self.options.sandbox else ""
            lines = [f"READ-ONLY{both}: writes are refused on {names}"]
        elif mode == "SANDBOX":
            lines = [f"SANDBOX: every change to {names} is rolled back when the session ends"]
            note = "the sandbox holds its locks until the session ends"
            if any(db.dialect == "sqlite" for db in self.databases):
                note += "; on SQLite its write lock blocks every other writer (a dev server too)"
            lines.append(f"  {note}")
            outside = "  not rolled back: files written, HTTP calls, caches and queues"
            for tool in self._tools:
                extra = getattr(tool, "banner_note", None)
                if isinstance(extra, str) and extra:
                    outside += f"; {extra}"
            lines.append(outside)
        else:
            lines = [f"Databases: {names}"]
        if self.options.sql:
            lines.append("  sql echo on (sql.echo = False turns it off)")
        return lines

    def describe(self) -> list[dict[str, t.Any]]:
        """The databases, for ``--print-context``."""
        return [db.describe() for db in self.databases]
