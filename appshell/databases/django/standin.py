"""The stand-in DBAPI connections a Django sandbox gives Django's connection objects.

Each of Django's connections of a sandboxed alias (one per thread) holds a
:class:`StandIn` instead of a driver connection of its own. All the stand-ins of an alias
share its one real connection (:class:`Shared`), which runs the sandbox's outer
transaction, begun in the driver's autocommit mode so that the driver never begins or ends
one by itself. Django believes it is in autocommit as usual; what it does to its
"connection" is turned into savepoints:

- ``autocommit = False`` (PostgreSQL) or ``BEGIN`` (SQLite, as Django's ``atomic()`` sends
  it) opens a savepoint of the stand-in's own before the next statement; ``commit()``
  releases it and ``rollback()`` rolls back to it. ``BEGIN``, ``COMMIT``, ``END``,
  ``ROLLBACK`` (``AND CHAIN`` too) sent as SQL are treated the same way; a string of several
  statements one of which would begin or end a transaction, a change of the transaction's
  settings (``SET TRANSACTION``) and a two-phase commit are refused before anything runs
  (:func:`..statements.judge` reads the text). SQLite's ``executescript()`` runs its script a
  statement at a time, each judged so.
- What the judge never sees (the driver connection's own ``commit()``) the database stops:
  on SQLite an authorizer on the real connection refuses every ``BEGIN``, ``COMMIT`` and
  ``ROLLBACK`` but the sandbox's own (sqlite3's ``executescript`` sends a ``COMMIT`` of its
  own first); on PostgreSQL a deferred constraint trigger on a temporary table makes any
  commit fail, and the transaction status after each statement shows the sandbox ended.
- A statement in Django's autocommit is its own unit: on PostgreSQL, inside a savepoint of
  its own, so that a failed one (a constraint violation) leaves the outer transaction intact.
- Stand-ins take turns: one holds the real connection from its first statement of a
  transaction to its end, or for one statement in autocommit; the others wait.
"""

from __future__ import annotations

import threading
import typing as t

from ..commitguard import arm_commit_guard, checking_constraints
from ..dbapi import SandboxEnded, SandboxError, check_not_over, execute
from ..statements import SAVEPOINT_SQL, Judged, judge, sqlite_script

__all__ = ["SandboxEnded", "SandboxError", "Shared", "StandIn"]

#: What the PostgreSQL commit guard says (see :mod:`appshell.databases.commitguard`), and
#: the mark of a statement run with it let through.
_REFUSED_COMMIT = (
    "appshell's sandbox refused to commit its transaction: nothing the session did is committed"
)
_CHECKED = "/* appshell: checked */ "

#: How statements that are not the user's start, for the end line's count: Django's
#: savepoints, and what its SQLite backend runs on the driver's cursor, with DEBUG on, to
#: show the parameters of the statement before it in ``connection.queries``.
_NOT_THE_USERS = (*SAVEPOINT_SQL, "SELECT QUOTE(")


