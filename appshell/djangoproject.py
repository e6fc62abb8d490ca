"""Finding a Django project without importing Django.

A Django project is named by its settings module. appshell finds it from ``--app`` (the
settings module itself, or a module such as ``mysite.wsgi`` that names it), from
``DJANGO_SETTINGS_MODULE``, or from a ``manage.py`` in the current folder. Files are read
with :mod:`ast`, never run, to learn which settings they name. Django is imported (by
:mod:`appshell.adapters.django`) only once a project has been found.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import typing as t

from .exceptions import NoAppException

__all__ = ["SETTINGS_VARIABLE", "find_project", "load_project", "project_for_module"]

#: The environment variable that names a Django project's settings module.
SETTINGS_VARIABLE = "DJANGO_SETTINGS_MODULE"
MANAGE_PY = "manage.py"


def settings_named_in(path: str) -> str | None:
    """The settings module that the file at ``path`` names for ``DJANGO_SETTINGS_MODULE``
    (``os.environ.setdefault(...)`` or ``os.environ[...] = ...`` with a literal), or None."""
    tree = _parse_if_mentions(path, SETTINGS_VARIABLE)
    if tree is None:
        return None
    import ast

    for node in ast.walk(tree):
        value: ast.expr | None = None
        if isinstance(node, ast.Call) and len(node.args) == 2:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("setdefault", "__setitem__"):
                key, value = node.args
                value = value if _is_literal(key, SETTINGS_VARIABLE) else None
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Subscript) and _is_literal(target.slice, SETTINGS_VARIABLE):
                value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
            return value.value
    return None


def _parse_if_mentions(path: str, word: str) -> t.Any | None:
    """The syntax tree of the file at ``path`` if its text has ``word`` at all: most app
    modules do not, and are not parsed (``ast`` and a parse cost every Flask session)."""
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError:
        return None
    if word.encode() not in source:
        return None
    import ast

    try:
        return ast.parse(source, path)
    except (SyntaxError, ValueError):
        return None


def _is_literal(node: t.Any, text: str) -> bool:
    import ast

    return isinstance(node, ast.Constant) and node.value == text


def _source_file(module_name: str) -> str | None:
    """The ``.py`` file ``module_name`` would be imported from (its parent packages are
    imported to find it), or None when there is none."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    origin = getattr(spec, "origin", None)
    return origin if isinstance(origin, str) and origin.endswith(".py") else None


def _django_installed() -> bool:
    return "django" in sys.modules or importlib.util.find_spec("django") is not None


def _looks_like_settings(module_name: str, path: str) -> bool:
    """A module named ``...settings...`` or one that sets ``INSTALLED_APPS``."""
    if "settings" in module_name.split("."):
        return True
    tree = _parse_if_mentions(path, "INSTALLED_APPS")
    if tree is None:
        return False
    import ast

    return any(
        isinstance(target, ast.Name) and target.id == "INSTALLED_APPS"
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
    )


def project_for_module(module_name: str, app_name: str | None) -> t.Any | None:
    """The Django project ``--app MODULE[:NAME]`` stands for, set up; None when the module is
    not a Django settings module and names none (it is then an app module as any other).

    ``mysite.settings`` is the project; ``mysite.wsgi:application`` and ``mysite.asgi`` are
    the project whose settings they name, not the handler in them.
    """
    if not _django_installed():
        return None
    path = _source_file(module_name)
    if path is None:
        return None
    named = settings_named_in(path)
    if named is not None:
        origin = f"{module_name}:{app_name}" if app_name else module_name
        return load_project(named, f"--app {origin}", given=True)
    if app_name is None and _looks_like_settings(module_name, path):
        return load_project(module_name, f"--app {module_name}", given=True)
    return None


def find_project(step: str) -> tuple[t.Any, str] | None:
    """The project of one step of the default order, with where it was found:
    ``DJANGO_SETTINGS_MODULE`` (the environment variable) or ``manage.py`` (the file in the
    current folder); None when that step names none."""
    if step == SETTINGS_VARIABLE:
        settings = os.environ.get(SETTINGS_VARIABLE, "").strip()
        where = SETTINGS_VARIABLE
    elif os.path.isfile(MANAGE_PY):
        settings = settings_named_in(MANAGE_PY) or ""
        where = os.path.abspath(MANAGE_PY)
    else:
        return None
    if not settings:
        return None
    # As `python manage.py` runs: the project's folder is the first place imports look.
    folder = os.getcwd()
    if sys.path[:1] != [folder]:
        sys.path.insert(0, folder)
    return load_project(settings, where, given=False), f"{settings} from {where}"


def _top(module_name: str) -> str:
    return module_name.partition(".")[0]


def load_project(settings: str, where: str, *, given: bool) -> t.Any:
    """Set Django up for ``settings`` and return its :class:`DjangoProject`.

    :param where: what named the settings, for messages.
    :param given: named by ``--app`` (or ``APPSHELL_APP``): it wins over a
        ``DJANGO_SETTINGS_MODULE`` that names another project, which is said in a warning.
    :raises NoAppException: the settings module (or a package above it) does not exist.
    """
    from_env = os.environ.get(SETTINGS_VARIABLE, "").strip()
    if given and from_env and _top(from_env) != _top(settings):
        from .term import warn

        warn(
            f"{SETTINGS_VARIABLE} names the project {from_env!r}, but {where} names"
            f" {settings!r}: using {settings!r}."
        )
    try:
        found = importlib.util.find_spec(settings) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise NoAppException(
            f"The Django settings module {settings!r} (named by {where}) was not found: no"
            f" module of that name is importable from sys.path, which starts with"
            f" {sys.path[0]!r}. Check its spelling, and run appshell from the folder that"
            " holds manage.py (or put the project's folder on PYTHONPATH)."
        )
    os.environ[SETTINGS_VARIABLE] = settings
    from .adapters.django import setup_project

    return setup_project(settings, where)
