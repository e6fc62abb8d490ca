"""``--sandbox`` for SQLAlchemy: every change the session makes is rolled back at its end.

The guarantee is kept below the ORM, where every road meets: each sandboxed engine's pool is
replaced, for the session, by one that hands out stand-ins for a single real DBAPI
connection per database. That real connection runs one outer transaction, begun here in the
driver's autocommit mode so that no driver (pysqlite's legacy handling above all) starts or
ends transactions behind our back. Each stand-in turns the app's ``commit()`` and
``rollback()`` into ``RELEASE`` / ``ROLLBACK TO`` of a savepoint of its own, and statements
that would end the outer transaction are translated or refused before they reach the server.
Sessions, ``engine.connect()``, ``engine.raw_connection()``, Flask-SQLAlchemy's binds and
async sessions all check out from the engine's pool, so all of them land inside.

What the app hangs on a session's commit (``after_commit`` handlers) is held back, since
nothing commits (:mod:`.aftercommit`); the end line counts it.

On aiosqlite, whose own connection is reachable round the stand-ins (``driver_connection``)
and where SQLite has no trigger to fail a ``COMMIT``, an authorizer set in aiosqlite's thread
denies any ``BEGIN``, ``COMMIT`` or ``ROLLBACK`` the sandbox did not send itself.

A connection from any other pool during the session (an engine made after the sandbox
started, or one appshell was not given) is refused, and so is ``AUTOCOMMIT`` isolation; so is a
connection made with a driver's own ``connect()`` (:mod:`appshell.databases.drivers`).
"""

from __future__ import annotations

import contextlib
import threading
import typing as t

from ...exceptions import AppShellUsageError
from ..commitguard import arm_commit_guard
from ..dbapi import SandboxEnded, SandboxError, check_not_over
from ..drivers import guard_driver_connects
from . import sandbox_connection as sandbox_sql
from .aftercommit import HeldAfterCommit
from .aiosqlite_thread import set_aiosqlite_authorizer

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Engine
    from sqlalchemy.engine.interfaces import IsolationLevel
    from sqlalchemy.pool import Pool

    from ..database import Database

__all__ = ["Sandbox", "SandboxEnded", "SandboxError"]


