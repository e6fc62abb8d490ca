"""``--read-only`` for Django: each database refuses writes in its own terms, on every
connection Django opens for the session's aliases, in any thread.

This guards against mistakes; it is no security boundary (a read-only database role is).

- Typed SQL that would switch read-only off is refused in one line before it runs
  (:class:`~appshell.databases.dbapi.ReadOnlyError`): ``READ WRITE`` anywhere (``BEGIN``,
  ``SET TRANSACTION``, ``SET SESSION CHARACTERISTICS``), ``SET``/``RESET`` of
  ``default_transaction_read_only``, ``RESET ALL``, ``DISCARD ALL``, ``set_config()``,
  ``PRAGMA query_only`` given a value; in a string of several statements too
  (``COMMIT; BEGIN READ WRITE; ...``).
- SQLite: ``PRAGMA query_only = ON`` when the connection opens, and an authorizer on the
  connection that refuses setting ``query_only`` (what the driver runs without Django:
  ``executescript()``, the driver connection's own ``execute()``).
- PostgreSQL: the session default ``SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY``
  when the connection opens, for Django's autocommit statements (each its own transaction);
  set again after any other ``SET``, ``RESET`` or ``DISCARD`` statement. A transaction Django
  opens (``atomic()``: the driver begins it before the next statement) is made read-only by
  ``SET TRANSACTION READ ONLY`` as its first statement, and one the app opens by SQL
  (``BEGIN`` in autocommit) right after it opened: followed by a query, which makes a later
  ``SET TRANSACTION READ WRITE`` an error rather than a way out.

Where it stops: SQL run on the driver's connection itself (``connection.connection``) is
not judged by its text on PostgreSQL; a connection opened outside Django's (a raw driver
``connect()``) is not made read-only.

Connections opened in other threads are given back writable by their own thread, at their
next statement after the session ended.
"""

from __future__ import annotations

import re
import threading
import typing as t

from ...exceptions import AppShellUsageError
from ..dbapi import ReadOnlyError, execute
from ..drivers import guard_driver_connects
from ..statements import ENDS_TRANSACTION, Judged, judge
from .hooks import EveryConnection

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..database import Database

__all__ = ["ReadOnly"]

_SETS_SESSION = re.compile(r"\s*(SET|RESET|DISCARD)\b", re.IGNORECASE)
_IDLE, _IN_TRANSACTION = 0, 2  # libpq's PQTRANS_IDLE and PQTRANS_INTRANS


class _Guard:
    """The execute wrapper of one connection: applies read-only again where a statement
    could have undone it, and undoes it once after the session ended."""

    def __init__(self, wrapper: t.Any, vendor: str, owner: ReadOnly) -> None:
        self.wrapper = wrapper
        self.vendor = vendor
        self.owner = owner
        self.fixed = False  # the open transaction was made read-only

    def __call__(
        self,
        execute: Callable[..., t.Any],
        sql: str,
        params: t.Any,
        many: bool,
        context: dict[str, t.Any],
    ) -> t.Any:
        real = self.wrapper.connection
        if self.owner.ended:
            self.give_back()
            return execute(sql, params, many, context)
        judged = None
        if isinstance(sql, str):
            judged = judge(sql)
            if judged is not None:
                _refuse_switching_off(judged)
            if _SET_CONFIG.search(sql) is not None:
                raise _refusal("set_config()")
        if self.vendor == "postgresql" and not real.autocommit and _status(real) == _IDLE:
            self.fix_transaction(real)
        result = execute(sql, params, many, context)
        if self.vendor == "postgresql":
            self.after(real, sql if judged else "")  # a statement that failed changed nothing
        return result

    def after(self, real: t.Any, sql: str) -> None:
        status = _status(real)
        if status == _IDLE:
            self.fixed = False
        elif status == _IN_TRANSACTION and not self.fixed:
            self.fix_transaction(real)  # BEGIN typed in autocommit
        if sql and _SETS_SESSION.match(sql):
            execute(real, _SESSION_READ_ONLY)

    def fix_transaction(self, real: t.Any) -> None:
        execute(real, "SET TRANSACTION READ ONLY", "SELECT 1")
        self.fixed = True

    def apply(self) -> None:
        real = self.wrapper.connection
        if real is None:
            return
        if self.vendor == "sqlite":
            execute(real, "PRAGMA query_only = ON")
            real.set_authorizer(_keep_query_only)
        else:
            _session_default(real, _SESSION_READ_ONLY)
        self.fixed = False

    def give_back(self) -> None:
        """Make the connection writable again and stop guarding it."""
        if self in self.wrapper.execute_wrappers:
            self.wrapper.execute_wrappers.remove(self)
        real = self.wrapper.connection
        if real is None:
            return
        try:
            if self.vendor == "sqlite":
                real.set_authorizer(None)
                execute(real, "PRAGMA query_only = OFF")
            else:
                _session_default(real, "RESET default_transaction_read_only")
        except Exception:
            self.wrapper.close()  # broken: better closed than left read-only


