"""Profiles: named, declarative shell setups in TOML, layered built-in < project < user.

A profile says once, for every backend, how a shell starts: the REPL preference, imports,
startup code, banner and history, IPython extensions and config, ptpython options. Layers
of the same name merge key by key, the higher layer winning, except ``imports``,
``optional_imports`` and ``startup``, which are concatenated (lower layer first); a profile
that ``extends`` another is merged over it the same way.
"""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

from .discovery import find_pyproject
from .exceptions import ProfileError

__all__ = [
    "KEYS",
    "Profile",
    "ProfileError",
    "ProfileLayer",
    "builtin_dir",
    "find_layers",
    "import_names",
    "is_startup_file",
    "load_profile",
    "profile_name",
    "project_profile_name",
    "user_dir",
]

#: Every key a profile may have, with the type expected.
KEYS: dict[str, str] = {
    "description": "a string",
    "extends": "a profile name (a string)",
    "repl": "a list of REPL names",
    "imports": "a list of import specs such as 'json', 'pathlib:Path', 'datetime:datetime as dt'",
    "optional_imports": "a list of import specs",
    "startup": "a list of files (ending in .py) and/or code strings",
    "banner": "true or false",
    "history": "true or false",
    "ipython": "a table with 'extensions' and/or 'config'",
    "ptpython": "a table with 'options'",
}
_SUBKEYS = {
    "ipython": {"extensions": "a list of extension names", "config": "a table of tables"},
    "ptpython": {"options": "a table of option names and values"},
}
_CONCATENATED = ("imports", "optional_imports", "startup")


class ProfileLayer(t.NamedTuple):
    """One definition of a profile: where it was found and what it says."""

    name: str
    origin: str  # "builtin", "project", "user"
    path: str  # the file (for a project layer: the pyproject.toml)
    data: dict[str, t.Any]


class Profile:
    """A profile with its layers and ``extends`` merged: what the shell uses."""

    def __init__(self, name: str, data: dict[str, t.Any], sources: list[ProfileLayer]) -> None:
        self.name = name
        self.data = data
        #: Where each layer came from, lowest first (the extended profiles' too).
        self.sources = sources

    def __repr__(self) -> str:
        return f"<Profile {self.name!r} from {len(self.sources)} layers>"

    @property
    def repl(self) -> list[str] | None:
        return self.data.get("repl")

    @property
    def imports(self) -> list[str]:
        return list(self.data.get("imports", []))

    @property
    def optional_imports(self) -> list[str]:
        return list(self.data.get("optional_imports", []))

    @property
    def startup(self) -> list[str]:
        return list(self.data.get("startup", []))

    @property
    def banner(self) -> bool:
        return bool(self.data.get("banner", True))

    @property
    def history(self) -> bool:
        return bool(self.data.get("history", True))

    @property
    def ipython_extensions(self) -> list[str]:
        return list(self.data.get("ipython", {}).get("extensions", []))

    @property
    def ipython_config(self) -> dict[str, dict[str, t.Any]]:
        return dict(self.data.get("ipython", {}).get("config", {}))

    @property
    def ptpython_options(self) -> dict[str, t.Any]:
        return dict(self.data.get("ptpython", {}).get("options", {}))

    def base_dir(self, index: int) -> str:
        """The folder relative startup files of layer ``index`` are found from."""
        return os.path.dirname(os.path.abspath(self.sources[index].path))


def builtin_dir() -> Path:
    """The built-in profiles: inside the installed package, else the source checkout's."""
    here = Path(__file__).resolve().parent
    shipped = here / "profiles"
    return shipped if shipped.is_dir() else here.parent / "profiles"


