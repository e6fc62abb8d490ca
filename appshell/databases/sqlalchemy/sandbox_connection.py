"""The stand-in DBAPI connections a sandbox's pool hands out, and what they let through.

A :class:`SandboxConnection` is what the app's engine believes is a DBAPI connection. It
shares its database's one real connection, opens a savepoint before its first statement,
and turns the ``commit()`` / ``rollback()`` SQLAlchemy calls on it into releasing or rolling
back that savepoint. Statements that would end or change the real connection's outer
transaction, as :func:`appshell.databases.statements.judge` reads them (``COMMIT``, ``END``,
``BEGIN``, ``ROLLBACK`` typed as SQL become savepoints; a statement list holding one,
``SET TRANSACTION``, ``SET SESSION CHARACTERISTICS`` and the like, two-phase commits, DDL on
MySQL, which commits implicitly, are refused) never reach the server.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ..dbapi import SandboxEnded, SandboxError
from ..statements import SAVEPOINT_SQL, judge, statement_words

__all__ = [
    "OuterTransaction",
    "SandboxConnection",
    "SandboxEnded",
    "SandboxError",
    "hide_own_frames",
]


def hide_own_frames(context: t.Any) -> None:
    """A ``handle_error`` listener: the stand-in cursor's frames leave the traceback of the
    database's error (a constraint violation is the user's, shown from their line to the
    driver, with nothing of the sandbox between)."""
    entry = getattr(context.original_exception, "__traceback__", None)
    while entry is not None and entry.tb_next is not None:
        following = entry.tb_next
        if following.tb_frame.f_code.co_filename == __file__:
            entry.tb_next = following.tb_next
        else:
            entry = following


@dataclass(eq=False)
class Savepoint:
    name: str
    owner: SandboxConnection
    done: bool = False


class Savepoints:
    """The savepoints the stand-ins of one real connection have open, oldest first."""

    def __init__(self, run: t.Callable[[str], None]) -> None:
        self._run = run
        self._open: list[Savepoint] = []
        self._made = 0

    def begin(self, conn: SandboxConnection) -> None:
        if conn.savepoint is None:
            self._made += 1
            point = Savepoint(f"appshell_sandbox_{self._made}", conn)
            self._run(f"SAVEPOINT {point.name}")
            self._open.append(point)
            conn.savepoint = point

    def commit(self, conn: SandboxConnection) -> None:
        point, conn.savepoint = conn.savepoint, None
        if point is None or point not in self._open:
            return
        point.done = True
        # A savepoint under another stand-in's open one is released once that one is.
        while self._open and self._open[-1].done:
            self._run(f"RELEASE SAVEPOINT {self._open.pop().name}")

    def rollback(self, conn: SandboxConnection) -> None:
        point, conn.savepoint = conn.savepoint, None
        if point is None or point not in self._open:
            return
        index = self._open.index(point)
        self._run(f"ROLLBACK TO SAVEPOINT {point.name}")
        self._run(f"RELEASE SAVEPOINT {point.name}")
        for later in self._open[index:]:  # rolled back with it: their stand-ins start afresh
            if later.owner.savepoint is later:
                later.owner.savepoint = None
        del self._open[index:]


class OuterTransaction(t.Protocol):
    """What a stand-in needs of the one real connection it shares and its outer transaction.

    The sandbox (:mod:`appshell.databases.sqlalchemy.sandbox`) keeps that connection and
    hands the stand-ins out; the stand-ins see it through this protocol only.
    """

    #: The driver's real connection (None once the sandbox has let it go).
    real: t.Any
    #: SQLAlchemy's name of the dialect, for messages.
    dialect_name: str
    #: Whether the database commits by itself before DDL (MySQL, MariaDB).
    implicit_commits: bool
    #: The driver's transaction settings as they were before the sandbox began.
    saved_attrs: dict[str, t.Any]
    savepoints: Savepoints
    #: How many of the user's statements ran.
    statements: int
    #: Why the outer transaction ended before its time, or None while it is open.
    ended: str | None
    #: Whether the session is over (a late stand-in is refused).
    finished: bool
    #: Whether the real connection is inside a transaction, as its driver says.
    in_transaction: t.Callable[[], bool | None]

    def check(self) -> None:
        """Raise SandboxEnded when the sandbox is over or its transaction ended."""

    def leave(self) -> None:
        """A stand-in is done with the real connection: another thread may take its turn."""

    def verify(self, error: BaseException | None) -> None:
        """After a statement: raise when the outer transaction is no longer open."""


# Statements after which MySQL and MariaDB commit by themselves, whatever transaction is open.
_IMPLICIT_COMMIT = {
    "ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE", "GRANT", "REVOKE", "LOCK", "UNLOCK",
    "INSTALL", "UNINSTALL", "ANALYZE", "OPTIMIZE", "REPAIR", "FLUSH", "CACHE", "RESET", "LOAD",
}  # fmt: skip


def in_transaction(real: t.Any) -> bool | None:
    """Whether the driver says ``real`` is inside a transaction (None: it cannot say)."""
    return transaction_probe(real)()


def transaction_probe(real: t.Any) -> t.Callable[[], bool | None]:
    """What asks the driver whether ``real`` is inside a transaction (None: it cannot say),
    worked out once per connection: the sandbox asks after every statement."""
    driver = getattr(real, "driver_connection", real)
    if isinstance(getattr(driver, "in_transaction", None), bool):  # sqlite3, aiosqlite
        return lambda: driver.in_transaction
    info = getattr(driver, "info", None)  # psycopg 3
    if info is not None and getattr(info, "transaction_status", None) is not None:
        return lambda: (
            info.transaction_status.name in ("ACTIVE", "INTRANS", "INERROR") and not driver.closed
        )
    is_in = getattr(driver, "is_in_transaction", None)  # asyncpg
    if callable(is_in):
        return lambda: bool(is_in())
    return lambda: None


class SandboxConnection:
    """One checkout's view of the database's real connection (see the module docstring)."""

    def __init__(self, outer: OuterTransaction) -> None:
        self._outer = outer
        self.savepoint: Savepoint | None = None
        self._closed = False

    def cursor(self, *args: t.Any, **kwargs: t.Any) -> SandboxCursor:
        outer = self._outer  # made for every statement: the common case in a few steps
        if self._closed or outer.finished or outer.ended is not None:
            self._usable()
        return SandboxCursor(self, self._outer.real.cursor(*args, **kwargs))

    def commit(self) -> None:
        if not self._closed and self._outer.ended is None and not self._outer.finished:
            self._outer.savepoints.commit(self)

    def rollback(self) -> None:
        if self._closed or self._outer.finished:
            return
        if self._outer.ended is None and in_transaction(self._outer.real) is False:
            # The server ended the transaction (a COMMIT refused by the sandbox's trigger,
            # a timeout): there is nothing left to roll back, and the sandbox is over.
            self._outer.ended = "its transaction was ended"
        if self._outer.ended is None:
            self._outer.savepoints.rollback(self)

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.rollback()
        finally:
            self._closed = True
            self._outer.leave()

    # An asyncio driver's terminate() would close the real connection under every checkout.
    terminate = close

    def executescript(self, *args: t.Any) -> t.NoReturn:
        raise SandboxError(
            "appshell's sandbox refused executescript(): sqlite3 commits the open transaction "
            "before it runs a script; run its statements one by one with execute()."
        )

    def execute(self, *args: t.Any, **kwargs: t.Any) -> SandboxCursor:
        return self.cursor().execute(*args, **kwargs)

    def executemany(self, *args: t.Any, **kwargs: t.Any) -> SandboxCursor:
        return self.cursor().executemany(*args, **kwargs)

    # -- the driver's transaction switches, which stay the sandbox's ---------------------
    @property
    def autocommit(self) -> t.Any:
        return self._outer.saved_attrs.get("autocommit", False)

    @autocommit.setter
    def autocommit(self, value: t.Any) -> None:
        if value is True:
            self._refuse_autocommit()

    @property
    def isolation_level(self) -> t.Any:
        return self._outer.saved_attrs.get("isolation_level", "")

    @isolation_level.setter
    def isolation_level(self, value: t.Any) -> None:
        if value is None:
            self._refuse_autocommit()

    def _refuse_autocommit(self) -> t.NoReturn:
        raise SandboxError(
            "appshell's sandbox refused AUTOCOMMIT on a connection: every statement would "
            "commit by itself, outside the sandbox."
        )

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._outer.real, name)

    def _usable(self) -> None:
        self._outer.check()
        if self._closed:
            raise SandboxError("this sandbox connection has been closed")

    # -- one statement --------------------------------------------------------------------
    def _run(self, cursor: t.Any, method: str, statement: str, args: t.Any, kwargs: t.Any) -> bool:
        """Run one statement; False when it was a transaction switch handled here instead."""
        # Run for every statement: the common case (an open sandbox, a statement that
        # switches nothing, a savepoint begun) is kept to a few steps.
        outer = self._outer
        if self._closed or outer.finished or outer.ended is not None:
            self._usable()
        if isinstance(statement, str):
            judged = judge(statement)
            if judged is not None or outer.implicit_commits:
                switch = self._switch(judged or [], statement)
                if switch is not None:
                    switch()
                    return False
        try:
            if self.savepoint is None:
                outer.savepoints.begin(self)
            getattr(cursor, method)(statement, *args, **kwargs)
        except BaseException as error:
            outer.verify(error)
            raise
        if not (isinstance(statement, str) and statement.startswith(SAVEPOINT_SQL)):
            outer.statements += 1  # the user's statements, not the ORM's savepoints
        if outer.in_transaction() is False:
            outer.verify(None)
        return True

    def _switch(
        self, judged: list[tuple[str | None, str]], statement: str
    ) -> t.Callable[[], None] | None:
        """What to do instead of running ``statement``, judged so: None to run it."""
        if self._outer.implicit_commits:
            for first, *rest in statement_words(statement):
                if first in _IMPLICIT_COMMIT and rest[:1] != ["TEMPORARY"]:
                    what = " ".join([first, *rest[:1]])
                    raise SandboxError(
                        f"appshell's sandbox refused {what!r} before it ran:"
                        f" {self._outer.dialect_name} commits the open transaction before {what}."
                    )
        acting = [(kind, words) for kind, words in judged if kind is not None]
        if not acting:
            return None
        kind, words = acting[0]
        if len(judged) > 1:
            raise SandboxError(
                "appshell's sandbox refused a statement list that begins, ends or changes a"
                f" transaction ({words}): run such a statement alone."
            )
        if kind == "begin":
            return lambda: self._outer.savepoints.begin(self)
        if kind == "commit":
            return self.commit
        if kind == "rollback":
            return self.rollback
        if kind == "settings":
            reason = "it would change the sandbox's transaction or the connection's later ones"
        else:
            reason = f"{words} would act outside the sandbox's transaction"
        raise SandboxError(f"appshell's sandbox refused {words!r} before it ran: {reason}.")


class SandboxCursor:
    """A driver cursor whose statements go through the sandbox's checks."""

    def __init__(self, connection: SandboxConnection, cursor: t.Any) -> None:
        self._connection = connection
        self._cursor = cursor

    @property
    def connection(self) -> SandboxConnection:
        return self._connection

    def execute(self, statement: str, *args: t.Any, **kwargs: t.Any) -> SandboxCursor:
        self._connection._run(self._cursor, "execute", statement, args, kwargs)
        return self

    def executemany(self, statement: str, *args: t.Any, **kwargs: t.Any) -> SandboxCursor:
        self._connection._run(self._cursor, "executemany", statement, args, kwargs)
        return self

    def executescript(self, *args: t.Any) -> t.NoReturn:
        self._connection.executescript()

    def __iter__(self) -> t.Iterator[t.Any]:
        return iter(self._cursor)

    # What SQLAlchemy reads of every statement's cursor, passed on directly: a look-up that
    # falls through to __getattr__ first fails (an AttributeError made and caught) and
    # costs several times as much.
    @property
    def description(self) -> t.Any:
        return self._cursor.description

    @property
    def rowcount(self) -> t.Any:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> t.Any:
        return self._cursor.lastrowid

    def fetchone(self) -> t.Any:
        return self._cursor.fetchone()

    def fetchmany(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        return self._cursor.fetchmany(*args, **kwargs)

    def fetchall(self) -> t.Any:
        return self._cursor.fetchall()

    def close(self) -> None:
        self._cursor.close()

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._cursor, name)
