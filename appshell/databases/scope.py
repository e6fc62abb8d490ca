"""The objects an app keeps, where an ORM integration looks for its databases.

The app's own modules (the one its import string names, its ``import_name``, the loaded
modules of the same package, and the app's modules their globals hold), the values of
``app.extensions`` and ``app.state``, the lifespan state, and what the adapter names,
held in a :class:`Scope` with the app and its adapter. Nothing is imported: only modules
already loaded are read.
"""

from __future__ import annotations

import os
import re
import sys
import types
import typing as t

from ..inspection import MISSING, instance_dict, is_class, is_instance, is_module, static_attribute

__all__ = ["Scope", "app_modules", "app_objects", "make_scope"]


class Scope:
    """Where an integration looks: the app and what it keeps, found once per session."""

    __slots__ = ("adapter", "app", "objects")

    def __init__(self, app: t.Any, adapter: t.Any, objects: list[tuple[str, t.Any]]) -> None:
        self.app = app
        self.adapter = adapter
        #: (where, value) pairs: ``("blog.engine", engine)``,
        #: ``("app.extensions['sqlalchemy']", db)``, in the order they were found (the app's
        #: module first).
        self.objects = objects


def make_scope(
    app: t.Any,
    adapter: t.Any,
    *,
    origin: str = "",
    state: t.Mapping[str, t.Any] | None = None,
) -> Scope:
    """The :class:`Scope` of ``app``: the globals of its modules (the one ``origin``
    names, the app's ``import_name``, the loaded modules of the same package and the
    modules those globals hold), ``app.extensions``, ``app.state``, the lifespan ``state``,
    and what the adapter's ``database_objects()`` names, if it has that method."""
    return Scope(app, adapter, app_objects(app, adapter, origin=origin, state=state))


def app_objects(
    app: t.Any,
    adapter: t.Any,
    *,
    origin: str = "",
    state: t.Mapping[str, t.Any] | None = None,
) -> list[tuple[str, t.Any]]:
    """(where, value) for every object ``app`` keeps, the app's modules' globals first."""
    objects: list[tuple[str, t.Any]] = []
    for module in app_modules(app, origin):
        prefix = module.__name__
        objects.extend(
            (f"{prefix}.{name}", value)
            for name, value in list(vars(module).items())
            if not name.startswith("__") and not is_module(value)
        )
    # What extension objects among those keep (an engine on an extension's attribute, in
    # a dict of engines), looked at last so that a name found directly wins.
    kept = [held for where, value in objects for held in _held(where, value)]
    extensions = static_attribute(app, "extensions")
    if type(extensions) is dict:
        objects.extend((f"app.extensions[{key!r}]", value) for key, value in extensions.items())
    objects.extend((f"app.state.{key}", value) for key, value in _state_values(app).items())
    if state:
        objects.extend((f"state[{key!r}]", value) for key, value in state.items())
    named = getattr(adapter, "database_objects", None)
    if callable(named):
        objects.extend((f"adapter: {key}", value) for key, value in dict(named()).items())
    return objects + kept


def _held(where: str, value: object) -> t.Iterator[tuple[str, t.Any]]:
    """The attributes an instance keeps in its ``__dict__``, and the values of a plain dict
    among them, read without running any of its code."""
    if is_class(value) or is_instance(value, _NOT_HOLDERS):
        return
    own = instance_dict(value)
    if not own:
        return
    for name, item in list(own.items()):
        yield f"{where}.{name}", item
        if type(item) is dict:
            yield from ((f"{where}.{name}[{key!r}]", inner) for key, inner in list(item.items()))


_NOT_HOLDERS = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, types.ModuleType)


def _state_values(app: t.Any) -> dict[str, t.Any]:
    """What an ASGI app keeps in ``app.state`` (Starlette's State keeps its values in one
    dict of its own; another framework's may be a plain namespace)."""
    holder = static_attribute(app, "state")
    if holder is MISSING or holder is None or is_instance(holder, (str, bytes, int, float, bool)):
        return {}
    values = static_attribute(holder, "_state")
    if type(values) is dict:
        return dict(values)
    own = static_attribute(holder, "__dict__")
    if type(own) is not dict:
        return {}
    return {k: v for k, v in own.items() if not k.startswith("_")}


