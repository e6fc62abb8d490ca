"""The objects an app keeps, where an ORM integration looks for its databases.

The app's own modules (the one its import string names, its ``import_name``, the loaded
modules of the same package, and the app's modules their globals hold), the values of
``app.extensions`` and ``app.state``, the lifespan state, and what the adapter names.
Nothing is imported: only modules already loaded are read.
"""

from __future__ import annotations

import os
import sys
import types
import typing as t

__all__ = ["app_modules", "app_objects"]


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
            if not name.startswith("__") and not isinstance(value, types.ModuleType)
        )
    extensions = getattr(app, "extensions", None)
    if isinstance(extensions, dict):
        objects.extend((f"app.extensions[{key!r}]", value) for key, value in extensions.items())
    objects.extend((f"app.state.{key}", value) for key, value in _state_values(app).items())
    if state:
        objects.extend((f"state[{key!r}]", value) for key, value in state.items())
    named = getattr(adapter, "database_objects", None)
    if callable(named):
        objects.extend((f"adapter: {key}", value) for key, value in dict(named()).items())
    return objects


def _state_values(app: t.Any) -> dict[str, t.Any]:
    """What an ASGI app keeps in ``app.state`` (Starlette's State keeps its values in one
    dict of its own; another framework's may be a plain namespace)."""
    holder = getattr(app, "state", None)
    if holder is None or isinstance(holder, (str, bytes, int, float, bool)):
        return {}
    values = getattr(holder, "_state", None)
    if isinstance(values, dict):
        return dict(values)
    try:
        return {k: v for k, v in vars(holder).items() if not k.startswith("_")}
    except TypeError:
        return {}


def app_modules(app: t.Any, origin: str = "") -> list[types.ModuleType]:
    """The app's own modules, loaded already: see the module docstring."""
    names = []
    spec = origin.split(":", 1)[0].strip()
    if spec.endswith(".py"):
        spec = os.path.splitext(os.path.basename(spec))[0]
    if spec:
        names.append(spec)
    import_name = getattr(app, "import_name", None)
    if isinstance(import_name, str):
        names.append(import_name)
    # The module the app's class was made in, when that is the user's (a subclass).
    names.append(type(app).__module__)
    modules = sys.modules
    roots = [modules[name] for name in dict.fromkeys(names) if name in modules]
    libraries = _library_dirs()
    mine = [module for module in roots if _is_users(module, libraries)]
    packages = {module.__name__.split(".")[0] for module in mine} - {"__main__"}
    inside = tuple(package + "." for package in packages)
    for name, module in list(modules.items()):
        if (name in packages or name.startswith(inside)) and isinstance(module, types.ModuleType):
            mine.append(module)
    # One level further: the user's modules the app's modules hold (`import db`).
    for module in list(mine):
        for value in list(vars(module).values()):
            if isinstance(value, types.ModuleType) and _is_users(value, libraries):
                mine.append(value)
    unique: dict[int, types.ModuleType] = {}
    for module in mine:
        unique.setdefault(id(module), module)
    return list(unique.values())


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
    path = getattr(module, "__file__", None)
    if not isinstance(path, str):
        return False
    if module.__name__.split(".")[0] == "appshell":
        return module.__name__.startswith("appshell.demo")
    return not os.path.abspath(path).startswith(libraries)
