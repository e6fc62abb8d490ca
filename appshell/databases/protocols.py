"""The protocols of :mod:`appshell.databases`: what an ORM integration offers a session.

Imported by type checkers and when ``appshell.databases.Integration`` or ``.Tool`` is
asked for, never at start-up.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from .database import Database
    from .echo import SQLEcho
    from .scope import Scope

__all__ = ["Integration", "Tool"]


class Tool(t.Protocol):
    """A sandbox or a read-only setting: started before the first statement, ended after
    the last. ``end`` returns a one-line summary, or None."""

    def start(self) -> None: ...

    def end(self) -> t.Any: ...


@t.runtime_checkable
class Integration(t.Protocol):
    """What an ORM integration does for a session."""

    #: A short name: ``"sqlalchemy"``, ``"django"``.
    name: str
    #: What it looks for, for the message when no database is found.
    looks_for: str

    def find_databases(self, scope: Scope) -> list[Database]:
        """The app's databases, each once, the default one first."""

    def find_models(self, scope: Scope) -> list[type]:
        """Every model class mapped by the app's registries, in the order registered."""

    def sandbox(self, databases: t.Sequence[Database]) -> Tool:
        """A sandbox over ``databases``: ``start()`` raises AppShellUsageError when it
        cannot be set up, ``end()`` rolls everything back and returns the summary."""

    def read_only(self, databases: t.Sequence[Database]) -> Tool:
        """A read-only setting over ``databases``."""

    def attach_echo(self, databases: t.Sequence[Database], sql: SQLEcho) -> t.Callable[[], None]:
        """Report each statement run on ``databases`` to ``sql``; returns the detach."""
