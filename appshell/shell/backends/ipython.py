"""IPython, started the way ``ipython`` starts: the user's profile, config, startup files and
extensions are honoured (``IPython.embed()`` skips them)."""

from __future__ import annotations

import os
import sys
import typing as t
import warnings

from ...exceptions import AppShellUsageError, format_user_exception
from ...term import warn
from .base import BaseBackend, ShellSettings

if t.TYPE_CHECKING:
    from ...loop import SessionLoop
    from ...profiles import Profile


def _ipython_dir_writable() -> bool:
    """Whether IPython's folder (``$IPYTHONDIR``, else ``~/.ipython``) can hold its history.

    Checked before IPython looks, because IPython's own answer to an unwritable folder is a
    two-line warning and a temporary folder whose history is lost anyway.
    """
    path = os.path.expanduser(os.environ.get("IPYTHONDIR") or "~/.ipython")
    profile = os.path.join(path, "profile_default")
    try:
        os.makedirs(profile, exist_ok=True)
    except OSError:
        return False
    return os.access(profile, os.W_OK)


def _where(profile: Profile | None, *path: str) -> str:
    """``profile 'NAME' (FILE)``: the profile, and the file of its highest layer that holds
    ``path`` (keys of tables, the last one maybe an item of a list), for a message about the
    setting found there."""
    if profile is None:
        return "shell's settings"

    def holds(node: t.Any) -> bool:
        for part in path:
            if not isinstance(node, (dict, list)) or part not in node:
                return False
            node = node[part] if isinstance(node, dict) else None
        return True

    for layer in reversed(profile.sources):
        if holds(layer.data):
            table = f" [tool.appshell.profiles.{layer.name}]" if layer.origin == "project" else ""
            return f"profile {profile.name!r} ({layer.path!r}{table})"
    return f"profile {profile.name!r}"


def _configurables() -> dict[str, list[type[t.Any]]]:
    """Every configurable class imported so far (IPython's, an extension's), by the name a
    config section gives it."""
    from traitlets.config import Configurable

    by_name: dict[str, list[type[t.Any]]] = {}
    todo: list[type[t.Any]] = [Configurable]
    while todo:
        cls = todo.pop()
        by_name.setdefault(cls.__name__, []).append(cls)
        todo.extend(cls.__subclasses__())
    return by_name


def _accepts(trait: t.Any, value: t.Any) -> bool:
    """Whether ``trait`` takes ``value``, tried on a stand-in object, not on IPython's own."""
    import copy

    from traitlets import HasTraits, TraitError

    probe = HasTraits()
    probe.add_traits(setting=copy.copy(trait))
    try:
        probe.setting = value  # type: ignore[attr-defined]
    except TraitError:
        return False
    except Exception:  # a check that needs the real object: IPython itself decides
        return True
    return True


def check_config(settings: ShellSettings) -> None:
    """Check the profile's IPython settings against the traits of the classes they name,
    before IPython starts (it would stop with exit code 1 on the first one).

    Sections and keys of no class imported here are left to IPython, which warns of them.

    :raises AppShellUsageError: a value of the wrong type, naming the profile, file and key.
    """
    classes = _configurables()
    for section, values in settings.ipython_config.items():
        for key, value in values.items():
            traits = [c.class_traits(config=True).get(key) for c in classes.get(section, ())]
            traits = [trait for trait in traits if trait is not None]
            if not traits or any(_accepts(trait, value) for trait in traits):
                continue
            where = _where(settings.profile, "ipython", "config", section, key)
            raise AppShellUsageError(
                f"The {where} sets ipython.config {section}.{key} to {value!r}, but"
                f" {section}.{key} takes {traits[0].info()}. Change that value in the file."
            )


