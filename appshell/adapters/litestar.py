"""The Litestar adapter. Litestar is never imported to recognise an app."""

from __future__ import annotations

import typing as t

from . import BaseAdapter, Route

if t.TYPE_CHECKING:
    import click

__all__ = ["LitestarAdapter"]


class LitestarAdapter(BaseAdapter):
    """A :class:`litestar.Litestar` application."""

    framework = "litestar"
    scannable = True
    interface = "asgi"
    app_class = ("litestar.app", "Litestar")
    distribution = ("litestar", "Litestar")

    def routes(self) -> list[Route]:
        """One route per route handler: a path answered by a ``@get`` and a ``@post`` is two
        rows, each named by the handler's ``name=`` or else its function. The OPTIONS
        handler Litestar adds to every path is folded into the other rows' methods; the
        OpenAPI schema's own pages are left out, as ``litestar routes`` leaves them."""
        found: list[Route] = []
        schema = self._schema_path()
        for route in self.app.routes:
            if schema and (route.path == schema or route.path.startswith(f"{schema}/")):
                continue
            handlers = getattr(route, "route_handlers", None) or [route.route_handler]
            automatic = frozenset().union(
                *(h.http_methods for h in handlers if _is_automatic_options(h))
            )
            # A path's handlers are held in no set order: by their methods, so output is stable.
            for handler in sorted(handlers, key=lambda h: sorted(getattr(h, "http_methods", ()))):
                if _is_automatic_options(handler):
                    continue
                methods = getattr(handler, "http_methods", None)
                if methods is None:  # a websocket or a raw ASGI handler
                    methods = (
                        {"WEBSOCKET"} if "websocket" in type(route).__name__.lower() else set()
                    )
                name = handler.name or handler.handler_name
                found.append(Route(route.path, name, frozenset(methods) | automatic))
        return found

    def _schema_path(self) -> str | None:
        config = getattr(self.app, "openapi_config", None)
        if config is None:
            return None
        controller = getattr(config, "openapi_controller", None)
        return str(getattr(controller, "path", None) or config.path or "/schema").rstrip("/")

    def command_group(self) -> click.Group | None:
        """The commands the app's CLI plugins add (``on_cli_init``), when it has any."""
        import click

        plugins = getattr(getattr(self.app, "plugins", None), "cli", ())
        if not plugins:
            return None
        group = click.Group(self.name)
        for plugin in plugins:
            plugin.on_cli_init(group)
        return group if group.commands else None


def _is_automatic_options(handler: t.Any) -> bool:
    return getattr(handler, "handler_name", None) == "options_handler" and set(
        getattr(handler, "http_methods", ())
    ) == {"OPTIONS"}
