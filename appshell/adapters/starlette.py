"""The Starlette adapter, for FastAPI apps too (FastAPI subclasses Starlette).

Starlette is never imported to recognise an app: an app exists only if its module imported
Starlette already.
"""

from __future__ import annotations

import sys
import typing as t

from . import BaseAdapter, Route

__all__ = ["StarletteAdapter"]

_VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class StarletteAdapter(BaseAdapter):
    """A :class:`starlette.applications.Starlette` application, FastAPI's included."""

    framework = "starlette"
    scannable = True
    interface = "asgi"
    app_class = ("starlette.applications", "Starlette")
    distribution = ("starlette", "Starlette")
    # The names `fastapi run` and `fastapi dev` look for, in their order, then the name
    # appshell looks for in any module.
    app_names = ("app", "api", "application")

    @classmethod
    def framework_version(cls) -> tuple[str, str] | None:
        from .. import plugins

        if "fastapi" in sys.modules:
            found = plugins.version("fastapi")
            if found:
                return ("FastAPI", found)
        return super().framework_version()

    @property
    def name(self) -> str:
        # A FastAPI app is named by its title (what its docs pages show); Starlette has none.
        title = getattr(self.app, "title", None)
        return title if isinstance(title, str) and title else super().name

    def routes(self) -> list[Route]:
        """Every route in matching order, mounted apps and routers flattened: a mounted
        route's path is prefixed with the mount's and its name with ``"mount:"`` (the name
        ``url_path_for`` takes), a ``Host``'s routes carry its host."""
        return list(_flatten(self.app.routes, "", "", None))


def _entries(routes: t.Iterable[t.Any]) -> t.Iterator[tuple[t.Any, t.Any]]:
    """Each route with what describes it: itself, or for a router FastAPI included (which
    is one entry of ``app.routes``) each of its routes with the prefixes applied."""
    fastapi_routing = sys.modules.get("fastapi.routing")
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is None:
        yield from ((route, route) for route in routes)
        return
    for context in contexts(list(routes)):
        yield context.original_route, context


def _flatten(
    routes: t.Iterable[t.Any], prefix: str, name_prefix: str, host: str | None
) -> t.Iterator[Route]:
    from starlette.routing import Host, Mount, WebSocketRoute

    for original, described in _entries(routes):
        name = getattr(described, "name", None)
        qualified = f"{name_prefix}{name}:" if name else name_prefix
        if isinstance(original, Host):
            yield from _flatten(described.routes, prefix, qualified, original.host)
        elif isinstance(original, Mount):
            path = prefix + described.path
            if described.routes:
                yield from _flatten(described.routes, path, qualified, host)
            else:  # an app of its own (static files, a WSGI app): it takes every path below
                shown = name or type(original.app).__name__
                yield Route(f"{path}/{{path:path}}", f"{name_prefix}{shown}", frozenset(), host)
        elif isinstance(original, WebSocketRoute):
            yield Route(
                prefix + described.path, f"{name_prefix}{name}", frozenset({"WEBSOCKET"}), host
            )
        elif hasattr(described, "path"):
            yield Route(prefix + described.path, f"{name_prefix}{name}", _methods(described), host)


def _methods(route: t.Any) -> frozenset[str]:
    """A route's methods; an ``HTTPEndpoint`` class answers those it defines."""
    if route.methods is not None:
        return frozenset(route.methods)
    endpoint = getattr(route, "endpoint", None)
    if isinstance(endpoint, type):
        found = {verb for verb in _VERBS if callable(getattr(endpoint, verb.lower(), None))}
        return frozenset(found | ({"HEAD"} if "GET" in found else set()))
    return frozenset()
