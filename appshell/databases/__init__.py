"""What appshell needs from an ORM, behind one protocol: the app's databases and models.

An :class:`~.protocols.Integration` is given a :class:`~.scope.Scope` (the loaded app,
its adapter and the objects the app keeps: its module's globals, ``app.extensions``,
``app.state``, the lifespan state) and finds the app's databases
(:class:`~.database.Database`) and models in it. It also opens the session's database tools
on what it found: a sandbox, read-only, statement echo.

This module is the registry above the integrations: appshell's own ``sqlalchemy`` (imported
only when the app imported SQLAlchemy already, or an option asks for a database) and
``django`` (for a Django project), and the entry points of the ``appshell.databases``
group, each naming an Integration object or class. It imports no ORM. The integrations
import only what is below them, never this module (pyproject.toml's contracts check it).
"""

from __future__ import annotations

import sys
import typing as t

from ..exceptions import AppShellUsageError
from .scope import make_scope

if t.TYPE_CHECKING:
    from .database import Database
    from .protocols import Integration, Tool
    from .scope import Scope

__all__ = [
    "ENTRY_POINTS",
    "Integration",
    "NoDatabaseFound",
    "Tool",
    "find_databases",
    "find_models",
    "integrations",
    "no_database_message",
]

#: The entry-point group of third-party ORM integrations.
ENTRY_POINTS = "appshell.databases"


class NoDatabaseFound(AppShellUsageError):
    """A database option was given and no integration found a database for the app."""


def __getattr__(name: str) -> t.Any:
    # The protocols are for type checkers and plugin authors: making Protocol classes
    # costs start-up in every session with a database, so they are made when asked for.
    if name in ("Integration", "Tool"):
        from . import protocols

        return getattr(protocols, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def integrations(*, load: bool = False, adapter: t.Any = None) -> list[Integration]:
    """The ORM integrations that apply: appshell's SQLAlchemy one if SQLAlchemy is imported
    (or ``load``: an option asks for a database, and the app is no Django project), its
    Django one for a Django project, then the ``appshell.databases`` plugins.

    :param adapter: the app's adapter. Without it, Django counts as the app's framework
        whenever it is imported.
    """
    from .. import plugins

    found: list[Integration] = []
    # Whether Django is the app's, not merely imported: in a Jupyter kernel an earlier cell
    # or an earlier attach may have imported it for something else.
    django = sys.modules.get("django") is not None and (
        adapter is None or getattr(adapter, "framework", None) == "django"
    )
    if sys.modules.get("sqlalchemy") is not None or (
        load and not django and _installed("sqlalchemy")
    ):
        from .sqlalchemy import integration

        found.append(integration)
    if django:
        from .django import integration as django_integration

        found.append(django_integration)
    for plugin in plugins.load_all(ENTRY_POINTS):
        found.append(plugin() if isinstance(plugin, type) else plugin)
    return found


def _installed(name: str) -> bool:
    """Whether ``name`` can be imported, without importing it (an option that asks for a
    database on an app whose ORM is not installed is the one line of exit 2, not an
    ImportError)."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def find_databases(
    app: t.Any, adapter: t.Any, *, scope: Scope | None = None, load: bool = False
) -> list[Database]:
    """The databases every integration finds for ``app``, each engine once."""
    scope = scope if scope is not None else make_scope(app, adapter)
    seen: set[int] = set()
    found: list[Database] = []
    for integration in integrations(load=load, adapter=adapter):
        for database in integration.find_databases(scope):
            if id(database.engine) not in seen:
                seen.add(id(database.engine))
                found.append(database)
    return found


def find_models(
    app: t.Any, adapter: t.Any, *, scope: Scope | None = None, load: bool = False
) -> list[type]:
    """The models every integration finds for ``app``, each once, in registration order."""
    scope = scope if scope is not None else make_scope(app, adapter)
    models: dict[int, type] = {}
    for integration in integrations(load=load, adapter=adapter):
        for model in integration.find_models(scope):
            models.setdefault(id(model), model)
    return list(models.values())


def no_database_message(option: str, integrations: t.Sequence[Integration]) -> str:
    """The one line of exit 2 when ``option`` needs a database and none was found: what
    each integration that applies to the app looked for, and what would make it found."""
    if not integrations:
        return (
            f"{option} needs a database, and this app has none appshell can reach: no ORM"
            " it knows is installed (SQLAlchemy, or Django for a Django project). Install"
            " the app's ORM, or leave out the option."
        )
    what = "; ".join(i.looks_for for i in integrations)
    # An integration may say what makes its databases found (a plugin's may not).
    fixes = [fix for i in integrations if (fix := getattr(i, "how_found", None))]
    fix = "; or ".join(fixes) or "install the integration of the app's ORM"
    return (
        f"{option} needs a database, and none was found for this app. appshell looked for"
        f" {what}. To have it found, {fix}; or leave out the option."
    )
