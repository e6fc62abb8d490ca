"""The root group's own options (``--env-file``, ``--app``, ``--version``), its help page,
and the naming of environment variables in errors about option values.

The options are eager: the app must be known before ``--help`` lists the app's commands.
"""

from __future__ import annotations

import contextlib
import os
import typing as t

import click
from click.core import ParameterSource

from .envfiles import load_dotenv
from .exceptions import NoAppConfigured, format_user_exception
from .scriptinfo import ScriptInfo

if t.TYPE_CHECKING:
    from click.shell_completion import CompletionItem

__all__ = [
    "app_option",
    "env_file_option",
    "get_version",
    "help_callback",
    "name_the_variable",
    "print_help",
    "variable_of",
    "version_option",
]


def _set_app(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


def _complete_app(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``--app`` completes what can be imported from the folder typed so far (default: the
    current one): ``.py`` files, packages by module name, and folders to go into."""
    from pathlib import Path

    from click.shell_completion import CompletionItem

    if ":" in incomplete:  # the name after the colon is the app's business
        return []
    folder, slash, start = incomplete.rpartition("/")
    base = Path(folder + slash or ".")
    try:
        entries = sorted(base.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        name = entry.name
        if not name.startswith(start) or (name.startswith((".", "__")) and not start):
            continue
        if entry.is_dir():
            if not slash and (entry / "__init__.py").is_file():
                found.append(name)  # a package, imported by its name
            found.append(f"{folder}{slash}{name}/")
        elif name.endswith(".py"):
            found.append(f"{folder}{slash}{name}")
    return [CompletionItem(value) for value in found]


def _root_option(
    decls: list[str], callback: t.Callable[..., t.Any], help: str, **settings: t.Any
) -> click.Option:
    """An option of the root group: eager, since what it sets (the environment, the app)
    must be known before ``--help`` lists the app's commands, and handled entirely by its
    callback, so that the group's own callback takes no parameters."""
    return click.Option(
        decls, callback=callback, help=help, is_eager=True, expose_value=False, **settings
    )


app_option = _root_option(
    ["-A", "--app"],
    _set_app,
    (
        "The app or factory to load, as 'module:name'. The module can be a dotted import"
        " or a file path; the name is not needed if it is 'app', 'application',"
        " 'create_app' or 'make_app', and can be 'factory(args)' with literal arguments."
        " [env: APPSHELL_APP, FLASK_APP, QUART_APP, LITESTAR_APP]"
    ),
    metavar="IMPORT",
    # Each framework's own variable means what it means to its command line.
    envvar=["APPSHELL_APP", "FLASK_APP", "QUART_APP", "LITESTAR_APP"],
    shell_complete=_complete_app,
)


def _env_file_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        try:
            import dotenv  # noqa: F401
        except ImportError:
            raise click.BadParameter(
                "python-dotenv must be installed to load an env file:"
                " pip install 'appshell[dotenv]'.",
                ctx=ctx,
                param=param,
            ) from None
    info = ctx.ensure_object(ScriptInfo)
    if value is not None:
        info.env_file = os.path.abspath(value)
    if value is not None or info.load_dotenv_defaults:
        load_dotenv(value, load_defaults=info.load_dotenv_defaults)


# First among the root's options, so that the variables it sets are seen by the others.
env_file_option = _root_option(
    ["-e", "--env-file"],
    _env_file_callback,
    "Load environment variables from this file, before '.env' and '.flaskenv'."
    " Variables already set in the environment win. Needs python-dotenv.",
    type=click.Path(exists=True, dir_okay=False),
)


def _versions() -> list[tuple[str, str]]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    found = [("appshell", __version__), ("Python", platform.python_version())]
    for dist in ("click", "werkzeug"):
        with contextlib.suppress(PackageNotFoundError):
            found.append((dist.capitalize(), version(dist)))
    return found + _framework_versions()


def _framework_versions() -> list[tuple[str, str]]:
    """Each installed web framework appshell has an adapter for (a plugin's too), so that
    the framework of the project at hand is named whichever it is; none is imported."""
    from . import plugins
    from .adapters import adapter_classes

    dists = [getattr(cls, "distribution", None) for cls in adapter_classes()]
    wanted = [dist for dist in dists if dist is not None and dist[0] != "werkzeug"]
    # FastAPI apps are Starlette apps to appshell: one adapter, two distributions.
    at = next((i for i, dist in enumerate(wanted) if dist[0] == "starlette"), len(wanted))
    wanted.insert(at, ("fastapi", "FastAPI"))
    found = [(written, plugins.version(name)) for name, written in wanted]
    return [(written, ver) for written, ver in found if ver]


def get_version(ctx: click.Context, param: click.Parameter, value: t.Any) -> None:
    """``--version``: appshell's, Python's and the frameworks' versions."""
    if not value or ctx.resilient_parsing:
        return
    click.echo("\n".join(f"{name} {ver}" for name, ver in _versions()), color=ctx.color)
    ctx.exit()


version_option = _root_option(
    ["--version"],
    get_version,
    "Show the versions of appshell, Python and the frameworks, and exit.",
    is_flag=True,
)


def _show_load_error(ctx: click.Context) -> None:
    """Below the help: why the app's commands are missing from it."""
    info = ctx.find_object(ScriptInfo)
    error = info.load_error if info is not None else None
    if error is None or isinstance(error, NoAppConfigured):
        return
    if isinstance(error, click.ClickException):
        error.show()
    else:
        click.echo(format_user_exception(error), err=True, nl=False)


def print_help(ctx: click.Context) -> None:
    """The help page, with the app's commands when the app is known, and why not if not."""
    # --help is eager and may come before --env-file and --app, or without them on the
    # command line: what they would read from the environment is read now, so that the
    # help lists the app's commands.
    for option in (env_file_option, app_option):
        if option.name is not None and ctx.get_parameter_source(option.name) is None:
            option.handle_parse_result(ctx, {}, [])
    click.echo(ctx.get_help(), color=ctx.color)
    _show_load_error(ctx)


def help_callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        print_help(ctx)
        ctx.exit()


def _variables_of(ctx: click.Context, param: click.Parameter) -> list[str]:
    """The environment variables ``param`` reads, in the order click tries them."""
    named = param.envvar or []
    names = [named] if isinstance(named, str) else list(named)
    auto = isinstance(param, click.Option) and param.allow_from_autoenv
    if auto and param.name and ctx.auto_envvar_prefix is not None:
        names.append(f"{ctx.auto_envvar_prefix}_{param.name.upper()}")
    return names


def variable_of(ctx: click.Context, param: click.Parameter) -> str | None:
    """The environment variable ``param``'s value came from, if it came from one."""
    if param.name is None:
        return None
    if ctx.get_parameter_source(param.name) is not ParameterSource.ENVIRONMENT:
        return None
    return next((v for v in _variables_of(ctx, param) if os.environ.get(v)), None)


def name_the_variable(error: click.BadParameter) -> None:
    """A bad value that came from an environment variable: the message names the variable
    beside the option, since the command line the user typed does not show it."""
    ctx, param = error.ctx, error.param
    if ctx is None or param is None or error.param_hint is not None:
        return
    variable = variable_of(ctx, param)
    if variable is not None:
        error.param_hint = f"{param.get_error_hint(ctx)} (set by {variable})"
