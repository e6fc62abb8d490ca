"""Statement echo for SQLAlchemy: every statement an engine's cursors run, reported to the
shell's :class:`~appshell.databases.echo.SQLEcho` through SQLAlchemy's public engine events.

The cursor events are the engine's, so they see every road to it: ORM sessions, Core
connections, ``executemany``, and an ``AsyncEngine`` (through its ``sync_engine``, the engine
a :class:`~appshell.databases.Database` holds).
"""

from __future__ import annotations

import os
import sys
import time
import typing as t

from sqlalchemy import event

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .. import Database
    from ..echo import SQLEcho

__all__ = ["attach"]

#: Packages whose frames are never the user's line: SQLAlchemy and the integrations around it.
_ORM_PACKAGES = ("sqlalchemy", "flask_sqlalchemy", "greenlet")


def attach(databases: Sequence[Database], sql: SQLEcho) -> Callable[[], None]:
    """Report every statement of each database's engine to ``sql``; returns the function
    that stops it. An engine listed under two names is reported under the first."""
    sql.skip_frames_in(*_package_folders())
    removers: list[Callable[[], None]] = []
    seen: set[int] = set()
    for database in databases:
        if id(database.engine) in seen:
            continue
        seen.add(id(database.engine))
        removers.append(_listen(database.engine, database.name, sql))

    def detach() -> None:
        while removers:
            removers.pop()()

    return detach


def _listen(engine: t.Any, name: str, sql: SQLEcho) -> Callable[[], None]:
    # Started statements by cursor: a failed one ends in handle_error, not after_cursor_execute.
    started: dict[int, float] = {}

    def before(
        conn: t.Any, cursor: t.Any, statement: str, parameters: t.Any, context: t.Any, many: bool
    ) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(
        conn: t.Any, cursor: t.Any, statement: str, parameters: t.Any, context: t.Any, many: bool
    ) -> None:
        began = started.pop(id(cursor), None)
        duration = 0.0 if began is None else time.perf_counter() - began
        sql.record(statement, parameters, duration, name, many=many)

    def failed(context: t.Any) -> None:
        # ExceptionContext.cursor is documented but left unset (SQLAlchemy 2.0/2.1): the
        # execution context holds the same cursor.
        execution = context.execution_context
        cursor = getattr(execution, "cursor", None)
        began = started.pop(id(cursor), None) if cursor is not None else None
        if began is None or context.statement is None:
            return  # not a statement that ran (a failed connect)
        sql.record(
            context.statement,
            context.parameters,
            time.perf_counter() - began,
            name,
            many=bool(execution.executemany),
            error=context.original_exception,
        )

    hooks: tuple[tuple[str, Callable[..., None]], ...] = (
        ("before_cursor_execute", before),
        ("after_cursor_execute", after),
        ("handle_error", failed),
    )
    for identifier, hook in hooks:
        event.listen(engine, identifier, hook)

    def remove() -> None:
        for identifier, hook in hooks:
            if event.contains(engine, identifier, hook):
                event.remove(engine, identifier, hook)
        started.clear()

    return remove


def _package_folders() -> list[str]:
    """The folders of the ORM packages imported in this process."""
    folders = []
    for package in _ORM_PACKAGES:
        module = sys.modules.get(package)
        file = getattr(module, "__file__", None)
        if file:
            folders.append(os.path.dirname(os.path.abspath(file)))
    return folders
