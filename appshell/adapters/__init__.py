"""What appshell needs to know about a web framework, behind one small protocol.

An adapter wraps one application object. appshell reaches the framework only through it:
to tell whether an object is an app, to push the app context, to list routes, to find the
app's own click commands and its shell names. Built in: :mod:`.flask`, :mod:`.quart`,
:mod:`.starlette` (FastAPI too), :mod:`.litestar`, :mod:`.django`, :mod:`.asgi` (any ASGI
callable) and :mod:`.wsgi` (any WSGI callable). Third-party adapters register a class in the
entry-point group ``appshell.adapters``; they are asked before the built-in ones.
"""

from __future__ import annotations

import contextlib
import contextvars
import typing as t

if t.TYPE_CHECKING:
    import click

__all__ = [
    "AppAdapter",
    "BaseAdapter",
    "Route",
    "adapter_classes",
    "adapter_for",
    "find_adapter_class",
]


class Route(t.NamedTuple):
    """One URL rule of an app, in the order the app matches them."""

    rule: str
    endpoint: str
    methods: frozenset[str]
    host: str | None = None
    subdomain: str | None = None
    #: The dotted path of the view, where the endpoint is not it (Django's URL names).
    view: str | None = None


@t.runtime_checkable
class AppAdapter(t.Protocol):
    """The seam between appshell and a framework. See :class:`BaseAdapter` for defaults."""

    #: Short framework name shown in banners and ``--version`` ("flask", "wsgi").
    framework: t.ClassVar[str]
    #: Whether an instance can be told from any other object, so that a module may be
    #: scanned for "the only app in it". False for plain WSGI: every function is callable.
    scannable: t.ClassVar[bool]
    #: How the app is called: "wsgi" (``app(environ, start_response)``) or "asgi"
    #: (``await app(scope, receive, send)``); it decides the server and the ``client``.
    interface: t.ClassVar[str]
    app: t.Any

    @classmethod
    def matches(cls, obj: object) -> bool:
        """Whether ``obj`` is an application of this framework (never imports it)."""

    @classmethod
    def framework_version(cls) -> tuple[str, str] | None:
        """The framework's distribution name and version, for ``--version`` and banners."""

    @property
    def name(self) -> str:
        """The app's name."""

    def set_debug(self, debug: bool) -> None:
        """Set the app's debug flag to ``debug`` (``--debug``); an adapter may leave the app's
        own setting alone when neither ``--debug`` nor ``--no-debug`` was given."""

    def debug_mode(self) -> bool | None:
        """Whether the app is in debug mode, as the app itself holds it (Django: the
        ``DEBUG`` setting), for ``run`` to report; None if the app has no such flag."""

    def app_context(self) -> t.ContextManager[t.Any]:
        """A context manager that makes the app current, as a request would."""

    def context_is_active(self) -> bool:
        """Whether this app's context is already pushed (it is then not pushed twice)."""

    def request_context(self, path: str = "/") -> t.ContextManager[t.Any] | None:
        """A context manager that simulates a request for ``path``; None if the framework
        has no request context, or only one entered on the event loop."""

    def async_request_context(self, path: str = "/") -> t.AsyncContextManager[t.Any] | None:
        """A simulated request for ``path`` entered on the event loop (Quart's), or None."""

    def default_names(self) -> dict[str, t.Any]:
        """Names every shell gets before anything else (``app`` and the like)."""

    def shell_context(self) -> dict[str, t.Any]:
        """The framework's own shell names (Flask: ``app.make_shell_context()``)."""

    def routes(self) -> list[Route] | None:
        """The app's URL rules in matching order, or None if the app has no routing table."""

    def command_group(self) -> click.Group | None:
        """The app's own click commands (Flask: ``app.cli``), or None."""

    def lifespan_app(self) -> t.Any | None:
        """The ASGI callable whose lifespan a session runs, or None (a WSGI app)."""

    def async_app_context(self) -> t.AsyncContextManager[t.Any] | None:
        """An app context that has to be entered on the event loop (Quart's), or None."""


