"""The Litestar adapter. Litestar is never imported to recognise an app."""

from __future__ import annotations

import sys

from . import BaseAdapter

__all__ = ["LitestarAdapter"]


class LitestarAdapter(BaseAdapter):
    """A :class:`litestar.Litestar` application."""

    framework = "litestar"
    scannable = True
    interface = "asgi"

    @classmethod
    def matches(cls, obj: object) -> bool:
        app_module = sys.modules.get("litestar.app")
        return app_module is not None and isinstance(obj, app_module.Litestar)

    @classmethod
    def framework_version(cls) -> tuple[str, str] | None:
        from .. import plugins

        found = plugins.version("litestar")
        return ("Litestar", found) if found else None
