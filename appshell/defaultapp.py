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

from .discovery import _import_and_find, load_from_import_string, prepare_import
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
            app = _import_and_find(prepare_import(step), None, False)
            if app is not None:
                return app, step

    raise NoAppConfigured(
        "No app to load. Point appshell at one with --app IMPORT or the APPSHELL_APP"
        " environment variable (FLASK_APP, QUART_APP and LITESTAR_APP work too), or set"
        ' app = "module:name" under [tool.appshell] in pyproject.toml (or [tool.fastapi]'
        f" entrypoint), or run it from a folder with a {', '.join(APP_FILES[:-1])} or"
        f" {APP_FILES[-1]}, or a Django project's manage.py."
    )
