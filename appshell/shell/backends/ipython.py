"""IPython, started the way ``ipython`` starts: the user's profile, config, startup files and
extensions are honoured (``IPython.embed()`` skips them)."""

from __future__ import annotations

import os
import typing as t
import warnings

from ...term import warn
from .base import BaseBackend, ShellSettings


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
    with warnings.catch_warnings():
        # Said in one line above already; IPython would say it again, in two.
        warnings.filterwarnings("ignore", message=".*is not a writable location")
        app.initialize(argv=[])  # not sys.argv: those are appshell's or a script's
    for extension in settings.ipython_extensions:
        app.shell.extension_manager.load_extension(extension)
    for line in exec_lines:
        app.shell.run_cell(line, store_history=False)
    # The in-shell command runner, if the namespace has one, gets its %cli magic.
    register = getattr(namespace.get("cli"), "register_ipython_magic", None)
    if callable(register):
        register(app.shell)
    if settings.session is not None:
        # `await` at the prompt runs on the session's loop, shared with scripts.
        session = settings.session
        app.shell.loop_runner = lambda coroutine: session.loop.run_until_complete(coroutine)
    return app


class IPythonBackend(BaseBackend):
    """IPython's terminal shell (``pip install 'appshell[ipython]'``)."""

    name = "ipython"
    module = "IPython"
    distribution = "ipython"
    install_hint = "pip install 'appshell[ipython]'"

    def run(self, namespace: dict[str, t.Any], banner: str, settings: ShellSettings) -> None:
        from IPython.terminal.ipapp import TerminalIPythonApp

        reused = TerminalIPythonApp.initialized()
        app = ipython_app(namespace, banner, settings)
        if reused and settings.banner and banner:
            print(banner)
        app.start()