def user_dir() -> Path:
    """``$XDG_CONFIG_HOME/appshell/profiles`` (``~/.config/...`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "appshell" / "profiles"


def _read_toml(path: Path) -> dict[str, t.Any]:
    import tomllib

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"The profile file {str(path)!r} is not valid TOML: {e}.") from None
    except OSError as e:
        raise ProfileError(f"Cannot read the profile file {str(path)!r}: {e.strerror}.") from None


def _validate(data: t.Any, where: str) -> dict[str, t.Any]:
    """Check keys and types; ``where`` names the file (and table) for the message."""

    def fail(key: str, expected: str, got: t.Any = None) -> t.NoReturn:
        found = "" if got is None else f", not {type(got).__name__} {got!r}"
        raise ProfileError(f"In {where}: {key!r} must be {expected}{found}.")

    if not isinstance(data, dict):
        raise ProfileError(f"In {where}: a profile must be a table.")
    for key, value in data.items():
        if key not in KEYS:
            raise ProfileError(
                f"In {where}: unknown key {key!r}. A profile's keys are: {', '.join(KEYS)}."
            )
        if key in ("description", "extends"):
            if not isinstance(value, str):
                fail(key, KEYS[key], value)
        elif key in ("banner", "history"):
            if not isinstance(value, bool):
                fail(key, KEYS[key], value)
        elif key in ("repl", "imports", "optional_imports", "startup"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                fail(key, KEYS[key], value)
        else:
            if not isinstance(value, dict):
                fail(key, KEYS[key], value)
            for sub, subvalue in value.items():
                expected = _SUBKEYS[key].get(sub)
                if expected is None:
                    raise ProfileError(
                        f"In {where}: unknown key '{key}.{sub}'. Under {key!r} the keys are:"
                        f" {', '.join(_SUBKEYS[key])}."
                    )
                if sub == "extensions" and not (
                    isinstance(subvalue, list) and all(isinstance(v, str) for v in subvalue)
                ):
                    fail(f"{key}.{sub}", expected, subvalue)
                if sub == "options" and not isinstance(subvalue, dict):
                    fail(f"{key}.{sub}", expected, subvalue)
                if sub == "config" and not (
                    isinstance(subvalue, dict)
                    and all(isinstance(v, dict) for v in subvalue.values())
                ):
                    fail(
                        f"{key}.{sub}",
                        "a table of tables, such as TerminalInteractiveShell.confirm_exit = false",
                        subvalue,
                    )
    return t.cast("dict[str, t.Any]", data)


def find_layers(only: str | None = None) -> dict[str, list[ProfileLayer]]:
    """Every profile found (or only the one called ``only``), by name, its layers lowest
    first (built-in, project, user)."""
    layers: dict[str, list[ProfileLayer]] = {}

    def add(layer: ProfileLayer) -> None:
        layers.setdefault(layer.name, []).append(layer)

    def files(folder: Path) -> list[Path]:
        if only is None:
            return sorted(folder.glob("*.toml"))
        path = folder / f"{only}.toml"
        return [path] if path.is_file() else []

    for path in files(builtin_dir()):
        add(ProfileLayer(path.stem, "builtin", str(path), _load_file(path)))

    pyproject = find_pyproject()
    if pyproject is not None:
        table = _read_toml(Path(pyproject)).get("tool", {}).get("appshell", {})
        profiles = table.get("profiles", {}) if isinstance(table, dict) else {}
        if not isinstance(profiles, dict):
            raise ProfileError(f"In {pyproject!r}: [tool.appshell.profiles] must be a table.")
        for name, data in profiles.items():
            if only is not None and name != only:
                continue
            where = f"{pyproject!r}, [tool.appshell.profiles.{name}]"
            data = _absolute_startup(_validate(data, where), os.path.dirname(pyproject))
            add(ProfileLayer(name, "project", pyproject, data))

    for path in files(user_dir()):
        add(ProfileLayer(path.stem, "user", str(path), _load_file(path)))
    return layers


class _LazyLayers(dict[str, list[ProfileLayer]]):
    """Layers read one profile name at a time: a shell reads only the files it uses."""

    def get(self, name: str, default: t.Any = None) -> t.Any:
        if name not in self:
            self[name] = find_layers(only=name).get(name, [])
        return super().get(name) or default

    def names(self) -> list[str]:
        return sorted(find_layers())


def _known_names(layers: dict[str, list[ProfileLayer]]) -> str:
    names = layers.names() if isinstance(layers, _LazyLayers) else sorted(layers)
    return ", ".join(names) or "none"


def _load_file(path: Path) -> dict[str, t.Any]:
    return _absolute_startup(_validate(_read_toml(path), str(path)), str(path.parent))


def _absolute_startup(data: dict[str, t.Any], base: str) -> dict[str, t.Any]:
    """Startup files are relative to the file that names them; code is left as it is."""
    if "startup" in data:
        data["startup"] = [
            os.path.join(base, os.path.expanduser(entry)) if is_startup_file(entry) else entry
            for entry in data["startup"]
        ]
    return data


def is_startup_file(entry: str) -> bool:
    """A startup entry is a file if it is one line ending in .py; else it is code."""
    return "\n" not in entry and entry.strip().endswith(".py")


def _merge(lower: dict[str, t.Any], higher: dict[str, t.Any]) -> dict[str, t.Any]:
    merged = dict(lower)
    for key, value in higher.items():
        if key in _CONCATENATED:
            merged[key] = [*merged.get(key, []), *value]
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_profile(name: str, layers: dict[str, list[ProfileLayer]] | None = None) -> Profile:
    """The profile ``name``, its layers and ``extends`` merged.

    :raises ProfileError: no profile of that name, an ``extends`` of a missing profile, or
        an ``extends`` cycle.
    """
    return _resolve(name, _LazyLayers() if layers is None else layers, ())


def _resolve(name: str, layers: dict[str, list[ProfileLayer]], chain: tuple[str, ...]) -> Profile:
    found = layers.get(name)
    if not found:
        if chain:
            raise ProfileError(
                f"The profile {chain[-1]!r} extends {name!r}, which does not exist. The"
                f" profiles found are: {_known_names(layers)}."
            )
        raise ProfileError(
            f"No profile called {name!r}. The profiles found are:"
            f" {_known_names(layers)} (see appshell profiles)."
        )
    data: dict[str, t.Any] = {}
    for layer in found:
        data = _merge(data, layer.data)
    sources = list(found)
    parent = data.pop("extends", None)
    if parent is not None:
        if parent in (*chain, name):
            cycle = " -> ".join((*chain, name, parent))
            where = next(layer.path for layer in reversed(found) if "extends" in layer.data)
            raise ProfileError(f"In {where}: 'extends' makes a cycle: {cycle}.")
        base = _resolve(parent, layers, (*chain, name))
        data = _merge(base.data, data)
        sources = [*base.sources, *sources]
    return Profile(name, data, sources)


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


def project_profile_name() -> str | None:
    """``profile`` under ``[tool.appshell]`` in the nearest pyproject.toml, if set."""
    pyproject = find_pyproject()
    if pyproject is None:
        return None
    from .discovery import read_tool_table

    name = read_tool_table(pyproject).get("profile")
    if name is not None and not isinstance(name, str):
        raise ProfileError(f"[tool.appshell] profile in {pyproject!r} must be a string.")
    return name


def profile_name(given: str | None = None) -> str:
    """The profile to use: ``given`` (--profile or APPSHELL_PROFILE), else the project's,
    else ``default``."""
    return given or project_profile_name() or "default"
