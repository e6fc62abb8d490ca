"""The Quart adapter. Quart is never imported to recognise an app."""

from __future__ import annotations

import contextlib
import typing as t

from . import BaseAdapter, Route, routes_from_map

__all__ = ["QuartAdapter"]


class QuartAdapter(BaseAdapter):
    """A :class:`quart.Quart` application: Flask's API on ASGI, so its url_map is a werkzeug
    ``Map``, its ``cli`` a click group and ``make_shell_context()`` its shell names."""

    framework = "quart"
    scannable = True
    interface = "asgi"
    app_class = ("quart.app", "Quart")
    distribution = ("quart", "Quart")

    @property
    def name(self) -> str:
        return str(self.app.name)

    def app_context(self) -> t.ContextManager[t.Any]:
        # Quart's app context is entered on the event loop: see async_app_context.
        return contextlib.nullcontext()

    def async_app_context(self) -> t.AsyncContextManager[t.Any] | None:
        return t.cast("t.AsyncContextManager[t.Any]", self.app.app_context())

    def default_names(self) -> dict[str, t.Any]:
        from quart import g

        return {"app": self.app, "g": g}

    def routes(self) -> list[Route]:
        """The url_map's rules; a websocket rule's methods are shown as ``WEBSOCKET``."""
        host_matching = self.app.url_map.host_matching
        return [
            Route(
                route.rule,
                route.endpoint,
                frozenset({"WEBSOCKET"}) if getattr(rule, "websocket", False) else route.methods,
                route.host if host_matching else None,
                route.subdomain,
            )
            for rule, route in zip(
                self.app.url_map.iter_rules(), routes_from_map(self.app.url_map), strict=True
            )
        ]
