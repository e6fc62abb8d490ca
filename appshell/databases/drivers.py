"""Driver-level connections refused while a sandbox or a read-only session is open.

A connection the app or the user opens straight from a driver (``sqlite3.connect`` for an
audit log, ``psycopg.connect`` in a script) is none of the session's engines: it would commit
for real under a banner that says SANDBOX. While a guard is on, such a ``connect()`` raises
one line before any connection is made. Connections an ORM opens for its own engines are let
through, because the ORM's tool guards them itself (the sandbox hands out stand-ins, read-only
refuses a pool it does not know): a connect is the ORM's when one of the frames that led to it
is in a module the tool named (``"sqlalchemy.pool."``: a pool making a connection, through
the dialect or the engine's own ``creator``).

Where each driver is caught, at the narrowest point every caller passes:

- sqlite3: its ``sqlite3.connect`` audit event (Python 3.10+), on every road, in every thread
  (aiosqlite connects from a thread of its own), ``sqlite3.Connection(...)`` called directly
  included. An audit hook cannot be removed, so one is added once per process and does
  nothing while no guard is on.
- psycopg: ``psycopg.connect``, ``Connection.connect`` and ``AsyncConnection.connect`` (which
  its pools call too); psycopg2: ``psycopg2.connect``, and its connection class called
  directly (``psycopg2.extensions.connection(dsn)``, a C type: the module attributes that
  name it hold a checked stand-in while a guard is on, and the Python subclasses it has, such
  as ``psycopg2.extras.DictConnection``, a checked ``__new__``); asyncpg: ``asyncpg.connect``
  (which its pools call); aiosqlite: ``aiosqlite.connect`` (the sqlite3 connect of its own
  connector is then trusted, not one handed to ``aiosqlite.Connection`` directly). These have
  no audit event, so their module-level functions are replaced while a guard is on, in a
  driver imported later too (at its import), and put back when the last guard ends.

What no Python-level guard sees (a C extension's own connection, libpq's bindings called
directly as ``psycopg.pq.PGconn.connect``, another process) is named in the README.
"""

from __future__ import annotations

import sys
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["guard_driver_connects"]


_SQLALCHEMY_ROADS = "its sessions, engine.connect(), engine.raw_connection()"


class _Guard:
    def __init__(
        self,
        who: str,
        why: str,
        error: type[Exception],
        trusted: tuple[str, ...],
        roads: str = _SQLALCHEMY_ROADS,
    ) -> None:
        self.who = who
        self.why = why
        self.error = error
        self.trusted = trusted
        self.roads = roads


_guards: list[_Guard] = []
_lock = threading.Lock()
_hooked = False
#: What was replaced: (owner, attribute name, the original as stored on the owner).
_replaced: list[tuple[t.Any, str, t.Any]] = []
#: What ``_replaced`` holds for an attribute the owner did not have (deleted again).
_ABSENT = object()

#: The drivers' entry points: module -> attribute paths of the connect functions (or of a
#: connection class that connects when called, as psycopg2's does).
_DRIVERS: dict[str, tuple[str, ...]] = {
    "psycopg": ("connect", "Connection.connect", "AsyncConnection.connect"),
    "psycopg2": ("connect", "extensions.connection", "_psycopg.connection"),
    "asyncpg": ("connect", "connection.connect"),
    "aiosqlite": ("connect", "core.connect"),
}
#: How many frames up a connect the trusted modules are looked for.
_DEPTH = 16
#: Callers of sqlite3.connect let through: the tools around a session that keep files of
#: their own in SQLite (IPython's history, a notebook's signatures, coverage's data), none of
#: them the app's database.
_GUARDED_CALLERS = ("IPython.core.history", "nbformat.sign", "coverage.")
#: The one function of aiosqlite that calls sqlite3.connect for ``aiosqlite.connect`` (which
#: is guarded itself), in aiosqlite's thread: (module, function). Any other caller there, such
#: as a connector handed to ``aiosqlite.Connection`` directly, is judged as usual.
_AIOSQLITE_CONNECTOR = ("aiosqlite.core", "connector")


