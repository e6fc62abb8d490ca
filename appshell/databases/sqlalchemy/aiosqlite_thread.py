"""SQLite's authorizer on aiosqlite's own connection, set in aiosqlite's thread.

aiosqlite runs each call on its sqlite3 connection in a thread of its own, where SQLite
wants its authorizer set; its own connection is reachable round SQLAlchemy's adapter (an
engine's ``driver_connection``), where SQL runs that no judge of text sees. The sandbox and
read-only set their authorizers there through aiosqlite's ``set_authorizer``, awaited from
the greenlet SQLAlchemy's asyncio engine runs its pool in.
"""

from __future__ import annotations

import typing as t

__all__ = ["set_aiosqlite_authorizer"]


def set_aiosqlite_authorizer(
    dialect: t.Any, dbapi_connection: t.Any, authorizer: t.Callable[..., int] | None
) -> None:
    """Set (or, with None, remove) ``authorizer`` on the aiosqlite connection behind
    SQLAlchemy's adapter ``dbapi_connection``; called inside SQLAlchemy's greenlet."""
    from sqlalchemy import util

    await_ = getattr(util, "await_", None) or util.await_only
    await_(dialect.get_driver_connection(dbapi_connection).set_authorizer(authorizer))
