"""Which app appshell loads when none is named: the one order of the whole discovery.

``[tool.appshell] app`` in pyproject.toml, ``DJANGO_SETTINGS_MODULE``, ``[tool.fastapi]
entrypoint``, the files of :data:`APP_FILES` in the current folder, and last a ``manage.py``
that names a Django settings module. ``appshell --help`` and the README show the same order.

The frameworks' own ways are honoured in the orders of their own command lines. The order is
written here, not asked of the adapters: ``appshell --help`` looks for an app too, and imports
no adapter to do it.
"""

from __future__ import annotations

import os
import typing as t

from .discovery import (
    APP_NAMES,
    FACTORY_NAMES,
    import_and_find,
    load_from_import_string,
    prepare_import,
)
from .exceptions import NoAppConfigured, NoAppException
from .project import find_project

__all__ = ["APP_FILES", "find_default_app", "find_pyproject_app"]

#: Tried in the current folder, in this order: the files `flask` tries (wsgi.py, app.py) and
#: those `fastapi run` tries (main.py, app.py, api.py, app/main.py, app/app.py, app/api.py),
#: each framework's order kept, then an ASGI project's asgi.py.
APP_FILES = (
    "wsgi.py",
    "main.py",
    "app.py",
    "api.py",
    "app/main.py",
    "app/app.py",
    "app/api.py",
    "asgi.py",
)
#: The pyproject.toml settings that name the app, ``tool: (key, an example)``: appshell's
#: own, then the one `fastapi run` and `fastapi dev` read.
_SETTINGS = {"appshell": ("app", "blog:create_app"), "fastapi": ("entrypoint", "main:app")}


def find_pyproject_app(start: str | None = None, tool: str = "appshell") -> tuple[str, str] | None:
    """The import string pyproject.toml gives (``[tool.appshell] app``, or with ``tool``
    "fastapi" ``[tool.fastapi] entrypoint``), with the folder it is relative to; None when the
    nearest pyproject.toml (from ``start`` upward) sets none.

    :raises NoAppException: the setting is there but is not an import string.
    """
    project = find_project(start)
    if project is None:
        return None
    key, example = _SETTINGS[tool]
    table = project.settings if tool == "appshell" else project.tools.get(tool)
    value = table.get(key) if isinstance(table, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise NoAppException(
            f"[tool.{tool}] {key} in {project.path!r} must be an import string such as"
            f" {example!r}, not {value!r}."
        )
    return value, project.folder


def find_default_app() -> tuple[t.Any, str]:
    """The app when none is named, and where it was found, in the order of this module's
    docstring."""
    from . import djangoproject

    django_steps = (djangoproject.SETTINGS_VARIABLE, djangoproject.MANAGE_PY)
    steps = ("appshell", django_steps[0], "fastapi", *APP_FILES, django_steps[1])
    passed_over: list[str] = []
    for step in steps:
        if step in _SETTINGS:
            configured = find_pyproject_app(tool=step)
            if configured is not None:
                import_string, base_dir = configured
                origin = f"{import_string} from {os.path.join(base_dir, 'pyproject.toml')}"
                return load_from_import_string(import_string, base_dir), origin
        elif step in django_steps:
            project = djangoproject.find_project(step)
            if project is not None:
                return project
        elif os.path.isfile(step):
            if not _may_hold_app(step):
                passed_over.append(step)
                continue
            app = import_and_find(prepare_import(step), None, False)
            if app is not None:
                return app, step

    skipped = ""
    if passed_over:
        files = " and ".join(passed_over)
        skipped = (
            f" ({files} passed over without running: at its top level each binds no app or"
            " factory name and imports no web framework)"
        )
    raise NoAppConfigured(
        "No app to load. Point appshell at one with --app IMPORT or the APPSHELL_APP"
        " environment variable (FLASK_APP, QUART_APP and LITESTAR_APP work too), or set"
        ' app = "module:name" under [tool.appshell] in pyproject.toml (or [tool.fastapi]'
        f" entrypoint), or run it from a folder with a {', '.join(APP_FILES[:-1])} or"
        f" {APP_FILES[-1]}, or a Django project's manage.py{skipped}."
    )


#: What a module that holds the app binds, or imports, at its top level.
_APP_BINDINGS = frozenset(APP_NAMES + FACTORY_NAMES)
_WEB_FRAMEWORKS = frozenset(("flask", "quart", "fastapi", "starlette", "litestar", "django"))


def _may_hold_app(path: str) -> bool:
    """Whether the file ``path`` can be the app's module, judged from its text alone: at
    its top level it binds a name discovery looks for (``app``, ``create_app``...) or
    imports a web framework. A script of another purpose beside the app (a ``main.py``
    that runs a job in a Flask project) is then never imported, that is, never run."""
    import ast

    try:
        with open(path, "rb") as file:
            tree = ast.parse(file.read(), path)
    except (OSError, SyntaxError, ValueError):
        return True  # importing it says what is wrong, as the user's error
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            modules += [alias.name for alias in node.names if isinstance(node, ast.Import)]
            bound = {(alias.asname or alias.name).split(".")[0] for alias in node.names}
            if {m.split(".")[0] for m in modules} & _WEB_FRAMEWORKS or bound & _APP_BINDINGS:
                return True
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name in _APP_BINDINGS:
                return True
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            if names & _APP_BINDINGS:
                return True
    return False
