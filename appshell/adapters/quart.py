"""The Quart adapter. Quart is never imported to recognise an app."""

from __future__ import annotations

import contextlib
import copy
import typing as t

import click

from . import BaseAdapter, Route, routes_from_map

__all__ = ["QuartAdapter", "QuartCommands"]


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

    def set_debug(self, debug: bool) -> None:
        # As `quart` does (and `flask`): the flag always set, off unless asked for.
        self.app.debug = debug

    def app_context(self) -> t.ContextManager[t.Any]:
        # Quart's app context is entered on the event loop: see async_app_context.
        return contextlib.nullcontext()

    def async_app_context(self) -> t.AsyncContextManager[t.Any] | None:
        return t.cast("t.AsyncContextManager[t.Any]", self.app.app_context())

    def request_context(self, path: str = "/") -> t.ContextManager[t.Any] | None:
        return None  # Quart's is entered on the event loop: see async_request_context

    def async_request_context(self, path: str = "/") -> t.AsyncContextManager[t.Any] | None:
        return t.cast("t.AsyncContextManager[t.Any]", self.app.test_request_context(path))

    def context_is_active(self) -> bool:
        from quart import current_app, has_app_context

        return has_app_context() and current_app._get_current_object() is self.app  # type: ignore[attr-defined]

    def command_group(self) -> click.Group:
        return QuartCommands(self.app)

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


class QuartCommands(click.Group):
    """The commands of a Quart app's ``app.cli``, as appshell runs them.

    appshell enters the app context for every app command (``with_appcontext=False`` or not,
    as for Flask). A command wrapped in ``quart.cli.with_appcontext`` (Quart's
    ``@app.cli.command(with_appcontext=True)`` too) also looks for a ``quart.cli.ScriptInfo``
    among its click contexts and enters the app context again on a loop of its own: each
    command is given, as its context's ``obj``, one that returns this app. The group is a
    view: ``app.cli`` and its commands are left as they are.
    """

    def __init__(self, app: t.Any) -> None:
        super().__init__(app.cli.name, help=app.cli.help)
        self.app = app

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.app.cli.list_commands(ctx))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command: click.Command | None = self.app.cli.get_command(ctx, name)
        if command is None:
            return None
        from quart.cli import ScriptInfo

        app = self.app
        # A copy, so that the user's command object is not changed; its subcommands are
        # shared and find the obj in the copy's context, their parent.
        given = copy.copy(command)
        given.context_settings = {
            **command.context_settings,
            "obj": ScriptInfo(create_app=lambda: app, set_debug_flag=False),
        }
        return given