class _Outer:
    """The one real connection of a database, its outer transaction, and whose turn it is."""

    def __init__(self, names: list[str], engine: Engine, is_async: bool, wait: float) -> None:
        self.names = names
        self.engine = engine
        self.dialect_name: str = engine.dialect.name
        #: Whether the database commits by itself before DDL (MySQL, MariaDB).
        self.implicit_commits = self.dialect_name in ("mysql", "mariadb")
        self.is_async = is_async
        self.wait = wait
        self.old_pool: Pool = engine.pool
        #: Every engine on this database, each with the pool it had: the first one's opens
        #: the real connection; all of them hand out stand-ins for it.
        self.engines: list[tuple[Engine, Pool]] = [(engine, engine.pool)]
        self.fairy: t.Any = None
        self.real: t.Any = None
        self.saved_attrs: dict[str, t.Any] = {}
        self.saved_level: str | None = None
        #: Whether the real connection is inside a transaction, as its driver says (None:
        #: it cannot say); see appshell.databases.sqlalchemy.sandbox_connection.
        self.in_transaction: t.Callable[[], bool | None] = _cannot_say
        self.turn = threading.Condition(threading.RLock())
        self.owner: int | None = None
        self.depth = 0
        self.savepoints = sandbox_sql.Savepoints(self.run)
        self.statements = 0
        self.sequences: dict[str, int | None] = {}
        self.ended: str | None = None
        self.finished = False  # close() ran: the session is over
        #: The event loop an asyncio driver's real connection belongs to (asyncpg's can be
        #: used on that loop only).
        self.loop: t.Any = None
        #: The sequences that advanced, once close() ran.
        self.advanced: list[str] = []

    @property
    def label(self) -> str:
        return ", ".join(repr(n) for n in self.names)

    # -- the real connection ------------------------------------------------------------
    def open(self) -> None:
        """Check the real connection out of the app's pool and begin the outer transaction."""
        _OPENING.active = True
        try:
            self.fairy = self.old_pool.connect()
        finally:
            _OPENING.active = False
        self.real = self.fairy.dbapi_connection
        self.in_transaction = sandbox_sql.transaction_probe(self.real)
        if self.is_async:
            import asyncio

            with contextlib.suppress(RuntimeError):  # opened in a greenlet, on a loop
                self.loop = asyncio.get_running_loop()
        for attr in ("isolation_level", "autocommit"):
            if attr in _SAVED_ATTRS.get(self.dialect_name, ()):
                self.saved_attrs[attr] = getattr(self.real, attr)
        self.saved_level = self.engine.dialect.get_isolation_level(self.real)
        if self.saved_level == "AUTOCOMMIT" or self.driver_autocommits():
            self.fairy.close()
            self.fairy = self.real = None
            self.in_transaction = _cannot_say
            raise SandboxError(_autocommit_engine(self.label))
        if sandbox_sql.in_transaction(self.real) is not False:
            self.real.rollback()
        # In driver autocommit, the only transaction is the one this BEGIN starts. The
        # dialect's class method: the instance's refuses AUTOCOMMIT (Sandbox._guard_isolation).
        dialect = self.engine.dialect
        type(dialect).set_isolation_level(dialect, self.real, "AUTOCOMMIT")
        if self.dialect_name == "postgresql":
            self.sequences = self.read_sequences()
        self.run("BEGIN")
        if self.dialect_name == "postgresql":
            self.forbid_commit()
        elif self.is_async and self.dialect_name == "sqlite":
            self.authorize_aiosqlite(_deny_transaction_control)

    def forbid_commit(self) -> None:
        """Make any COMMIT of the outer transaction fail, on PostgreSQL
        (:mod:`appshell.databases.commitguard`): it catches a COMMIT no text check saw (sent
        on the driver's own connection, run by a function), and makes it a rollback."""
        arm_commit_guard(self.real, _REFUSED_COMMIT)

    def authorize_aiosqlite(self, authorizer: t.Callable[..., int] | None) -> None:
        """Set (or, with None, remove) SQLite's authorizer on aiosqlite's own connection,
        which is reachable round the stand-ins (``driver_connection``)."""
        set_aiosqlite_authorizer(self.engine.dialect, self.real, authorizer)

    def driver_autocommits(self) -> bool:
        # On SQLite, driver autocommit is also SQLAlchemy's documented pysqlite workaround
        # (BEGIN emitted by the app): the sandbox keeps both inside, so it need not refuse.
        if self.dialect_name == "sqlite":
            return False
        detect = getattr(self.engine.dialect, "detect_autocommit_setting", None)
        if detect is not None:
            return bool(detect(self.real))
        return getattr(self.real, "autocommit", False) is True

    def run(self, sql: str) -> None:
        cursor = self.real.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def read_sequences(self) -> dict[str, int | None]:
        cursor = self.real.cursor()
        try:
            cursor.execute("SELECT schemaname, sequencename, last_value FROM pg_sequences")
            return {f"{s}.{n}": v for s, n, v in cursor.fetchall()}
        finally:
            cursor.close()

    def close(self) -> list[str]:
        """Roll the outer transaction back and give the real connection back to its pool;
        return the sequences that advanced meanwhile (PostgreSQL does not roll them back)."""
        if self.fairy is None:
            return []
        advanced: list[str] = []
        try:
            if self.ended is None:
                if self.is_async and self.dialect_name == "sqlite":
                    self.authorize_aiosqlite(None)
                self.run("ROLLBACK")
                if self.dialect_name == "postgresql":
                    after = self.read_sequences()
                    advanced = [n for n, v in after.items() if v != self.sequences.get(n, v)]
                if self.saved_level is not None:
                    level = t.cast("IsolationLevel", self.saved_level)
                    dialect = self.engine.dialect
                    type(dialect).set_isolation_level(dialect, self.real, level)
                for attr, value in self.saved_attrs.items():
                    setattr(self.real, attr, value)
                self.fairy.close()
            else:
                self.fairy.invalidate()
        finally:
            self.fairy = self.real = None
            self.in_transaction = _cannot_say
            # A stand-in that outlives the session (a Session the app's teardown never
            # closed) is refused from now on; its rollback and close do nothing.
            self.finished = True
        self.advanced = sorted(advanced)
        return self.advanced

    def abandon(self) -> None:
        """Drop the real connection without a statement (the server rolls back a
        transaction whose connection is gone): for an asyncio driver whose loop is running
        this very thread, which cannot wait here for its rollback."""
        try:
            if self.fairy is not None:
                self.fairy.invalidate()
        finally:
            self.fairy = self.real = None
            self.in_transaction = _cannot_say
            self.finished = True

    # -- turns: one thread at a time ------------------------------------------------------
    def enter(self) -> None:
        me = threading.get_ident()
        with self.turn:
            if self.owner not in (None, me):
                waiter = threading.current_thread().name
                if not self.turn.wait_for(lambda: self.owner is None, timeout=self.wait):
                    raise SandboxError(
                        f"appshell's sandbox refused a connection to database {self.label} in "
                        f"thread {waiter!r}: the sandbox's one connection has been in use by "
                        f"another thread for {self.wait:g} s (a session there has not "
                        "committed, rolled back or closed); connections take turns in a sandbox."
                    )
            self.check()
            if self.fairy is None:
                self.open()
            self.owner = me
            self.depth += 1

    def leave(self) -> None:
        with self.turn:
            self.depth -= 1
            if self.depth <= 0:
                self.depth = 0
                self.owner = None
                self.turn.notify_all()

    def check(self) -> None:
        check_not_over(self.label, finished=self.finished, ended=self.ended)

    def verify(self, error: BaseException | None) -> None:
        """After a statement: is the outer transaction still open on the server?"""
        if self.in_transaction() is False:
            how = "the server closed the connection" if error else "its transaction was ended"
            self.ended = f"{how} ({error})" if error else how
            self.check()


