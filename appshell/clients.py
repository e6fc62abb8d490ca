"""``client``: HTTP requests to the shell's own app object, in-process, with no socket.

For an ASGI app it is an ``httpx.AsyncClient`` over ``httpx.ASGITransport`` (awaited:
``r = await client.get("/items")``); for a Flask app, ``app.test_client()``; for any other
WSGI app, werkzeug's test ``Client`` (called plainly: ``client.get("/items")``). It is made
the first time it is used, so a session that never uses it pays nothing for it.
"""

from __future__ import annotations

import typing as t

from .exceptions import AppShellUsageError

if t.TYPE_CHECKING:
    from .adapters import AppAdapter

__all__ = ["BASE_URL", "ClientUnavailable", "LazyClient", "make_client"]

#: The host requests from the shell are addressed to, as test clients do.
BASE_URL = "http://testserver"


class ClientUnavailable(AppShellUsageError):
    """``client`` cannot be made: what it needs is not installed."""


def make_client(adapter: AppAdapter, state: dict[str, t.Any] | None = None) -> t.Any:
    """A client bound to the adapter's app object.

    :param state: the lifespan's state; each request an ASGI app gets has a shallow copy.
    :raises ClientUnavailable: an ASGI app, and httpx is not installed.
    """
    app = adapter.app
    if adapter.interface != "asgi":
        test_client = getattr(app, "test_client", None)
        if callable(test_client):
            return test_client()
        from werkzeug.test import Client

        return Client(app)
    try:
        import httpx
    except ImportError:
        raise ClientUnavailable(
            "client for an ASGI app needs httpx: pip install 'appshell[asgi]'"
        ) from None
    target = app if state is None else _with_state(app, state)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url=BASE_URL)


def _with_state(app: t.Any, state: dict[str, t.Any]) -> t.Any:
    """``app``, called with a copy of the lifespan state in every request's scope, as an
    ASGI server does (httpx's transport leaves ``state`` out)."""

    async def app_with_state(scope: dict[str, t.Any], receive: t.Any, send: t.Any) -> None:
        if scope.get("type") in ("http", "websocket") and "state" not in scope:
            scope = {**scope, "state": dict(state)}
        await app(scope, receive, send)

    return app_with_state


class LazyClient:
    """Stands in for the client until its first use, then passes everything to it.

    :param factory: makes the real client (called once).
    """

    def __init__(self, factory: t.Callable[[], t.Any]) -> None:
        self._factory = factory
        self._client: t.Any = None

    @property
    def made(self) -> t.Any:
        """The real client, or None if it was never used."""
        return self._client

    def __getattr__(self, name: str) -> t.Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._client is None:
            self._client = self._factory()
        return getattr(self._client, name)

    def __repr__(self) -> str:
        if self._client is None:
            return "<client: made on first use>"
        return repr(self._client)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self._client or object())))