# The apps whose context appshell pushed through a BaseAdapter, for context_is_active().
_active_apps: contextvars.ContextVar[tuple[int, ...]] = contextvars.ContextVar(
    "appshell_active_apps", default=()
)


class BaseAdapter:
    """Defaults for adapters: override what the framework offers.

    The defaults use what the app object offers by convention: ``app_context()``,
    ``test_request_context(path)``, ``make_shell_context()``, ``url_map`` (a werkzeug
    ``Map``), ``cli`` (a click group), ``name``, ``debug``.
    """

    framework: t.ClassVar[str] = "app"
    scannable: t.ClassVar[bool] = True
    interface: t.ClassVar[str] = "wsgi"
    #: Where the framework's app class is, ``(module, class name)``: :meth:`matches` looks
    #: it up in ``sys.modules`` only, so an app is recognised without importing anything.
    app_class: t.ClassVar[tuple[str, str] | None] = None
    #: The distribution whose version banners show, ``(name, how it is written)``.
    distribution: t.ClassVar[tuple[str, str] | None] = None
    #: The names a module's app is looked for under, before the module is scanned for its
    #: only app: those the framework's own command line looks for.
    app_names: t.ClassVar[tuple[str, ...]] = ("app", "application")

    def __init__(self, app: t.Any) -> None:
        self.app = app

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @classmethod
    def matches(cls, obj: object) -> bool:
        if cls.app_class is None:
            return False
        import sys

        from ..inspection import is_class, is_instance, static_attribute

        module, name = cls.app_class
        kind = static_attribute(sys.modules.get(module), name, None)
        # By the object's type alone: a proxy (werkzeug's current_app) is not an app.
        return is_class(kind) and is_instance(obj, kind)

    @classmethod
    def framework_version(cls) -> tuple[str, str] | None:
        if cls.distribution is None:
            return None
        from .. import plugins

        name, written = cls.distribution
        found = plugins.version(name)
        return (written, found) if found else None

    @property
    def name(self) -> str:
        name = getattr(self.app, "name", None)
        if isinstance(name, str) and name:
            return name
        return getattr(self.app, "__name__", None) or type(self.app).__name__

    def set_debug(self, debug: bool) -> None:
        # Only when asked (--debug, --no-debug, APPSHELL_DEBUG): loading an app never turns
        # off the debug mode it set itself (FastAPI(debug=True), Litestar(debug=True)).
        from ..envfiles import debug_flag_given

        if debug_flag_given():
            with contextlib.suppress(AttributeError, TypeError):
                self.app.debug = debug

    def debug_mode(self) -> bool | None:
        value = getattr(self.app, "debug", None)
        return value if isinstance(value, bool) else None

    def app_context(self) -> t.ContextManager[t.Any]:
        return self._app_context()

    @contextlib.contextmanager
    def _app_context(self) -> t.Iterator[t.Any]:
        factory = getattr(self.app, "app_context", None)
        token = _active_apps.set((*_active_apps.get(), id(self.app)))
        try:
            if callable(factory):
                with factory() as ctx:
                    yield ctx
            else:
                yield None
        finally:
            _active_apps.reset(token)

    def context_is_active(self) -> bool:
        return id(self.app) in _active_apps.get()

    def request_context(self, path: str = "/") -> t.ContextManager[t.Any] | None:
        factory = getattr(self.app, "test_request_context", None)
        if callable(factory):
            return t.cast("t.ContextManager[t.Any]", factory(path))
        return None

    def async_request_context(self, path: str = "/") -> t.AsyncContextManager[t.Any] | None:
        return None

    def default_names(self) -> dict[str, t.Any]:
        return {"app": self.app}

    def shell_context(self) -> dict[str, t.Any]:
        make = getattr(self.app, "make_shell_context", None)
        if not callable(make):
            return {}
        return dict(make())

    def routes(self) -> list[Route] | None:
        url_map = getattr(self.app, "url_map", None)
        if url_map is None or not hasattr(url_map, "iter_rules"):
            return None
        return routes_from_map(url_map)

    def command_group(self) -> click.Group | None:
        import click

        group = getattr(self.app, "cli", None)
        return group if isinstance(group, click.Group) else None

    def lifespan_app(self) -> t.Any | None:
        return self.app if self.interface == "asgi" else None

    def async_app_context(self) -> t.AsyncContextManager[t.Any] | None:
        return None


