"""Entry-point plugins: read once per process, imported on use, a broken one isolated.

Groups:

- ``appshell.commands``: click commands added beside the built-in ones.
- ``flask.commands``: Flask's plugin commands, listed too when Flask is installed
  (appshell's own entry there, the one that replaces ``flask shell``, is skipped).
- ``appshell.adapters``: adapter classes for other frameworks.
- ``appshell.repls``: REPL backends; ``appshell.shell_context``: shell-context providers.

Listing a group reads only the installed packages' metadata; a plugin's module is
imported when the plugin is used. A plugin that fails to import is reported in one line on
stderr naming it and its error, and is left out; everything else keeps working.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import typing as t

from .term import warn

__all__ = [
    "ADAPTERS",
    "COMMANDS",
    "FLASK_COMMANDS",
    "REPLS",
    "SHELL_CONTEXT",
    "EntryPoint",
    "distributions",
    "entry_points",
    "load",
    "load_all",
    "report_broken",
    "version",
]

COMMANDS = "appshell.commands"
FLASK_COMMANDS = "flask.commands"
ADAPTERS = "appshell.adapters"
REPLS = "appshell.repls"
SHELL_CONTEXT = "appshell.shell_context"

_loaded: dict[tuple[str, str], t.Any] = {}
_broken: dict[tuple[str, str], BaseException] = {}
_scan: dict[str, t.Any] | None = None


# Plain classes, not NamedTuples: this module is imported by every command, and making a
# NamedTuple class costs more than reading the entry points of a whole environment.
class Distribution:
    """An installed distribution: its normalized name and its metadata folder."""

    __slots__ = ("name", "path")

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path

    def __repr__(self) -> str:
        return f"Distribution({self.name!r}, {self.path!r})"


class EntryPoint:
    """One entry point, read from a distribution's ``entry_points.txt``."""

    __slots__ = ("dist", "group", "name", "value")

    def __init__(self, name: str, value: str, group: str, dist: Distribution) -> None:
        self.name = name
        self.value = value
        self.group = group
        self.dist = dist

    def __repr__(self) -> str:
        return f"EntryPoint({self.name!r}, {self.value!r}, {self.group!r})"

    def load(self) -> t.Any:
        """Import the module and return the object the entry point names."""
        import importlib

        module_name, _, attrs = self.value.partition(":")
        obj: t.Any = importlib.import_module(module_name.strip())
        for attr in attrs.split("[")[0].strip().split(".") if attrs.strip() else ():
            obj = getattr(obj, attr)
        return obj


def _normalize(name: str) -> str:
    """A distribution's name as PEP 503 compares them (``Flask_SQLAlchemy`` is
    ``flask-sqlalchemy``); the regular expression only for the rare name that needs it."""
    simple = name.replace("_", "-").replace(".", "-").lower()
    return re.sub(r"-+", "-", simple) if "--" in simple else simple


def _read_entry_points(path: str, dist: Distribution) -> list[EntryPoint]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return []
    if b"appshell." not in raw and b"flask.commands" not in raw:
        return []  # most distributions: no group of ours, nothing to decode or parse
    text = raw.decode("utf-8", "replace")
    found, group = [], None
    for written in text.splitlines():
        line = written.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
        elif group is not None and "=" in line:
            name, _, value = line.partition("=")
            found.append(EntryPoint(name.strip(), value.strip(), group, dist))
    return found


def _scan_path() -> dict[str, t.Any]:
    """One pass over sys.path's distributions: their names and their entry points.

    Read straight from the ``*.dist-info``/``*.egg-info`` folders: importlib.metadata would
    cost more than all of ``appshell --help`` is allowed to. The first distribution of a
    name on sys.path wins, as with importlib.metadata.
    """
    dists: dict[str, Distribution] = {}
    groups: dict[str, list[EntryPoint]] = {}
    for folder in sys.path:
        try:
            entries = os.scandir(folder or ".")
        except OSError:
            continue
        with entries:
            for entry in entries:
                if not entry.name.endswith((".dist-info", ".egg-info")):
                    continue
                name = _normalize(entry.name.rsplit(".", 1)[0].split("-", 1)[0])
                if name in dists or not entry.is_dir():
                    continue
                dist = Distribution(name, entry.path)
                dists[name] = dist
                for ep in _read_entry_points(os.path.join(entry.path, "entry_points.txt"), dist):
                    groups.setdefault(ep.group, []).append(ep)
    return {"dists": dists, "groups": groups}


def _scanned() -> dict[str, t.Any]:
    global _scan
    if _scan is None:
        _scan = _cached_scan()
    return _scan


# -- the scan, kept between runs -------------------------------------------------------------
#
# Reading every distribution's entry points costs every command more than the rest of its
# start-up, so the scan is written to a cache file and read back while nothing it read has
# changed: the sys.path folders (a package installed or removed adds or removes a metadata
# folder in one of them) and the entry_points.txt files that hold one of appshell's groups.
# A stamp that is not yet two seconds old may still change within the same clock tick, so
# a scan that saw one is not written (git's "racy" rule).

_CACHE_FORMAT = "appshell entry points 1"
_RACY_NS = 2_000_000_000


def _cache_file() -> str:
    import zlib

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = zlib.crc32("\0".join([sys.executable, *sys.path]).encode("utf-8", "replace"))
    return os.path.join(base, "appshell", f"entry-points-{key:08x}.txt")