#: What the commit guard of :meth:`_Outer.forbid_commit` says.
_REFUSED_COMMIT = (
    "appshell's sandbox refused a COMMIT that reached the database round it (or a SET"
    " CONSTRAINTS ALL IMMEDIATE, which checks its guard early): nothing was committed"
)

_SQLITE_TRANSACTION, _SQLITE_DENY = 22, 1  # sqlite3's constants, without importing it


def _deny_transaction_control(action: int, *_: t.Any) -> int:
    """SQLite's question for each part of a statement it prepares: a ``BEGIN``, ``COMMIT``
    or ``ROLLBACK`` is denied (savepoints, another action code, stay inside)."""
    return _SQLITE_DENY if action == _SQLITE_TRANSACTION else 0


#: Where SQLAlchemy's pools make connections: a driver's connect called from there is an
#: engine's, which the sandbox guards at the pool (see appshell.databases.drivers).
_POOLS_CONNECT = ("sqlalchemy.pool.",)

_SAVED_ATTRS = {"sqlite": ("isolation_level",), "postgresql": ("autocommit",)}


class _Opening(threading.local):
    active = False


_OPENING = _Opening()


class Sandbox:
    """One outer transaction per database for a whole shell session, rolled back by :meth:`end`.

    :param databases: the databases found for the app (``name``, ``url``, ``dialect``,
        ``engine`` a sync :class:`~sqlalchemy.engine.Engine`, ``is_async``).
    :param wait: seconds a thread waits for the connection another thread is using before
        its checkout is refused.
    """

    def __init__(self, databases: Sequence[Database], *, wait: float = 30.0) -> None:
        self.databases = list(databases)
        self.wait = wait
        self._outers: list[_Outer] = []
        self._listeners: list[tuple[t.Any, str, t.Callable[..., t.Any]]] = []
        #: What puts back the dialect methods the sandbox replaced (see _guard_isolation).
        self._restores: list[t.Callable[[], None]] = []
        self._started = False
        self._after_commit = HeldAfterCommit()
        self._stop_drivers: t.Callable[[], None] | None = None

    def start(self) -> None:
        """Take over every database's connections.

        :raises AppShellUsageError: no database, an engine appshell cannot wrap, ``AUTOCOMMIT``
            isolation, or a database that could not be reached; nothing is left half done.
        """
        if self._started:
            return
        if not self.databases:
            raise AppShellUsageError(
                "--sandbox: no database was found for this app, so there is nothing to sandbox."
            )
        try:
            self._outers = self._group()
            for outer in self._outers:
                if not outer.is_async:
                    self._open(outer)
            self._install()
            self._after_commit.start()
            self._stop_drivers = guard_driver_connects(
                "appshell's sandbox",
                "what it did would be committed for real",
                SandboxError,
                _POOLS_CONNECT,
            )
        except BaseException:
            self._after_commit.stop()
            self._uninstall()
            for outer in self._outers:
                outer.close()
            raise
        self._started = True

    def end_on_loop(self, loop: t.Any) -> None:
        """Roll back, on ``loop``, the outer transactions of the asyncio databases whose
        connections belong to it: called by the session just before its loop closes (an
        asyncpg connection can be closed on its own loop only). :meth:`end` does the rest."""
        for outer in self._outers:
            ours = outer.is_async and outer.fairy is not None and outer.loop is loop
            if ours and not loop.is_closed() and not loop.is_running():
                from sqlalchemy.util import greenlet_spawn

                loop.run_until_complete(greenlet_spawn(outer.close))

    def end(self) -> str:
        """Roll everything back, give the engines their pools again, and say what was undone."""
        if not self._started:
            return "Sandbox: not started, nothing to roll back"
        self._started = False
        self._after_commit.stop()
        if self._stop_drivers is not None:
            self._stop_drivers()
            self._stop_drivers = None
        self._uninstall()
        notes: list[str] = []
        for outer in self._outers:
            if outer.is_async and outer.fairy is not None:
                _close_async(outer)
            else:
                outer.close()
            if outer.advanced:
                notes.append(f"{outer.label}: {', '.join(outer.advanced)}")
        count = sum(o.statements for o in self._outers)
        names = sorted(
            (n for o in self._outers for n in o.names), key=lambda n: (n != "default", n)
        )
        line = (
            f"Sandbox: rolled back {count} statement{'' if count == 1 else 's'} on "
            f"{len(names)} database{'' if len(names) == 1 else 's'} ({', '.join(names)})"
        )
        if notes:
            line += "; PostgreSQL does not roll back sequences, these advanced: " + "; ".join(notes)
        if any(o.ended for o in self._outers):
            ended = ", ".join(o.label for o in self._outers if o.ended)
            line += f"; the sandbox on {ended} had already ended (nothing was committed)"
        held = self._after_commit.summary()
        if held:
            line += f"; {held}"
        return line

    # -- setting up -----------------------------------------------------------------------
    def _group(self) -> list[_Outer]:
        from sqlalchemy.engine import Engine

        outers: dict[object, _Outer] = {}
        for db in self.databases:
            engine = getattr(db.engine, "sync_engine", db.engine)
            if not isinstance(engine, Engine):
                raise AppShellUsageError(
                    f"--sandbox: the engine of database {db.name!r} ({type(db.engine).__name__})"
                    " is not a SQLAlchemy Engine, so appshell cannot sandbox it."
                )
            level = engine.get_execution_options().get("isolation_level") or getattr(
                engine.dialect, "isolation_level", None
            )
            if level == "AUTOCOMMIT":
                raise AppShellUsageError(f"--sandbox: {_autocommit_engine(repr(db.name))}")
            url = engine.url
            # Engines on one database share its connection, each handing out stand-ins for
            # it: two connections would lock each other out (SQLite's file lock, PostgreSQL's
            # row locks between two transactions of one thread), and each would miss what the
            # other wrote, which a real run, committing, would see.
            shared = url.database not in (None, "", ":memory:") and "mode=memory" not in str(url)
            key = (
                (url.render_as_string(hide_password=False), type(engine.dialect))
                if shared
                else engine
            )
            if key in outers:
                outers[key].names.append(db.name)
                if all(engine is not e for e, _ in outers[key].engines):
                    outers[key].engines.append((engine, engine.pool))
            else:
                outers[key] = _Outer([db.name], engine, db.is_async, self.wait)
        return list(outers.values())

    def _open(self, outer: _Outer) -> None:
        try:
            outer.open()
        except Exception as error:
            if isinstance(error, SandboxError):
                raise AppShellUsageError(f"--sandbox: {error}") from None
            raise AppShellUsageError(
                f"--sandbox: could not begin the sandbox's transaction on database "
                f"{outer.label}: {error}"
            ) from None

    def _install(self) -> None:
        from sqlalchemy.pool import NullPool, Pool

        def refuse_outside(dbapi_connection: t.Any, record: t.Any, proxy: t.Any) -> None:
            if _OPENING.active or isinstance(dbapi_connection, sandbox_sql.SandboxConnection):
                return
            found = ", ".join(n for o in self._outers for n in o.names)
            raise SandboxError(
                "appshell's sandbox refused a database connection from an engine it does not "
                "sandbox (one created after the sandbox started, or not one of the app's "
                f"databases: {found}); use the app's own engines inside a sandbox."
            )

        self._listen(Pool, "checkout", refuse_outside)
        for outer in self._outers:
            for engine, _ in outer.engines:
                self._guard_isolation(engine.dialect)
                # The dialect's execution hooks, first of their kind (insert): a hook that
                # runs the statement itself, as sql's does, ends the calls to the others.
                # Not the engine's cursor events, whose listeners cost every statement
                # SQLAlchemy's slower path (see appshell.databases.sqlalchemy.echo).
                for name in ("do_execute", "do_executemany"):
                    self._listen(engine, name, _refuse_earlier_cursor, insert=True)
                self._listen(engine, "do_execute_no_params", _refuse_earlier_cursor_no_params,
                             insert=True)  # fmt: skip
                self._listen(engine, "handle_error", sandbox_sql.hide_own_frames)
                creator = t.cast("t.Callable[[], t.Any]", _creator_for(outer))
                engine.pool = NullPool(creator, dialect=engine.dialect)

    def _listen(
        self, target: t.Any, name: str, fn: t.Callable[..., t.Any], insert: bool = False
    ) -> None:
        from sqlalchemy import event

        event.listen(target, name, fn, insert=insert)
        self._listeners.append((target, name, fn))

    def _guard_isolation(self, dialect: t.Any) -> None:
        """Refuse AUTOCOMMIT wherever SQLAlchemy sets an isolation level on ``dialect``'s
        connections: an engine's or a connection's execution options (refused when given)
        and the dialect's own switch (what both end in, for every driver).

        On the dialect object, not as the ``Engine`` class's execution-option events: any
        listener of an engine's connection events sends every statement down SQLAlchemy's
        slower path (about 25 k instructions a statement)."""
        if "set_isolation_level" in vars(dialect):
            return  # this dialect is already guarded (two engines, one dialect)
        originals = {
            name: getattr(dialect, name)
            for name in (
                "set_engine_execution_options",
                "set_connection_execution_options",
                "set_isolation_level",
            )
        }

        def set_engine_execution_options(engine: t.Any, options: t.Mapping[str, t.Any]) -> None:
            _refuse_autocommit(options.get("isolation_level"))
            originals["set_engine_execution_options"](engine, options)

        def set_connection_execution_options(
            connection: t.Any, options: t.Mapping[str, t.Any]
        ) -> None:
            _refuse_autocommit(options.get("isolation_level"))
            originals["set_connection_execution_options"](connection, options)

        def set_isolation_level(dbapi_connection: t.Any, level: str) -> None:
            _refuse_autocommit(level)
            originals["set_isolation_level"](dbapi_connection, level)

        guards = {
            "set_engine_execution_options": set_engine_execution_options,
            "set_connection_execution_options": set_connection_execution_options,
            "set_isolation_level": set_isolation_level,
        }
        for name, guard in guards.items():
            setattr(dialect, name, guard)

        def restore() -> None:
            for name in guards:
                vars(dialect).pop(name, None)

        self._restores.append(restore)

    def _uninstall(self) -> None:
        from sqlalchemy import event

        while self._restores:
            self._restores.pop()()
        for outer in self._outers:
            for engine, pool in outer.engines:
                engine.pool = pool
        while self._listeners:
            target, name, fn = self._listeners.pop()
            event.remove(target, name, fn)


