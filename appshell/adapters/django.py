"""The Django adapter. With databases/django.py, the only module that imports Django.

A Django project has no app object: :class:`DjangoProject` stands for it, made by discovery
(:mod:`appshell.djangoproject`) once Django has been set up for the project's settings.
Django itself is imported only inside functions, when a project has been found.
"""

from __future__ import annotations

import contextlib
import os
import sys
import typing as t

import click

from ..exceptions import NoAppException
from . import BaseAdapter, Route

__all__ = ["DjangoAdapter", "DjangoProject", "setup_project"]

#: Where a management command whose name appshell uses itself is reachable: django-shell.
CLASH_PREFIX = "django-"
_SETTINGS = "DJANGO_SETTINGS_MODULE"


class DjangoProject:
    """A Django project, set up: what appshell loads as "the app" of a Django project.

    It is a WSGI application too (Django's handler, with the static files of
    ``django.contrib.staticfiles`` while ``DEBUG`` is on, as ``runserver`` serves them).
    """

    def __init__(self, settings_module: str) -> None:
        #: The dotted name of the settings module, as DJANGO_SETTINGS_MODULE holds it.
        self.settings_module = settings_module
        #: The project's name: the settings module's top package.
        self.project = settings_module.partition(".")[0]
        self._wsgi: t.Any = None
        self._asgi: t.Any = None
        self._served: t.Any = None

    def __repr__(self) -> str:
        return f"<DjangoProject {self.project!r} settings={self.settings_module!r}>"

    def wsgi_application(self) -> t.Any:
        """Django's WSGI handler for the project, made once: the ``WSGI_APPLICATION``
        setting's, as ``runserver`` takes it, or Django's default one."""
        if self._wsgi is None:
            from django.conf import settings

            if getattr(settings, "WSGI_APPLICATION", None):
                from django.core.servers.basehttp import get_internal_wsgi_application

                self._wsgi = get_internal_wsgi_application()
            else:
                from django.core.wsgi import get_wsgi_application

                self._wsgi = get_wsgi_application()
        return self._wsgi

    def asgi_application(self) -> t.Any:
        """Django's ASGI handler for the project, made once."""
        if self._asgi is None:
            from django.core.asgi import get_asgi_application

            self._asgi = get_asgi_application()
        return self._asgi

    def served_application(self) -> t.Any:
        """What a development server serves: the WSGI handler, wrapped to answer
        ``STATIC_URL`` from the static files finders when ``DEBUG`` is on and
        ``django.contrib.staticfiles`` is installed."""
        if self._served is None:
            from django.apps import apps
            from django.conf import settings

            handler = self.wsgi_application()
            if settings.DEBUG and apps.is_installed("django.contrib.staticfiles"):
                from django.contrib.staticfiles.handlers import StaticFilesHandler

                handler = StaticFilesHandler(handler)
            self._served = handler
        return self._served

    def __call__(
        self, environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]
    ) -> t.Iterable[bytes]:
        return t.cast("t.Iterable[bytes]", self.served_application()(environ, start_response))

    def propagate_errors(self) -> None:
        """Let a request's exception out of Django's handler (``DEBUG_PROPAGATE_EXCEPTIONS``)
        instead of its 500 page: asked by ``run`` when werkzeug's debugger is on."""
        from django.conf import settings

        settings.DEBUG_PROPAGATE_EXCEPTIONS = True

    def test_client(self) -> t.Any:
        """Django's test ``Client`` (``client`` in the shell), its requests sent to a host
        the settings allow (:func:`_allowed_host`).

        A request made where an event loop runs (a notebook's cell, which runs inside the
        kernel's loop) is made from a thread of its own, as it would be made at a prompt:
        Django calls an async view through asgiref's ``AsyncToSync``, which refuses the
        thread of a running loop.
        """
        from django.test import Client

        client = Client(SERVER_NAME=_allowed_host())
        own_request = client.request  # every method (get, post...) makes its request by it

        def request(**request: t.Any) -> t.Any:
            if not _loop_runs_here():
                return own_request(**request)
            return _in_a_thread(own_request, **request)

        client.request = request
        return client


