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


def _parse_if_mentions(path: str, *words: str) -> t.Any | None:
    """The syntax tree of the file at ``path`` if its text has one of ``words`` at all: most
    app modules do not, and are not parsed (``ast`` and a parse cost every Flask session)."""
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError:
        return None
    if not any(word.encode() in source for word in words):
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


#: How many star imports deep a settings module's ``INSTALLED_APPS`` is looked for
#: (``dev`` importing ``common`` importing ``base``); a cycle stops there too.
_STAR_DEPTH = 4


def _looks_like_settings(module_name: str, path: str, depth: int = 0) -> bool:
    """A module named ``...settings...``, one that sets ``INSTALLED_APPS``, or one that
    star-imports such a module (``from .base import *``): a settings module under any name,
    as ``manage.py --settings`` takes one."""
    if "settings" in module_name.split("."):
        return True
    tree = _parse_if_mentions(path, "INSTALLED_APPS", "import *")
    if tree is None:
        return False
    import ast

    if any(
        isinstance(target, ast.Name) and target.id == "INSTALLED_APPS"
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
    ):
        return True
    if depth == _STAR_DEPTH:
        return False
    # What a relative import is relative to: the module itself when it is a package.
    is_package = os.path.basename(path) == "__init__.py"
    package = module_name if is_package else module_name.rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            try:
                star = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            except (ImportError, ValueError):  # a relative import above the top package
                continue
            star_path = _source_file(star)
            if star_path is not None and _looks_like_settings(star, star_path, depth + 1):
                return True
    return False


def _binds(path: str, name: str) -> bool:
    """Whether the module in the file at ``path`` may have the global ``name``: it assigns,
    defines or imports it at its top level (inside an ``if`` or a ``try`` too), or
    star-imports a module, whose names are not known without running it."""
    import ast

    try:
        with open(path, "rb") as file:
            tree = ast.parse(file.read(), path)
    except (OSError, SyntaxError, ValueError):
        return True  # what is wrong with the file is said when it is imported
    statements = list(tree.body)
    while statements:
        node = statements.pop()
        if isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
            for field in ("body", "orelse", "finalbody"):
                statements.extend(getattr(node, field, []))
            for handler in getattr(node, "handlers", []):
                statements.extend(handler.body)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*" or (alias.asname or alias.name.partition(".")[0]) == name:
                    return True
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(
                isinstance(n, ast.Name) and n.id == name for t_ in targets for n in ast.walk(t_)
            ):
                return True
    return False


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
        if app_name is not None and not _binds(path, app_name.partition("(")[0].strip()):
            # The project is what is loaded, not the name: a name the module lacks is still
            # a mistake in --app, said before Django is set up.
            raise NoAppException(
                f"Module {module_name!r} has no attribute {app_name!r}. Check the name after"
                f" the colon in {origin!r}; the module names the Django settings {named!r},"
                f" so --app {named} loads the same project."
            )
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