def _cannot_say() -> None:
    return None


def _refuse_autocommit(level: t.Any) -> None:
    if isinstance(level, str) and level.replace("_", " ").upper() == "AUTOCOMMIT":
        raise SandboxError(
            "appshell's sandbox refused isolation_level='AUTOCOMMIT': every statement "
            "would commit by itself, outside the sandbox."
        )


def _autocommit_engine(label: str) -> str:
    return (
        f"database {label} is set to AUTOCOMMIT isolation, where every statement commits by "
        "itself; give its engine a transactional isolation level for the sandbox."
    )


def _creator_for(outer: _Outer) -> t.Callable[[], sandbox_sql.SandboxConnection]:
    def create() -> sandbox_sql.SandboxConnection:
        outer.enter()
        return sandbox_sql.SandboxConnection(outer)

    return create


def _refuse_earlier_cursor(cursor: t.Any, *args: t.Any) -> None:
    # do_execute and do_executemany: (cursor, statement, parameters, context).
    if type(cursor) is not sandbox_sql.SandboxCursor:
        _refuse_unless_sandboxed(args[-1])


def _refuse_earlier_cursor_no_params(cursor: t.Any, statement: str, context: t.Any) -> None:
    if type(cursor) is not sandbox_sql.SandboxCursor:
        _refuse_unless_sandboxed(context)


