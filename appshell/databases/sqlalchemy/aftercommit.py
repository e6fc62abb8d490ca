"""What the app hangs on a SQLAlchemy session's commit, held back in a sandbox.

An app (or a library of its: file-storage libraries delete or move files so) listens for a
:class:`~sqlalchemy.orm.Session`'s ``after_commit`` event, on the ``Session`` class, a
``sessionmaker`` or one session. Inside a sandbox nothing commits, though the session
believes it did, so such a handler would act for a change that is rolled back. While the
sandbox lasts, each session's ``after_commit`` dispatch is replaced, at its ``before_commit``
(which comes just before it, every time), by one that counts and names the handlers instead
of running them; the session's other events are untouched.
"""

from __future__ import annotations

import threading
import typing as t
import weakref

from ..dbapi import held_summary

__all__ = ["HeldAfterCommit"]


class _Held:
    """Stands for one session's ``after_commit`` listeners while they are held."""

    def __init__(self, listeners: t.Any, holder: HeldAfterCommit) -> None:
        self.listeners = listeners
        self._holder = holder

    def __call__(self, session: t.Any) -> None:
        if not self._holder.active:  # the sandbox is over: behave as SQLAlchemy would
            self.listeners(session)
            return
        self._holder.hold(list(self.listeners))

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.listeners, name)

    def __len__(self) -> int:
        return len(self.listeners)

    def __iter__(self) -> t.Iterator[t.Any]:
        return iter(self.listeners)

    def __bool__(self) -> bool:
        return bool(self.listeners)


class HeldAfterCommit:
    """Holds every session's ``after_commit`` handlers from :meth:`start` to :meth:`stop`."""

    def __init__(self) -> None:
        self.active = False
        self.names: list[str] = []
        self._lock = threading.Lock()
        self._sessions: weakref.WeakSet[t.Any] = weakref.WeakSet()

    def start(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        self.active = True
        event.listen(Session, "before_commit", self._before_commit)

    def _before_commit(self, session: t.Any) -> None:
        dispatch = session.dispatch
        if not isinstance(dispatch.after_commit, _Held):
            dispatch.after_commit = _Held(dispatch.after_commit, self)
            self._sessions.add(session)

    def hold(self, listeners: list[t.Any]) -> None:
        with self._lock:
            for listener in listeners:
                name = getattr(listener, "__qualname__", None) or type(listener).__qualname__
                module = getattr(listener, "__module__", None)
                self.names.append(f"{module}.{name}" if module else str(name))

    def stop(self) -> None:
        """Give each session its own dispatch back; handlers run again after this."""
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        self.active = False
        if event.contains(Session, "before_commit", self._before_commit):
            event.remove(Session, "before_commit", self._before_commit)
        for session in list(self._sessions):
            held = session.dispatch.after_commit
            if isinstance(held, _Held):
                session.dispatch.after_commit = held.listeners
        self._sessions = weakref.WeakSet()

    def summary(self) -> str:
        """What was held, for the end line ("" when nothing was)."""
        return held_summary(self.names, "session after_commit hook")