class ReadOnly:
    """Makes every connection of the session's aliases refuse writes, from :meth:`start` to
    :meth:`end`."""

    def __init__(self, databases: Sequence[Database]) -> None:
        self.databases = list(databases)
        self.vendors = {db.name: db.dialect for db in self.databases}
        self.ended = False
        self._guards: dict[int, _Guard] = {}
        self._lock = threading.Lock()
        self._every = EveryConnection(self.vendors, self._connected)
        self._stop_drivers: Callable[[], None] | None = None

    def start(self) -> None:
        """:raises AppShellUsageError: an alias is neither SQLite nor PostgreSQL (exit 2)."""
        unsupported = [db for db in self.databases if db.dialect not in ("sqlite", "postgresql")]
        if unsupported:
            named = ", ".join(f"{db.name} ({db.dialect})" for db in unsupported)
            raise AppShellUsageError(
                f"--read-only is not supported for the Django database {named}: appshell can"
                " make only SQLite and PostgreSQL refuse writes; connect with a read-only"
                " database role instead."
            )
        self._every.start()
        # Django's backends connect for its aliases, each guarded here; any other is not.
        self._stop_drivers = guard_driver_connects(
            "appshell's read-only session",
            "it would not be read-only",
            ReadOnlyError,
            ("django.db.backends.",),
            roads="the ORM, connection.cursor(), connections[alias]",
        )

    def _connected(self, wrapper: t.Any) -> None:
        with self._lock:
            guard = self._guards.get(id(wrapper))
            if guard is None or guard.wrapper is not wrapper:
                guard = self._guards[id(wrapper)] = _Guard(
                    wrapper, self.vendors[wrapper.alias], self
                )
                wrapper.execute_wrappers.append(guard)
        guard.apply()

    def end(self) -> None:
        """Stop: this thread's connections are writable again at once, other threads' at
        their next statement."""
        self._every.stop()
        stop_drivers, self._stop_drivers = self._stop_drivers, None
        if stop_drivers is not None:
            stop_drivers()
        self.ended = True
        me = threading.get_ident()
        for wrapper, ident in self._every.wrappers():
            guard = self._guards.get(id(wrapper))
            if ident == me and guard is not None and guard.wrapper is wrapper:
                guard.give_back()


_SESSION_READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"


#: A function that changes a setting from inside any statement (``SELECT set_config(
#: 'default_transaction_read_only', 'off', false)``), which no first word shows.
_SET_CONFIG = re.compile(r"set_config", re.IGNORECASE)


def _refuse_switching_off(judged: list[Judged]) -> None:
    """Refuse typed SQL that would make the session writable again: a change of the
    transaction's settings, a ``BEGIN ... READ WRITE``, or a string of statements that ends
    or begins a transaction (``COMMIT; BEGIN READ WRITE; ...``)."""
    for kind, words in judged:
        if (
            kind == "settings"
            or (kind == "begin" and "READ WRITE" in words)
            or (kind in ENDS_TRANSACTION and len(judged) > 1)
        ):
            raise _refusal(words)


def _refusal(words: str) -> ReadOnlyError:
    return ReadOnlyError(
        f"appshell's read-only session refused {words!r} before it ran: it would make the"
        " database writable. Start the session without --read-only to write."
    )


def _keep_query_only(action: int, name: str | None, value: str | None, *rest: t.Any) -> int:
    """SQLite's authorizer on a read-only connection: ``PRAGMA query_only`` may be read,
    never set (whatever runs the statement: Django, ``executescript()``, the driver)."""
    if action == 19 and value is not None and name is not None and name.lower() == "query_only":
        return 1  # sqlite3.SQLITE_PRAGMA, SQLITE_DENY: sqlite3 is imported only on SQLite
    return 0


def _session_default(real: t.Any, statement: str) -> None:
    """A session-level SET, its transaction ended when the driver opened one for it (an
    open transaction of the app's is left open: the setting takes effect with it)."""
    idle = _status(real) == _IDLE
    execute(real, statement)
    if idle and not getattr(real, "autocommit", True):
        real.commit()


def _status(real: t.Any) -> int | None:
    status = getattr(getattr(real, "info", None), "transaction_status", None)
    return None if status is None else int(status)
