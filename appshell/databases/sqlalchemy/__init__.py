"""appshell's SQLAlchemy integration: the app's engines, models and database tools.

Imported only when the app imported SQLAlchemy already, or an option asks for a database.
The sandbox, the read-only setting and the statement echo each live in a module of their
own, imported when the session turns them on.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from ..database import Database
    from ..echo import SQLEcho
    from ..protocols import Tool
    from ..scope import Scope

__all__ = ["SQLAlchemyIntegration", "integration"]


class SQLAlchemyIntegration:
    """SQLAlchemy 2.x, sync and asyncio engines, plain or through Flask-SQLAlchemy 3."""

    name = "sqlalchemy"
    looks_for = (
        "SQLAlchemy engines, async engines, sessionmakers, declarative bases and mapped"
        " classes (Flask-SQLAlchemy's db and SQLModel's tables too) in the app's modules"
        " and the other modules of its project folder, on the objects those keep,"
        " in app.extensions, app.state and the lifespan state"
    )
    how_found = (
        "make the engine (or Flask-SQLAlchemy's db) a global of the app's module, an app"
        " extension or part of the lifespan state"
    )

    def find_databases(self, scope: Scope) -> list[Database]:
        from .discovery import find_engines, to_database

        return [to_database(*found) for found in find_engines(scope)]

    def find_models(self, scope: Scope) -> list[type]:
        from .discovery import find_registries, model_classes

        return model_classes(find_registries(scope))

    def sandbox(self, databases: t.Sequence[Database]) -> Tool:
        from .sandbox import Sandbox

        return Sandbox(databases)

    def read_only(self, databases: t.Sequence[Database]) -> Tool:
        from .readonly import ReadOnly

        return ReadOnly(databases)

    def attach_echo(self, databases: t.Sequence[Database], sql: SQLEcho) -> t.Callable[[], None]:
        from .echo import attach

        detach: t.Callable[[], None] = attach(databases, sql)
        return detach


#: The integration object the registry lists.
integration = SQLAlchemyIntegration()
