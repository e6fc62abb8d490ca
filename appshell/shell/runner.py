"""The in-shell command runner: the ``cli`` object of every shell namespace.

``cli("routes --sort rule")``, ``cli(["routes", "--sort", "rule"])`` and
``cli.routes(sort="rule")`` run a command in-process, exactly as the command line would,
with the shell's ScriptInfo (the app is not loaded again) and inside the app context that is
already active. A command never ends the shell: every outcome is a :class:`CommandResult`.
``cli.run(background=True)`` serves the shell's own app object: a WSGI app from a thread, an
ASGI app as a task of the session's event loop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import sys
import typing as t

import click

from ..exceptions import OneLineError, UserCodeError, format_user_exception
from ..term import warn

if t.TYPE_CHECKING:
    from ..loop import SessionLoop
    from ..scriptinfo import ScriptInfo
    from ..serving import BackgroundServer
    from ..serving.asgi import AsgiBackgroundServer

__all__ = ["BackgroundServer", "CommandResult", "CommandRunner"]


def __getattr__(name: str) -> t.Any:
    # The background server's class lives with the servers, imported when asked for.
    if name == "BackgroundServer":
        from ..serving import BackgroundServer

        return BackgroundServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_RESERVED = ("capture", "background")


@dataclasses.dataclass
class CommandResult:
    """What running a command gave. The text fields are filled only with ``capture=True``."""

    exit_code: int
    stdout: str | None = None
    stderr: str | None = None
    exception: BaseException | None = None

    def __repr__(self) -> str:
        extra = f" exception={self.exception!r}" if self.exception is not None else ""
        text = "" if self.stdout is None else f" stdout={_short(self.stdout)!r}"
        return f"<CommandResult exit_code={self.exit_code}{extra}{text}>"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _NoSuchCommand(OneLineError, AttributeError):
    """``cli.nosuch_cmd``: the user's mistake, shown as its one line (an AttributeError, so
    that ``hasattr`` and completion go on working)."""

    shown_as = "AttributeError"


class CommandRunner:
    """Run the commands of ``group`` in this process, with ``script_info``'s app.

    :param group: the root group (``appshell`` or a custom script's group).
    :param script_info: the shell's ScriptInfo, whose app is already loaded.
    :param path: for a subgroup, the command names that lead to it.
    :param loop: the session's loop, which a background server of an ASGI app runs on.
    :param lifespan_state: the state the session's lifespan filled, which that server's
        requests get as theirs.
    """

    def __init__(
        self,
        group: click.Group,
        script_info: ScriptInfo,
        path: tuple[str, ...] = (),
        prog_name: str = "appshell",
        servers: list[BackgroundServer | AsgiBackgroundServer] | None = None,
        obj: t.Any = None,
        loop: SessionLoop | None = None,
        lifespan_state: dict[str, t.Any] | None = None,
    ) -> None:
        self._group = group
        self._info = script_info
        # What the group's commands find as ctx.obj: the ScriptInfo, or Flask's own one when
        # the shell is `flask shell`.
        self._obj = script_info if obj is None else obj
        self._path = path
        self._prog_name = prog_name
        self._servers = servers if servers is not None else []
        self._loop = loop
        self._lifespan_state = lifespan_state

    # -- running ----------------------------------------------------------------------------

    def __call__(self, args: str | t.Sequence[str] = (), *, capture: bool = False) -> CommandResult:
        """Run a command line: ``cli("routes -s rule")`` or ``cli(["routes", "-s", "rule"])``.

        A line with an unclosed quote, or neither a str nor a list, is exit code 2."""
        words = self._words(args)
        if words is None:
            return CommandResult(2)
        argv = [*self._path, *words]
        refused = self._refuse(argv)
        if refused is not None:
            return refused
        if capture:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                result = self._invoke(argv)
            result.stdout, result.stderr = out.getvalue(), err.getvalue()
            return result
        return self._invoke(argv)

    def _words(self, args: object) -> list[str] | None:
        """The words of a command line (a str, list or tuple); else None, said on stderr."""
        if isinstance(args, list | tuple):
            return [str(word) for word in args]
        title = self._title()
        as_list = f"{title}(['routes', '--sort', 'rule'])"
        if isinstance(args, str):
            try:
                import shlex

                return shlex.split(args)
            except ValueError as e:
                problem = (
                    f"cannot split {args!r} into words ({str(e).lower()}); check its quotes"
                    f" and backslashes, or give the words as a list: {as_list}."
                )
        else:
            problem = (
                f"{title}() takes a command line as a str or its words as a list, not"
                f" {type(args).__name__}: {title}('routes --sort rule') or {as_list}."
            )
        click.echo(f"appshell: {problem}", err=True)
        return None

    def _title(self) -> str:
        """How the user reaches this runner: ``cli``, or ``cli.db`` for a subgroup."""
        return ".".join(("cli", *self._path))

    def _command_name(self, argv: list[str]) -> str | None:
        """The command ``argv`` runs, after the root group's own options."""
        try:
            with self._group.make_context(
                self._prog_name, list(argv), obj=self._obj, resilient_parsing=True
            ) as ctx:
                rest = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        except (click.ClickException, click.exceptions.Exit):
            return None
        return rest[0] if rest else None

    def _refuse(self, argv: list[str]) -> CommandResult | None:
        name = argv[0] if self._path else self._command_name(argv)
        argv = [name or "", *argv[1:]] if not self._path else argv
        if argv[:1] == ["shell"] and not {"-h", "--help"} & set(argv):
            click.echo(
                "appshell: you are in the shell already; nested shells are refused."
                " Run a script with exec(open(path).read()) instead.",
                err=True,
            )
            return CommandResult(2)
        if argv[:1] == ["run"] and not {"-h", "--help"} & set(argv):
            click.echo(
                "appshell: `run` would block the prompt. Start the server in the background"
                " with cli.run(background=True, port=5000) and stop it with .stop().",
                err=True,
            )
            return CommandResult(2)
        return None

    def _invoke(self, argv: list[str]) -> CommandResult:
        try:
            with self._group.make_context(self._prog_name, argv, obj=self._obj) as ctx:
                self._group.invoke(ctx)
        except click.exceptions.Exit as e:
            return CommandResult(e.exit_code)
        except UserCodeError as e:
            e.show()
            return CommandResult(1, exception=e.original)
        except click.ClickException as e:
            e.show()
            return CommandResult(e.exit_code, exception=e)
        except click.Abort as e:
            click.echo("Aborted!", err=True)
            return CommandResult(1, exception=e)
        except SystemExit as e:
            from .script import exit_code_of

            return CommandResult(exit_code_of(e), exception=e)
        except KeyboardInterrupt as e:
            click.echo("KeyboardInterrupt", err=True)
            return CommandResult(130, exception=e)
        except Exception as e:
            sys.stderr.write(format_user_exception(e))
            return CommandResult(1, exception=e)
        return CommandResult(0)

    # -- commands as attributes -----------------------------------------------------------

    def _context(self) -> click.Context:
        return click.Context(
            self._group, info_name=self._prog_name, obj=self._obj, resilient_parsing=True
        )

    def _target(self, ctx: click.Context) -> click.Group | None:
        """The group this runner stands for (the root, or a subgroup on ``path``)."""
        group: click.Command | None = self._group
        for name in self._path:
            assert isinstance(group, click.Group)
            group = group.get_command(ctx, name)
        return group if isinstance(group, click.Group) else None

    def _commands(self) -> dict[str, click.Command]:
        with self._context() as ctx:
            group = self._target(ctx)
            if group is None:
                return {}
            found = {}
            for name in group.list_commands(ctx):
                if not self._path and name == "shell":
                    continue  # refused in a shell: not offered
                command = group.get_command(ctx, name)
                if command is not None and not command.hidden:
                    found[name] = command
            return found

    def __dir__(self) -> list[str]:
        return sorted({name.replace("-", "_") for name in self._commands()})

    def __getattr__(self, attr: str) -> t.Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        if attr == "shell" and not self._path:
            return lambda *args, **kwargs: self(["shell"])
        commands = self._commands()
        name = next((n for n in commands if n.replace("-", "_") == attr), None)
        if name is None:
            raise _NoSuchCommand(
                f"no command {attr!r}; the commands are: {', '.join(self.__dir__())}"
            )
        command = commands[name]
        if isinstance(command, click.Group):
            return CommandRunner(
                self._group,
                self._info,
                (*self._path, name),
                self._prog_name,
                self._servers,
                self._obj,
                self._loop,
            )
        return self._bind(name, command)

    def _bind(self, name: str, command: click.Command) -> t.Callable[..., t.Any]:
        runner = self

        def call(
            *args: t.Any, capture: bool = False, background: bool = False, **options: t.Any
        ) -> t.Any:
            if name == "run" and not runner._path:
                return runner._run(background=background, **options)
            if background:
                click.echo(
                    f"appshell: only `run` can run in the background, not {name!r}.", err=True
                )
                return CommandResult(2)
            try:
                option_args, values = _options_to_argv(command, options)
            except TypeError as e:
                click.echo(f"appshell: {e}", err=True)
                return CommandResult(2)
            values += [str(a) for a in args]
            # After "--", a value such as -1 is an argument, never an option.
            argv = [name, *option_args, *(["--", *values] if values else [])]
            return runner(argv, capture=capture)

        call.__name__ = call.__qualname__ = name.replace("-", "_")
        with self._context() as root:
            parent, group = root, self._group
            for step in self._path:  # so that the usage line reads `appshell db upgrade`
                group = t.cast(click.Group, group.get_command(parent, step))
                parent = group.context_class(group, info_name=step, parent=parent)
            # A command's own context class (rich-click's, say) formats its own help.
            with command.context_class(command, info_name=name, parent=parent) as ctx:
                call.__doc__ = command.get_help(ctx)
        return call

    def __repr__(self) -> str:
        commands = self._commands()
        title = self._title()
        lines = [
            f"{title}: run a command with {title}('name --option value')"
            f" or {title}.name(option=value). Commands:"
        ]
        width = max((len(n) for n in commands), default=0)
        for name, command in commands.items():
            attr = name.replace("-", "_")
            lines.append(f"  {attr.ljust(width)}  {command.get_short_help_str(70)}")
        return "\n".join(lines)

    # -- the background server ------------------------------------------------------------

    def _run(self, *, background: bool = False, **options: t.Any) -> t.Any:
        from .background import start_server

        if self._loop is None:
            # A runner made outside a session (a test, a custom script) gets a loop of its own.
            from ..loop import SessionLoop

            self._loop = SessionLoop()
        return start_server(
            self._info,
            self._loop,
            self._servers,
            background=background,
            lifespan_state=self._lifespan_state,
            **options,
        )

    def close(self) -> list[t.Any]:
        """Stop every background server (the shell calls this when it ends); returns what
        is left to wait for on the running loop: the tasks of the servers stopping on it."""
        stopping = []
        for server in self._servers:
            try:
                ending = server.stop()
            except Exception as e:  # pragma: no cover - a best effort at exit
                warn(f"could not stop the server at {server.url}: {e}")
                continue
            if ending is not None:
                stopping.append(ending)
        self._servers.clear()
        return stopping

    # -- IPython ----------------------------------------------------------------------------

    def register_ipython_magic(self, shell: t.Any) -> None:
        """Give ``shell`` (a running IPython) the line magic ``%cli``, run by this runner,
        with completion of the command names."""
        from .magics import install

        install(shell, lambda: self)

    def complete_line(self, line: str) -> list[str]:
        """Completions for ``%cli ...`` typed so far: the command names (as the command
        line spells them) that start with the word being typed, while it is the first."""
        words = line.split()[1:]  # after "%cli"
        if len(words) > 1 or (words and line.endswith(" ")):
            return []
        prefix = words[0] if words else ""
        return sorted(name for name in self._commands() if name.startswith(prefix))


def _options_to_argv(
    command: click.Command, options: dict[str, t.Any]
) -> tuple[list[str], list[str]]:
    """``sort="rule"`` to ``["--sort", "rule"]``, using the command's own parameters.

    Returns the option tokens and, apart, the values of arguments given by keyword. An
    option given as None is left out (its default applies).
    """
    own = getattr(command, "options_to_argv", None)
    if callable(own):  # a command whose options are not click's (Django's management ones)
        return t.cast("tuple[list[str], list[str]]", own(options))
    params = {p.name: p for p in command.params if p.name}
    argv: list[str] = []
    values: list[str] = []
    for key, value in options.items():
        param = params.get(key)
        if param is None or key in _RESERVED:
            known = ", ".join(n for n, p in params.items() if isinstance(p, click.Option))
            raise TypeError(
                f"{command.name}() has no option {key!r}; its options are: {known or 'none'}"
            )
        if value is None:
            continue
        if isinstance(param, click.Argument):
            given = value if isinstance(value, list | tuple) else [value]
            values.extend(str(v) for v in given)
            continue
        assert isinstance(param, click.Option)
        if param.is_flag and not param.count:
            if param.secondary_opts and not value:
                argv.append(param.secondary_opts[0])
            elif value:
                argv.append(_long(param.opts))
            continue
        given = value if param.multiple and isinstance(value, list | tuple) else [value]
        for v in given:
            argv.extend([_long(param.opts), str(v)])
    return argv, values


def _long(opts: t.Sequence[str]) -> str:
    return next((o for o in opts if o.startswith("--")), opts[0])