def routes_from_map(url_map: t.Any) -> list[Route]:
    """The rules of a werkzeug ``Map`` (or anything with ``iter_rules()``) as routes."""
    return [
        Route(
            rule=rule.rule,
            endpoint=str(rule.endpoint),
            methods=frozenset(rule.methods or ()),
            host=getattr(rule, "host", None),
            subdomain=getattr(rule, "subdomain", None) or None,
        )
        for rule in url_map.iter_rules()
    ]


#: The built-in adapters, in the order they are asked after the plugins: (the module whose
#: presence in sys.modules means an app of that framework can exist, or None for the
#: adapters of any callable; the adapter's module; its class).
_BUILT_IN: tuple[tuple[str | None, str, str], ...] = (
    ("flask", "appshell.adapters.flask", "FlaskAdapter"),
    ("quart.app", "appshell.adapters.quart", "QuartAdapter"),
    ("starlette.applications", "appshell.adapters.starlette", "StarletteAdapter"),
    ("litestar.app", "appshell.adapters.litestar", "LitestarAdapter"),
    # A Django project exists only once discovery made one (which imports this module).
    ("appshell.adapters.django", "appshell.adapters.django", "DjangoAdapter"),
    (None, "appshell.adapters.asgi", "ASGIAdapter"),
    (None, "appshell.adapters.wsgi", "WSGIAdapter"),
)


def _plugin_classes() -> t.Iterator[type[AppAdapter]]:
    from .. import plugins

    for loaded in plugins.load_all(plugins.ADAPTERS):
        if isinstance(loaded, type) and callable(getattr(loaded, "matches", None)):
            yield t.cast("type[AppAdapter]", loaded)
        else:
            plugins.report_broken(
                plugins.ADAPTERS,
                getattr(loaded, "__name__", repr(loaded)),
                TypeError("an adapter must be a class with a matches() classmethod"),
            )


def _candidate_classes(*, every: bool = False) -> t.Iterator[type[AppAdapter]]:
    """The adapter classes in the order they are asked, each imported when reached. A
    framework's adapter is left out while the framework is not imported (no app of it can
    exist then), unless ``every``."""
    import importlib
    import sys

    yield from _plugin_classes()
    for framework, module, name in _BUILT_IN:
        if every or framework is None or framework in sys.modules:
            yield getattr(importlib.import_module(module), name)


def adapter_classes() -> list[type[AppAdapter]]:
    """Every adapter class, in the order they are asked: plugins, the frameworks' (Flask,
    Quart, Starlette and FastAPI, Litestar, Django), then any ASGI callable, then any WSGI callable.
    None of them imports its framework to answer."""
    return list(_candidate_classes(every=True))


def find_adapter_class(obj: object, *, scanning: bool = False) -> type[AppAdapter] | None:
    """The first adapter class that claims ``obj``; with ``scanning``, only scannable ones."""
    for cls in _candidate_classes():
        if scanning and not cls.scannable:
            continue
        try:
            if cls.matches(obj):
                return cls
        except Exception:  # a broken third-party adapter must not break discovery
            continue
    return None


def adapter_for(app: object) -> AppAdapter:
    """The adapter for a loaded app.

    :raises TypeError: no adapter claims ``app`` (discovery only returns objects one claims).
    """
    cls = find_adapter_class(app)
    if cls is None:
        raise TypeError(f"no appshell adapter knows {type(app).__name__!r} objects")
    return cls(app)  # type: ignore[call-arg]
