"""One shell session, the single road into a shell: ``shell``, ``flask shell`` and ``%appshell``.

A :class:`ShellSession` holds everything a session is made of, from the moment the app is
loaded to the moment the last teardown has run: the ScriptInfo and its app, the app context
it pushed, the :class:`SessionLoop` every statement runs on, the shell-context providers, the
profile, the namespace built from them, the ``cli`` runner, and :meth:`ShellSession.close`.
The command line and the notebook extension each build one, so the namespace they give is
the same by construction.
"""

from __future__ import annotations

import os
import sys
import typing as t

import click

from ..exceptions import format_user_exception, trim_traceback
from ..loop import SessionLoop, Steps
from .banner import make_banner

if t.TYPE_CHECKING:
    from types import TracebackType

    from ..databases.tools import SessionDatabases
    from ..groups import AppGroup
    from ..lifespan import AsyncParts
    from ..profiles import Profile
    from ..scriptinfo import ScriptInfo
    from .backends import Backend
    from .context import ContextBuilder, Namespace
    from .runner import CommandRunner

__all__ = [
    "ShellSession",
    "choose_profile",
    "from_app_frame",
    "make_banner",
    "root_context",
    "show_user_error",
]


Provider = tuple[str, t.Callable[[], t.Any]]


def choose_profile(given: str | None = None) -> Profile:
    """The profile a session starts with: ``given`` (``--profile``), else the environment
    (``APPSHELL_SHELL_PROFILE``, ``APPSHELL_PROFILE``), else ``[tool.appshell] profile``,
    else ``default``.

    :raises ProfileError: the profile chosen is missing or invalid.
    """
    from ..profiles import load_profile, project_profile_name

    name = (
        given
        or os.environ.get("APPSHELL_SHELL_PROFILE")
        or os.environ.get("APPSHELL_PROFILE")
        or project_profile_name()
        or "default"
    )
    return load_profile(name)


def root_context(
    root: click.Group, group: click.Group | None, app: str | None, env_file: str | None
) -> click.Context:
    """The context a run of ``group`` (a custom script's; None: ``root``'s) starts with,
    given ``--app`` and ``--env-file``, read by the group's own options: a session opened
    outside the command line (``%appshell``) finds its app and env files as ``shell`` does.
    A group without those options (a plain AppGroup) runs under ``root``.

    :raises click.ClickException: an env file that does not exist, a bad option.
    """
    if group is not None and any(param.name == "app" for param in group.params):
        return group.make_context(group.name or root.name or "", _root_args(app, env_file))
    parent = root.make_context(root.name or "", _root_args(app, env_file))
    return parent if group is None else click.Context(group, parent=parent, info_name=group.name)


def _root_args(app: str | None, env_file: str | None) -> list[str]:
    # A command name after the options: a group given no arguments shows its help instead.
    given = [*(["--env-file", env_file] if env_file else []), *(["--app", app] if app else [])]
    return [*given, "shell"]