def _stamp(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "-"
    return f"{info.st_mtime_ns}:{info.st_size}"


def _stamps(scan: dict[str, t.Any]) -> list[str]:
    """What the scan depends on: each sys.path folder, each entry_points.txt it read."""
    folders = [os.path.abspath(folder or ".") for folder in sys.path]
    files = sorted({os.path.join(e.dist.path, "entry_points.txt") for e in _all_entry_points(scan)})
    return [f"{path}\t{_stamp(path)}" for path in (*folders, *files)]


def _all_entry_points(scan: dict[str, t.Any]) -> list[EntryPoint]:
    return [ep for found in scan["groups"].values() for ep in found]


def _cached_scan() -> dict[str, t.Any]:
    path = _cache_file()
    try:
        with open(path, encoding="utf-8") as f:
            cached = _parse_cache(f.read())
    except (OSError, ValueError, KeyError, IndexError):  # unreadable or not one of ours
        cached = None
    if cached is not None:
        return cached
    scan = _scan_path()
    _write_cache(path, scan)
    return scan


def _parse_cache(text: str) -> dict[str, t.Any] | None:
    """The scan a cache file holds, or None when it is stale or not one of ours."""
    header, _, rest = text.partition("\n\n")
    lines = header.split("\n")
    if lines[0] != _CACHE_FORMAT:
        return None
    dists: dict[str, Distribution] = {}
    groups: dict[str, list[EntryPoint]] = {}
    for line in rest.split("\n"):
        fields = line.split("\t")
        if fields[0] == "D":
            dists[fields[1]] = Distribution(fields[1], fields[2])
        elif fields[0] == "E":
            ep = EntryPoint(fields[2], fields[3], fields[1], dists[fields[4]])
            groups.setdefault(ep.group, []).append(ep)
    scan = {"dists": dists, "groups": groups}
    return scan if lines[1:] == _stamps(scan) else None


def _write_cache(path: str, scan: dict[str, t.Any]) -> None:
    """Write ``scan`` for the next run, atomically; quietly not when it cannot be trusted
    (a stamp too new, a name with a tab or a line break) or the folder is not writable."""
    import time

    stamps = _stamps(scan)
    now = time.time_ns()
    for line in stamps:
        stamp = line.rsplit("\t", 1)[1]
        if stamp != "-" and now - int(stamp.split(":")[0]) < _RACY_NS:
            return
    records: list[tuple[str, ...]] = [("D", d.name, d.path) for d in scan["dists"].values()]
    records += [("E", e.group, e.name, e.value, e.dist.name) for e in _all_entry_points(scan)]
    if any("\t" in field or "\n" in field for record in records for field in record):
        return
    rows = ["\t".join(record) for record in records]
    text = "\n".join([_CACHE_FORMAT, *stamps]) + "\n\n" + "\n".join(rows)
    temporary = f"{path}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(temporary)


def distributions() -> dict[str, Distribution]:
    """The installed distributions by normalized name (read once per process)."""
    return t.cast("dict[str, Distribution]", _scanned()["dists"])


def version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None if it is not installed.

    Read from the ``name-VERSION.dist-info`` folder found by the same scan as the entry
    points (importlib.metadata would scan again, slowly); its metadata when the folder's
    name has no version.
    """
    dist = distributions().get(_normalize(name))
    if dist is None:
        return None
    stem = os.path.basename(dist.path).rsplit(".", 1)[0]
    if "-" in stem:
        return stem.split("-", 1)[1]
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as metadata_version

    try:
        return metadata_version(name)
    except PackageNotFoundError:
        return None


def entry_points(group: str) -> dict[str, EntryPoint]:
    """The entry points of ``group`` by name (first one wins), without importing any."""
    found: dict[str, EntryPoint] = {}
    for ep in _scanned()["groups"].get(group, ()):
        if group == FLASK_COMMANDS and ep.value.split(":")[0].split(".")[0] == "appshell":
            continue
        found.setdefault(ep.name, ep)
    return found


def report_broken(group: str, name: str, error: BaseException) -> None:
    """Say once, in one line on stderr, that plugin ``name`` of ``group`` is left out."""
    key = (group, name)
    if key in _broken:
        return
    _broken[key] = error
    ep = entry_points(group).get(name)
    where = f" ({ep.value})" if ep is not None else ""
    warn(
        f"plugin {name!r}{where} in {group!r} failed to load and is left out:"
        f" {type(error).__name__}: {error}"
    )


def load(group: str, name: str) -> t.Any | None:
    """Import and return plugin ``name`` of ``group``; None (reported) if it is broken."""
    key = (group, name)
    if key in _loaded:
        return _loaded[key]
    if key in _broken:
        return None
    ep = entry_points(group).get(name)
    if ep is None:
        return None
    try:
        obj = ep.load()
    except Exception as e:
        report_broken(group, name, e)
        return None
    _loaded[key] = obj
    return obj


def load_all(group: str) -> list[t.Any]:
    """Every plugin of ``group`` that loads, in name order."""
    return [obj for name in sorted(entry_points(group)) if (obj := load(group, name)) is not None]


def flask_installed() -> bool:
    """Whether Flask is installed here (checked without importing it)."""
    return "flask" in sys.modules or "flask" in distributions()


def reset() -> None:
    """Forget everything read and loaded (for tests that install plugins on the fly)."""
    global _scan
    _scan = None
    _loaded.clear()
    _broken.clear()
