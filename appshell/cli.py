"""The thin click group: ``appshell`` and the custom-script pattern.

The public names are those of ``flask.cli``, with the same signatures and meanings when the
app is a Flask app, so that code written against ``flask.cli`` works with only the import
line changed. What differs is what a user sees when something is wrong: one readable
message and an exit code from DESIGN.md, never appshell's frames in front of theirs.
"""

from __future__ import annotations

import errno
import gc
import os
import typing as t

import click

from . import plugins
from .envfiles import debug_option as _debug_option
from .envfiles import load_dotenv
from .exceptions import NoAppConfigured, NoAppException, UserCodeError
from .groups import AppGroup, pass_script_info, with_appcontext
from .options import (
    app_option,
    env_file_option,
    get_version,
    help_callback,
    name_the_variable,
    print_help,
    version_option,
)
from .scriptinfo import ScriptInfo

if t.TYPE_CHECKING:
    from .commands.routes import routes_command
    from .commands.run import run_command
    from .discovery import find_best_app, locate_app, prepare_import
    from .shell.command import shell_command

#: The built-in commands, imported when they run: (module, attribute, short help). The short
#: help is here so that `appshell --help` lists them without importing them (a test keeps it
#: equal to each command's own).
BUILTIN_COMMANDS: dict[str, tuple[str, str, str]] = {
    "kernel": (
        "appshell.commands.kernel",
        "kernel_command",
        "Install Jupyter kernels with the app attached.",
    ),
    "profiles": (
        "appshell.commands.profiles",
        "profiles_command",
        "List the shell profiles, or show one merged.",
    ),
    "routes": ("appshell.commands.routes", "routes_command", "Show the routes for the app."),
    "run": ("appshell.commands.run", "run_command", "Run a development server."),
    "shell": (
        "appshell.shell.command",
        "shell_command",
        "Run a shell, or a script, in the app context.",
    ),
}
# flask.cli's names that live in other modules, imported when asked for.
_LAZY_NAMES = {
    **{attr: module for module, attr, _ in BUILTIN_COMMANDS.values()},
    "find_best_app": "appshell.discovery",
    "locate_app": "appshell.discovery",
    "prepare_import": "appshell.discovery",
}


def __getattr__(name: str) -> t.Any:
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'appshell.cli' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "AppGroup",
    "AppShellGroup",
    "FlaskGroup",
    "NoAppException",
    "ScriptInfo",
    "cli",
    "find_best_app",
    "get_version",
    "load_dotenv",
    "locate_app",
    "main",
    "pass_script_info",
    "prepare_import",
    "routes_command",
    "run_command",
    "shell_command",
    "with_appcontext",
]