def guard_driver_connects(
    who: str,
    why: str,
    error: type[Exception],
    trusted: tuple[str, ...],
    *,
    roads: str = _SQLALCHEMY_ROADS,
) -> Callable[[], None]:
    """Refuse driver-level connects from now on, and return the function that stops it.

    :param who: what refuses, for the message (``"appshell's sandbox"``).
    :param why: why, for the message (``"what it did would be committed for real"``).
    :param error: the exception class raised.
    :param trusted: module prefixes whose connects are let through (an ORM's own).
    :param roads: the ORM's own ways to the database, which the message advises.
    """
    guard = _Guard(who, why, error, trusted, roads)
    with _lock:
        _guards.append(guard)
        if len(_guards) == 1:
            _install()

    def stop() -> None:
        with _lock:
            if guard in _guards:
                _guards.remove(guard)
                if not _guards:
                    _uninstall()

    return stop


def _check(what: str, target: t.Any, frame: t.Any) -> None:
    """Refuse a connect that ``frame`` made unless a guard trusts a frame that led to it."""
    guards = list(_guards)
    if not guards:
        return
    caller = str(frame.f_globals.get("__name__", ""))
    if (
        caller.startswith(_GUARDED_CALLERS)
        or (caller, frame.f_code.co_name) == _AIOSQLITE_CONNECTOR
    ):
        return
    trusted = tuple(prefix for g in guards for prefix in g.trusted)
    depth = 0
    while frame is not None and depth < _DEPTH:
        if str(frame.f_globals.get("__name__", "")).startswith(trusted):
            return
        frame, depth = frame.f_back, depth + 1
    first = guards[0]
    shown = f"{target!r}" if isinstance(target, str) and target else ""
    raise first.error(
        f"{first.who} refused {what}({shown}): a connection made straight from the driver"
        f" is none of the app's engines, and {first.why}; use the app's engines"
        f" ({first.roads})."
    )


def _caller(depth: int) -> t.Any:
    return sys._getframe(depth + 1)


# -- sqlite3: its audit event -----------------------------------------------------------------


def _audit(event: str, args: tuple[t.Any, ...]) -> None:
    if event != "sqlite3.connect" or not _guards:
        return
    database = args[0] if args else ""
    if str(database) in ("", ":memory:") or "mode=memory" in str(database):
        return  # a database of its own, gone with the connection: nothing to guard
    _check("sqlite3.connect", str(database), _caller(1))


# -- the other drivers: their connect functions, replaced while a guard is on -------------------


def _install() -> None:
    global _hooked
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True
    for name in _DRIVERS:
        module = sys.modules.get(name)
        if module is not None:
            _wrap_driver(name, module)
    sys.meta_path.insert(0, _driver_import_hook)


def _uninstall() -> None:
    if _driver_import_hook in sys.meta_path:
        sys.meta_path.remove(_driver_import_hook)
    while _replaced:
        owner, attr, original = _replaced.pop()
        if original is _ABSENT:
            delattr(owner, attr)
        else:
            setattr(owner, attr, original)


def _wrap_driver(name: str, module: t.Any) -> None:
    for path in _DRIVERS[name]:
        *owners, attr = path.split(".")
        owner = module
        for part in owners:
            owner = getattr(owner, part, None)
        if owner is None or attr not in vars(owner):
            continue
        stored = vars(owner)[attr]
        if getattr(stored, "_appshell_guarded", False):
            continue
        what = f"{name}.{path}"
        if isinstance(stored, classmethod):
            replacement: t.Any = classmethod(_guarded(what, stored.__func__, bound=True))
        elif isinstance(stored, type):
            replacement = _guarded_class(what, stored)
            _guard_subclasses(what, stored)
        else:
            replacement = _guarded(what, stored, bound=False)
        _replaced.append((owner, attr, stored))
        setattr(owner, attr, replacement)


