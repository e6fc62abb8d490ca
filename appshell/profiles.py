"""Profiles: named, declarative shell setups in TOML, layered built-in < project < user.

A profile says once, for every backend, how a shell starts: the REPL preference, imports,
startup code, banner and history, IPython extensions and config, ptpython options. Layers
of the same name merge key by key, the higher layer winning, except ``imports``,
``optional_imports``, ``eager_imports`` and ``startup``, which are concatenated (lower layer
first); a profile that ``extends`` another is merged over it the same way.
"""

from __future__ import annotations

import functools
import os
import typing as t
from pathlib import Path

from .exceptions import AppShellUsageError, ProfileError
from .project import find_project, read_toml
from .term import warn

if t.TYPE_CHECKING:
    import click
    from click.shell_completion import CompletionItem

    from .project import Project


__all__ = [
    "KEYS",
    "Profile",
    "ProfileError",
    "ProfileLayer",
    "builtin_dir",
    "complete_profile_names",
    "find_layers",
    "is_startup_file",
    "load_profile",
    "profile_name",
    "profile_names",
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
    "eager_imports": "a list of import specs",
    "startup": "a list of files (ending in .py) and/or code strings",
    "ipython": "a table with 'extensions' and/or 'config'",
    "ptpython": "a table with 'options'",
    **dict.fromkeys(
        ("banner", "history", "sandbox", "read_only", "sql", "models"), "true or false"
    ),
    "sql_repeat_threshold": "a whole number, 0 or more (0 turns the repeated-SQL line off)",
}
_SUBKEYS = {
    "ipython": {"extensions": "a list of extension names", "config": "a table of tables"},
    "ptpython": {"options": "a table of option names and values"},
}
_CONCATENATED = ("imports", "optional_imports", "eager_imports", "startup")


class ProfileLayer(t.NamedTuple):
    """One definition of a profile: where it was found and what it says."""

    name: str
    origin: str  # "builtin", "project", "user"
    path: str  # the file (for a project layer: the pyproject.toml)
    data: dict[str, t.Any]


def _flag(key: str, default: bool) -> t.Any:
    """A property: the profile's true-or-false ``key``, ``default`` when it is not set."""
    return property(lambda self: bool(self.data.get(key, default)))


def _list(key: str) -> t.Any:
    """A property: a copy of the profile's list ``key``, empty when it is not set."""
    return property(lambda self: list(self.data.get(key, [])))


class Profile:
    """A profile with its layers and ``extends`` merged: what the shell uses."""

    def __init__(self, name: str, data: dict[str, t.Any], sources: list[ProfileLayer]) -> None:
        self.name = name
        self.data = data
        #: Where each layer came from, lowest first (the extended profiles' too).
        self.sources = sources
        self._repl: list[str] | None = None

    def __repr__(self) -> str:
        return f"<Profile {self.name!r} from {len(self.sources)} layers>"

    @property
    def repl(self) -> list[str] | None:
        """The profile's REPL order, its unknown names said once on stderr and left out.

        :raises ProfileError: every name in it is unknown.
        """
        if "repl" not in self.data:
            return None
        if self._repl is None:
            self._repl = self._known_repls(self.data["repl"])
        return self._repl

    def _known_repls(self, names: list[str]) -> list[str]:
        from . import plugins
        from .shell.backends import AUTODETECT_ORDER

        known = [*AUTODETECT_ORDER, *plugins.entry_points(plugins.REPLS)]
        unknown = [name for name in names if name.strip().lower() not in known]
        if not unknown:
            return names
        where = next(layer.path for layer in reversed(self.sources) if "repl" in layer.data)
        what = (
            f"In {where}: the profile {self.name!r} names the unknown REPL"
            f"{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in 'repl'"
            f" (appshell knows {', '.join(known)})"
        )
        if len(unknown) == len(names):
            raise ProfileError(f"{what}. Name one of those, or install the plugin of yours.")
        warn(f"{what}; it is left out.")
        return [name for name in names if name not in unknown]

    imports = _list("imports")
    optional_imports = _list("optional_imports")
    eager_imports = _list("eager_imports")
    startup = _list("startup")

    banner = _flag("banner", True)
    history = _flag("history", True)
    sandbox = _flag("sandbox", False)
    read_only = _flag("read_only", False)
    #: Statement echo on from the start.
    sql = _flag("sql", False)
    models = _flag("models", True)

    @property
    def sql_repeat_threshold(self) -> int:
        """How many runs of one SQL in one prompt statement make the repeated-SQL line."""
        return int(self.data.get("sql_repeat_threshold", 10))

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