class AppShellGroup(AppGroup):
    """The ``appshell`` group: global options, built-in, plugin and app commands.

    Use it for a custom script (``manage.py``) exactly as Flask's ``FlaskGroup``.

    :param add_default_commands: add the built-in commands (run, routes, shell).
    :param create_app: a callback that returns the app, instead of discovering it.
    :param add_version_option: add ``--version``.
    :param load_dotenv: read ``.env`` and ``.flaskenv``.
    :param set_debug_flag: set the app's debug flag from ``--debug``.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: t.Callable[..., t.Any] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: t.Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        params.extend((env_file_option, app_option, _debug_option))
        if add_version_option:
            params.append(version_option)
        extra.setdefault("context_settings", {}).setdefault("auto_envvar_prefix", "APPSHELL")
        super().__init__(params=params, **extra)

        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        #: Built-in commands not imported yet (see BUILTIN_COMMANDS).
        self._lazy_builtins = dict(BUILTIN_COMMANDS) if add_default_commands else {}

    # -- where commands come from: built-in, plugins, then the app ------------------------

    def _plugin_entry(self, name: str) -> tuple[str, t.Any] | None:
        for group in self._plugin_groups():
            ep = plugins.entry_points(group).get(name)
            if ep is not None:
                return group, ep
        return None

    @staticmethod
    def _plugin_groups() -> tuple[str, ...]:
        if plugins.flask_installed():
            return (plugins.COMMANDS, plugins.FLASK_COMMANDS)
        return (plugins.COMMANDS,)

    def _plugin_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = self._plugin_entry(name)
        if found is None:
            return None
        group, _ = found
        command = plugins.load(group, name)
        if command is not None and not isinstance(command, click.Command):
            plugins.report_broken(
                group, name, TypeError(f"{type(command).__name__} is not a click command")
            )
            command = None
        if command is None:
            if ctx.resilient_parsing:
                return None
            # Reported in one line already; looking further would blame the wrong thing.
            raise click.exceptions.Exit(2)
        if command is not None and group == plugins.FLASK_COMMANDS:
            # Flask's plugins find the app through flask's current_app, not our ScriptInfo.
            ctx.ensure_object(ScriptInfo).push_app_context(ctx)
        return command

    def _app_commands(self, ctx: click.Context) -> click.Group | None:
        """The app's own command group, recording (not raising) why it is unavailable."""
        info = ctx.ensure_object(ScriptInfo)
        try:
            return info.adapter.command_group()
        except Exception as e:
            info.load_error = e
            return None

    def _builtin_command(self, name: str) -> click.Command | None:
        """A built-in command, imported (once) now that it is needed."""
        spec = self._lazy_builtins.pop(name, None)
        if spec is None:
            return None
        import importlib

        module, attr, _ = spec
        command = t.cast(click.Command, getattr(importlib.import_module(module), attr))
        self.add_command(command, name)
        return command

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = (
            super().get_command(ctx, name)
            or self._builtin_command(name)
            or self._plugin_command(ctx, name)
        )
        if command is not None:
            return command

        info = ctx.ensure_object(ScriptInfo)
        try:
            app_group = info.adapter.command_group()
        except NoAppConfigured:
            if ctx.resilient_parsing:
                return None
            raise NoAppException(
                f"No such command {name!r}. Only the built-in commands are available because"
                " no app is configured: point appshell at one with --app IMPORT or"
                " APPSHELL_APP."
            ) from None
        except NoAppException:
            if ctx.resilient_parsing:
                return None
            raise
        if app_group is None:
            return None
        # Make the context available to the command's callbacks and its options'.
        info.push_app_context(ctx)
        return app_group.get_command(ctx, name)

    def own_command_names(self, ctx: click.Context) -> set[str]:
        """The names of the commands that are not the app's: built-in, added, plugins'.
        An app command of one of these names is shadowed (Django's lists itself apart)."""
        names = set(super().list_commands(ctx)) | set(self._lazy_builtins)
        for group in self._plugin_groups():
            names.update(plugins.entry_points(group))
        return names

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = self.own_command_names(ctx)
        app_group = self._app_commands(ctx)
        if app_group is not None:
            names.update(app_group.list_commands(ctx))
        return sorted(names)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Like click's, but a plugin is listed from its metadata: never imported for help.
        app_group = self._app_commands(ctx)
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is None and name in self._lazy_builtins:
                rows.append((name, self._lazy_builtins[name][2]))
                continue
            if command is None and (entry := self._plugin_entry(name)) is not None:
                dist = getattr(entry[1].dist, "name", None) or entry[1].value
                rows.append((name, f"(plugin from {dist})"))
                continue
            if command is None and app_group is not None:
                command = app_group.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        info = ctx.find_object(ScriptInfo)
        if info is not None and isinstance(info.load_error, NoAppConfigured):
            formatter.write_paragraph()
            formatter.write_text(
                "No app is configured, so only the built-in commands are listed: point"
                " appshell at one with --app IMPORT or APPSHELL_APP."
            )

    # -- parsing, help and errors -----------------------------------------------------------

    def make_context(self, *args: t.Any, **extra: t.Any) -> click.Context:
        # Each run gets a fresh ScriptInfo, unless the caller brings its own object.
        if "obj" not in {**self.context_settings, **extra}:
            extra["obj"] = self.new_script_info()
        # Flask's app.run() does nothing when this is set: an app module that calls it at
        # import time must not start a server in front of the command asked for.
        os.environ["FLASK_RUN_FROM_CLI"] = "true"
        try:
            return super().make_context(*args, **extra)
        except click.BadParameter as e:
            name_the_variable(e)
            raise

    def new_script_info(self) -> ScriptInfo:
        """The ScriptInfo a run of this group starts with, made from its settings."""
        return ScriptInfo(
            create_app=self.create_app,
            set_debug_flag=self.set_debug_flag,
            load_dotenv_defaults=self.load_dotenv,
        )

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            print_help(ctx)
            ctx.exit(2)
        return super().parse_args(ctx, args)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.callback = help_callback
        return option

    def invoke(self, ctx: click.Context) -> t.Any:
        try:
            return super().invoke(ctx)
        except click.BadParameter as e:
            name_the_variable(e)
            raise
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo(err=True)
            raise click.exceptions.Exit(130) from None
        except OSError as e:
            if e.errno == errno.EPIPE:
                raise  # click's main() quiets a closed pipe
            raise UserCodeError(e) from None
        except Exception as e:
            raise UserCodeError(e) from None


#: Flask's name for the group, for code written against ``flask.cli``.
FlaskGroup = AppShellGroup

cli = AppShellGroup(
    name="appshell",
    help="""\
A command line for your web app, built around the best interactive shell installed.

The app to load is given with '--app' or the 'APPSHELL_APP' environment variable
(or a framework's own: 'FLASK_APP', 'QUART_APP', 'LITESTAR_APP'). With none,
appshell tries in this order: 'app' under [tool.appshell] in pyproject.toml; the
Django project of 'DJANGO_SETTINGS_MODULE'; 'entrypoint' under [tool.fastapi]; the
files wsgi.py, main.py, app.py, api.py, app/main.py, app/app.py, app/api.py and
asgi.py in the current folder; the settings that a manage.py there names.
""",
)


def main() -> None:
    """The ``appshell`` console script."""
    # What exists by now (the interpreter's own objects, click, appshell's modules) lives as
    # long as the process. Frozen, it is left out of every later collection, instead of being
    # walked again by each full one the app's import sets off: about 37 M instructions for a
    # Flask-SQLAlchemy app, 2% of its start-up. A cycle already unreachable here (a few
    # hundred small objects) is never freed; a collection first would cost more than they do.
    gc.freeze()
    cli.main(prog_name="appshell")