def app_modules(app: t.Any, origin: str = "") -> list[types.ModuleType]:
    """The app's own modules, loaded already: see the module docstring."""
    names = []
    spec = origin.split(":", 1)[0].strip()
    if spec.endswith(".py"):
        # A file (`app/main.py`, found by discovery or given): the module loaded from it,
        # whatever dotted name it was imported under (`app.main`).
        path = os.path.abspath(spec)
        spec = next(
            (
                name
                for name, module in list(sys.modules.items())
                if is_module(module) and _file(module) == path
            ),
            os.path.splitext(os.path.basename(spec))[0],
        )
    if spec:
        names.append(spec)
    import_name = static_attribute(app, "import_name")
    if type(import_name) is str:
        names.append(import_name)
    # The module the app's class was made in, when that is the user's (a subclass).
    names.append(type(app).__module__)
    modules = sys.modules
    roots = [modules[name] for name in dict.fromkeys(names) if is_module(modules.get(name))]
    libraries = _library_dirs()
    mine = [module for module in roots if _is_users(module, libraries)]
    packages = {module.__name__.split(".")[0] for module in mine} - {"__main__"}
    inside = tuple(package + "." for package in packages)
    # The project's folder: the one holding the app's top-level module or package. Its
    # other modules are the user's too (a sibling `models.py` or `db/` that `main.py`
    # imports), as are those of the app's package wherever they live.
    folders = tuple(_project_folder(module) for module in mine if module.__name__ != "__main__")
    for name, module in list(modules.items()):
        if not is_module(module):
            continue
        in_package = name in packages or name.startswith(inside)
        beside = bool(folders) and _file(module).startswith(folders)
        if in_package or (beside and _is_users(module, libraries)):
            mine.append(module)
    # One level further: the user's modules the app's modules hold (`import db`).
    for module in list(mine):
        for value in list(vars(module).values()):
            if is_module(value) and _is_users(value, libraries):
                mine.append(value)
    unique: dict[int, types.ModuleType] = {}
    for module in mine:
        unique.setdefault(id(module), module)
    return list(unique.values())


#: A folder pip installs into, wherever it is (a virtualenv inside the project included).
_INSTALLED = re.compile(r"[\\/](?:site|dist)-packages[\\/]")


def _library_dirs() -> tuple[str, ...]:
    """The standard library's folder and the installed packages' folders.

    Asked of ``site`` (imported at start-up already), not ``sysconfig``, whose path table
    costs more than the rest of the scope.
    """
    import site

    getsitepackages = getattr(site, "getsitepackages", None)
    if getsitepackages is None:  # an interpreter whose site module lacks it
        import sysconfig

        packages = [sysconfig.get_paths()[key] for key in ("purelib", "platlib")]
    else:
        packages = getsitepackages()
    stdlib = os.path.dirname(os.__file__)
    return tuple(os.path.join(folder, "") for folder in (stdlib, *packages))


def _is_users(module: types.ModuleType, libraries: tuple[str, ...]) -> bool:
    """Whether ``module`` is the user's code: a file outside the standard library and the
    installed packages (appshell's own demo counts as the user's when it is the app)."""
    path = _file(module)
    if not path:
        return False
    if module.__name__.split(".")[0] == "appshell":
        return module.__name__.startswith("appshell.demo")
    return not path.startswith(libraries) and not _INSTALLED.search(path)


def _file(module: types.ModuleType) -> str:
    """The module's file as an absolute path, or "" (read from its ``__dict__``: a module's
    ``__getattr__`` is never asked)."""
    path = vars(module).get("__file__")
    if type(path) is not str:
        return ""
    return path if os.path.isabs(path) else os.path.abspath(path)


def _project_folder(module: types.ModuleType) -> str:
    """The folder that holds ``module``'s top-level package (or the module itself), with a
    trailing separator."""
    folder = os.path.dirname(_file(module))
    for _ in range(module.__name__.count(".") + (1 if _is_package(module) else 0)):
        folder = os.path.dirname(folder)
    return os.path.join(folder, "")


def _is_package(module: types.ModuleType) -> bool:
    return "__path__" in vars(module)