class ShellSession:
    """A shell session on one app: open it, use its namespace, close it.

    :param info: the ScriptInfo that loads the app (loaded by :meth:`open`, if not yet).
    :param group: the root group whose commands ``cli(...)`` runs in the shell.
    :param groups: the AppGroups the session runs under, outermost first: their
        ``@group.shell_context`` providers are merged, in that order.
    :param profile: the profile (default: :func:`choose_profile`).
    :param strict: a provider, profile import or startup code that raises ends the session.
    :param startup: run the profile's startup code.
    :param command_obj: what commands run by ``cli(...)`` find as ``ctx.obj`` (default:
        ``info``; ``flask shell`` gives Flask's own ScriptInfo).
    :param prog_name: the name usage lines of ``cli(...)`` commands show.
    :param lifespan: run an ASGI app's lifespan (``--no-lifespan`` turns it off).
    :param handle_sigterm: SIGTERM ends the session as ``sys.exit(143)`` would, so that
        the lifespan shutdown and the teardown run (the command line's sessions; only on
        the main thread).
    :param sandbox: run the session in a sandbox that rolls every database change back
        (None: the profile's ``sandbox``).
    :param read_only: the databases refuse writes (None: the profile's ``read_only``);
        it wins over ``sandbox``.
    :param sql: echo every statement from the start (None: the profile's ``sql``).
    :param models: put the ORM's models in the namespace (None: the profile's ``models``).
    :param host_loop: the event loop the front end runs the user's code on, running or not
        (a kernel's): the session adopts it (see :class:`SessionLoop`).
    :param ambient: the front end's context variables of the statement running now, left out
        of the session's context (see :class:`SessionLoop`).
    """

    def __init__(
        self,
        info: ScriptInfo,
        *,
        group: click.Group,
        groups: t.Sequence[AppGroup] = (),
        profile: Profile | None = None,
        strict: bool = False,
        startup: bool = True,
        command_obj: t.Any = None,
        prog_name: str = "appshell",
        lifespan: bool = True,
        handle_sigterm: bool = False,
        sandbox: bool | None = None,
        read_only: bool | None = None,
        sql: bool | None = None,
        models: bool | None = None,
        host_loop: t.Any = None,
        ambient: t.Collection[t.Any] = (),
    ) -> None:
        self.info = info
        self.host_loop = host_loop
        self.ambient = ambient
        self.group = group
        self.groups = tuple(groups)
        self.profile = profile if profile is not None else choose_profile()
        self.strict = strict
        self.startup = startup
        self.command_obj = command_obj
        self.prog_name = prog_name
        self.lifespan = lifespan
        self.handle_sigterm = handle_sigterm
        profile = self.profile
        #: What the session does with the app's databases, the options over the profile.
        self.database_options: dict[str, t.Any] = {
            "sandbox": profile.sandbox if sandbox is None else sandbox,
            "read_only": profile.read_only if read_only is None else read_only,
            "sql": profile.sql if sql is None else sql,
            "models": profile.models if models is None else models,
            "repeat_threshold": profile.sql_repeat_threshold,
        }
        #: The databases found and the tools on them (None: no integration applied).
        self.databases: SessionDatabases | None = None
        #: The event loop and context every statement of the session runs in.
        self.loop = SessionLoop()
        self.runner: CommandRunner | None = None
        self._namespace: Namespace | None = None
        self._app_context: t.ContextManager[t.Any] | None = None
        self._async: AsyncParts | None = None
        self._restore_sigterm: t.Callable[[], None] | None = None
        self._closed = False

    @classmethod
    def for_command(
        cls, ctx: click.Context, *, profile: Profile | None = None, **options: t.Any
    ) -> ShellSession:
        """The session of a command running in ``ctx`` (``shell``, ``flask shell``)."""
        from ..groups import enclosing_groups
        from ..scriptinfo import ScriptInfo

        info = ctx.ensure_object(ScriptInfo)
        root = ctx.find_root()
        options.setdefault("handle_sigterm", True)
        return cls(
            info,
            group=t.cast(click.Group, root.command),
            groups=enclosing_groups(ctx),
            profile=profile,
            command_obj=info.commands_obj,
            prog_name=root.info_name or "appshell",
            **options,
        )

    @property
    def adapter(self) -> t.Any:
        """The app's adapter (loading the app if it is not loaded yet)."""
        return self.info.adapter

    @property
    def namespace(self) -> Namespace:
        """The namespace the session starts with (built by :meth:`open`)."""
        if self._namespace is None:
            raise RuntimeError("the session is not open")
        return self._namespace

    def providers(self) -> list[Provider]:
        """The session's shell-context providers, in merge order."""
        from ..groups import collect_providers

        return collect_providers(self.groups)

    def open(self) -> Namespace:
        """Load the app, push its context for the session and build the namespace.

        What awaits (an ASGI lifespan, an async app context, startup code) is run on the
        session's loop. The user's errors (their module, factory, providers with ``strict``)
        propagate; the session is closed again before they do.
        """
        try:
            self._push_context()
            return self.loop.run_steps(self._opening())
        except BaseException:
            self.close()
            raise

    async def aopen(self) -> Namespace:
        """:meth:`open`, awaited where the session's loop runs the caller already (a
        kernel's cell): what awaits is awaited there, in the session's context."""
        try:
            self._push_context()
            return await self.loop.arun_steps(self._opening())
        except BaseException:
            await self.aclose()
            raise

    def opening_awaits(self) -> bool:
        """Whether opening the session awaits something on its loop: the app's lifespan or
        an app context entered on the loop, or profile startup code that awaits. Where the
        loop runs the caller (a kernel's cell), such a session is opened by :meth:`aopen`."""
        from .context import compile_startup

        adapter = self.adapter
        if self.lifespan and adapter.lifespan_app() is not None:
            return True
        if adapter.async_app_context() is not None:
            return True
        for entry in self.profile.startup if self.startup else ():
            try:
                code = compile_startup(entry, self.profile.name)
            except (click.ClickException, SyntaxError):
                continue  # reported when the session opens
            if SessionLoop.awaits_at_top_level(code):
                return True
        return False

    def _push_context(self) -> None:
        """Make the session's loop and push the app context in its context, where every
        statement runs (and where the context is popped again)."""
        self.loop = SessionLoop(self.host_loop, self.ambient)
        self.loop.call(self._enter_app_context)

    def _enter_app_context(self) -> None:
        adapter = self.adapter
        if not adapter.context_is_active():
            context = adapter.app_context()
            context.__enter__()
            self._app_context = context

    def _opening(self) -> Steps[Namespace]:
        """Opening, as steps for the session's loop (see :meth:`SessionLoop.run_steps`)."""
        from ..lifespan import AsyncParts
        from ..loop import catch_sigterm
        from .context import compile_startup

        adapter = self.adapter
        if self.handle_sigterm:
            self._restore_sigterm = catch_sigterm()
        parts = self._async = AsyncParts(adapter, lifespan=self.lifespan)
        entering = parts.entering()
        if entering is not None:
            yield entering
        builder = self.loop.call(self._builder, parts.defaults())
        profile = self.profile
        for entry in profile.startup if self.startup else ():
            with builder.run_in_copy("startup") as scratch:
                code = compile_startup(entry, profile.name)
                scratch.setdefault("__builtins__", __builtins__)
                value = self.loop.begin(code, scratch)
                if self.loop.awaits(code, value):
                    yield value
        self._namespace = builder.build()
        if self.databases is not None:
            self._namespace.databases = self.databases.describe()
        return self._namespace

    def _builder(self, defaults: dict[str, t.Any]) -> ContextBuilder:
        """The namespace up to the profile's imports, built in the session's context (a
        provider sees the app context entered on the loop: Quart's shell context
        processors need it)."""
        from .context import namespace_builder
        from .runner import CommandRunner

        # Before the first statement (startup code included): the databases found, the
        # sandbox or read-only started, `sql` made.
        databases = self.databases = self._find_databases(defaults.get("state"))
        if databases is not None:
            databases.start()
            defaults = {**databases.names(), **defaults}
            self.loop.after_prompt_statement.append(databases.after_statement)
            self.loop.before_close.append(databases.end_on_loop)

        self.runner = CommandRunner(
            self.group,
            self.info,
            prog_name=self.prog_name,
            obj=self.command_obj,
            loop=self.loop,
            lifespan_state=defaults.get("state"),
        )
        return namespace_builder(
            self.adapter,
            self.providers(),
            runner=self.runner,
            defaults=defaults,
            profile=self.profile,
            strict=self.strict,
            models=databases.models if databases is not None else (),
        )

    def _find_databases(self, state: t.Any) -> SessionDatabases | None:
        """The app's databases, if an ORM integration may apply: the app imported
        SQLAlchemy, an ``appshell.databases`` plugin is installed, or an option asks (the
        group's name is spelled here so that an app without an ORM imports none of it).

        :raises NoDatabaseFound: an option asks and no database is found (exit 2).
        """
        from .. import plugins

        options = self.database_options
        asked = options["sandbox"] or options["read_only"] or options["sql"]
        imported = "sqlalchemy" in sys.modules or "django" in sys.modules
        if not (asked or imported or plugins.entry_points("appshell.databases")):
            return None
        from ..databases.tools import DatabaseOptions, SessionDatabases

        adapter = self.adapter
        return SessionDatabases.find(
            getattr(adapter, "app", None),
            adapter,
            DatabaseOptions(**options),
            origin=self.info.app_origin,
            state=state if isinstance(state, dict) else None,
        )

    @property
    def prompt_marker(self) -> str:
        """``SANDBOX`` or ``READ-ONLY`` for the prompts when one is on, else ``""``."""
        return (self.databases.mode or "") if self.databases is not None else ""

    def banner(self, backend: Backend, *, color: bool) -> str:
        """The first lines of the shell (see :func:`make_banner`)."""
        first = self.databases.banner_lines() if self.databases is not None else []
        return make_banner(self.info, self.namespace, backend, color=color, first_lines=first)

    def close(self) -> bool:
        """End the session: stop its background servers, stop the app's async parts (the
        lifespan shutdown), end the session's tasks and close its loop, pop the app context
        (the app's teardown runs). Safe to call twice.

        A teardown that raises has its traceback printed, as the user's code it is; the
        return value is then False, so that the caller can keep a script's own exit code
        and still report the failure.
        """
        return self.loop.run_steps(self._closing())

    async def aclose(self) -> bool:
        """:meth:`close`, awaited where the session's loop runs the caller (see :meth:`aopen`)."""
        return await self.loop.arun_steps(self._closing())

    def _closing(self) -> Steps[bool]:
        """Closing, as steps for the session's loop (see :meth:`SessionLoop.run_steps`)."""
        if self._closed:
            return True
        self._closed = True
        if self._restore_sigterm is not None:
            # A second SIGTERM while the session closes does what the first one would have.
            self._restore_sigterm()
        stopping = self.runner.close() if self.runner is not None else []
        parts, self._async = self._async, None
        leaving = parts.leaving(show_user_error) if parts is not None else None
        clean = True
        try:
            if stopping:
                yield _ended(stopping)
            if leaving is not None:
                clean = yield leaving
            ending = self.loop.ending()
            if ending is not None:
                yield ending
            self.loop.release()
            popped: bool = self.loop.call(self._pop_context, clean)
            return popped
        finally:
            # Last: the lifespan's shutdown and the app's teardown (which closes its database
            # sessions) still run inside the sandbox.
            self._end_databases()

    def _end_databases(self) -> None:
        """End the sandbox (rolled back) or read-only and the echo: the last step of closing."""
        databases, self.databases = self.databases, None
        if databases is not None:
            databases.finish()

    def _pop_context(self, clean: bool) -> bool:
        """Pop the app context (in the session's context, where it was pushed)."""
        context, self._app_context = self._app_context, None
        if context is None:
            return clean
        try:
            context.__exit__(None, None, None)
        except Exception as e:
            show_user_error(e)
            return False
        return clean

    def __enter__(self) -> Namespace:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def show_user_error(e: BaseException) -> None:
    """Print ``e``, raised by the app's code as the session closed (a teardown, a lifespan
    shutdown): appshell's errors as they show themselves, others as the traceback from the
    user's frame, not chained to whatever ended the session (that was shown already)."""
    sys.stdout.flush()
    show = getattr(e, "show", None)
    if isinstance(e, click.ClickException) and callable(show):
        show()
        return
    # Called by the framework, through contextlib, from appshell: start at the user's frame.
    e.__suppress_context__ = True
    shown = e.with_traceback(from_app_frame(e.__traceback__))
    click.echo(format_user_exception(shown), err=True, nl=False)


async def _ended(tasks: list[t.Any]) -> None:
    """Wait for ``tasks`` (background servers stopping on the running loop) to end."""
    import asyncio

    await asyncio.wait(tasks)


def from_app_frame(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` from its first frame outside appshell, the standard library and installed
    packages: a teardown is called by the framework, through contextlib, from appshell."""
    import sysconfig

    paths = sysconfig.get_paths()
    libraries = tuple(
        os.path.join(paths[key], "") for key in ("stdlib", "platstdlib", "purelib", "platlib")
    )
    current = trim_traceback(tb)
    while current is not None and current.tb_frame.f_code.co_filename.startswith(libraries):
        current = trim_traceback(current.tb_next)
    return current if current is not None else tb