def _loop_runs_here() -> bool:
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_a_thread(function: t.Callable[..., t.Any], /, *args: t.Any, **kwargs: t.Any) -> t.Any:
    """``function(*args, **kwargs)`` in a new thread, in a copy of this context; waited for."""
    import contextvars
    import threading

    context = contextvars.copy_context()
    outcome: list[t.Any] = []

    def run() -> None:
        try:
            outcome.append((True, context.run(function, *args, **kwargs)))
        except BaseException as e:
            outcome.append((False, e))

    thread = threading.Thread(target=run, name="appshell-django-request", daemon=True)
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _allowed_host() -> str:
    """A host name that ``ALLOWED_HOSTS`` lets through, as Django's ``get_host()`` checks
    it: ``testserver`` (the test client's own) where allowed, else the first name the
    settings allow (a ``.example.com`` entry gives ``example.com``), else ``localhost``,
    which Django allows while ``DEBUG`` is on and ``ALLOWED_HOSTS`` is empty. Outside a
    test run Django does not add ``testserver`` for the client, so a default project
    would answer every request with 400 (DisallowedHost)."""
    from django.conf import settings
    from django.http.request import validate_host

    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    named = [host.lstrip(".") for host in allowed if isinstance(host, str) and host != "*"]
    for candidate in ("testserver", *named, "localhost"):
        if candidate and validate_host(candidate, allowed):
            return candidate
    return "testserver"  # nothing is allowed: every request is refused, as in a server


def setup_project(settings_module: str, where: str) -> DjangoProject:
    """Run ``django.setup()`` for the settings in ``DJANGO_SETTINGS_MODULE`` (once per
    process) and return the project.

    :raises NoAppException: Django is not installed; an ``INSTALLED_APPS`` entry names a
        module that does not exist; Django finds the settings unusable (ImproperlyConfigured).
        :raises UserCodeError: the settings or an app raised (their traceback, exit 1).
    """
    try:
        import django
    except ImportError:
        raise NoAppException(
            f"{where} names the Django settings {settings_module!r}, but Django is not"
            " installed here: pip install 'appshell[django]'."
        ) from None
    from django.apps import apps

    global _setup_failure
    if _setup_failure is not None:
        # Django cannot populate its apps twice: the next try would only say so.
        raise _setup_failure
    if not apps.ready:
        try:
            django.setup()
        except Exception as e:
            _setup_failure = _setup_error(e, settings_module)
            raise _setup_failure from None
    return DjangoProject(settings_module)


#: Why django.setup() failed in this process, given again to whatever asks next.
_setup_failure: click.ClickException | None = None


def _setup_error(error: Exception, settings_module: str) -> click.ClickException:
    """What a failed ``django.setup()`` is for the user: a paragraph for a mistake in the
    settings' names, else their own traceback, from their first frame."""
    import django
    from django.core.exceptions import ImproperlyConfigured

    from ..exceptions import UserCodeError

    if isinstance(error, ModuleNotFoundError):
        entry = _missing_installed_app(error)
        if entry is not None:
            return NoAppException(
                f"INSTALLED_APPS in {settings_module!r} names {entry!r}, but no module"
                f" {error.name!r} was found (sys.path starts with {sys.path[0]!r}). Check the"
                " spelling of the entry, install the app's package, or remove the entry."
            )
    if isinstance(error, ImproperlyConfigured):
        return NoAppException(f"Django could not set up the project {settings_module!r}: {error}")
    return UserCodeError(error, internal=(os.path.dirname(django.__file__),))


def _missing_installed_app(error: ModuleNotFoundError) -> str | None:
    """The ``INSTALLED_APPS`` entry whose own module (or a package above it) is the one
    ``error`` did not find; None when the missing module is one an app imports."""
    from django.conf import settings

    try:
        entries = list(settings.INSTALLED_APPS)
    except Exception:  # the settings themselves failed: not an entry's fault
        return None
    for entry in entries:
        parts = str(entry).split(".")
        if error.name in {".".join(parts[: i + 1]) for i in range(len(parts))}:
            return str(entry)
    return None


class DjangoAdapter(BaseAdapter):
    """A Django project (:class:`DjangoProject`)."""

    framework = "django"
    scannable = False
    interface = "wsgi"
    app_class = ("appshell.adapters.django", "DjangoProject")
    distribution = ("django", "Django")

    @property
    def name(self) -> str:
        return str(self.app.project)

    def set_debug(self, debug: bool) -> None:
        # The settings' DEBUG holds unless --debug (APPSHELL_DEBUG, FLASK_DEBUG) says.
        if os.environ.get("APPSHELL_DEBUG") or os.environ.get("FLASK_DEBUG"):
            from django.conf import settings

            settings.DEBUG = debug

    def debug_mode(self) -> bool:
        from django.conf import settings

        return bool(settings.DEBUG)

    def request_context(self, path: str = "/") -> t.ContextManager[t.Any]:
        return _request(path)

    def shell_context(self) -> dict[str, t.Any]:
        return shell_names()

    def routes(self) -> list[Route]:
        from django.urls import get_resolver

        return list(_flatten(get_resolver().url_patterns, "/", ""))

    def command_group(self) -> click.Group:
        return DjangoCommands()

    def lifespan_app(self) -> t.Any | None:
        return None


