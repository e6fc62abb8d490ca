"""The Starlette adapter, for FastAPI apps too (FastAPI subclasses Starlette).

Starlette is never imported to recognise an app: an app exists only if its module imported
Starlette already.
"""

from __future__ import annotations

import sys

from . import BaseAdapter

__all__ = ["StarletteAdapter"]


class StarletteAdapter(BaseAdapter):
    """A :class:`starlette.applications.Starlette` application, FastAPI's included."""

    framework = "starlette"
    scannable = True
    interface = "asgi"

    @classmethod
    def matches(cls, obj: object) -> bool:
        applications = sys.modules.get("starlette.applications")
        return applications is not None and isinstance(obj, applications.Starlette)

    @classmethod
    def framework_version(cls) -> tuple[str, str] | None:
        from .. import plugins

        if "fastapi" in sys.modules:
            found = plugins.version("fastapi")
            if found:
                return ("FastAPI", found)
        found = plugins.version("starlette")
        return ("Starlette", found) if found else None
