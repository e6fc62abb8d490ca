"""``--read-only`` for SQLAlchemy: each database refuses writes in its own terms.

This guards against mistakes; it is no security boundary (a read-only database role is).

- PostgreSQL: ``SET TRANSACTION READ ONLY`` as each transaction's first statement, because
  a session-level default is undone by ``SET SESSION CHARACTERISTICS``, overridden by
  ``BEGIN READ WRITE`` and reset by a pooler's ``DISCARD ALL``. Each transaction is caught
  twice: when SQLAlchemy begins it (the engine's ``begin`` event), and when the driver
  begins one by itself before a statement (psycopg after a ``COMMIT`` sent as SQL), seen by
  the driver's transaction status. A session default is set too, for what SQLAlchemy's
  connection never sees: ``engine.raw_connection()`` and ``AUTOCOMMIT``.
- SQLite: ``PRAGMA query_only = ON``, set again at each transaction's start.

Both are applied to a connection when the pool hands it out (the pool's ``checkout`` event:
new connections, ones already pooled, raw ones) and taken back when it is returned, so that
the pool holds no read-only connection once :meth:`ReadOnly.end` ran.
"""

from __future__ import annotations

import typing as t

from sqlalchemy import event

from ...exceptions import AppShellUsageError
from ..dbapi import execute

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .. import Database

__all__ = ["ReadOnly"]

_Hooks = tuple[tuple[str, "Callable[..., None]"], ...]


class ReadOnly:
    """Makes every database of a session refuse writes, from :meth:`start` to :meth:`end`.

    :param databases: the session's databases (each a SQLite or PostgreSQL engine).
    """

    def __init__(self, databases: Sequence[Database]) -> None:
        self.databases = list(databases)
        self._listening: list[tuple[t.Any, _Hooks]] = []

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
            hooks = _DIALECTS[database.dialect]()
            for identifier, hook in hooks:
                event.listen(database.engine, identifier, hook)
            self._listening.append((database.engine, hooks))

    def end(self) -> None:
        """Stop applying it (connections handed out after this are writable again)."""
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


def _sqlite_hooks() -> _Hooks:
    def handed_out(dbapi_connection: t.Any, record: t.Any, proxy: t.Any) -> None:
        execute(dbapi_connection, "PRAGMA query_only = ON")

    def returned(dbapi_connection: t.Any, record: t.Any) -> None:
        _give_back(
            dbapi_connection, record, lambda: execute(dbapi_connection, "PRAGMA query_only = OFF")
        )

    def begun(conn: t.Any) -> None:
        execute(conn.connection.dbapi_connection, "PRAGMA query_only = ON")

    return (("checkout", handed_out), ("checkin", returned), ("begin", begun))


# -- PostgreSQL ------------------------------------------------------------------------------


_SESSION_READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"


def _postgresql_hooks() -> _Hooks:
    def handed_out(dbapi_connection: t.Any, record: t.Any, proxy: t.Any) -> None:
        _set_session_default(dbapi_connection, _SESSION_READ_ONLY)

    def returned(dbapi_connection: t.Any, record: t.Any) -> None:
        _give_back(
            dbapi_connection,
            record,
            lambda: _set_session_default(dbapi_connection, "RESET default_transaction_read_only"),
        )

    def begun(conn: t.Any) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        if not getattr(dbapi_connection, "autocommit", False):
            _make_transaction_read_only(dbapi_connection)

    def before_statement(
        conn: t.Any, cursor: t.Any, statement: str, parameters: t.Any, context: t.Any, many: bool
    ) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        if getattr(dbapi_connection, "autocommit", False):
            return  # each statement its own transaction, under the session default
        if _idle(dbapi_connection):
            _make_transaction_read_only(dbapi_connection)

    return (
        ("checkout", handed_out),
        ("checkin", returned),
        ("begin", begun),
        ("before_cursor_execute", before_statement),
    )


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


_DIALECTS: dict[str, Callable[[], _Hooks]] = {
    "sqlite": _sqlite_hooks,
    "postgresql": _postgresql_hooks,
}
