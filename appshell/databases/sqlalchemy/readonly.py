"""``--read-only`` for SQLAlchemy: each database refuses writes in its own terms.

This guards against mistakes; it is no security boundary (a read-only database role is).

- PostgreSQL: ``SET TRANSACTION READ ONLY`` as each transaction's first statement, because
  a session-level default is undone by ``SET SESSION CHARACTERISTICS``, overridden by
  ``BEGIN READ WRITE`` and reset by a pooler's ``DISCARD ALL``. Each transaction is caught
  twice: when SQLAlchemy begins it (the engine's ``begin`` event), and when the driver
  begins one by itself before a statement (psycopg after a ``COMMIT`` sent as SQL), seen by
  the driver's transaction status. A session default is set too, for what SQLAlchemy's
  connection never sees: ``engine.raw_connection()`` and ``AUTOCOMMIT``; and the driver's
  own read-only mode (psycopg, psycopg2), so that SQL sent on the driver's connection itself,
  which may switch that default off and commit, still finds every transaction the driver
  begins ``BEGIN READ ONLY``.
- SQLite: ``PRAGMA query_only = ON`` and an authorizer on the connection (SQLite asks it
  about every statement it prepares, whatever the road: a cursor, ``executescript``) that
  forbids ``PRAGMA query_only`` switching off, both set when the pool hands the connection
  out, or before the first statement of one handed out before the session began (the
  dialect's execution hooks, which unlike the engine's events cost a statement next to
  nothing). On aiosqlite the authorizer is set in aiosqlite's own thread, which its own
  connection (``driver_connection``) shares; ``query_only`` is set again at each
  transaction's start and each statement's text judged besides, so that a refusal through
  SQLAlchemy is appshell's one line.

Statements that would switch read-only off are refused before they run
(:class:`~appshell.databases.dbapi.ReadOnlyError`), judged by
:func:`~appshell.databases.statements.judge`: ``SET TRANSACTION``, ``SET SESSION
CHARACTERISTICS``, ``SET default_transaction_read_only``, ``BEGIN READ WRITE``, ``PRAGMA
query_only = 0``, and any statement list that ends or begins a transaction
(``COMMIT; BEGIN READ WRITE; ...``). A ``COMMIT`` or ``ROLLBACK`` alone is let through: the
next transaction is made read-only again. On an ``AUTOCOMMIT`` PostgreSQL connection, where
every statement is a transaction of its own under the session default, the default is
asked of the server before each statement (a function such as ``set_config`` can change it
in a way no text shows).

A connection from any other engine (one made during the session, or one appshell did not
find) is refused, as the sandbox refuses it: appshell cannot vouch for an engine it did not
guard from its first connection; so is a driver's own ``connect()``
(:mod:`appshell.databases.drivers`).

Both are applied to a connection when the pool hands it out (the pool's ``checkout`` event:
new connections, ones already pooled, raw ones) and taken back when it is returned, so that
the pool holds no read-only connection once :meth:`ReadOnly.end` ran.
"""

from __future__ import annotations

import contextlib
import typing as t

from sqlalchemy import event

from ...exceptions import AppShellUsageError
from .. import asyncpg_read_only
from ..dbapi import ReadOnlyError, execute
from ..drivers import guard_driver_connects
from ..statements import judge
from .aiosqlite_thread import set_aiosqlite_authorizer

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..database import Database

__all__ = ["ReadOnly"]

_Hooks = tuple[tuple[str, "Callable[..., None]"], ...]


