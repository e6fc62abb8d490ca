"""Every connection Django opens for some aliases, wherever it opens it.

Django keeps one connection object (a ``DatabaseWrapper``) per alias and per thread: the
prompt's, asgiref's executor thread behind ``await Model.objects.acreate()``, each thread
of a background server. :class:`EveryConnection` reaches each of them: the ones this thread
made already at once, and every other when it connects (Django's ``connection_created``
signal, sent in the thread that connected, before its first statement).
"""

from __future__ import annotations

import threading
import typing as t
import weakref

__all__ = ["EveryConnection"]


class EveryConnection:
    """Calls ``on_connect(wrapper)`` for each connection of ``aliases`` Django opens from
    :meth:`start` to :meth:`stop`, and at once for those of this thread: with ``open_only``
    the ones connected already, else every wrapper this thread made (connected or not).

    ``wrappers()`` are the ones it was called for (while they live), with the thread each
    was first seen in.
    """

    def __init__(
        self,
        aliases: t.Iterable[str],
        on_connect: t.Callable[[t.Any], None],
        *,
        open_only: bool = True,
    ) -> None:
        self.aliases = frozenset(aliases)
        self.on_connect = on_connect
        self.open_only = open_only
        self._seen: dict[int, tuple[weakref.ref[t.Any], int]] = {}
        self._lock = threading.Lock()
        self._uid = f"appshell-{id(self)}"

    def start(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        connection_created.connect(self._created, weak=False, dispatch_uid=self._uid)
        for wrapper in connections.all(initialized_only=True):
            if wrapper.alias in self.aliases and (
                wrapper.connection is not None or not self.open_only
            ):
                self._call(wrapper)

    def stop(self) -> None:
        from django.db.backends.signals import connection_created

        connection_created.disconnect(dispatch_uid=self._uid)

    def wrappers(self) -> list[tuple[t.Any, int]]:
        """(wrapper, thread ident) for each connection seen that is still alive."""
        with self._lock:
            found = [(ref(), ident) for ref, ident in self._seen.values()]
        return [(wrapper, ident) for wrapper, ident in found if wrapper is not None]

    def seen(self, wrapper: t.Any) -> bool:
        with self._lock:
            known = self._seen.get(id(wrapper))
        return known is not None and known[0]() is wrapper

    def _created(self, sender: t.Any, connection: t.Any, **kwargs: t.Any) -> None:
        # An alias of another kind (PostgreSQL's "__no_db__" maintenance connection) is the
        # on_connect's to judge too: it is passed when it is not one of ours only if the
        # callback wants to see everything (aliases empty).
        if connection.alias in self.aliases or not self.aliases:
            self._call(connection)
        else:
            self.on_other(connection)

    def on_other(self, connection: t.Any) -> None:
        """A connection of an alias not given (subclasses refuse it; by default ignored)."""

    def _call(self, wrapper: t.Any) -> None:
        with self._lock:
            key = id(wrapper)
            known = self._seen.get(key)
            if known is None or known[0]() is not wrapper:
                self._seen[key] = (weakref.ref(wrapper), threading.get_ident())
        self.on_connect(wrapper)