def _strings(value: t.Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _tables(value: t.Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())


#: What each key's value must be, by its dotted name.
_SHAPES: dict[str, t.Callable[[t.Any], bool]] = {
    **dict.fromkeys(("description", "extends"), lambda v: isinstance(v, str)),
    **dict.fromkeys(
        ("banner", "history", "sandbox", "read_only", "sql", "models"),
        lambda v: isinstance(v, bool),
    ),
    "sql_repeat_threshold": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    **dict.fromkeys(("repl", *_CONCATENATED), _strings),
    **dict.fromkeys(("ipython", "ptpython", "ptpython.options"), lambda v: isinstance(v, dict)),
    "ipython.extensions": _strings,
    "ipython.config": lambda v: (
        isinstance(v, dict) and all(isinstance(x, dict) for x in v.values())
    ),
}
_EXPECTED = {
    "ipython.config": "a table of tables, such as TerminalInteractiveShell.confirm_exit = false",
    "ptpython.options": "a table",
}


def _validate(data: t.Any, where: str) -> dict[str, t.Any]:
    """Check keys and types; ``where`` names the file (and table) for the message."""
    if not isinstance(data, dict):
        raise ProfileError(f"In {where}: a profile must be a table.")
    for key, value in data.items():
        if key not in KEYS:
            raise ProfileError(
                f"In {where}: unknown key {key!r}. A profile's keys are: {', '.join(KEYS)}."
            )
        entries = [(key, value, KEYS[key])]
        if key in _SUBKEYS and isinstance(value, dict):
            for sub, subvalue in value.items():
                if sub not in _SUBKEYS[key]:
                    raise ProfileError(
                        f"In {where}: unknown key '{key}.{sub}'. Under {key!r} the keys are:"
                        f" {', '.join(_SUBKEYS[key])}."
                    )
                dotted = f"{key}.{sub}"
                entries.append((dotted, subvalue, _EXPECTED.get(dotted, _SUBKEYS[key][sub])))
        for name, got, expected in entries:
            if not _SHAPES[name](got):
                raise ProfileError(
                    f"In {where}: {name!r} must be {expected}, not {type(got).__name__} {got!r}."
                )
    return t.cast("dict[str, t.Any]", data)


def find_layers(
    only: str | None = None, *, broken: list[AppShellUsageError] | None = None
) -> dict[str, list[ProfileLayer]]:
    """Every profile found (or only the one called ``only``), by name, its layers lowest
    first (built-in, project, user).

    :param broken: where the error of a layer that cannot be read (a profile file, the
        project's ``pyproject.toml``) is put, the layer left out, so that the others are
        still found; without it, that error is raised.
    """
    layers: dict[str, list[ProfileLayer]] = {}

    def add(name: str, origin: str, path: str, read: t.Callable[[], dict[str, t.Any]]) -> None:
        try:
            data = read()
        except ProfileError as e:
            if broken is None:
                raise
            broken.append(e)
            return
        layers.setdefault(name, []).append(ProfileLayer(name, origin, path, data))

    def files(folder: Path) -> list[Path]:
        if only is None:
            return sorted(folder.glob("*.toml"))
        path = folder / f"{only}.toml"
        return [path] if path.is_file() else []

    for path in files(builtin_dir()):
        add(path.stem, "builtin", str(path), functools.partial(_load_file, path))

    try:
        project, profiles = _project_profiles()
    except AppShellUsageError as e:
        if broken is None:
            raise
        broken.append(e)
        project, profiles = None, {}
    for name, data in profiles.items():
        if project is None or (only is not None and name != only):
            continue
        where = f"{project.path!r}, [tool.appshell.profiles.{name}]"
        add(
            name,
            "project",
            project.path,
            functools.partial(_checked, data, where, project.folder),
        )

    for path in files(user_dir()):
        add(path.stem, "user", str(path), functools.partial(_load_file, path))
    return layers


class _LazyLayers(dict[str, list[ProfileLayer]]):
    """Layers read one profile name at a time: a shell reads only the files it uses."""

    def get(self, name: str, default: t.Any = None) -> t.Any:
        if name not in self:
            self[name] = find_layers(only=name).get(name, [])
        return super().get(name) or default


def _project_profiles() -> tuple[Project | None, dict[str, t.Any]]:
    """The nearest pyproject.toml's project (or None) and its profiles table."""
    project = find_project()
    profiles = {} if project is None else project.settings.get("profiles", {})
    if project is not None and not isinstance(profiles, dict):
        raise ProfileError(f"In {project.path!r}: [tool.appshell.profiles] must be a table.")
    return project, profiles


def profile_names() -> list[str]:
    """The name of every profile found, sorted, without reading the profiles' files: a
    broken profile is still listed, and does not hide the others."""
    names = {path.stem for folder in (builtin_dir(), user_dir()) for path in folder.glob("*.toml")}
    return sorted(names | set(_project_profiles()[1]))


def _known_names(layers: dict[str, list[ProfileLayer]]) -> str:
    names = profile_names() if isinstance(layers, _LazyLayers) else sorted(layers)
    return ", ".join(names) or "none"


def complete_profile_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion for a profile option: the profiles found that start with
    ``incomplete`` (built-in, the project's, the user's). A broken pyproject.toml gives
    no completions rather than an error in the middle of the user's command line."""
    from click.shell_completion import CompletionItem

    try:
        names = profile_names()
    except AppShellUsageError:
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def _load_file(path: Path) -> dict[str, t.Any]:
    data = None
    if path.parent == builtin_dir():
        from .builtin_profiles import parsed

        data = parsed(path.stem)
    if data is None:
        data = read_toml(path, ProfileError)
    return _checked(data, str(path), str(path.parent))


def _checked(data: t.Any, where: str, base: str) -> dict[str, t.Any]:
    """The profile table ``data`` validated, its startup files made absolute (relative to
    ``base``, the folder of the file that names them); code is left as it is."""
    checked = dict(_validate(data, where))
    if "startup" in checked:
        checked["startup"] = [
            os.path.join(base, os.path.expanduser(entry)) if is_startup_file(entry) else entry
            for entry in checked["startup"]
        ]
    return checked


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
            child = layers.get(chain[-1]) or []
            where = next((layer.path for layer in reversed(child) if "extends" in layer.data), "")
            raise ProfileError(
                f"In {where}: the profile {chain[-1]!r} extends {name!r}, which does not exist."
                f" The profiles found are: {_known_names(layers)}."
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


def project_profile_name() -> str | None:
    """``profile`` under ``[tool.appshell]`` in the nearest pyproject.toml, if set."""
    project = find_project()
    name = None if project is None else project.settings.get("profile")
    if project is not None and name is not None and not isinstance(name, str):
        raise ProfileError(f"[tool.appshell] profile in {project.path!r} must be a string.")
    return name


def profile_name(given: str | None = None) -> str:
    """The profile to use: ``given`` (--profile or APPSHELL_PROFILE), else the project's,
    else ``default``."""
    return given or project_profile_name() or "default"
