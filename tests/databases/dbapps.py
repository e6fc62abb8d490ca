"""Apps with databases, written by the tests of tests/databases/ into their own folders,
and a way to run appshell on them with the stand-in tools of ``standins/``."""

from __future__ import annotations

import json
import textwrap
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from ..conftest import Result

STANDINS = Path(__file__).parent / "standins"

#: Flask-SQLAlchemy 3 with two binds; its shell context adds `db` and the models itself.
FSA_APP = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Event(db.Model):
    __bind_key__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///main.sqlite3"
    app.config["SQLALCHEMY_BINDS"] = {"audit": "sqlite:///audit.sqlite3"}
    db.init_app(app)
    return app
"""

#: A plain Flask app with its own engine, sessionmaker and declarative base; a second
#: `User` model lives in shop/models.py.
PLAIN_APP = """
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

engine = create_engine("sqlite:///plain.sqlite3")
Session = sessionmaker(bind=engine)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)


import shop.models  # noqa: E402

app = Flask(__name__)
"""

SHOP_MODELS = """
from sqlalchemy.orm import Mapped, mapped_column

from plain import Base


class User(Base):
    __tablename__ = "shop_users"
    id: Mapped[int] = mapped_column(primary_key=True)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
"""

#: FastAPI with an asyncio engine made by its lifespan and kept in app.state.
ASYNC_STATE_APP = """
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


@asynccontextmanager
async def lifespan(app):
    engine = create_async_engine("sqlite+aiosqlite:///state.sqlite3")
    app.state.engine = engine
    app.state.sessions = async_sessionmaker(engine)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
"""

#: FastAPI with a module-level asyncio engine and declarative base.
ASYNC_GLOBAL_APP = """
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

engine = create_async_engine("sqlite+aiosqlite:///global.sqlite3")
Session = async_sessionmaker(engine)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)


app = FastAPI()
"""

#: A Flask app without any database.
NO_DB_APP = """
from flask import Flask

app = Flask(__name__)
"""


def write_apps(folder: Path) -> None:
    """Every app above, in ``folder``."""
    (folder / "fsa.py").write_text(FSA_APP)
    (folder / "plain.py").write_text(PLAIN_APP)
    (folder / "shop").mkdir(exist_ok=True)
    (folder / "shop" / "__init__.py").write_text("")
    (folder / "shop" / "models.py").write_text(SHOP_MODELS)
    (folder / "astate.py").write_text(ASYNC_STATE_APP)
    (folder / "aglobal.py").write_text(ASYNC_GLOBAL_APP)
    (folder / "nodb.py").write_text(NO_DB_APP)


def standin_env(folder: Path) -> dict[str, str]:
    """The environment that puts the stand-in tools first and logs their calls."""
    return {"PYTHONPATH": str(STANDINS), "APPSHELL_STANDIN_LOG": str(folder / "tools.log")}


def tool_log(folder: Path) -> list[str]:
    """What the stand-in tools were called for, in order."""
    path = folder / "tools.log"
    return path.read_text().splitlines() if path.exists() else []


def records(result: Result) -> dict[str, dict[str, t.Any]]:
    """``--print-context --json`` output by name."""
    assert result.returncode == 0, result.stderr
    return {record["name"]: record for record in json.loads(result.stdout)}


def dedent(code: str) -> str:
    return textwrap.dedent(code).lstrip()