class Shared:
    """The one real connection of a sandboxed database, its outer transaction, and whose
    turn it is."""

    def __init__(self, names: list[str], vendor: str, wait: float) -> None:
        self.names = names
        self.vendor = vendor
        self.wait = wait
        self.real: t.Any = None
        self.turn = threading.Condition(threading.Lock())
        self.owner: StandIn | None = None
        self.statements = 0
        self.savepoints = 0
        self.sequences: dict[str, t.Any] = {}
        self.ended: str | None = None
        self.finished = False
        #: What SQLite's authorizer refused last (``"COMMIT"``), for the one-line refusal.
        self.denied: str | None = None

    @property
    def label(self) -> str:
        return ", ".join(repr(n) for n in self.names)

    def adopt(self, real: t.Any) -> None:
        """Make ``real`` (the first connection Django opened for the database) the
        sandbox's: driver autocommit, then the outer ``BEGIN``."""
        if self.vendor == "sqlite":
            real.isolation_level = None
        else:
            real.autocommit = True
            self.sequences = self.read_sequences(real)
        execute(real, "BEGIN")
        if self.vendor == "sqlite":
            real.set_authorizer(self._sqlite_authorizer())
        else:
            arm_commit_guard(real, _REFUSED_COMMIT)
        self.real = real

    def _sqlite_authorizer(self) -> t.Callable[..., int]:
        """SQLite's say over each statement as it is prepared: any ``BEGIN``, ``COMMIT`` or
        ``ROLLBACK`` is refused (savepoints are not: they stay inside the transaction)."""
        import sqlite3

        transaction, deny, allow = (
            sqlite3.SQLITE_TRANSACTION,
            sqlite3.SQLITE_DENY,
            sqlite3.SQLITE_OK,
        )
        shared = self

        def authorize(action: int, what: str | None, *rest: t.Any) -> int:
            if action == transaction:
                shared.denied = what
                return deny
            return allow

        return authorize

    @staticmethod
    def read_sequences(real: t.Any) -> dict[str, t.Any]:
        rows = execute(real, "SELECT schemaname, sequencename, last_value FROM pg_sequences")
        return {f"{schema}.{name}": value for schema, name, value in rows or ()}

    def take(self, standin: StandIn) -> None:
        with self.turn:
            if self.owner not in (None, standin) and not self.turn.wait_for(
                lambda: self.owner is None, timeout=self.wait
            ):
                raise SandboxError(
                    f"appshell's sandbox refused a statement on database {self.label} in"
                    f" thread {threading.current_thread().name!r}: the sandbox's one"
                    f" connection has been in a transaction of another thread for"
                    f" {self.wait:g} s; connections take turns in a sandbox."
                )
            self.check()
            self.owner = standin

    def give(self, standin: StandIn) -> None:
        with self.turn:
            if self.owner is standin:
                self.owner = None
                self.turn.notify_all()

    def savepoint(self, name: str) -> None:
        """Open savepoint ``name``; one that fails because the transaction is gone (a
        commit the guard turned into a rollback) says the sandbox ended."""
        try:
            execute(self.real, f"SAVEPOINT {name}")
        except Exception as error:
            self.verify(error)
            raise

    def check(self) -> None:
        check_not_over(self.label, finished=self.finished, ended=self.ended)

    def verify(self, error: BaseException | None = None) -> None:
        """After a statement: is the outer transaction still open?"""
        real = self.real
        if self.vendor == "sqlite":
            open_ = bool(real.in_transaction)
        else:
            open_ = not real.closed and int(real.info.transaction_status) in (1, 2, 3)
        if not open_:
            gone = self.vendor != "sqlite" and bool(real.closed)
            how = "the server closed the connection" if gone else "its transaction was ended"
            self.ended = f"{how} ({error})" if error else how
            self.check()

    def close(self) -> list[str]:
        """Roll the outer transaction back and close the real connection; the sequences
        that advanced meanwhile (PostgreSQL does not roll them back)."""
        with self.turn:
            self.turn.wait_for(lambda: self.owner is None, timeout=5)
            self.finished = True
            real, self.real = self.real, None
        if real is None:
            return []
        advanced: list[str] = []
        try:
            if self.vendor == "sqlite":
                real.set_authorizer(None)
            if self.ended is None:
                execute(real, "ROLLBACK")
                if self.vendor == "postgresql":
                    after = self.read_sequences(real)
                    advanced = sorted(n for n, v in after.items() if v != self.sequences.get(n, v))
        finally:
            real.close()
        return advanced


