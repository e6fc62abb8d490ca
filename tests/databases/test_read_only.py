"""``--read-only``: each database refuses writes in its own terms, on every connection its
engine hands out, and the next statement works; real SQLite files and a real PostgreSQL."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from appshell.databases.database import Database
from appshell.databases.dbapi import ReadOnlyError
from appshell.databases.sqlalchemy.readonly import ReadOnly
from appshell.exceptions import AppShellUsageError


class Base(orm.DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    text: orm.Mapped[str]


def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(Note.__table__.insert(), {"id": 1, "text": "first"})
        # A connection that is in the pool before read-only starts.
    return engine


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> t.Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'notes.db'}"
    else:
        url = request.getfixturevalue("postgres_db")
    engine = _engine(url)
    yield Database("default", url, request.param, engine)
    engine.dispose()


@pytest.fixture
def read_only(database: Database) -> t.Iterator[ReadOnly]:
    guard = ReadOnly([database])
    guard.start()
    yield guard
    guard.end()


#: What each database says when it refuses a write.
REFUSED = {
    "sqlite": "attempt to write a readonly database",
    "postgresql": "cannot execute INSERT in a read-only transaction",
}


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM notes")).scalar_one())


def test_a_session_write_fails_with_the_database_error_and_the_next_read_works(
    database: Database, read_only: ReadOnly
) -> None:
    with orm.Session(database.engine) as session:
        session.add(Note(id=2, text="second"))
        with pytest.raises(sa.exc.DBAPIError, match=REFUSED[database.dialect]):
            session.commit()
        session.rollback()
        assert session.scalars(sa.select(Note.text)).all() == ["first"]
    assert _count(database.engine) == 1


def test_core_and_raw_connections_are_refused(database: Database, read_only: ReadOnly) -> None:
    refused = pytest.raises(sa.exc.DBAPIError, match=REFUSED[database.dialect])
    with refused, database.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO notes (id, text) VALUES (3, 'core')"))
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        with pytest.raises(Exception, match=REFUSED[database.dialect]):
            cursor.execute("INSERT INTO notes (id, text) VALUES (4, 'raw')")
        raw.rollback()
        cursor.execute("SELECT count(*) FROM notes")
        assert cursor.fetchone()[0] == 1
    finally:
        raw.close()


def test_end_makes_every_connection_writable_again(database: Database) -> None:
    guard = ReadOnly([database])
    guard.start()
    with pytest.raises(sa.exc.DBAPIError), database.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO notes (id, text) VALUES (5, 'no')"))
    guard.end()
    with database.engine.begin() as conn:  # the pooled connection that refused is writable
        conn.execute(sa.text("INSERT INTO notes (id, text) VALUES (5, 'yes')"))
    assert _count(database.engine) == 2


def test_sqlite_query_only_is_set_again_at_each_transaction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'notes.db'}"
    engine = _engine(url)
    guard = ReadOnly([Database("default", url, "sqlite", engine)])
    guard.start()
    try:
        with engine.connect() as conn:
            # Refused before it runs (SQLite's authorizer forbids it, on any road).
            with pytest.raises(ReadOnlyError, match="refused 'PRAGMA QUERY_ONLY = OFF'"):
                conn.exec_driver_sql("PRAGMA query_only = OFF")
            conn.commit()
            with pytest.raises(sa.exc.OperationalError, match=REFUSED["sqlite"]):
                conn.execute(sa.text("INSERT INTO notes (id, text) VALUES (6, 'x')"))
    finally:
        guard.end()
        engine.dispose()
    assert _count(engine) == 1


def test_sqlite_connection_in_a_transaction_from_before_is_read_only_from_its_next_statement(
    tmp_path: Path,
) -> None:
    """A connection the pool handed out before read-only began, already in a transaction
    (so no begin and no checkout is left to catch it), is made read-only, authorizer and
    all, before its next statement runs."""
    url = f"sqlite:///{tmp_path / 'notes.db'}"
    engine = _engine(url)
    guard = ReadOnly([Database("default", url, "sqlite", engine)])
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT count(*) FROM notes"))
            guard.start()
            with pytest.raises(sa.exc.OperationalError, match=REFUSED["sqlite"]):
                conn.execute(sa.text("INSERT INTO notes (id, text) VALUES (7, 'x')"))
            with pytest.raises(ReadOnlyError, match="refused 'PRAGMA QUERY_ONLY = OFF'"):
                conn.exec_driver_sql("PRAGMA query_only = OFF")
            conn.commit()
    finally:
        guard.end()
        engine.dispose()
    assert _count(engine) == 1


@pytest.mark.parametrize(
    "undo",
    [
        ["BEGIN READ WRITE"],
        ["SELECT 1", "SET TRANSACTION READ WRITE"],
        ["SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "COMMIT"],
        ["COMMIT", "BEGIN READ WRITE"],
        ["SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "COMMIT", "BEGIN READ WRITE"],
    ],
    ids=[
        "begin-read-write",
        "set-transaction",
        "session-characteristics",
        "commit-as-sql",
        "all-of-them",
    ],
)
def test_postgresql_read_only_is_per_transaction(
    postgres_db: str,
    undo: list[str],
) -> None:
    engine = _engine(postgres_db)
    guard = ReadOnly([Database("default", postgres_db, "postgresql", engine)])
    guard.start()
    try:
        with engine.connect() as conn:
            # Each attempt is refused by appshell, fails itself, or leaves the INSERT refused.
            with pytest.raises((sa.exc.InternalError, ReadOnlyError)) as raised:
                _run_all(conn, [*undo, "INSERT INTO notes (id, text) VALUES (7, 'x')"])
            assert (
                "read-only transaction" in str(raised.value)
                or "read-write mode must be set before any query" in str(raised.value)
                or "appshell's read-only session refused" in str(raised.value)
            )
            conn.rollback()
            assert conn.execute(sa.text("SELECT count(*) FROM notes")).scalar_one() == 1
    finally:
        guard.end()
        engine.dispose()


def _run_all(conn: sa.Connection, statements: list[str]) -> None:
    for statement in statements:
        conn.exec_driver_sql(statement)


def test_postgresql_autocommit_is_refused(postgres_db: str) -> None:
    engine = _engine(postgres_db)
    guard = ReadOnly([Database("default", postgres_db, "postgresql", engine)])
    guard.start()
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            with pytest.raises(sa.exc.InternalError, match=REFUSED["postgresql"]):
                conn.execute(sa.text("INSERT INTO notes (id, text) VALUES (8, 'x')"))
            assert conn.execute(sa.text("SELECT count(*) FROM notes")).scalar_one() == 1
    finally:
        guard.end()
        engine.dispose()


def test_other_databases_are_refused_in_one_line() -> None:
    guard = ReadOnly([Database("warehouse", "mysql://db/shop", "mysql", engine=None)])
    with pytest.raises(AppShellUsageError) as raised:
        guard.start()
    message = raised.value.format_message()
    assert message == (
        "--read-only is not supported for the database warehouse (mysql): appshell can make"
        " only SQLite and PostgreSQL refuse writes; connect with a read-only database role"
        " instead."
    )
    assert "\n" not in message


def test_aiosqlite_typed_sql_cannot_switch_query_only_off(tmp_path: Path) -> None:
    """aiosqlite's connection lives in a thread of its own, where no authorizer is set: the
    statement's text is judged instead, and the write after it is still refused."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    url = f"sqlite:///{tmp_path / 'notes.db'}"
    _engine(url).dispose()
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}")
    guard = ReadOnly([Database("default", url, "sqlite", engine.sync_engine, is_async=True)])
    guard.start()

    async def attempt() -> None:
        async with engine.connect() as conn:
            with pytest.raises(ReadOnlyError, match="refused 'PRAGMA QUERY_ONLY = 0'"):
                await conn.exec_driver_sql("PRAGMA query_only = 0")
            await conn.rollback()
            with pytest.raises(sa.exc.OperationalError, match=REFUSED["sqlite"]):
                await conn.exec_driver_sql("INSERT INTO notes (id, text) VALUES (9, 'x')")
        await engine.dispose()

    try:
        asyncio.run(attempt())
    finally:
        guard.end()
    assert _count(_engine_only(url)) == 1


def _engine_only(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.NullPool)


def test_aiosqlite_driver_connection_cannot_switch_query_only_off(tmp_path: Path) -> None:
    """aiosqlite's own connection (``driver_connection``) runs SQL no judge sees: the
    authorizer read-only sets on it, in aiosqlite's own thread, refuses ``PRAGMA query_only``
    switching off there, and the write after it is refused by SQLite."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    url = f"sqlite:///{tmp_path / 'notes.db'}"
    _engine(url).dispose()
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}")
    guard = ReadOnly([Database("default", url, "sqlite", engine.sync_engine, is_async=True)])
    guard.start()
    said = []

    async def attempt() -> None:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            for statement in (
                "PRAGMA query_only = 0",
                "INSERT INTO notes (id, text) VALUES (9, 'x')",
            ):
                try:
                    await driver.execute(statement)
                except Exception as error:
                    said.append(str(error))
            await driver.commit()
        await engine.dispose()

    try:
        asyncio.run(attempt())
    finally:
        guard.end()
    assert said == ["not authorized", REFUSED["sqlite"]]
    assert _count(_engine_only(url)) == 1