class ReadOnly:
    """Makes every database of a session refuse writes, from :meth:`start` to :meth:`end`.

    :param databases: the session's databases (each a SQLite or PostgreSQL engine).
    """

    def __init__(self, databases: Sequence[Database]) -> None:
        self.databases = list(databases)
        self._listening: list[tuple[t.Any, _Hooks]] = []
        self._engines: list[t.Any] = []
        self._stop_drivers: Callable[[], None] | None = None

    def start(self) -> None:
        """Apply it to every engine.

        :raises AppShellUsageError: a database is neither SQLite nor PostgreSQL (nothing is
            applied then).
        """
        unsupported = [db for db in self.databases if db.dialect not in _DIALECTS]
        if unsupported:
            named = ", ".join(f"{db.name} ({db.dialect})" for db in unsupported)
            raise AppShellUsageError(
                f"--read-only is not supported for the database {named}: appshell can make"
                " only SQLite and PostgreSQL refuse writes; connect with a read-only"
                " database role instead."
            )
        seen: set[int] = set()
        for database in self.databases:
            if id(database.engine) in seen:
                continue
            seen.add(id(database.engine))
            hooks = _DIALECTS[database.dialect](database)
            for identifier, hook in hooks:
                # The dialect's execution hooks first of their kind: one that runs the
                # statement itself, as sql's does, ends the calls to the others.
                first = identifier in _EXECUTION_HOOKS
                event.listen(database.engine, identifier, hook, insert=first)
            self._listening.append((database.engine, hooks))
            self._engines.append(database.engine)
        from sqlalchemy.pool import Pool

        event.listen(Pool, "checkout", self._refuse_outside)
        self._listening.append((Pool, (("checkout", self._refuse_outside),)))
        # A pool's connect is an engine's, guarded above; any other driver connect is not.
        self._stop_drivers = guard_driver_connects(
            "appshell's read-only session",
            "it would not be read-only",
            ReadOnlyError,
            ("sqlalchemy.pool.",),
        )

    def _refuse_outside(self, dbapi_connection: t.Any, record: t.Any, proxy: t.Any) -> None:
        """A pool's ``checkout`` listener: a connection of a pool that is no guarded engine's
        is refused. (An engine's pool is read at each checkout: ``dispose()`` replaces it.)"""
        # The fairy's pool has no public name; were it renamed, every connection would be
        # refused, loudly, rather than one let through unguarded.
        pool = getattr(proxy, "_pool", None)
        if any(engine.pool is pool for engine in self._engines):
            return
        found = ", ".join(db.name for db in self.databases)
        raise ReadOnlyError(
            "appshell's read-only session refused a database connection from an engine it does"
            " not guard (one created after the session started, or not one of the app's"
            f" databases: {found}); use the app's own engines in a read-only session."
        )

    def end(self) -> None:
        """Stop applying it (connections handed out after this are writable again)."""
        self._engines = []
        asyncpg_read_only.uninstall()
        if self._stop_drivers is not None:
            self._stop_drivers()
            self._stop_drivers = None
        while self._listening:
            engine, hooks = self._listening.pop()
            for identifier, hook in hooks:
                if event.contains(engine, identifier, hook):
                    event.remove(engine, identifier, hook)