class StandIn:
    """What one of Django's connection objects holds as its driver connection."""

    def __init__(self, shared: Shared) -> None:
        object.__setattr__(self, "_shared", shared)
        object.__setattr__(self, "_autocommit", True)
        object.__setattr__(self, "_savepoint", None)
        object.__setattr__(self, "_closed", False)

    # Django's switches between its autocommit and a transaction.
    @property
    def autocommit(self) -> bool:
        return bool(self._autocommit)

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if value and self._savepoint is not None:
            self.commit()
        object.__setattr__(self, "_autocommit", bool(value))

    @property
    def isolation_level(self) -> t.Any:
        if self._shared.vendor != "sqlite":
            return self._shared.real.isolation_level
        return None if self._autocommit else ""

    @isolation_level.setter
    def isolation_level(self, value: t.Any) -> None:
        if self._shared.vendor != "sqlite":
            self._shared.real.isolation_level = value
        else:
            self.autocommit = value is None

    @property
    def in_transaction(self) -> bool:
        return self._savepoint is not None

    def begin(self) -> None:
        """Open this stand-in's savepoint (taking the turn) if it has none."""
        if self._savepoint is not None:
            return
        shared = self._shared
        shared.take(self)
        try:
            shared.savepoints += 1
            name = f"appshell_sandbox_{shared.savepoints}"
            shared.savepoint(name)
        except BaseException:
            shared.give(self)
            raise
        object.__setattr__(self, "_savepoint", name)

    def _end(self, how: str) -> None:
        name = self._savepoint
        if name is None:
            return
        object.__setattr__(self, "_savepoint", None)
        shared = self._shared
        try:
            if not shared.finished and shared.ended is None:
                if how == "rollback":
                    execute(shared.real, f"ROLLBACK TO SAVEPOINT {name}")
                execute(shared.real, f"RELEASE SAVEPOINT {name}")
        finally:
            shared.give(self)

    def commit(self) -> None:
        self._end("commit")

    def rollback(self) -> None:
        self._end("rollback")

    def close(self) -> None:
        """Django closing its connection: the real one stays, the stand-in's transaction
        (if any) is rolled back."""
        if not self._closed:
            object.__setattr__(self, "_closed", True)
            self._end("rollback")

    @property
    def closed(self) -> bool:
        return bool(self._closed or self._shared.finished)

    def cursor(self, *args: t.Any, **kwargs: t.Any) -> StandInCursor:
        self._shared.check()
        return StandInCursor(self, self._shared.real.cursor(*args, **kwargs))

    # The drivers' shortcuts that make a cursor of their own, so that their statements
    # are judged as a cursor's are.
    def execute(self, sql: str, params: t.Any = None) -> t.Any:
        return self.cursor().execute(sql, params)

    def executemany(self, sql: str, params: t.Any) -> t.Any:
        return self.cursor().executemany(sql, params)

    def executescript(self, script: str) -> StandInCursor:
        return self.cursor().executescript(script)

    def __getattr__(self, name: str) -> t.Any:
        real = self._shared.real
        if real is None:
            self._shared.check()
        return getattr(real, name)

    def __setattr__(self, name: str, value: t.Any) -> None:
        if name in ("autocommit", "isolation_level"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._shared.real, name, value)