def _refuse_unless_sandboxed(context: t.Any) -> None:
    # The statement's cursor is not the sandbox's: its connection must still be one the
    # sandbox handed out (an asyncio dialect's cursor is its own adapter's), or the
    # sandbox's own while it opens (a dialect's first connect runs its set-up statements,
    # which the engine's events never saw).
    if _OPENING.active:
        return
    if context is not None:
        dbapi_connection = context.root_connection.connection.dbapi_connection
        if isinstance(dbapi_connection, sandbox_sql.SandboxConnection):
            return
    _refuse_earlier_connection()


def _refuse_earlier_connection() -> t.NoReturn:
    raise SandboxError(
        "appshell's sandbox refused a statement on a connection opened before the sandbox "
        "started; close it (session.close()) and use a new one."
    )


def _close_async(outer: _Outer) -> None:
    """Close an asyncio database's outer transaction where its driver's sync facade works:
    in a greenlet on the loop its connection belongs to, when that loop can still run it;
    else on a loop of its own (aiosqlite's connection is bound to no loop), in a fresh thread
    when this one is running a loop already."""
    import asyncio

    from sqlalchemy.util import greenlet_spawn

    loop = outer.loop
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is not None and not loop.is_closed():
        if not loop.is_running():
            loop.run_until_complete(greenlet_spawn(outer.close))
            return
        if loop is not running:  # running in another thread (a REPL's loop thread)
            asyncio.run_coroutine_threadsafe(greenlet_spawn(outer.close), loop).result()
            return
        if outer.dialect_name != "sqlite":
            outer.abandon()  # this thread runs that loop: nothing here can wait on it
            return

    def run() -> None:
        asyncio.run(greenlet_spawn(outer.close))

    if running is None:
        run()
        return
    thread = threading.Thread(target=run, name="appshell-sandbox-end")
    thread.start()
    thread.join()
