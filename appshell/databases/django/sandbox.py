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
``transaction.on_commit`` callbacks are held, never run: nothing is committed. Mail is kept
in Django's outbox, never sent (see :mod:`.mail`).
"""

from __future__ import annotations

import threading
import typing as t

from ...exceptions import AppShellUsageError
from ..dbapi import held_summary
from ..drivers import guard_driver_connects
from .hooks import EveryConnection
from .mail import HeldMail
from .standin import SandboxEnded, SandboxError, Shared, StandIn

_SandboxError = SandboxError

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from ..database import Database

__all__ = ["Sandbox", "SandboxEnded", "SandboxError"]

_VENDORS = ("sqlite", "postgresql")
#: Where Django's backends connect (their ``get_new_connection``): trusted by the guard of
#: driver connects, since every connection they make is the sandbox's or refused.
_DJANGO_CONNECTS = ("django.db.backends.",)
_DJANGO_ROADS = "the ORM, connection.cursor(), connections[alias]"


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


class _HeldCallbacks:
    """``transaction.on_commit`` callbacks of the sandboxed aliases, held and never run.

    Django runs them after a commit: at once when no transaction is open, at the end of
    the outermost ``atomic()`` block otherwise. Inside the sandbox nothing commits, though
    Django believes it does, so they would run for a change that is rolled back: a file
    deleted for a row that is still there (Wagtail deletes an image's files so). The two
    methods of Django's connection class that run them are replaced while the sandbox lasts.
    """

    def __init__(self, aliases: t.Iterable[str]) -> None:
        self.aliases = frozenset(aliases)
        self.names: list[str] = []
        self._lock = threading.Lock()
        self._originals: tuple[t.Any, t.Any] | None = None

    def start(self) -> None:
        from django.db.backends.base.base import BaseDatabaseWrapper

        on_commit = BaseDatabaseWrapper.on_commit
        run_hooks = BaseDatabaseWrapper.run_and_clear_commit_hooks
        held = self

        def sandboxed_on_commit(wrapper: t.Any, func: t.Any, robust: bool = False) -> None:
            if (
                wrapper.alias in held.aliases
                and callable(func)
                and not wrapper.in_atomic_block
                and wrapper.get_autocommit()
            ):
                held.hold(func)  # Django would run it now: no transaction is open
                return
            on_commit(wrapper, func, robust)  # kept until the outermost block ends

        def sandboxed_run_hooks(wrapper: t.Any) -> None:
            if wrapper.alias not in held.aliases:
                return run_hooks(wrapper)  # type: ignore[no-any-return]
            wrapper.validate_no_atomic_block()
            pending, wrapper.run_on_commit = wrapper.run_on_commit, []
            for _, func, _ in pending:
                held.hold(func)
            return None

        self._originals = (on_commit, run_hooks)
        BaseDatabaseWrapper.on_commit = sandboxed_on_commit
        BaseDatabaseWrapper.run_and_clear_commit_hooks = sandboxed_run_hooks

    def hold(self, func: t.Any) -> None:
        name = getattr(func, "__qualname__", None) or type(func).__qualname__
        module = getattr(func, "__module__", None)
        with self._lock:
            self.names.append(f"{module}.{name}" if module else str(name))

    def stop(self) -> None:
        if self._originals is None:
            return
        from django.db.backends.base.base import BaseDatabaseWrapper

        on_commit, run_hooks = self._originals
        BaseDatabaseWrapper.on_commit = on_commit
        BaseDatabaseWrapper.run_and_clear_commit_hooks = run_hooks
        self._originals = None

    def summary(self) -> str:
        """What was held, for the end line ("" when nothing was)."""
        return held_summary(self.names, "transaction.on_commit callback")


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
        self._callbacks = _HeldCallbacks(())
        self._mail = HeldMail()
        self._stop_drivers: t.Callable[[], None] | None = None
        self._started = False

    #: What the banner adds to its line of what a sandbox cannot roll back.
    banner_note = "Django's mail is kept in django.core.mail.outbox, unsent"

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
        self._callbacks = _HeldCallbacks(self.shared)
        self._callbacks.start()
        self._mail.start()
        self._stop_drivers = guard_driver_connects(
            "appshell's sandbox",
            "what it did would be committed for real",
            SandboxError,
            _DJANGO_CONNECTS,
            roads=_DJANGO_ROADS,
        )
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
            raise _migrate_refused()(
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
        self._callbacks.stop()
        self._mail.stop()
        stop_drivers, self._stop_drivers = self._stop_drivers, None
        if stop_drivers is not None:
            stop_drivers()
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
        for held in (self._callbacks.summary(), self._mail.summary()):
            if held:
                line += f"; {held}"
        ended = [s.label for s in shared if s.ended]
        if ended:
            line += f"; the sandbox on {', '.join(ended)} had already ended (nothing was committed)"
        return line


_MIGRATE_REFUSED: list[type[Exception]] = []


def _migrate_refused() -> type[Exception]:
    """The refusal of ``migrate``: a SandboxError, shown as one line by appshell, and a
    CommandError, shown as one line by Django's ``manage.py`` (``cli('migrate')``)."""
    if not _MIGRATE_REFUSED:
        from django.core.management.base import CommandError

        # Named as its base, since Django's manage.py shows the class's name.
        class SandboxError(_SandboxError, CommandError):  # type: ignore[misc]
            pass

        _MIGRATE_REFUSED.append(SandboxError)
    return _MIGRATE_REFUSED[0]


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
