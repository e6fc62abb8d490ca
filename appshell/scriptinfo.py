"""What the command line knows about the app: :class:`ScriptInfo`, loaded lazily.

Commands reach the app through it (``ctx.ensure_object(ScriptInfo)``), or through
:func:`with_appcontext` / :data:`pass_script_info`. The names and meanings are those of
``flask.cli``; ``appshell.cli`` re-exports them.
"""

from __future__ import annotations

import typing as t
from functools import update_wrapper

import click

from .envfiles import get_debug_flag, get_load_dotenv
from .exceptions import NoAppException

if t.TYPE_CHECKING:
    from .adapters import AppAdapter

__all__ = ["ScriptInfo", "pass_script_info", "with_appcontext"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


class ScriptInfo:
    """What the command line knows about the app, loaded lazily on first use.

    :param app_import_path: the import string (``module:name``) given by ``--app``.
    :param create_app: a callback that returns the app, for custom scripts.
    :param set_debug_flag: set the app's debug flag from ``--debug`` / ``APPSHELL_DEBUG``.
    :param load_dotenv_defaults: whether ``.env`` and ``.flaskenv`` are read.
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: t.Callable[..., t.Any] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        #: Arbitrary data for commands and plugins to share.
        self.data: dict[t.Any, t.Any] = {}
        self.set_debug_flag = set_debug_flag
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        #: What went wrong the last time loading was tried while listing commands.
        self.load_error: BaseException | None = None
        #: How the app was found, for banners: the import string, a file, a callback.
        self.app_origin = ""
        self._loaded_app: t.Any = None
        self._adapter: AppAdapter | None = None

    def load_app(self) -> t.Any:
        """Load the app (once) and return it.

        :raises NoAppException: no app could be found from what was configured.
        Exceptions raised by the user's module or factory propagate unchanged.
        """
        if self._loaded_app is not None:
            return self._loaded_app
        # Discovery and the adapters are imported when an app is loaded, not for --help.
        from .discovery import find_default_app, load_from_import_string

        if self.create_app is not None:
            self.app_origin = self.data.get("origin") or (
                f"create_app={getattr(self.create_app, '__qualname__', '?')}"
            )
            app = self.create_app()
            if app is None:
                raise NoAppException(
                    f"The create_app callback {getattr(self.create_app, '__name__', '')!r}"
                    " returned None instead of an app."
                )
        elif self.app_import_path:
            self.app_origin = self.app_import_path
            app = load_from_import_string(self.app_import_path)
        else:
            app, self.app_origin = find_default_app()

        from .adapters import adapter_for

        try:
            adapter = adapter_for(app)
        except TypeError:
            raise NoAppException(
                f"{type(app).__name__!r} object returned by the create_app callback is not"
                " an app that appshell knows."
            ) from None
        if self.set_debug_flag:
            adapter.set_debug(get_debug_flag())
        self._loaded_app, self._adapter = app, adapter
        return app

    @property
    def adapter(self) -> AppAdapter:
        """The adapter of the loaded app (loads it when needed)."""
        self.load_app()
        assert self._adapter is not None
        return self._adapter

    def push_app_context(self, ctx: click.Context) -> None:
        """Push the app context for the life of ``ctx`` unless it is already active."""
        adapter = self.adapter
        if not adapter.context_is_active():
            ctx.with_resource(adapter.app_context())


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


def with_appcontext(f: F) -> F:
    """Run the decorated command callback with the app context pushed (loading the app)."""

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        ctx.ensure_object(ScriptInfo).push_app_context(ctx)
        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(decorator, f)  # type: ignore[return-value]
