"""``flask shell`` powered by appshell: the ``shell`` entry point of ``flask.commands``.

Flask imports every ``flask.commands`` plugin on every ``flask`` run, so this module imports
only click, and cannot fail: the real command is imported when ``flask shell`` runs (or
asks for its help). It loads the app through Flask's own ScriptInfo, so ``--app``,
``FLASK_APP``, ``.flaskenv`` and the rest are Flask's. ``APPSHELL_FLASK_SHELL=0`` gives
Flask's own shell back.
"""

from __future__ import annotations

import os
import typing as t

import click

__all__ = ["shell_command"]


def _enabled() -> bool:
    return os.environ.get("APPSHELL_FLASK_SHELL", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )


def _real_command() -> click.Command:
    if not _enabled():
        from flask.cli import shell_command as flask_shell

        return flask_shell
    from ..shell.command import shell_command as appshell_shell

    return appshell_shell


class LazyShellCommand(click.Command):
    """Stands for appshell's ``shell`` command (or Flask's) and loads it on first real use."""

    def __init__(self) -> None:
        super().__init__(
            "shell",
            short_help="Run a shell in the app context (appshell).",
            context_settings={"allow_interspersed_args": False},
        )
        self._loaded: click.Command | None = None

    def _command(self) -> click.Command:
        if self._loaded is None:
            self._loaded = _real_command()
        return self._loaded

    # Everything click asks of a command beyond its name goes to the real one.
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return self._command().get_params(ctx)

    def get_help(self, ctx: click.Context) -> str:
        return self._command().get_help(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        if not _enabled():
            return "Run a shell in the app context."
        return super().get_short_help_str(limit)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: t.Any,
    ) -> click.Context:
        command = self._command()
        extra = {**command.context_settings, **extra}
        ctx = command.make_context(info_name, args, parent=parent, **extra)
        if _enabled():
            ctx.obj = _bridge(ctx)
        return ctx

    def invoke(self, ctx: click.Context) -> t.Any:
        return self._command().invoke(ctx)


def _bridge(ctx: click.Context) -> t.Any:
    """An appshell ScriptInfo that loads the app through Flask's own ScriptInfo."""
    from ..scriptinfo import ScriptInfo

    flask_info = ctx.find_object(_flask_script_info())
    if flask_info is None:
        return ctx.obj
    info = ScriptInfo(create_app=flask_info.load_app, set_debug_flag=False)
    info.commands_obj = flask_info  # `cli(...)` in the shell runs flask's commands
    info.app_origin = flask_info.app_import_path or "FLASK_APP / wsgi.py / app.py"
    return info


def _flask_script_info() -> type[t.Any]:
    from flask.cli import ScriptInfo as FlaskScriptInfo

    return t.cast(type[t.Any], FlaskScriptInfo)


#: The object the ``flask.commands`` entry point names.
shell_command = LazyShellCommand()