@contextlib.contextmanager
def _request(path: str) -> t.Iterator[t.Any]:
    from django.test import RequestFactory

    yield RequestFactory().get(path)


def shell_names() -> dict[str, t.Any]:
    """The names Django's own ``shell`` imports: on Django 5.2+ those that the project's
    ``shell`` command (an override included) lists in ``get_auto_imports()``; before,
    every model (the earlier app's winning a name) and ``settings``."""
    from django.core.management import get_commands, load_command_class

    command = load_command_class(get_commands()["shell"], "shell")
    listed = getattr(command, "get_auto_imports", None)
    if listed is None:
        from django.apps import apps
        from django.conf import settings

        names: dict[str, t.Any] = {"settings": settings}
        for model in reversed(apps.get_models()):
            names[model.__name__] = model
        return names
    from django.utils.module_loading import import_string

    found: dict[str, t.Any] = {}
    for path in listed() or ():
        try:
            value = import_string(path) if "." in path else __import__(path)
        except ImportError:
            continue  # Django's shell leaves out what it cannot import, too
        # A later path wins a name, as in Django's shell (its models come last app first).
        found[path.rpartition(".")[2]] = value
    return found


def _flatten(patterns: t.Iterable[t.Any], prefix: str, namespace: str) -> t.Iterator[Route]:
    """Every URL pattern, the ``include()``s flattened: the route, its name with the
    namespaces above it (``blog:detail``), and the view's dotted path."""
    from django.urls import URLResolver
    from django.urls.resolvers import RegexPattern

    for pattern in patterns:
        text = str(pattern.pattern)
        if isinstance(pattern.pattern, RegexPattern):
            text = text.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
        route = prefix + text
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _flatten(pattern.url_patterns, route, inner)
            continue
        view = _dotted(pattern.callback)
        name = f"{namespace}{pattern.name}" if pattern.name else view
        yield Route(route, name, frozenset(), view=view)


def _dotted(view: t.Any) -> str:
    wrapped = getattr(view, "view_class", None) or getattr(view, "__wrapped__", None) or view
    module = getattr(wrapped, "__module__", None) or "?"
    return f"{module}.{getattr(wrapped, '__qualname__', type(wrapped).__name__)}"


class DjangoCommands(click.Group):
    """The project's management commands (Django's, the installed apps', the project's),
    run through Django's own parsers. A name appshell has a command of its own for
    (``shell``) is listed and reached as ``django-shell``; every command answers to its
    ``django-`` name too."""

    def __init__(self) -> None:
        super().__init__("django")

    @staticmethod
    def _known() -> dict[str, str]:
        from django.core.management import get_commands

        return dict(get_commands())

    def list_commands(self, ctx: click.Context) -> list[str]:
        own = getattr(ctx.find_root().command, "own_command_names", None)
        taken = set(own(ctx)) if callable(own) else set()
        return sorted(f"{CLASH_PREFIX}{n}" if n in taken else n for n in self._known())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        known = self._known()
        name = cmd_name
        if name not in known and name.startswith(CLASH_PREFIX):
            name = name[len(CLASH_PREFIX) :]
        if name in known:
            return ManagementCommand(cmd_name, name, known[name])
        if ctx.resilient_parsing:
            return None
        from ..exceptions import AppShellUsageError

        raise AppShellUsageError(
            f"No such command {cmd_name!r}: it is neither one of appshell's commands nor a"
            f" management command of the Django project {os.environ.get(_SETTINGS)!r}"
            " (Django's, an installed app's or the project's). 'appshell --help' lists them all."
        )