def _load_extensions(shell: t.Any, settings: ShellSettings) -> None:
    """Load the profile's extensions; one that is missing or fails is reported, not fatal."""
    for name in settings.ipython_extensions:
        try:
            outcome = shell.extension_manager.load_extension(name)
        except Exception as e:
            where = _where(settings.profile, "ipython", "extensions", name)
            missing = e.name if isinstance(e, ModuleNotFoundError) else None
            if missing is not None and (name + ".").startswith(missing + "."):
                warn(
                    f"the IPython extension {name!r} of the {where} is not installed;"
                    " the shell starts without it."
                )
            else:  # the extension's own code raised: its traceback, and the shell starts
                warn(f"the IPython extension {name!r} of the {where} failed to load:")
                sys.stderr.write(format_user_exception(e))
            continue
        if outcome == "no load function":
            where = _where(settings.profile, "ipython", "extensions", name)
            warn(
                f"{name!r}, an IPython extension of the {where}, has no"
                " load_ipython_extension function; it is not loaded."
            )


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C during an awaited cell, which IPython shows as Python would: the frames of the
    user's code if it was running, else the one KeyboardInterrupt line (not the event
    loop's frames, where it was waiting)."""

    def _render_traceback_(self) -> list[str]:
        return format_user_exception(self.args[0]).rstrip("\n").split("\n")


def _runner(shell: t.Any, session: SessionLoop) -> t.Callable[[t.Any], t.Any]:
    """IPython's ``loop_runner`` for cells that await: the session's loop and context.

    Ctrl-C while the loop waits cancels the cell (IPython's coroutine running it included,
    which would show the cancellation as a second traceback: it is not shown).
    """
    import asyncio

    def run(coroutine: t.Any) -> t.Any:
        show = shell.showtraceback

        def show_unless_cancelled_by_ctrl_c(*args: t.Any, **kwargs: t.Any) -> None:
            error = sys.exc_info()[1]
            if not (
                isinstance(error, asyncio.CancelledError)
                and (session.interrupted or isinstance(error.__context__, KeyboardInterrupt))
            ):
                show(*args, **kwargs)

        shell.showtraceback = show_unless_cancelled_by_ctrl_c
        share_loop(session)
        try:
            return session.complete(coroutine)
        except KeyboardInterrupt as e:
            raise _Interrupted(e) from None
        finally:
            shell.showtraceback = show

    return run


def share_loop(session: SessionLoop) -> t.Any:
    """One loop for IPython and the session: IPython's own (``get_asyncio_loop()``) becomes
    the session's, or, if the session made its loop already (an app's lifespan), IPython's
    global loop is set to that one. Returns the loop."""
    from IPython.core import async_helpers

    if not session.started:
        return session.adopt(async_helpers.get_asyncio_loop())  # type: ignore[no-untyped-call]
    loop = session.loop
    if async_helpers.get_asyncio_loop() is not loop:  # type: ignore[no-untyped-call]
        async_helpers._asyncio_event_loop = loop
    return loop


def _run_loop_at_prompt(shell: t.Any, session: SessionLoop) -> None:
    """Once the session has a loop, IPython's prompt waits on it (IPython's ``%gui
    asyncio``), so that the session's tasks go on while it waits.

    Not under ``--simple-prompt`` (its prompt is ``input()``, which nothing can run beside),
    nor when the user chose an event loop of their own (``%gui qt``): theirs stays.
    """

    def enable(*args: t.Any) -> None:
        if not session.started or shell.simple_prompt:
            return
        if enable in shell.events.callbacks["post_run_cell"]:
            shell.events.unregister("post_run_cell", enable)
        if shell.active_eventloop is None:
            share_loop(session)
            shell.enable_gui("asyncio")

    if session.started:
        enable()
    else:
        shell.events.register("post_run_cell", enable)


def _mark_prompts(shell: t.Any, marker: str) -> None:
    """IPython's input prompt starts with ``[marker]`` (the user's own prompts class too)."""
    from pygments.token import Token

    prompts = shell.prompts
    tokens = prompts.in_prompt_tokens

    def marked(*args: t.Any, **kwargs: t.Any) -> list[tuple[t.Any, str]]:
        return [(Token.Prompt.Mode, f"[{marker}] "), *tokens(*args, **kwargs)]

    prompts.in_prompt_tokens = marked