def _give_back(dbapi_connection: t.Any, record: t.Any, undo: Callable[[], None]) -> None:
    """Undo read-only on a connection going back to the pool; one that cannot be undone
    (broken, closed by the server) is discarded rather than pooled read-only."""
    if dbapi_connection is None:  # invalidated already
        return
    try:
        undo()
    except Exception as e:
        record.invalidate(e)


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite_hooks(database: Database) -> _Hooks:
    dialect = database.engine.dialect

    def handed_out(dbapi_connection: t.Any, record: t.Any, proxy: t.Any) -> None:
        execute(dbapi_connection, "PRAGMA query_only = ON")
        authorize = getattr(dbapi_connection, "set_authorizer", None)
        if authorize is not None:
            authorize(_sqlite_authorizer)
        elif database.is_async:  # aiosqlite: set in its own thread
            set_aiosqlite_authorizer(dialect, dbapi_connection, _sqlite_authorizer)
        record.info[_ARMED] = True

    def arm_unseen(cursor: t.Any, *args: t.Any) -> None:
        # do_execute, do_executemany: (cursor, statement, parameters, context); the
        # connection of a statement that has no context is one the pool handed out.
        context = args[-1]
        if context is not None:
            pooled = context.root_connection.connection
            if not pooled.info.get(_ARMED):
                handed_out(pooled.dbapi_connection, pooled, None)

    def arm_unseen_no_params(cursor: t.Any, statement: str, context: t.Any) -> None:
        arm_unseen(cursor, context)

    def returned(dbapi_connection: t.Any, record: t.Any) -> None:
        record.info.pop(_ARMED, None)

        def undo() -> None:
            authorize = getattr(dbapi_connection, "set_authorizer", None)
            if authorize is not None:
                authorize(None)
            elif database.is_async:
                set_aiosqlite_authorizer(dialect, dbapi_connection, None)
            execute(dbapi_connection, "PRAGMA query_only = OFF")

        _give_back(dbapi_connection, record, undo)

    def begun(conn: t.Any) -> None:
        execute(conn.connection.dbapi_connection, "PRAGMA query_only = ON")

    def failed(context: t.Any) -> None:
        # SQLite says only "not authorized" when the authorizer forbade a statement.
        if str(context.original_exception) == "not authorized" and _switches_off(
            context.statement or ""
        ):
            raise _refusal(context.statement or "", "it would switch query_only off") from None

    def before_statement(conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        _check_statement(statement)

    hooks: _Hooks = (("checkout", handed_out), ("checkin", returned), ("handle_error", failed))
    if not database.is_async:
        return (
            *hooks,
            ("do_execute", arm_unseen),
            ("do_executemany", arm_unseen),
            ("do_execute_no_params", arm_unseen_no_params),
        )
    # aiosqlite: query_only is set again at each transaction's start, and its statements'
    # text is judged besides the authorizer, for a refusal in appshell's words.
    return (*hooks, ("begin", begun), ("before_cursor_execute", before_statement))


#: The key of a pooled connection's ``info`` that says read-only is set on it.
_ARMED = "appshell_read_only"
#: The dialect's hooks around each statement (see :meth:`ReadOnly.start`).
_EXECUTION_HOOKS = frozenset({"do_execute", "do_executemany", "do_execute_no_params"})

_SQLITE_PRAGMA = 19  # sqlite3.SQLITE_PRAGMA, without importing sqlite3 for aiosqlite's sake


def _sqlite_authorizer(action: int, name: str | None, value: str | None, *_: t.Any) -> int:
    """SQLite's question for each part of a statement being prepared: 1 (SQLITE_DENY) for a
    ``PRAGMA query_only`` that would switch it off, else 0 (SQLITE_OK)."""
    if action != _SQLITE_PRAGMA or name is None or name.lower() != "query_only":
        return 0
    turned_on = value is None or value.strip("'\" ").lower() in ("1", "on", "true", "yes")
    return 0 if turned_on else 1


def _switches_off(statement: str) -> bool:
    judged = judge(statement)
    return judged is not None and any(kind is not None for kind, _ in judged)


def _refusal(statement: str, why: str) -> ReadOnlyError:
    judged = judge(statement) or []
    words = next((w for kind, w in judged if kind is not None), statement.strip()[:40])
    return ReadOnlyError(f"appshell's read-only session refused {words!r} before it ran: {why}.")


# The words a BEGIN may carry that set no read-write mode (SQLite's locking modes included).
_PLAIN_BEGIN = frozenset({"TRANSACTION", "WORK", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


def _check_statement(statement: str) -> None:
    """Refuse a statement that would switch read-only off (see the module docstring)."""
    judged = judge(statement)
    if judged is None:
        return
    for kind, words in judged:
        if kind is None:
            continue
        if kind in ("settings", "two-phase"):
            raise _refusal(statement, "it would change the transaction's read-only setting")
        if len(judged) > 1:
            raise ReadOnlyError(
                "appshell's read-only session refused a statement list that ends or begins a"
                f" transaction ({words}): the transaction after it would not be read-only;"
                " run such a statement alone."
            )
        if kind == "begin" and not set(words.split()[1:]) <= _PLAIN_BEGIN:
            raise _refusal(statement, "a transaction is begun read-only, by appshell")


# -- PostgreSQL ------------------------------------------------------------------------------


_SESSION_READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"


def _postgresql_hooks(database: Database) -> _Hooks:
    dialect = database.engine.dialect
    asyncpg = dialect.driver == "asyncpg"  # no read-only mode: its statements are checked
    if asyncpg:
        asyncpg_read_only.install()

    def handed_out(dbapi_connection: t.Any, record: t.Any, proxy: t.Any) -> None:
        _set_session_default(dbapi_connection, _SESSION_READ_ONLY)
        _driver_read_only(dialect, dbapi_connection, True)
        if asyncpg:
            asyncpg_read_only.arm(dialect.get_driver_connection(dbapi_connection))

    def returned(dbapi_connection: t.Any, record: t.Any) -> None:
        if asyncpg and dbapi_connection is not None:
            asyncpg_read_only.disarm(dialect.get_driver_connection(dbapi_connection))

        def undo() -> None:
            _set_session_default(dbapi_connection, "RESET default_transaction_read_only")
            _driver_read_only(dialect, dbapi_connection, False)

        _give_back(dbapi_connection, record, undo)

    def begun(conn: t.Any) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        if not getattr(dbapi_connection, "autocommit", False):
            _make_transaction_read_only(dbapi_connection)

    def before_statement(
        conn: t.Any, cursor: t.Any, statement: str, parameters: t.Any, context: t.Any, many: bool
    ) -> None:
        _check_statement(statement)
        dbapi_connection = conn.connection.dbapi_connection
        if getattr(dbapi_connection, "autocommit", False):
            # Each statement its own transaction, under the session default: is it still on?
            if execute(dbapi_connection, "SHOW default_transaction_read_only") != [("on",)]:
                execute(dbapi_connection, _SESSION_READ_ONLY)
                raise ReadOnlyError(
                    "appshell's read-only session refused a statement: the connection's"
                    " default_transaction_read_only had been switched off by an earlier one"
                    " (appshell switched it on again)."
                )
            return
        if _idle(dbapi_connection):
            _make_transaction_read_only(dbapi_connection)

    return (
        ("checkout", handed_out),
        ("checkin", returned),
        ("begin", begun),
        ("before_cursor_execute", before_statement),
    )


def _driver_read_only(dialect: t.Any, dbapi_connection: t.Any, on: bool) -> None:
    """Switch the driver's own read-only mode (psycopg's ``read_only``, psycopg2's
    ``readonly``): the driver then begins every transaction it begins ``BEGIN READ ONLY``,
    also on its own connection, where SQL runs unseen by SQLAlchemy's events and may switch
    the session default off. Set once per checkout, it costs a statement nothing."""
    with contextlib.suppress(NotImplementedError):  # none: the session default only
        dialect.set_readonly(dbapi_connection, on)


def _make_transaction_read_only(dbapi_connection: t.Any) -> None:
    """Open the transaction read-only and fix it so: until its first query, a later
    ``BEGIN READ WRITE`` or ``SET TRANSACTION READ WRITE`` would switch it back (PostgreSQL
    only warns of the nested BEGIN); after one, either is an error."""
    execute(dbapi_connection, "SET TRANSACTION READ ONLY", "SELECT 1")


def _set_session_default(dbapi_connection: t.Any, statement: str) -> None:
    """Run a session-level SET and end the transaction the driver opened for it, so that
    the connection is handed on idle, as the pool gave it."""
    execute(dbapi_connection, statement)
    if not getattr(dbapi_connection, "autocommit", False):
        dbapi_connection.commit()


def _idle(dbapi_connection: t.Any) -> bool:
    """Whether the server has no transaction open on this connection, by the driver's own
    report (psycopg and psycopg2 give it; for other drivers the ``begin`` event suffices)."""
    info = getattr(dbapi_connection, "info", None)
    status = getattr(info, "transaction_status", None)
    return status is not None and int(status) == 0  # libpq's PQTRANS_IDLE


_DIALECTS: dict[str, Callable[[Database], _Hooks]] = {
    "sqlite": _sqlite_hooks,
    "postgresql": _postgresql_hooks,
}
