"""appshell's Django integration: every alias of ``settings.DATABASES``, the installed
models, and the database tools on them.

Listed by :func:`appshell.databases.integrations` only when Django is imported already (a
Django project is the app). A :class:`~appshell.databases.database.Database` of Django holds the
alias as its ``engine``: Django makes one connection per alias and per thread, so the tools
act on every connection Django opens for an alias (its ``connection_created`` signal), not
on one object. Nothing here connects to a database: an alias the session never uses is never
reached.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from ..database import Database
    from ..echo import SQLEcho
    from ..protocols import Tool
    from ..scope import Scope

__all__ = ["DjangoIntegration", "integration", "vendor_of"]


class DjangoIntegration:
    """Django's ORM, on the databases of ``settings.DATABASES``."""

    name = "django"
    looks_for = "the aliases of Django's settings.DATABASES (with Django set up)"
    how_found = "give the project's settings a DATABASES entry"

    def find_databases(self, scope: Scope) -> list[Database]:
        from django.conf import settings

        if not _ready():
            return []
        from ..database import Database

        aliases = list(settings.DATABASES)
        aliases.sort(key=lambda alias: alias != "default")
        found = []
        for alias in aliases:
            vendor = vendor_of(alias)
            if vendor == "dummy":  # DATABASES = {}: Django's stand-in refuses every query
                continue
            url = _url(vendor, settings.DATABASES[alias])
            found.append(Database(alias, url, vendor, alias, orm="django"))
        return found

    def find_models(self, scope: Scope) -> list[type]:
        if not _ready():
            return []
        from django.apps import apps

        return list(apps.get_models())

    def sandbox(self, databases: t.Sequence[Database]) -> Tool:
        from .sandbox import Sandbox

        return Sandbox(databases)

    def read_only(self, databases: t.Sequence[Database]) -> Tool:
        from .readonly import ReadOnly

        return ReadOnly(databases)

    def attach_echo(self, databases: t.Sequence[Database], sql: SQLEcho) -> t.Callable[[], None]:
        from .echo import attach

        return attach(databases, sql)


def _ready() -> bool:
    """Whether Django is set up: settings configured and the app registry loaded."""
    from django.apps import apps
    from django.conf import settings

    return bool(settings.configured and apps.ready)


def vendor_of(alias: str) -> str:
    """The vendor of an alias's backend (``"sqlite"``, ``"postgresql"``), without connecting."""
    from django.db import connections

    return str(connections[alias].vendor)


def _url(vendor: str, settings: t.Mapping[str, t.Any]) -> str:
    """An alias's database as a URL, its password hidden."""
    name = str(settings.get("NAME") or "")
    if vendor == "sqlite":
        return f"sqlite:///{name}"
    user = str(settings.get("USER") or "")
    if user and settings.get("PASSWORD"):
        user += ":***"
    host = str(settings.get("HOST") or "")
    if settings.get("PORT"):
        host += f":{settings['PORT']}"
    at = f"{user}@" if user else ""
    return f"{vendor}://{at}{host}/{name}"


#: The integration object the registry lists.
integration = DjangoIntegration()