def ipython_app(namespace: dict[str, t.Any], banner: str, settings: ShellSettings) -> t.Any:
    """IPython's terminal application, initialized on ``namespace`` but not started.

    IPython's application exists once per process: a second call reuses the first one's
    (its namespace updated), which is how ``-i`` after a ``.ipy`` script gets the same shell.
    """
    from IPython.terminal.ipapp import TerminalIPythonApp
    from traitlets.config import Config

    if TerminalIPythonApp.initialized():
        app: t.Any = TerminalIPythonApp.instance()
        if app.shell.user_ns is not namespace:
            app.shell.user_ns.update(namespace)
        return app

    check_config(settings)
    config = Config()
    shell_config = config.TerminalInteractiveShell
    shell_config.banner1 = (banner.rstrip("\n") + "\n") if banner else ""
    shell_config.banner2 = ""
    shell_config.enable_tip = False
    config.TerminalIPythonApp.display_banner = settings.banner and bool(banner)
    if not settings.history or not _ipython_dir_writable():
        if settings.history:
            warn(
                "IPython's history is off for this session: its folder"
                f" {os.environ.get('IPYTHONDIR') or '~/.ipython'!r} is not writable."
            )
        config.HistoryManager.enabled = False
    # Lists that the user's own IPython config may set too are added to theirs after start,
    # not set in place of theirs: extensions and exec_lines.
    exec_lines: list[str] = []
    for section, values in settings.ipython_config.items():
        for key, value in values.items():
            if (section, key) == ("InteractiveShellApp", "exec_lines"):
                exec_lines.extend(value)
                continue
            config[section][key] = value

    app = TerminalIPythonApp.instance(config=config, user_ns=namespace)
    # IPython's startup files and the profile's extensions see what the cells see.
    in_session = settings.session.call if settings.session is not None else _call
    with warnings.catch_warnings():
        # Said in one line above already; IPython would say it again, in two.
        warnings.filterwarnings("ignore", message=".*is not a writable location")
        in_session(app.initialize, argv=[])  # not sys.argv: those are appshell's or a script's
    if settings.session is not None:
        from ..magics import watch_cells

        # Every cell's code in the session's context (the exec_lines' too); after each
        # cell, the session's after-statement line (sql's N+1 finder); with a database,
        # %sql_echo.
        watch_cells(app.shell, settings.session, settings.sql, in_context=True)
        # `await` at the prompt runs on the session's loop, shared with scripts.
        app.shell.loop_runner = _runner(app.shell, settings.session)
        _run_loop_at_prompt(app.shell, settings.session)
    in_session(_load_extensions, app.shell, settings)
    for line in exec_lines:
        app.shell.run_cell(line, store_history=False)
    # The in-shell command runner, if the namespace has one, gets its %cli magic.
    register = getattr(namespace.get("cli"), "register_ipython_magic", None)
    if callable(register):
        register(app.shell)
    if settings.prompt_marker:
        _mark_prompts(app.shell, settings.prompt_marker)
    return app


def _call(function: t.Callable[..., t.Any], /, *args: t.Any, **kwargs: t.Any) -> t.Any:
    return function(*args, **kwargs)


class IPythonBackend(BaseBackend):
    """IPython's terminal shell (``pip install 'appshell[ipython]'``)."""

    name = "ipython"
    module = "IPython"
    distribution = "ipython"
    install_hint = "pip install 'appshell[ipython]'"

    def run(self, namespace: dict[str, t.Any], banner: str, settings: ShellSettings) -> None:
        if sys.stdin is None:  # no input at all (stdin closed): nothing to read, as at EOF
            return
        from IPython.terminal.ipapp import TerminalIPythonApp

        reused = TerminalIPythonApp.initialized()
        app = ipython_app(namespace, banner, settings)
        if reused and settings.banner and banner:
            print(banner)
        app.start()
