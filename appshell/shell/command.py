"""The ``shell`` command: options in, a :class:`ShellSession` opened, a REPL or a script run.

The flow is one direction: choose the profile and the backend (strictly, before the app is
loaded), open the session (the app loaded, its context pushed, the namespace built), run
the script or hand the namespace and the session's banner to the backend, close the
session (teardown, background servers, the loop).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import typing as t

import click
from click.core import ParameterSource

from ..exceptions import AppShellUsageError, ReplNotAvailable
from ..profiles import complete_profile_names
from ..term import use_color
from .banner import show_context
from .dboptions import session_keywords, session_switches
from .script import ScriptRunner, flush_output, read_script
from .session import ShellSession, choose_profile

if t.TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from .backends import Backend, ShellSettings

# The REPL backends are imported only when a REPL is to be chosen or run: a script (`shell
# -c`, FILE, stdin) needs none of them.


def _complete_repl_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from .backends import complete_repl_names

    return complete_repl_names(ctx, param, incomplete)


def _has_ipython() -> bool:
    from .backends import known_backends

    return known_backends()["ipython"].is_available()


__all__ = ["shell_command"]


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
            # -c is handed on as --command: click tries every short option as a long one
            # first, and the miss imports difflib (a few ms of every `shell -c`).
            if arg == "-c" and index + 1 < len(args):
                command = f"--command={args[index + 1]}"
                args = [*args[:index], command, "--", *args[index + 2 :]]
                break
            if arg.startswith("-c") and not arg.startswith("--") and arg != "-c":
                args = [*args[:index], f"--command={arg[2:]}", "--", *args[index + 1 :]]
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
    "--command",
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
    shell_complete=_complete_repl_names,
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
@click.option("--no-history", is_flag=True, help="Do not read or write a history file.")
@click.option(
    "--profile",
    "profile_name",
    metavar="NAME",
    envvar=["APPSHELL_SHELL_PROFILE", "APPSHELL_PROFILE"],
    shell_complete=complete_profile_names,
    help="The profile to start with (see appshell profiles); default: [tool.appshell]"
    " profile in pyproject.toml, else 'default'. [env: APPSHELL_PROFILE]",
)
@session_switches
@click.argument("script_args", metavar="[FILE] [ARGS]...", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def shell_command(
    ctx: click.Context,
    /,
    command: str | None,
    interactive: bool,
    echo: bool,
    ipython_syntax: bool,
    repl: str | None,
    list_repls: bool,
    quiet: bool,
    print_context: bool,
    as_json: bool,
    no_history: bool,
    profile_name: str | None,
    script_args: tuple[str, ...],
    **switches: bool | None,
) -> None:
    """Run an interactive Python shell in the app context, or a script with its names.

    The shell starts with the app, the names the framework and the app's shell-context
    providers give, and the app context pushed until it ends. The best REPL installed is
    used: IPython, then ptpython, then Python's own.

    With -c CODE, a FILE, or a script piped to stdin, that runs instead, as python runs
    it, with the same names; -i starts the REPL after it. Options after FILE are the
    script's: given 'shell fix.py --dry-run', fix.py sees --dry-run.
    """
    if list_repls:
        from .backends import show_repls

        show_repls(choose_profile(profile_name).repl)
        return
    from_command_line = ParameterSource.COMMANDLINE
    # --print-context and --json from the environment never turn a script into a listing.
    if print_context and ctx.get_parameter_source("print_context") is not from_command_line:
        print_context = bool(command is None and not script_args and not interactive)
    if as_json and not print_context:
        if ctx.get_parameter_source("as_json") is from_command_line:
            raise AppShellUsageError("--json goes with --print-context.")
        as_json = False
    plan = _Plan.make(command, script_args, interactive, echo, ipython_syntax)
    if print_context and (plan.script in ("command", "file") or interactive or echo):
        raise AppShellUsageError(
            "--print-context lists the names a shell would start with and runs no script:"
            " leave out -c, FILE, -i and --echo, or leave out --print-context."
        )

    if plan.file is not None:
        read_script(plan.file)  # a missing script is said before the app and its lifespan start
    # Chosen before the app loads: a wrong --repl fails fast, and is never replaced.
    profile = choose_profile(profile_name)
    # An explicit --repl is checked even when only a script runs: it is still a mistake.
    explicit = ctx.get_parameter_source("repl") is from_command_line
    backend = None
    if (plan.repl or explicit) and not print_context:
        from .backends import AUTODETECT_ORDER, resolve

        backend = resolve(repl, profile.repl or AUTODETECT_ORDER)
    if plan.needs_ipython and not _has_ipython():
        raise ReplNotAvailable(
            "Running IPython syntax (a .ipy file, --ipython) needs IPython:"
            " pip install 'appshell[ipython]'"
        )

    # --strict, --no-startup, --no-lifespan and the database options, as %appshell reads them.
    session = ShellSession.for_command(ctx, profile=profile, **session_keywords(switches))
    try:
        code = _run_session(
            session,
            plan,
            backend,
            print_context=print_context,
            as_json=as_json,
            history=profile.history and not no_history,
            banner=profile.banner and not quiet,
        )
    finally:
        # A teardown that raises is shown as the user's error it is; a script's own exit
        # code still wins over it. After a listing, what closing prints is not the listing's.
        with contextlib.redirect_stdout(sys.stderr) if print_context else contextlib.nullcontext():
            closed_cleanly = session.close()
    if not closed_cleanly and code == 0:
        code = 1
    if code:
        ctx.exit(code)


def _run_session(
    session: ShellSession,
    plan: _Plan,
    backend: Backend | None,
    *,
    print_context: bool,
    as_json: bool,
    history: bool,
    banner: bool,
) -> int:
    """Open ``session`` and run what ``plan`` says in it; the exit code."""
    if print_context:
        # The listing is stdout's alone (--json is read by programs): what opening the
        # session prints, profile startup code and a lifespan included, goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            session.open()
        show_context(session.namespace, as_json)
        return 0
    namespace: dict[str, t.Any] = session.open()
    if plan.script and not (plan.repl or plan.ipython):
        script = ScriptRunner(namespace, session.loop, interactive=False)
        return flush_output() or _run_script(plan, script, None)
    from .backends import ShellSettings

    profile = session.profile
    settings = ShellSettings(
        history=history,
        banner=banner,
        session=session.loop,
        ipython_config=profile.ipython_config,
        ipython_extensions=profile.ipython_extensions,
        ptpython_options=profile.ptpython_options,
        profile=profile,
        prompt_marker=session.prompt_marker,
        sql=session.databases.sql if session.databases is not None else None,
    )
    if plan.script:
        script = ScriptRunner(namespace, session.loop, interactive=plan.repl)
        code = _run_script(plan, script, settings)
        if not plan.repl:
            return flush_output() or code
        namespace = script.globals
        settings.banner = False
        settings.pythonstartup = False
    elif not plan.repl:
        return 0  # stdin is closed: nothing to run, as python does
    if sys.stdin is None:
        return 0  # no REPL can read a closed stdin; python -i exits 0 there too
    assert backend is not None
    text = session.banner(backend, color=use_color()) if settings.banner else ""
    backend.run(namespace, text, settings)
    return flush_output() or 0


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
        if sys.stdin is None and not echo:  # started with stdin closed (`<&-`)
            return cls(None, None, (), None, False, False, False)
        if interactive or (sys.stdin is not None and sys.stdin.isatty()):
            if echo:
                raise click.UsageError("--echo needs a FILE or a script on stdin.")
            return cls(None, None, (), None, True, False, False)
        if echo and ipython_syntax:
            raise click.UsageError("--echo runs Python, not IPython syntax.")
        return cls("stdin", None, (), None, False, echo, ipython_syntax)


def _run_script(plan: _Plan, runner: ScriptRunner, settings: ShellSettings | None) -> int:
    """Run the script of ``plan``; ``settings`` (for IPython syntax only) may be None else."""
    if plan.ipython:
        from .backends.ipython import ipython_app

        assert settings is not None

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