class ManagementCommand(click.Command):
    """One management command: its words go to Django's argument parser untouched."""

    def __init__(self, shown: str, name: str, app_name: str) -> None:
        where = "django" if app_name == "django.core" else app_name.rpartition(".")[2]
        super().__init__(
            shown,
            short_help=f"Management command ({where}).",
            add_help_option=False,
        )
        self.django_name, self.app_name = name, app_name

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.args = list(args)
        return ctx.args

    def options_to_argv(self, options: dict[str, t.Any]) -> tuple[list[str], list[str]]:
        """``cli.migrate(noinput=True, database="other")`` as the command line spells it,
        read from the command's own parser: an option by its destination (``interactive=
        False``) or by its name (``noinput=True``), as ``call_command`` takes them.

        :raises TypeError: a name the command has no option or argument for.
        """
        from django.core.management import load_command_class

        command = load_command_class(self.app_name, self.django_name)
        if isinstance(command, click.Command):
            return _click_options_to_argv(command, self.name or "", options)
        parser = command.create_parser("", "")
        # argparse lists its actions only in this attribute (call_command reads it too).
        actions = [a for a in parser._actions if a.dest != "help"]
        by_name = {a.dest: a for a in actions}
        for action in actions:
            for spelled in action.option_strings:
                by_name.setdefault(spelled.lstrip("-").replace("-", "_"), action)
        argv: list[str] = []
        values: list[str] = []
        for key, value in options.items():
            action = by_name.get(key)
            if action is None:
                known = ", ".join(sorted(a.dest for a in actions if a.option_strings))
                raise TypeError(f"{self.name}() has no option {key!r}; its options are: {known}")
            given = list(value) if isinstance(value, list | tuple) else [value]
            if not action.option_strings:
                values.extend(str(v) for v in given)
            elif action.nargs == 0 and action.const is None:  # a count (-v -v)
                argv.extend(action.option_strings[-1:] * int(value or 0))
            elif action.nargs == 0:
                # A flag: by its destination it is given when the value is the one the flag
                # stores (interactive=False for --noinput); by its name when true.
                wanted = value == action.const if key == action.dest else bool(value)
                argv.extend(action.option_strings[-1:] if wanted else [])
            elif value is not None:
                for v in given:
                    argv.extend([action.option_strings[-1], str(v)])
        return argv, values

    def invoke(self, ctx: click.Context) -> None:
        from django.core.management import load_command_class
        from django.core.management.base import CommandError

        command = load_command_class(self.app_name, self.django_name)
        prog = ctx.find_root().info_name or "appshell"
        if _runs_itself(command):
            # A command that parses its words itself (django-click's, a click command):
            # handed them as manage.py hands them.
            try:
                command.run_from_argv([prog, self.name or "", *ctx.args])
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if not isinstance(e.code, int | None):
                    click.echo(e.code, err=True)
                raise click.exceptions.Exit(code) from None
            return
        # As manage.py runs it: a usage error is argparse's message and exit 2.
        command._called_from_command_line = True
        options = vars(command.create_parser(prog, self.name or "").parse_args(ctx.args))
        args = options.pop("args", ())
        try:
            command.execute(*args, **options)
        except CommandError as e:
            if options.get("traceback"):
                raise
            # manage.py's line and exit code (not its closing of every connection: the
            # session goes on using them).
            click.echo(f"{type(e).__name__}: {e}", err=True)
            raise click.exceptions.Exit(e.returncode) from None
        except Exception as e:
            # The user's traceback, from their handle() on: Django's execute() and its
            # output wrappers in front of it are not theirs.
            import django

            from ..exceptions import UserCodeError

            django_folder = os.path.dirname(os.path.abspath(django.__file__)) + os.sep
            raise UserCodeError(e, internal=(django_folder,)) from None


def _runs_itself(command: t.Any) -> bool:
    """Whether a management command replaces Django's ``run_from_argv`` (django-click's
    commands do: they are click commands, and parse their words with click)."""
    from django.core.management.base import BaseCommand

    run = getattr(type(command), "run_from_argv", None)
    return run is not None and run is not BaseCommand.run_from_argv


def _click_options_to_argv(
    command: click.Command, name: str, options: dict[str, t.Any]
) -> tuple[list[str], list[str]]:
    """``cli.greet(shout=True)`` for a management command made with click (django-click):
    each keyword by the name of the click parameter it fills, as its words.

    :raises TypeError: a name the command has no parameter for.
    """
    params = {p.name: p for p in command.params if p.name and p.expose_value}
    argv: list[str] = []
    values: list[str] = []
    for key, value in options.items():
        param = params.get(key)
        if param is None:
            known = ", ".join(n for n, p in params.items() if isinstance(p, click.Option))
            raise TypeError(f"{name}() has no option {key!r}; its options are: {known or 'none'}")
        given = list(value) if isinstance(value, list | tuple) else [value]
        if isinstance(param, click.Argument):
            values.extend(str(v) for v in given)
        elif isinstance(param, click.Option) and param.is_flag and not param.count:
            wanted = param.opts if value else param.secondary_opts
            argv.extend(wanted[-1:])
        elif value is not None:
            for v in given:
                argv.extend([param.opts[-1], str(v)])
    return argv, values
