"""Import specs, as a profile's ``imports`` lists them: ``"json"``, ``"pathlib:Path"``,
``"datetime:datetime as dt"``, ``"myapp.models:*"``, and the names each one gives; a
whole module's made on first use (:mod:`appshell.lazymodule`) unless it is to be eager."""

from __future__ import annotations

import re
import typing as t

__all__ = ["import_names", "profile_importer"]


_SPEC = re.compile(
    r"\s*(?P<module>[\w.]+)\s*(?::\s*(?P<name>\w+|\*))?(?:\s+as\s+(?P<alias>\w+))?\s*"
)


def _parse_import(spec: str) -> tuple[str, str | None, str | None]:
    """``"pkg.mod:name as alias"`` to (module, name or "*" or None, alias or None).

    :raises ValueError: ``spec`` has another shape, a relative module (``"..models"``) or
        an ``as`` without its alias (``"json as"``) included.
    """
    match = _SPEC.fullmatch(spec)
    module, name, alias = match.group("module", "name", "alias") if match else ("", None, None)
    if (
        not all(part.isidentifier() for part in module.split("."))
        or (name is not None and name != "*" and not name.isidentifier())
        or (alias is not None and (name == "*" or not alias.isidentifier()))
    ):
        raise ValueError(
            f"{spec!r} is not an import spec: use 'module', 'module as alias',"
            " 'module:name', 'module:name as alias' or 'module:*' (absolute module names only)."
        )
    return module, name, alias


def import_names(spec: str, *, optional: bool = False) -> dict[str, t.Any]:
    """The names an ``imports`` entry gives: ``"json"``, ``"pathlib:Path"``,
    ``"datetime:datetime as dt"``, ``"myapp.models:*"`` (every public name).

    With ``optional``, a module that is not installed gives no names instead of an error.

    :raises ImportError: the module or the name cannot be imported.
    :raises ValueError: ``spec`` is not an import spec.
    """
    import importlib

    module_name, name, alias = _parse_import(spec)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        parts = module_name.split(".")
        missing = e.name in {".".join(parts[: i + 1]) for i in range(len(parts))}
        if optional and missing:
            return {}
        raise
    if name is None:
        return {
            alias or module_name.split(".")[0]: module
            if alias
            else importlib.import_module(module_name.split(".")[0])
        }
    if name == "*":
        public = getattr(module, "__all__", None)
        names = public if public is not None else [n for n in vars(module) if not n.startswith("_")]
        return {n: getattr(module, n) for n in names}
    try:
        value = getattr(module, name)
    except AttributeError:
        raise ImportError(f"cannot import name {name!r} from {module_name!r}") from None
    return {alias or name: value}


def _lazy_names(
    spec: str, *, optional: bool, source: str, home: dict[str, t.Any]
) -> dict[str, t.Any] | None:
    """The name a whole-module entry gives, bound to a :class:`~.lazymodule.LazyModule`;
    ``{}`` for an optional module that is not installed; None when the entry is to be
    imported now (it imports a name, the module is loaded already or is not installed, or
    whether it is installed cannot be told without importing a package).
    """
    import sys

    module_name, name, alias = _parse_import(spec)
    if name is not None or module_name in sys.modules:
        return None
    found = _installed(module_name)
    if not found:
        # Not installed: an optional entry gives nothing, another one fails as it is imported.
        return {} if optional and found is not None else None
    from .lazymodule import LazyModule

    bound = alias or module_name.split(".")[0]
    lazy = LazyModule(spec, module_name, bound, top=alias is None, source=source, home=home)
    return {bound: lazy}


def _installed(module_name: str) -> bool | None:
    """Whether ``module_name`` can be imported, found without importing it: False when its
    top-level module is not there; None when a package's submodule is not found on the
    package's path (its ``__init__`` may make it), so only importing can tell."""
    import importlib.machinery
    import importlib.util

    parts = module_name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return False
    for depth in range(1, len(parts)):
        locations = spec.submodule_search_locations
        if not locations:
            return None  # not a package: its own code makes the submodule (os.path)
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: depth + 1]), locations)
        if spec is None:
            return None
    return True


def profile_importer(
    spec: str, *, optional: bool, source: str, home: dict[str, t.Any] | None
) -> t.Callable[[], dict[str, t.Any]]:
    """The provider of a profile's ``imports`` entry, with its errors as the shell reports
    them. With a ``home`` (the namespace being built), a whole module is imported on first
    use, and its name rebound there then; without one, now.
    """

    def provide() -> dict[str, t.Any]:
        from .exceptions import ProfileImportError

        try:
            names = None
            if home is not None:
                names = _lazy_names(spec, optional=optional, source=source, home=home)
            return import_names(spec, optional=optional) if names is None else names
        except (ModuleNotFoundError, ValueError) as e:
            if isinstance(e, ModuleNotFoundError) and (e.name or "") not in spec:
                # Raised inside the user's module: say which entry, keep their traceback.
                raise ImportError(f"the import {spec!r} failed: {type(e).__name__}: {e}") from e
            raise ProfileImportError(f"the import {spec!r} failed: {e}") from None
        except ImportError as e:
            if e.name is not None and e.name not in spec:
                raise ImportError(f"the import {spec!r} failed: {type(e).__name__}: {e}") from e
            raise ProfileImportError(f"the import {spec!r} failed: {e}") from None
        except Exception as e:
            # The module ran and raised: its traceback is the user's; say which import it was.
            e.add_note(f"in the import {spec!r}")
            raise

    return provide