class StandInCursor:
    """A driver cursor on the real connection, whose statements run as their stand-in's."""

    def __init__(self, standin: StandIn, cursor: t.Any) -> None:
        self._standin = standin
        self._cursor = cursor

    def execute(self, sql: str, params: t.Any = None) -> t.Any:
        return self._run("execute", sql, () if params is None else (params,))

    def executemany(self, sql: str, params: t.Any) -> t.Any:
        return self._run("executemany", sql, (params,))

    def executescript(self, script: str) -> StandInCursor:
        """sqlite3's ``executescript``, a statement at a time: sqlite3's own would commit
        the sandbox's transaction before the script's first statement."""
        if self._standin._shared.vendor != "sqlite":
            raise AttributeError("executescript")
        for statement in sqlite_script(script):
            self._run("execute", statement, ())
        return self

    def _run(self, method: str, sql: str, params: tuple[t.Any, ...]) -> t.Any:
        standin, shared = self._standin, self._standin._shared
        shared.check()
        counted = True  # the end line counts the statements the user's code ran
        if isinstance(sql, str):
            if sql.startswith(_NOT_THE_USERS):
                counted = False
            else:
                judged = judge(sql)
                if judged is not None:
                    kind = self._judge(sql, judged)
                    if kind == "constraints":
                        return self._checking_constraints(method, sql, params)
                    if kind is not None:
                        return self
        call = getattr(self._cursor, method)
        if not standin._autocommit:
            standin.begin()
            return self._done(self._call(call, sql, params, counted))
        own = shared.vendor == "postgresql"
        shared.take(standin)
        try:
            if not own:
                return self._done(self._call(call, sql, params, counted))
            shared.savepoints += 1
            name = f"appshell_statement_{shared.savepoints}"
            shared.savepoint(name)
            try:
                result = self._call(call, sql, params, counted)
            except BaseException:
                if shared.ended is None:
                    execute(shared.real, f"ROLLBACK TO SAVEPOINT {name}")
                raise
            execute(shared.real, f"RELEASE SAVEPOINT {name}")
            return self._done(result)
        finally:
            shared.give(standin)

    def _judge(self, sql: str, judged: list[Judged]) -> str | None:
        """Carry out or refuse typed SQL that would begin, end or change the transaction:
        what it was, or ``"constraints"`` or None to run it."""
        if sql.startswith(_CHECKED):
            return None
        acting = [(kind, words) for kind, words in judged if kind is not None]
        if not acting:
            if self._standin._shared.vendor == "postgresql" and any(
                words.startswith("SET CONSTRAINTS") for _, words in judged
            ):
                return "constraints"
            return None
        kind, words = acting[0]
        if len(judged) > 1:
            raise SandboxError(
                f"appshell's sandbox refused a string of {len(judged)} statements, one of"
                f" which is {words!r}, before any of them ran: it would begin, end or change"
                " the sandbox's transaction. Run that statement alone (COMMIT, ROLLBACK and"
                " BEGIN alone become savepoints)."
            )
        if kind not in ("begin", "commit", "rollback"):
            raise SandboxError(
                f"appshell's sandbox refused {words!r} before it ran: it would act on the"
                " sandbox's own transaction or the connection's later ones, which only the"
                " sandbox begins and ends."
            )
        standin = self._standin
        if kind != "begin":
            standin.commit() if kind == "commit" else standin.rollback()
            if not words.endswith("AND CHAIN"):  # COMMIT AND CHAIN begins anew at once
                return kind
        standin.autocommit = False
        standin.begin()
        return kind

    def _checking_constraints(self, method: str, sql: str, params: tuple[t.Any, ...]) -> t.Any:
        """``SET CONSTRAINTS ... IMMEDIATE`` (Django's ``check_constraints()``, loaddata's)
        runs the deferred checks now, the commit guard's too: it lets them pass meanwhile,
        and is armed again after."""
        real = self._standin._shared.real
        checking_constraints(real, True)
        try:
            return self._run(method, f"{_CHECKED}{sql}", params)
        finally:
            if self._standin._shared.ended is None:
                checking_constraints(real, False)
                arm_commit_guard(real, _REFUSED_COMMIT, again=True)

    def _call(
        self, call: t.Callable[..., t.Any], sql: str, params: tuple[t.Any, ...], counted: bool
    ) -> t.Any:
        shared = self._standin._shared
        if counted:
            shared.statements += 1
        try:
            result = call(sql, *params)
        except BaseException as error:
            denied, shared.denied = shared.denied, None
            shared.verify(error)
            if denied is not None:
                raise SandboxError(
                    f"appshell's sandbox refused {denied} in {sql[:60]!r}: only the sandbox"
                    " begins and ends its transaction (SQLite refused the statement before it"
                    " ran)."
                ) from None
            raise
        shared.verify()
        return result

    def _done(self, result: t.Any) -> t.Any:
        return self if result is self._cursor else result

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> t.Iterator[t.Any]:
        return iter(self._cursor)

    def __enter__(self) -> StandInCursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._cursor.close()
