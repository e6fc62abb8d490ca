"""One database of the app, as an ORM integration reports it.

Below every integration and the registry that lists them: an integration makes these, the
session's tools and ``--print-context`` read them, and none of them needs to know which ORM
made one.
"""

from __future__ import annotations

import typing as t

__all__ = ["Database"]


class Database:
    """One database of the app (an engine, a bind).

    A plain class, not a NamedTuple, because making a NamedTuple class costs more start-up
    than the whole discovery does.
    """

    __slots__ = ("dialect", "engine", "is_async", "name", "orm", "url")

    def __init__(
        self,
        name: str,
        url: str,
        dialect: str,
        engine: t.Any,
        is_async: bool = False,
        orm: str = "sqlalchemy",
    ) -> None:
        #: The bind name: ``"default"`` for the default bind, else the bind key or the name
        #: of the variable the engine was found under.
        self.name = name
        #: The URL with its password hidden.
        self.url = url
        #: ``"sqlite"``, ``"postgresql"``, ...
        self.dialect = dialect
        #: The ORM's object: for SQLAlchemy a sync ``Engine`` (an ``AsyncEngine``'s
        #: ``.sync_engine``).
        self.engine = engine
        self.is_async = is_async
        #: The name of the integration that found it.
        self.orm = orm

    def __repr__(self) -> str:
        return f"<Database {self.name!r} ({self.dialect}) {self.url}>"

    def describe(self) -> dict[str, t.Any]:
        """What ``--print-context --json`` says of it."""
        return {
            "name": self.name,
            "orm": self.orm,
            "dialect": self.dialect,
            "url": self.url,
            "async": self.is_async,
        }
