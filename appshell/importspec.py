"""Import specs, as a profile's ``imports`` lists them: ``"json"``, ``"pathlib:Path"``,
``"datetime:datetime as dt"``, ``"myapp.models:*"``, and the names each one gives."""

from __future__ import annotations

import typing as t

__all__ = ["import_names"]


def _parse_import(spec: str) -> tuple[str, str | None, str | None]:
    """``"pkg.mod:name as alias"`` to (module, name or "*" or None, alias or None)."""
    text = spec.strip()
    alias = None
    if " as " in text:
        text, alias = (part.strip() for part in text.rsplit(" as ", 1))
    module, _, name = text.partition(":")
    if not module or (alias is not None and name == "*") or not (alias or "x").isidentifier():
        raise ValueError(
            f"{spec!r} is not an import spec: use 'module', 'module as alias',"
            " 'module:name', 'module:name as alias' or 'module:*'."
        )
    return module.strip(), (name.strip() or None), alias


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
