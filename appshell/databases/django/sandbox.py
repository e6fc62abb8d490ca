"""``--sandbox`` for Django: everything the session does to its databases is rolled back.

Nothing connects when the sandbox starts: the first connection Django opens for an alias,
in whatever thread, becomes that database's one real connection and begins the outer
transaction; every later one (another thread's: asgiref's executor behind ``acreate()``, a
background server's) is closed at once and given a stand-in on the same real connection
(see :mod:`.standin`). So an alias the session never uses is never reached, and every
connection Django opens for the session's aliases is inside the sandbox; one for another
alias (PostgreSQL's maintenance connection) is refused. ``close_old_connections`` closes
only a stand-in; the real connection lives until the session ends. ``migrate`` on SQLite,
whose schema editor cannot run inside a transaction, is refused before it changes anything.
"""

from __future__ import annotations

import threading
import typing as t

from ...exceptions import AppShellUsageError
from .hooks import EveryConnection
from .standin import SandboxEnded, SandboxError, Shared, StandIn

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from .. import Database

__all__ = ["Sandbox", "SandboxEnded", "SandboxError"]

_VENDORS = ("sqlite", "postgresql")


class _Refusing(EveryConnection):
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox.shared, sandbox.connected)
        self.sandbox = sandbox

    def on_other(self, connection: t.Any) -> None:
        _drop(connection)
        raise SandboxError(
            f"appshell's sandbox refused a connection to database alias"
            f" {connection.alias!r}, which it does not sandbox (it sandboxes"
            f" {', '.join(sorted(self.aliases))})."
        )


class Sandbox:
    """One outer transaction per database for a whole session, rolled back by :meth:`end`.

    :param databases: the session's Django databases (``name`` is the alias).
    :param wait: seconds a thread waits for the connection another thread's transaction
        holds before its statement is refused.
    """

    def __init__(self, databases: Sequence[Database], *, wait: float = 30.0) -> None:
        self.databases = list(databases)
        self.wait = wait
        #: The Shared real connection of each alias (aliases of one database share one).
        self.shared: dict[str, Shared] = {}
        self._adopting = threading.Lock()
        self._every: _Refusing | None = None
        self._migrate_uid = f"appshell-sandbox-{id(self)}"
        self._started = False

    def start(self) -> None:
        """:raises AppShellUsageError: an alias of a vendor appshell cannot sandbox, or this
        thread's connection is inside a transaction already (exit 2)."""
        if self._started:
            return
        from django.db import connections

        unsupported = [db for db in self.databases if db.dialect not in _VENDORS]
        if unsupported:
            named = ", ".join(f"{db.name} ({db.dialect})" for db in unsupported)
            raise AppShellUsageError(
                f"--sandbox is not supported for the Django database {named}: appshell can"
                " sandbox only SQLite and PostgreSQL."
            )
        by_database: dict[tuple[t.Any, ...], Shared] = {}
        for db in self.databases:
            key = _database_key(connections[db.name].settings_dict)
            if key in by_database:
                by_database[key].names.append(db.name)
            else:
                by_database[key] = Shared([db.name], db.dialect, self.wait)
            self.shared[db.name] = by_database[key]
        for wrapper in connections.all(initialized_only=True):
            if wrapper.alias in self.shared and wrapper.in_atomic_block:
                raise AppShellUsageError(
                    f"--sandbox: database {wrapper.alias!r} is inside a transaction.atomic()"
                    " block already; start the sandbox outside it."
                )
        from django.db.models.signals import pre_migrate

        self._every = _Refusing(self)
        try:
            self._every.start()
        except Exception as error:
            self._every.stop()
            raise AppShellUsageError(
                f"--sandbox: could not begin the sandbox's transaction: {error}"
            ) from None
        pre_migrate.connect(self._refuse_migrate, weak=False, dispatch_uid=self._migrate_uid)
        self._started = True

    def connected(self, wrapper: t.Any) -> None:
        """A connection Django opened (or had open) for a sandboxed alias: made a stand-in."""
        real = wrapper.connection
        if real is None or isinstance(real, StandIn):
            return
        shared = self.shared[wrapper.alias]
        with self._adopting:
            shared.check()
            if shared.real is None:
                try:
                    shared.adopt(real)
                except BaseException:
                    _drop(wrapper)
                    raise
            elif shared.real is not real:
                real.close()
        wrapper.connection = StandIn(shared)

    def _refuse_migrate(self, sender: t.Any, using: str = "default", **kwargs: t.Any) -> None:
        shared = self.shared.get(using)
        if shared is not None and shared.vendor == "sqlite":
            from django.core.management.base import CommandError

            raise CommandError(
                f"appshell's sandbox refused migrate on database {using!r}: SQLite cannot"
                " change its schema inside the sandbox's transaction. Run migrate without"
                " --sandbox."
            )

    def end(self) -> str:
        """Roll everything back and say what was undone."""
        if not self._started:
            return "Sandbox: not started, nothing to roll back"
        self._started = False
        from django.db.models.signals import pre_migrate

        pre_migrate.disconnect(dispatch_uid=self._migrate_uid)
        every, self._every = self._every, None
        if every is not None:
            every.stop()
        notes = []
        done: set[int] = set()
        for shared in self.shared.values():
            if id(shared) in done:
                continue
            done.add(id(shared))
            advanced = shared.close()
            if advanced:
                notes.append(f"{shared.label}: {', '.join(advanced)}")
        if every is not None:
            me = threading.get_ident()
            for wrapper, ident in every.wrappers():
                if ident == me and isinstance(wrapper.connection, StandIn):
                    _drop(wrapper)  # the next statement reconnects, outside any sandbox
        return self._summary(notes)

    def _summary(self, notes: list[str]) -> str:
        shared = list({id(s): s for s in self.shared.values()}.values())
        count = sum(s.statements for s in shared)
        names = sorted(self.shared, key=lambda n: (n != "default", n))
        line = (
            f"Sandbox: rolled back {count} statement{'' if count == 1 else 's'} on "
            f"{len(names)} database{'' if len(names) == 1 else 's'} ({', '.join(names)})"
        )
        if notes:
            line += "; PostgreSQL does not roll back sequences, these advanced: " + "; ".join(notes)
        ended = [s.label for s in shared if s.ended]
        if ended:
            line += f"; the sandbox on {', '.join(ended)} had already ended (nothing was committed)"
        return line


def _database_key(settings: t.Mapping[str, t.Any]) -> tuple[t.Any, ...]:
    """What tells two aliases apart as databases: two aliases of one SQLite file must share
    its connection (two would lock each other out)."""
    name = settings.get("NAME")
    if settings.get("ENGINE", "").endswith("sqlite3") and str(name) in ("", ":memory:"):
        return (id(settings),)
    return tuple(str(settings.get(k)) for k in ("ENGINE", "NAME", "HOST", "PORT", "USER"))


def _drop(wrapper: t.Any) -> None:
    """Forget a Django connection's driver connection (closing it unless a stand-in or the
    sandbox's real one), so that its next use connects again."""
    real = wrapper.connection
    wrapper.connection = None
    wrapper.in_atomic_block = False
    wrapper.savepoint_ids = []
    wrapper.needs_rollback = False
    if real is not None and not isinstance(real, StandIn):
        real.close()
