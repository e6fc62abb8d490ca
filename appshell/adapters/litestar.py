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
        """The commands the app's CLI plugins add (``on_cli_init``), when it has any.

        As under the ``litestar`` command, a plugin's command that has a parameter named
        ``app`` is given the app, ``env`` a ``LitestarEnv`` on it, and ``ctx`` the click
        context; so is every command of a group the plugin adds.
        """
        plugins = getattr(getattr(self.app, "plugins", None), "cli", ())
        if not plugins:
            return None
        group = _plugin_group_class()(self.name)
        for plugin in plugins:
            plugin.on_cli_init(group)
        for command in group.commands.values():
            # A command wrapped by Litestar itself (added already made, in a LitestarGroup)
            # reads the environment from ``ctx.obj``, calling it when it is not one yet:
            # handed this, it finds it. appshell's ScriptInfo stays one context up.
            command.context_settings = {**command.context_settings, "obj": _litestar_env}
        return group if group.commands else None


def _plugin_group_class() -> type[click.Group]:
    """A click group whose commands, added in any way, are given what they ask for."""
    import click

    class PluginCommands(click.Group):
        group_class = type

        def add_command(self, cmd: click.Command, name: str | None = None) -> None:
            _give_litestar_arguments(cmd)
            super().add_command(cmd, name)

    return PluginCommands


_GIVEN = ("app", "env", "ctx")


def _give_litestar_arguments(command: click.Command) -> None:
    """Wrap ``command``'s callback (every callback below it, for a group) so that its
    parameters named ``app``, ``env`` and ``ctx`` are filled in when it is invoked, and
    its context's ``obj`` is the ``LitestarEnv``, as the ``litestar`` command makes it
    before any plugin command runs (advanced-alchemy's ``database`` group reads
    ``ctx.obj.app``)."""
    import functools
    import inspect

    import click

    for sub in getattr(command, "commands", {}).values():
        _give_litestar_arguments(sub)
    callback = command.callback
    if callback is None or getattr(callback, "_appshell_gives", False):
        return
    try:
        asked = [name for name in _GIVEN if name in inspect.signature(callback).parameters]
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        asked = []

    @functools.wraps(callback)
    def given(*args: t.Any, **kwargs: t.Any) -> t.Any:
        ctx = click.get_current_context()
        if ctx.obj is _litestar_env:  # the stand-in the command was made with
            ctx.obj = _litestar_env()
        values = {"ctx": lambda: ctx, "app": lambda: _info(ctx).load_app(), "env": _litestar_env}
        kwargs.update({name: values[name]() for name in asked})
        return callback(*args, **kwargs)

    given._appshell_gives = True  # type: ignore[attr-defined]
    command.callback = given


if t.TYPE_CHECKING:

    class _AppSource(t.Protocol):
        """What a plugin's command reads of the command line's lazily loaded app: appshell's
        ScriptInfo, which sits on a row above the adapters and so is known here by this."""

        app_import_path: str | None
        app_origin: str
        create_app: t.Callable[..., t.Any] | None

        def load_app(self) -> t.Any: ...


def _info(ctx: click.Context) -> _AppSource:
    """The ScriptInfo nearest ``ctx``: the root command put it there when it asked the
    adapter for this group, so a plugin's command always finds it."""
    node: click.Context | None = ctx
    while node is not None:
        if callable(getattr(node.obj, "load_app", None)):
            return t.cast("_AppSource", node.obj)
        node = node.parent
    from ..exceptions import NoAppException

    raise NoAppException(
        "A command of the app's Litestar plugins ran outside appshell's command line, with"
        " no app loaded to give it: run it as 'appshell COMMAND'."
    )


def _litestar_env() -> t.Any:
    """The ``LitestarEnv`` a plugin's command asks for, on the app appshell loaded."""
    import os
    from pathlib import Path

    import click
    from litestar.cli._utils import LitestarEnv

    info = _info(click.get_current_context())
    port = os.environ.get("LITESTAR_PORT")
    return LitestarEnv(
        app_path=info.app_import_path or info.app_origin,
        app=info.load_app(),
        cwd=Path.cwd(),
        host=os.environ.get("LITESTAR_HOST"),
        port=int(port) if port and port.isdigit() else None,
        is_app_factory=info.create_app is not None or "(" in (info.app_import_path or ""),
    )


def _is_automatic_options(handler: t.Any) -> bool:
    return getattr(handler, "handler_name", None) == "options_handler" and set(
        getattr(handler, "http_methods", ())
    ) == {"OPTIONS"}