def _guarded(what: str, connect: t.Any, *, bound: bool) -> t.Any:
    if bound:

        def guarded_method(cls: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
            _check(what, args[0] if args else kwargs.get("conninfo", ""), _caller(1))
            return connect(cls, *args, **kwargs)

        guarded_method._appshell_guarded = True  # type: ignore[attr-defined]
        return guarded_method

    def guarded(*args: t.Any, **kwargs: t.Any) -> t.Any:
        _check(what, args[0] if args else kwargs.get("dsn", ""), _caller(1))
        return connect(*args, **kwargs)

    guarded._appshell_guarded = True  # type: ignore[attr-defined]
    return guarded


def _guarded_class(what: str, original: type) -> type:
    """A stand-in for a connection class whose call connects (psycopg2's, a C type whose
    construction no Python hook sees): calling it is checked, then makes an instance of the
    original, and ``isinstance``/``issubclass`` against it answer as for the original. A
    subclass made from it while the guard is on is checked too."""

    # psycopg2's connection is of ``type`` itself, so its stand-in's metaclass is too.
    class _Checked(type):
        def __instancecheck__(cls, instance: t.Any) -> bool:
            if cls is guarded:
                return isinstance(instance, original)
            return bool(super().__instancecheck__(instance))

        def __subclasscheck__(cls, subclass: t.Any) -> bool:
            if cls is guarded:
                return issubclass(subclass, original)
            return bool(super().__subclasscheck__(subclass))

    def __new__(cls: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        _check(what, args[0] if args else kwargs.get("dsn", ""), _caller(1))
        if cls is guarded:
            return original(*args, **kwargs)
        return original.__new__(cls, *args, **kwargs)

    namespace = {
        "__new__": __new__,
        "__module__": original.__module__,
        "__doc__": original.__doc__,
        "_appshell_guarded": True,
    }
    guarded = _Checked(original.__name__, (original,), namespace)
    return guarded


def _guard_subclasses(what: str, original: type) -> None:
    """Check the calls of the Python subclasses a connection class has already (psycopg2's
    ``extras.DictConnection``, ``LoggingConnection``, an app's own), which calling them
    connects as calling the class does: each is given a checked ``__new__`` of its own."""
    pending: list[type] = list(original.__subclasses__())
    while pending:
        subclass = pending.pop()
        pending.extend(subclass.__subclasses__())
        if "__new__" in vars(subclass) or not subclass.__flags__ & _HEAP_TYPE:
            continue

        def checked_new(cls: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
            _check(f"{what}.{cls.__name__}", args[0] if args else kwargs.get("dsn", ""), _caller(1))
            return original.__new__(cls, *args, **kwargs)

        _replaced.append((subclass, "__new__", _ABSENT))
        subclass.__new__ = checked_new  # type: ignore[assignment]


_HEAP_TYPE = (
    1 << 9
)  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement, whose __new__ can be set


class _DriverImportHook:
    """A ``sys.meta_path`` finder that lets a driver imported while a guard is on be imported
    as usual, then replaces its connect functions."""

    def find_spec(self, name: str, path: t.Any, target: t.Any = None) -> t.Any:
        if name not in _DRIVERS:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        exec_module = loader.exec_module

        class _Loader:
            def create_module(self, spec: t.Any) -> t.Any:
                return loader.create_module(spec)

            def exec_module(self, module: t.Any) -> None:
                exec_module(module)
                with _lock:
                    if _guards:
                        _wrap_driver(name, module)

            def __getattr__(self, attr: str) -> t.Any:
                # The rest of the loader's protocol (resources, source) is the original's.
                return getattr(loader, attr)

        spec.loader = _Loader()  # type: ignore[assignment]
        return spec


_driver_import_hook = _DriverImportHook()
