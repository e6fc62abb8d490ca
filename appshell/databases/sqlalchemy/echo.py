"""Statement echo for SQLAlchemy: every statement an engine's cursors run, reported to the
shell's :class:`~appshell.databases.echo.SQLEcho` through SQLAlchemy's public engine events.

The cursor events are the engine's, so they see every road to it: ORM sessions, Core
connections, ``executemany``, and an ``AsyncEngine`` (through its ``sync_engine``, the engine
a :class:`~appshell.databases.database.Database` holds).
"""

from __future__ import annotations

import os
import sys
import time
import typing as t

from sqlalchemy import event

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..database import Database
    from ..echo import SQLEcho

__all__ = ["attach"]

#: One engine's execution hooks: (event name, hook).
_Hooks = tuple[tuple[str, "Callable[..., bool]"], ...]

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


#: The engines hooked, by id of their dialect: the ``sql`` objects told of each statement,
#: with the name each gives the database. One set of hooks per dialect, however many ``sql``
#: objects listen (the first hook to run a statement is the only one SQLAlchemy calls).
_HOOKED: dict[int, tuple[list[tuple[SQLEcho, str]], _Hooks]] = {}


def _listen(engine: t.Any, name: str, sql: SQLEcho) -> Callable[[], None]:
    # The dialect's execution events, not the engine's cursor events: a listener on those
    # sends every statement down SQLAlchemy's slower path (its before and after dispatch:
    # about 13% more instructions per statement, with listeners that do nothing). Each hook
    # runs the dialect's own method itself, times it, and says that it ran it (True); a
    # do_execute listener of the app's own added later is then not called.
    dialect = engine.dialect
    if id(dialect) in _HOOKED:
        told, hooks = _HOOKED[id(dialect)]
        told.append((sql, name))
    else:
        told = [(sql, name)]
        hooks = _hooks(dialect, told)
        _HOOKED[id(dialect)] = (told, hooks)
        for identifier, hook in hooks:
            event.listen(engine, identifier, hook)

    def remove() -> None:
        if (sql, name) in told:
            told.remove((sql, name))
        if told or _HOOKED.get(id(dialect), (None,))[0] is not told:
            return
        del _HOOKED[id(dialect)]
        for identifier, hook in hooks:
            if event.contains(engine, identifier, hook):
                event.remove(engine, identifier, hook)

    return remove


def _hooks(dialect: t.Any, told: list[tuple[SQLEcho, str]]) -> _Hooks:
    """The three execution hooks of ``dialect``, each telling every ``sql`` of ``told``."""
    clock = time.perf_counter

    def tell(
        statement: str, parameters: t.Any, began: float, many: bool, error: t.Any, context: t.Any
    ) -> None:
        duration = clock() - began
        if context is not None and not context.root_connection._allow_autobegin:
            # The dialect's own statements on an engine's first connection (its version,
            # its settings): SQLAlchemy runs them on a connection of its own that never
            # begins a transaction, the only one made so; not the user's statements.
            return
        for sql, name in told:
            sql.record(statement, parameters, duration, name, many=many, error=error)

    def execute(cursor: t.Any, statement: str, parameters: t.Any, context: t.Any) -> bool:
        began = clock()
        try:
            dialect.do_execute(cursor, statement, parameters, context)
        except Exception as error:
            tell(statement, parameters, began, False, error, context)
            raise
        # The common case told here, not through tell(): one frame fewer for echo's walk
        # to the user's line, and one call fewer for every statement.
        duration = clock() - began
        if context is None or context.root_connection._allow_autobegin:
            for sql, name in told:
                sql.record(statement, parameters, duration, name)
        return True

    def timed(
        method: Callable[..., None], args: tuple[t.Any, ...], parameters: t.Any, many: bool
    ) -> bool:
        # The two rarer hooks: args are (cursor, statement, ..., context).
        began = clock()
        try:
            method(*args)
        except Exception as error:
            tell(args[1], parameters, began, many, error, args[-1])
            raise
        tell(args[1], parameters, began, many, None, args[-1])
        return True

    def execute_no_params(cursor: t.Any, statement: str, context: t.Any) -> bool:
        return timed(dialect.do_execute_no_params, (cursor, statement, context), None, False)

    def executemany(cursor: t.Any, statement: str, parameters: t.Any, context: t.Any) -> bool:
        arguments = (cursor, statement, parameters, context)
        return timed(dialect.do_executemany, arguments, parameters, True)

    return (
        ("do_execute", execute),
        ("do_execute_no_params", execute_no_params),
        ("do_executemany", executemany),
    )


def _package_folders() -> list[str]:
    """The folders of the ORM packages imported in this process."""
    folders = []
    for package in _ORM_PACKAGES:
        module = sys.modules.get(package)
        file = getattr(module, "__file__", None)
        if file:
            folders.append(os.path.dirname(os.path.abspath(file)))
    return folders
