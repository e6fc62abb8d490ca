"""Statement echo for Django: every statement any connection of the session's aliases runs,
in any thread, reported to the shell's :class:`~appshell.databases.echo.SQLEcho`.

Django's ``connection.execute_wrapper`` hook sits around each statement its cursors run
(the ORM's, ``connection.cursor()``'s, the migration executor's), whatever ``DEBUG`` says.
It is installed on this thread's connections at once and on every other as it connects.
"""

from __future__ import annotations

import os
import sys
import time
import typing as t

from .hooks import EveryConnection

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..database import Database
    from ..echo import SQLEcho

__all__ = ["attach"]

#: Packages whose frames are never the user's line: Django and asgiref's thread hops.
_ORM_PACKAGES = ("django", "asgiref")


def attach(databases: Sequence[Database], sql: SQLEcho) -> Callable[[], None]:
    """Report every statement of the aliases of ``databases`` to ``sql``; returns the
    function that stops it."""
    sql.skip_frames_in(*_package_folders())
    hooks: dict[int, tuple[t.Any, Callable[..., t.Any]]] = {}

    def hook(wrapper: t.Any) -> None:
        if id(wrapper) in hooks and hooks[id(wrapper)][0] is wrapper:
            return
        observer = _observer(wrapper.alias, sql)
        wrapper.execute_wrappers.append(observer)
        hooks[id(wrapper)] = (wrapper, observer)

    every = EveryConnection([db.name for db in databases], hook, open_only=False)
    every.start()

    def detach() -> None:
        every.stop()
        while hooks:
            wrapper, observer = hooks.popitem()[1]
            if observer in wrapper.execute_wrappers:
                wrapper.execute_wrappers.remove(observer)

    return detach


def _observer(alias: str, sql: SQLEcho) -> Callable[..., t.Any]:
    def observe(execute: Callable[..., t.Any], statement: str, params: t.Any, many: bool,
                context: dict[str, t.Any]) -> t.Any:  # fmt: skip
        began = time.perf_counter()
        try:
            result = execute(statement, params, many, context)
        except Exception as error:
            sql.record(statement, params, time.perf_counter() - began, alias, many=many,
                       error=error)  # fmt: skip
            raise
        sql.record(statement, params, time.perf_counter() - began, alias, many=many)
        return result

    return observe


def _package_folders() -> list[str]:
    folders = []
    for package in _ORM_PACKAGES:
        file = getattr(sys.modules.get(package), "__file__", None)
        if file:
            folders.append(os.path.dirname(os.path.abspath(file)))
    return folders
