"""``flask shell`` powered by appshell: the ``shell`` entry point of ``flask.commands``.

Flask loads every ``flask.commands`` plugin each time ``flask`` runs, so importing this
module costs only click and cannot fail. appshell's real command is imported when
``flask shell`` runs or shows its help. The app is loaded through Flask's own ScriptInfo, so
``--app``, ``FLASK_APP``, ``.flaskenv`` and the rest mean what they mean to Flask; inside
the shell ``cli(...)`` runs Flask's commands. ``APPSHELL_FLASK_SHELL=0`` brings back
Flask's own shell.
"""

from __future__ import annotations

import os
import typing as t

import click

__all__ = ["shell_command"]

_OFF = frozenset({"0", "false", "no", "off"})


def appshell_enabled() -> bool:
    """Whether ``flask shell`` is appshell's (``APPSHELL_FLASK_SHELL`` is not off)."""
    return os.environ.get("APPSHELL_FLASK_SHELL", "1").strip().lower() not in _OFF


class FlaskShellCommand(click.Command):
    """What Flask lists as ``shell``: a stand-in that hands everything but its name to the
    real command (appshell's, or Flask's own when appshell's is turned off), imported on
    first use."""

    def __init__(self) -> None:
        super().__init__(
            "shell",
            short_help="Run a shell in the app context (appshell).",
            context_settings={"allow_interspersed_args": False},
        )
        self._target: click.Command | None = None

    @property
    def target(self) -> click.Command:
        """The command that does the work, imported now."""
        if self._target is None:
            target: click.Command
            if appshell_enabled():
                from ..shell.command import shell_command as target
            else:
                from flask.cli import shell_command as target
            self._target = target
        return self._target

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return self.target.get_params(ctx)

    def get_help(self, ctx: click.Context) -> str:
        return self.target.get_help(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        if appshell_enabled():
            return super().get_short_help_str(limit)
        return "Run a shell in the app context."

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # appshell's shell reads `-c CODE ARGS...` as python does: its own parsing applies.
        return self.target.parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> t.Any:
        if not appshell_enabled():
            return self.target.invoke(ctx)
        ctx.obj = _appshell_info(ctx)
        try:
            return self.target.invoke(ctx)
        except KeyboardInterrupt:
            # Ctrl-C while the app loads: the exit code appshell gives, not click's "Aborted!".
            click.echo(err=True)
            raise click.exceptions.Exit(130) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            # The user's module or factory raised inside Flask's loader: their traceback,
            # without Flask's, click's or appshell's frames in front of it.
            from ..exceptions import UserCodeError

            raise UserCodeError(e, internal=_flask_dirs()) from None


def _appshell_info(ctx: click.Context) -> t.Any:
    """An appshell ScriptInfo whose app is the one Flask's own ScriptInfo loads."""
    from flask.cli import ScriptInfo as FlaskScriptInfo

    from ..scriptinfo import ScriptInfo

    flask_info = ctx.find_object(FlaskScriptInfo)
    if flask_info is None:
        return ctx.obj
    info = ScriptInfo(create_app=flask_info.load_app, set_debug_flag=False)
    info.commands_obj = flask_info  # `cli(...)` in the shell runs flask's commands
    info.app_origin = flask_info.app_import_path or "FLASK_APP / wsgi.py / app.py"
    return info


def _flask_dirs() -> tuple[str, ...]:
    import flask

    return (os.path.dirname(os.path.abspath(flask.__file__)) + os.sep,)


#: The object the ``flask.commands`` entry point names.
shell_command = FlaskShellCommand()
