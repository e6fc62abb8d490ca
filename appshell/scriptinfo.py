"""What the command line knows about the app: :class:`ScriptInfo`, loaded lazily.

Commands reach the app through it (``ctx.ensure_object(ScriptInfo)``), or through the
decorators of :mod:`appshell.groups`. The name, constructor and ``load_app`` are those of
``flask.cli.ScriptInfo``; ``appshell.cli`` re-exports it.
"""

from __future__ import annotations

import contextlib
import inspect
import typing as t
from functools import cached_property

from .envfiles import get_debug_flag, get_load_dotenv
from .exceptions import AppShellUsageError, NoAppException

if t.TYPE_CHECKING:
    import contextvars

    import click

    from .adapters import AppAdapter

__all__ = ["ScriptInfo"]


class ScriptInfo:
    """How a command reaches the app: from an import string, a callback, or by looking.

    Nothing is imported until :meth:`load_app` (or :attr:`adapter`) is first used, so that
    ``--help`` and the built-in commands' options work without the app.

    :param app_import_path: the import string (``module:name``) given by ``--app``.
    :param create_app: a callback that returns the app, for custom scripts. When it has
        exactly one required positional parameter it is passed this ScriptInfo (as
        ``flask.cli`` did up to Flask 2.2); otherwise it is called with no arguments.
    :param set_debug_flag: set the app's debug flag from ``--debug`` / ``APPSHELL_DEBUG``.
    :param load_dotenv_defaults: whether ``.env`` and ``.flaskenv`` are read (the
        ``APPSHELL_SKIP_DOTENV`` / ``FLASK_SKIP_DOTENV`` variables can turn it off).
    """

    # Set while the command line is parsed or the app is loaded; the class holds defaults.
    #: How the app was found, for banners and kernels: the import string, a file, a
    #: callback. A caller that passes ``create_app`` may set it beforehand.
    app_origin: str = ""
    #: The ``--env-file`` given, as an absolute path, for what records it (kernels).
    env_file: str | None = None
    #: What the in-shell ``cli(...)`` runner gives its commands as ``ctx.obj`` (None: this
    #: ScriptInfo); ``flask shell`` sets Flask's own ScriptInfo here.
    commands_obj: object | None = None
    #: What went wrong the last time loading was tried while listing commands.
    load_error: BaseException | None = None

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: t.Callable[..., t.Any] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path, self.create_app = app_import_path, create_app
        self.set_debug_flag = set_debug_flag
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        self._loaded: tuple[t.Any, AppAdapter] | None = None

    @cached_property
    def data(self) -> dict[t.Any, t.Any]:
        """Free-form values that plugins and commands share (``flask.cli`` has it too)."""
        return {}

    def load_app(self) -> t.Any:
        """Load the app (once) and return it.

        :raises NoAppException: no app could be found from what was configured.
        Exceptions raised by the user's module or factory propagate unchanged.
        """
        if self._loaded is None:
            app = self._find_app()
            # The adapters are imported when an app is loaded, not for --help.
            from .adapters import adapter_for

            try:
                adapter = adapter_for(app)
            except TypeError:
                raise NoAppException(
                    f"The create_app callback returned {type(app).__name__!r}, which is not"
                    " an app that appshell knows: return the app object itself."
                ) from None
            if self.set_debug_flag:
                adapter.set_debug(get_debug_flag())
            self._loaded = (app, adapter)
        return self._loaded[0]

    def _find_app(self) -> t.Any:
        from .discovery import load_from_import_string

        if self.create_app is not None:
            name = getattr(self.create_app, "__qualname__", repr(self.create_app))
            self.app_origin = self.app_origin or f"create_app={name}"
            app = self.create_app(*_callback_arguments(self.create_app, self))
            if app is None:
                raise NoAppException(
                    f"The create_app callback {name!r} returned None: it must return the app."
                )
            return app
        if self.app_import_path:
            self.app_origin = self.app_import_path
            return load_from_import_string(self.app_import_path)
        from .defaultapp import find_default_app

        app, self.app_origin = find_default_app()
        return app

    @property
    def adapter(self) -> AppAdapter:
        """The adapter of the loaded app (loads it when needed)."""
        self.load_app()
        assert self._loaded is not None
        return self._loaded[1]

    def push_app_context(self, ctx: click.Context) -> None:
        """Push the app context for the life of ``ctx`` unless it is already active. An app
        context that is entered on an event loop (Quart's) is entered on one of its own, so
        that the command itself runs with no loop running (it may ``asyncio.run`` itself)."""
        adapter = self.adapter
        if adapter.context_is_active():
            return
        entering = adapter.async_app_context()
        ctx.with_resource(adapter.app_context() if entering is None else _off_loop(entering))


@contextlib.contextmanager
def _off_loop(manager: t.AsyncContextManager[t.Any]) -> t.Iterator[t.Any]:
    """Enter ``manager`` for code that runs with no event loop: its enter and its exit each
    run to the end on a loop made for them, in one context kept for both (a context
    variable's token is only good where it was made); the variables the enter set are set
    here too for the time in between, and reset before the exit runs.

    :raises AppShellUsageError: a loop is running in this thread (nothing can wait on it).
    """
    import asyncio
    import contextvars

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise AppShellUsageError(
            "This app's context has to be entered on an event loop, and one is running here"
            " already: run the command where no loop runs (a terminal, or a shell statement"
            " that does not await), or attach the app first (its context is then active)."
        )
    inside = contextvars.copy_context()
    with asyncio.Runner() as runner:
        value = runner.run(manager.__aenter__(), context=inside)
    tokens = [(var, var.set(inside[var])) for var in _changed(inside)]
    failure: BaseException | None = None
    try:
        yield value
    except BaseException as e:
        failure = e
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
        exit_args = (type(failure), failure, failure.__traceback__) if failure else (None,) * 3
        with asyncio.Runner() as runner:
            swallowed = runner.run(manager.__aexit__(*exit_args), context=inside)
    if failure is not None and not swallowed:
        raise failure


def _changed(inside: contextvars.Context) -> list[contextvars.ContextVar[t.Any]]:
    """The variables whose value in ``inside`` is not their value here."""
    import contextvars

    here = contextvars.copy_context()
    return [var for var, value in inside.items() if var not in here or here[var] is not value]


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_STARRED = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _callback_arguments(callback: t.Callable[..., t.Any], info: ScriptInfo) -> tuple[t.Any, ...]:
    """What a ``create_app`` callback is called with: ``(info,)`` when it requires exactly one
    positional argument, ``()`` when it requires none."""
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):  # a builtin without a signature: assume it needs nothing
        return ()
    required = [
        p
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in _STARRED
    ]
    if not required:
        return ()
    if len(required) == 1 and required[0].kind in _POSITIONAL:
        return (info,)
    name = getattr(callback, "__qualname__", repr(callback))
    raise NoAppException(
        f"The create_app callback {name}{signature} requires"
        f" {', '.join(repr(p.name) for p in required)}, but appshell calls it with no"
        " arguments, or with the ScriptInfo as its one required positional argument."
        " Give the other parameters defaults."
    )
