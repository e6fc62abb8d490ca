"""asyncpg's own connection in a read-only session: each of its statements finds the session
default still read-only, or is refused before it runs.

asyncpg begins no transaction by itself, and has no read-only mode of its own: a statement
sent on its connection (a SQLAlchemy engine's ``driver_connection``) outside a transaction
is a transaction of its own under the session's ``default_transaction_read_only``, which an
earlier statement there may have switched off (``SET default_transaction_read_only = off``,
then ``COMMIT``). PostgreSQL (14 and later) reports that setting to the client whenever it
changes, so asyncpg knows it without a round trip: while a read-only session is open, each
query method of asyncpg's connection class first looks, on the connections the session
handed out (:func:`arm`), and when the default is off switches it on again and refuses the
statement. Before PostgreSQL 14 the server is asked. SQLAlchemy's own statements pass the
same look (its adapter prepares each new statement and begins each transaction through
these methods), at the cost of an attribute read.
"""

from __future__ import annotations

import importlib
import typing as t
import weakref

from .dbapi import ReadOnlyError

__all__ = ["arm", "disarm", "install", "uninstall"]

#: The query methods of ``asyncpg.connection.Connection`` (all coroutines).
_METHODS = (
    "execute",
    "executemany",
    "fetch",
    "fetchrow",
    "fetchval",
    "fetchmany",
    "prepare",
    "copy_from_table",
    "copy_from_query",
    "copy_to_table",
    "copy_records_to_table",
)

_armed: weakref.WeakSet[t.Any] = weakref.WeakSet()
_originals: dict[str, t.Any] = {}

_SESSION_READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"


def arm(driver_connection: t.Any) -> None:
    """Check the statements of this asyncpg connection (one read-only handed out)."""
    _armed.add(driver_connection)


def disarm(driver_connection: t.Any) -> None:
    """Stop checking them (the connection goes back to its pool)."""
    _armed.discard(driver_connection)


def install() -> None:
    """Check the query methods of asyncpg's connection class (once; asyncpg is imported)."""
    if _originals:
        return
    connection = _connection_class()
    for name in _METHODS:
        original = vars(connection).get(name)
        if original is not None:
            _originals[name] = original
            setattr(connection, name, _checked(original))


def uninstall() -> None:
    """Put asyncpg's methods back."""
    if not _originals:
        return
    connection = _connection_class()
    for name, original in _originals.items():
        setattr(connection, name, original)
    _originals.clear()
    _armed.clear()


def _connection_class() -> t.Any:
    # Imported by name: asyncpg ships no type information.
    return importlib.import_module("asyncpg.connection").Connection


def _checked(original: t.Any) -> t.Any:
    async def checked(self: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if self in _armed:
            await _still_read_only(self)
        return await original(self, *args, **kwargs)

    checked.__doc__ = original.__doc__
    checked.__name__ = original.__name__
    return checked


async def _still_read_only(connection: t.Any) -> None:
    default = getattr(connection.get_settings(), "default_transaction_read_only", None)
    if default is None:  # a server before PostgreSQL 14 does not report it
        default = await _originals["fetchval"](connection, "SHOW default_transaction_read_only")
    if default == "on":
        return
    await _originals["execute"](connection, _SESSION_READ_ONLY)
    raise ReadOnlyError(
        "appshell's read-only session refused a statement on asyncpg's own connection: an"
        " earlier statement there had switched default_transaction_read_only off (appshell"
        " switched it on again)."
    )
