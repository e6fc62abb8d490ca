"""The ``shell`` command: options in, a namespace built, a REPL backend run.

The flow is one direction: choose the backend (strictly, before the app is loaded), load the
app and push its context for the whole session, build the namespace from its ordered
sources, then hand the namespace and a banner to the backend.
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import typing as t

import click
from click.core import ParameterSource

from .. import plugins
from ..profiles import load_profile, project_profile_name
from ..scriptinfo import ScriptInfo
from ..term import use_color
from .backends import (
    AUTODETECT_ORDER,
    Backend,
    ReplNotAvailable,
    ShellSettings,
    known_backends,
    resolve,
)
from .backends.base import SessionLoop
from .context import Namespace, build_namespace
from .runner import CommandRunner
from .script import ScriptRunner, close_after, flush_output

if t.TYPE_CHECKING:
    pass
__all__ = ["build_namespace", "make_banner", "shell_command"]

_FOLD_AFTER = 8


def collect_providers(ctx: click.Context) -> list[tuple[str, t.Callable[[], t.Any]]]:
    """Shell-context providers: ``@group.shell_context`` functions of the groups this command
    runs under (outermost first), then the ``appshell.shell_context`` entry points."""
    from ..cli import AppGroup

    chain = []
    current: click.Context | None = ctx
    while current is not None:
        chain.append(current.command)
        current = current.parent
    found: list[tuple[str, t.Callable[[], t.Any]]] = []
    for command in reversed(chain):
        if isinstance(command, AppGroup):
            found.extend((f"provider:{n}", f) for n, f in command.shell_context_providers)
    for name in sorted(plugins.entry_points(plugins.SHELL_CONTEXT)):
        provider = plugins.load(plugins.SHELL_CONTEXT, name)
        if provider is not None:
            found.append((f"provider:{name}", provider))
    return found


def _fold(names: list[str]) -> str:
    if len(names) <= _FOLD_AFTER:
        return ", ".join(names)
    return ", ".join(names[:_FOLD_AFTER]) + f", … (+{len(names) - _FOLD_AFTER} more)"


def make_banner(info: ScriptInfo, namespace: Namespace, backend: Backend, *, color: bool) -> str:
    """Versions, the app and where it came from, and the names grouped by source."""

    def style(text: str, **kw: t.Any) -> str:
        return click.style(text, **kw) if color else text

    from .. import __version__

    versions = [f"Python {platform.python_version()}", f"appshell {__version__}"]
    framework = type(info.adapter).framework_version()
    if framework is not None:
        versions.append(" ".join(framework))
    if backend.name != "python":
        versions.append(f"{backend.name} {backend.version() or ''}".strip())
    lines = [style(" · ".join(versions), dim=True)]
    lines.append(f"App: {style(info.adapter.name, bold=True)} ({info.app_origin})")
    groups = namespace.by_source()
    width = max(len(source) for source in groups) if groups else 0
    for source, names in groups.items():
        lines.append(f"  {style(source.ljust(width), fg='cyan')}  {_fold(names)}")
    if isinstance(namespace.get("cli"), CommandRunner):
        lines.append(
            style(
                "Commands run in the shell: cli('routes --sort rule'), cli.routes(sort='rule');"
                " cli lists them.",
                dim=True,
            )
        )
    return "\n".join(lines) + "\n"


def show_context(namespace: Namespace, as_json: bool) -> None:
    """``--print-context``: every name, its source, its type, what it overrode."""
    records = namespace.describe()
    if as_json:
        import json

        click.echo(json.dumps(records, indent=2))
        return
    headers = {"name": "Name", "source": "Source", "type": "Type", "overrides": "Overrides"}
    rows = [{**r, "overrides": ", ".join(r["overrides"])} for r in records]
    widths = {k: max(len(h), *(len(str(r[k])) for r in rows)) for k, h in headers.items()}
    click.echo("  ".join(h.ljust(widths[k]) for k, h in headers.items()).rstrip())
    click.echo("  ".join("-" * widths[k] for k in headers))
    for row in rows:
        click.echo("  ".join(str(row[k]).ljust(widths[k]) for k in headers).rstrip())


def show_repls(order: t.Sequence[str] = AUTODETECT_ORDER) -> None:
    """``--list-repls``: every known backend, installed or not, with its version, and the
    one autodetection picks in ``order`` (the profile's)."""
    backends = known_backends()
    try:
        chosen: str | None = resolve(None, order).name
    except click.ClickException:
        chosen = None
    rows = []
    for name, backend in backends.items():
        available = backend.is_available()
        note = "autodetected" if name == chosen else ""
        if not available:
            note = backend.install_hint
        elif name not in AUTODETECT_ORDER:
            note = "plugin: chosen with --repl only"
        rows.append((name, "yes" if available else "no", backend.version() or "-", note))
    headers = ("REPL", "Installed", "Version", "")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(4)]
    for row in [headers, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


class _ShellCommand(click.Command):
    """The shell command parses as python does: after ``-c CODE`` or FILE, everything is the
    script's (``shell -c 'code' --flag`` puts ``--flag`` in ``sys.argv``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {
            opt
            for param in self.params
            if isinstance(param, click.Option) and not param.is_flag
            for opt in param.opts
        }
        index = 0
        while index < len(args):
            arg = args[index]
            if arg == "--" or not arg.startswith("-") or arg == "-":
                break  # FILE: the parser stops there by itself
            if arg == "-c":
                args = [*args[: index + 2], "--", *args[index + 2 :]]
                break
            if arg.startswith("-c") and not arg.startswith("--"):
                args = [*args[: index + 1], "--", *args[index + 1 :]]
                break
            index += 2 if arg in takes_value else 1
        return super().parse_args(ctx, args)


@click.command(
    "shell",
    cls=_ShellCommand,
    short_help="Run a shell, or a script, in the app context.",
    # Everything after the script's name is the script's own: `shell fix.py --dry-run`.
    context_settings={"allow_interspersed_args": False},
)
# What to run is never read from the environment: a stray APPSHELL_SHELL_COMMAND must not
# turn every shell into a script.
@click.option(
    "-c",
    "command",
    metavar="CODE",
    allow_from_autoenv=False,
    help="Run CODE, then exit (ARGS go to sys.argv).",
)
@click.option(
    "-i",
    "interactive",
    is_flag=True,
    allow_from_autoenv=False,
    help="Start the REPL after -c or the script, with its names; or even when stdin is not a"
    " terminal.",
)
@click.option(
    "--echo",
    is_flag=True,
    allow_from_autoenv=False,
    help="Run the script (or stdin) as a transcript: each statement is printed with prompts,"
    " then its result.",
)
@click.option(
    "--ipython",
    "ipython_syntax",
    is_flag=True,
    allow_from_autoenv=False,
    help="Run stdin or -c through IPython's input transformations, as a .ipy file is.",
)
@click.option(
    "--repl",
    metavar="NAME",
    envvar=["APPSHELL_SHELL_REPL", "APPSHELL_REPL"],
    help="The REPL to use (ipython, ptpython, python, or a plugin's); by default the first"
    " installed of ipython, ptpython, python. [env: APPSHELL_REPL]",
)
@click.option("--list-repls", is_flag=True, help="List the REPLs appshell knows, and exit.")
@click.option("-q", "--quiet", is_flag=True, help="Do not show the banner.")
@click.option(
    "--print-context",
    is_flag=True,
    help="Print every name the shell would start with, its source and type, and exit.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="APPSHELL_SHELL_JSON",
    help="With --print-context: print JSON.",
)
@click.option(
    "--strict", is_flag=True, help="A shell-context provider that raises is an error (exit 1)."
)
@click.option("--no-history", is_flag=True, help="Do not read or write a history file.")
@click.option(
    "--profile",
    "profile_name",
    metavar="NAME",
    envvar=["APPSHELL_SHELL_PROFILE", "APPSHELL_PROFILE"],
    help="The profile to start with (see appshell profiles); default: [tool.appshell]"
    " profile in pyproject.toml, else 'default'. [env: APPSHELL_PROFILE]",
)
@click.option("--no-startup", is_flag=True, help="Do not run the profile's startup code.")
@click.argument("script_args", metavar="[FILE] [ARGS]...", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def shell_command(
    ctx: click.Context,
    command: str | None,
    interactive: bool,
    echo: bool,
    ipython_syntax: bool,
    repl: str | None,
    list_repls: bool,
    quiet: bool,
    print_context: bool,
    as_json: bool,
    strict: bool,
    no_history: bool,
    profile_name: str | None,
    no_startup: bool,
    script_args: tuple[str, ...],
) -> None:
    """Run an interactive Python shell in the app context, or a script with its names.

    The shell starts with the app, the names the framework and the app's shell-context
    providers give, and the app context pushed until it ends. The best REPL installed is
    used: IPython, then ptpython, then Python's own.

    With -c CODE, a FILE, or a script piped to stdin, that runs instead, as python runs
    it, with the same names; -i starts the REPL after it. Options after FILE are the
    script's: appshell shell fix.py --dry-run.
    """
    if list_repls:
        chosen = load_profile(profile_name or project_profile_name() or "default")
        show_repls(chosen.repl or AUTODETECT_ORDER)
        return
    plan = _Plan.make(command, script_args, interactive, echo, ipython_syntax)
    if as_json and not print_context:
        raise click.UsageError("--json goes with --print-context.")

    # Chosen before the app loads: a wrong --repl fails fast, and is never replaced.
    profile = load_profile(profile_name or project_profile_name() or "default")
    # An explicit --repl is checked even when only a script runs: it is still a mistake.
    explicit = ctx.get_parameter_source("repl") is ParameterSource.COMMANDLINE
    order = profile.repl or AUTODETECT_ORDER
    backend = resolve(repl, order) if (plan.repl or explicit) and not print_context else None
    if plan.needs_ipython:
        from .backends import known_backends

        if not known_backends()["ipython"].is_available():
            raise ReplNotAvailable(
                "Running IPython syntax (a .ipy file, --ipython) needs IPython:"
                " pip install 'appshell[ipython]'"
            )

    info = ctx.ensure_object(ScriptInfo)
    info.push_app_context(ctx)
    root = ctx.find_root()
    runner = CommandRunner(
        t.cast(click.Group, root.command),
        info,
        prog_name=root.info_name or "appshell",
        obj=info.data.get("runner_obj", info),
    )
    ctx.call_on_close(runner.close)  # before the app context is popped
    session = SessionLoop()
    ctx.call_on_close(session.close)
    namespace: dict[str, t.Any] = build_namespace(
        info.adapter,
        collect_providers(ctx),
        runner=runner,
        profile=profile,
        session=None if no_startup else session,
        strict=strict,
    )
    if print_context:
        show_context(t.cast(Namespace, namespace), as_json)
        return

    settings = ShellSettings(
        history=profile.history and not no_history,
        banner=profile.banner and not quiet,
        session=session,
        ipython_config=profile.ipython_config,
        ipython_extensions=profile.ipython_extensions,
        ptpython_options=profile.ptpython_options,
    )

    # The session is closed here, not by click: a teardown that raises is shown from its own
    # frame, and the script's (or REPL's) exit code stays.
    code = close_after(lambda: _run(plan, info, namespace, backend, settings), ctx.close)
    ctx.exit(flush_output() or code)


def _run(
    plan: _Plan,
    info: ScriptInfo,
    namespace: dict[str, t.Any],
    backend: Backend | None,
    settings: ShellSettings,
) -> int:
    """Run the script, then the REPL, as planned; the exit code."""
    if plan.script:
        assert settings.session is not None
        script = ScriptRunner(namespace, settings.session, interactive=plan.repl)
        code = _run_script(plan, script, settings)
        if not plan.repl:
            return code
        namespace = script.globals
        settings.banner = False
        settings.pythonstartup = False

    assert backend is not None
    if sys.stdin is None:  # stdin closed (`-i <&-`): a REPL reads nothing, so it ends, as python
        return 0
    banner = ""
    if settings.banner:
        banner = make_banner(info, t.cast(Namespace, namespace), backend, color=use_color())
    backend.run(namespace, banner, settings)
    return 0


class _Plan(t.NamedTuple):
    """What a shell invocation runs: a script (which kind), then a REPL or not."""

    script: str | None  # "command", "file", "stdin", or None
    file: str | None
    args: tuple[str, ...]
    code: str | None
    repl: bool
    echo: bool
    ipython: bool

    @property
    def needs_ipython(self) -> bool:
        return self.ipython

    @classmethod
    def make(
        cls,
        command: str | None,
        script_args: tuple[str, ...],
        interactive: bool,
        echo: bool,
        ipython_syntax: bool,
    ) -> _Plan:
        if command is not None:
            if echo:
                raise click.UsageError("--echo runs a file or stdin, not -c.")
            return cls("command", None, script_args, command, interactive, False, ipython_syntax)
        if script_args and script_args[0] == "-":  # as python: `-` is stdin
            if echo and ipython_syntax:
                raise click.UsageError("--echo runs Python, not IPython syntax.")
            return cls("stdin", None, script_args[1:], None, interactive, echo, ipython_syntax)
        if script_args:
            file, *args = script_args
            is_ipy = file.endswith(".ipy") or ipython_syntax
            if echo and is_ipy:
                raise click.UsageError("--echo runs Python, not IPython syntax.")
            return cls("file", file, tuple(args), None, interactive, echo, is_ipy)
        # stdin closed (`<&-`) is no terminal: as python, run what it holds, nothing.
        if interactive or (sys.stdin is not None and sys.stdin.isatty()):
            if echo:
                raise click.UsageError("--echo needs a FILE or a script on stdin.")
            return cls(None, None, (), None, True, False, False)
        if echo and ipython_syntax:
            raise click.UsageError("--echo runs Python, not IPython syntax.")
        return cls("stdin", None, (), None, False, echo, ipython_syntax)


def _run_script(plan: _Plan, runner: ScriptRunner, settings: ShellSettings) -> int:
    if plan.ipython:
        from .backends.ipython import ipython_app

        if plan.script == "command":
            sys.argv = ["-c", *plan.args]
            source: str | None = plan.code
        elif plan.script == "file":
            assert plan.file is not None
            _, source = runner.read_file(plan.file, plan.args)
        else:
            source = runner.read_stdin(plan.args)
        if source is None:
            return 1
        shell_settings = dataclasses.replace(settings, banner=False)
        shell = ipython_app(runner.globals, "", shell_settings).shell
        filename = {"command": "<string>", "stdin": "<stdin>"}.get(plan.script or "", plan.file)
        return runner.run_ipython(source, filename or "<string>", shell)
    if plan.script == "command":
        assert plan.code is not None
        return runner.run_command(plan.code, plan.args)
    if plan.script == "file":
        assert plan.file is not None
        if plan.echo:
            return runner.run_transcript_file(plan.file, plan.args)
        return runner.run_file(plan.file, plan.args)
    return runner.run_stdin(plan.args, echo=plan.echo)
