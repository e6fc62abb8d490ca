"""The Quart adapter. Quart is never imported to recognise an app."""

from __future__ import annotations

import contextlib
import sys
import typing as t

from . import BaseAdapter

__all__ = ["QuartAdapter"]


class QuartAdapter(BaseAdapter):
    """A :class:`quart.Quart` application."""

    framework = "quart"
    scannable = True
    interface = "asgi"

    @classmethod
    def matches(cls, obj: object) -> bool:
        app_module = sys.modules.get("quart.app")
        return app_module is not None and isinstance(obj, app_module.Quart)

    @classmethod
    def framework_version(cls) -> tuple[str, str] | None:
        from .. import plugins

        found = plugins.version("quart")
        return ("Quart", found) if found else None

    def app_context(self) -> t.ContextManager[t.Any]:
        # Quart's app context is entered on the event loop: see async_app_context.
        return contextlib.nullcontext()

    def async_app_context(self) -> t.AsyncContextManager[t.Any] | None:
        return t.cast("t.AsyncContextManager[t.Any]", self.app.app_context())
