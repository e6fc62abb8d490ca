"""Looking never runs the user's code: finding the app, its engines and its models reads the
app's modules without calling a proxy, a property, a module's ``__getattr__`` or any method of
the user's objects. Every trap below writes a line to ``calls.log`` when its code runs; each
test opens a real shell on an app full of them and asserts the models and engines were found
and the log stayed empty."""

from __future__ import annotations

import typing as t
from pathlib import Path

from .dbapps import dedent, records

if t.TYPE_CHECKING:
    from ..conftest import Result

Run = t.Callable[..., "Result"]

# Objects that run code when looked at, each logging the way it was touched.
TRAPS = dedent(
    """
    import os

    from django.utils.functional import SimpleLazyObject
    from werkzeug.local import LocalProxy


    def record(what):
        with open(os.environ["TRAP_LOG"], "a") as log:
            log.write(what + "\\n")
        raise RuntimeError("the user's code ran: " + what)


    class Trap:
        '''Every attribute read runs code (isinstance reads __class__, hasattr reads the name).'''

        def __getattribute__(self, name):
            record("Trap." + name)

        def __bool__(self):
            record("Trap.__bool__")

        def __len__(self):
            record("Trap.__len__")

        def __eq__(self, other):
            record("Trap.__eq__")

        __hash__ = object.__hash__


    class Lazy:
        '''Properties under the names discovery knows (engine, registry, session_factory).'''

        @property
        def engine(self):
            record("Lazy.engine")

        @property
        def registry(self):
            record("Lazy.registry")

        @property
        def session_factory(self):
            record("Lazy.session_factory")

        @property
        def Model(self):
            record("Lazy.Model")

        @property
        def __class__(self):
            record("Lazy.__class__")


    trap = Trap()
    lazy = Lazy()
    proxy = LocalProxy(lambda: record("LocalProxy"))
    settings = SimpleLazyObject(lambda: record("SimpleLazyObject"))
    """
)

# A module whose __getattr__ raises something other than AttributeError, imported by the app.
NOISY_MODULE = dedent(
    """
    from traps import record


    def __getattr__(name):
        record("module __getattr__ " + name)
    """
)

FSA_APP = dedent(
    """
    from flask import Flask, current_app, g, request, session
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    import noisy
    from traps import lazy, proxy, settings, trap


    class Base(DeclarativeBase):
        pass


    db = SQLAlchemy(model_class=Base)


    class Author(db.Model):
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]


    def create_app():
        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///fsa.sqlite3"
        db.init_app(app)
        app.extensions["traps"] = trap
        with app.app_context():
            db.create_all()
        return app


    def __getattr__(name):
        from traps import record

        record("app module __getattr__ " + name)
    """
)

PLAIN_APP = dedent(
    """
    from flask import Flask, current_app, g, request, session
    from sqlalchemy import create_engine
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

    import noisy
    from traps import lazy, proxy, settings, trap

    engine = create_engine("sqlite:///plain.sqlite3")
    Session = sessionmaker(engine)


    class Base(DeclarativeBase):
        pass


    class Book(Base):
        __tablename__ = "books"
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str]


    Base.metadata.create_all(engine)
    app = Flask(__name__)
    """
)


def _write(folder: Path) -> dict[str, str]:
    (folder / "traps.py").write_text(TRAPS)
    (folder / "noisy.py").write_text(NOISY_MODULE)
    (folder / "fsa_traps.py").write_text(FSA_APP)
    (folder / "plain_traps.py").write_text(PLAIN_APP)
    return {"TRAP_LOG": str(folder / "calls.log")}


def _calls(folder: Path) -> list[str]:
    log = folder / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_a_flask_sqlalchemy_app_full_of_proxies_opens_with_its_models_and_engine(
    run_appshell: Run, tmp_path: Path
) -> None:
    env = _write(tmp_path)
    names = records(
        run_appshell("--app", "fsa_traps", "shell", "--print-context", "--json", env=env)
    )
    assert names["Author"]["type"] == "class fsa_traps.Author"
    databases = names["sql"]["databases"]
    assert [(d["name"], d["url"].rsplit("/", 1)[-1]) for d in databases] == [
        ("default", "fsa.sqlite3")
    ]
    queried = run_appshell(
        "--app", "fsa_traps", "shell", "-c", "print(db.session.query(Author).count())", env=env
    )
    assert (queried.returncode, queried.stdout) == (0, "0\n"), queried.stderr
    assert _calls(tmp_path) == []


def test_flask_shell_opens_on_such_an_app(tmp_path: Path) -> None:
    import os
    import subprocess

    from ..conftest import APPSHELL, _clean_environ

    env = {**_clean_environ(), **_write(tmp_path), "FLASK_APP": "fsa_traps:create_app"}
    flask = APPSHELL.with_name("flask")
    done = subprocess.run(
        [str(flask), "shell", "-c", "print(Author.__name__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Author" in done.stdout
    assert _calls(tmp_path) == [], os.linesep.join(_calls(tmp_path))


def test_a_plain_sqlalchemy_app_full_of_proxies_opens_with_its_models_and_engine(
    run_appshell: Run, tmp_path: Path
) -> None:
    env = _write(tmp_path)
    names = records(
        run_appshell("--app", "plain_traps:app", "shell", "--print-context", "--json", env=env)
    )
    assert names["Book"]["source"] == "models"
    assert [d["name"] for d in names["sql"]["databases"]] == ["default"]
    assert names["sql"]["databases"][0]["url"].endswith("plain.sqlite3")
    queried = run_appshell(
        "--app",
        "plain_traps:app",
        "shell",
        "--read-only",
        "-c",
        "from sqlalchemy import select, func\nfrom plain_traps import Session\n"
        "with Session() as s: print(s.scalar(select(func.count()).select_from(Book)))",
        env=env,
    )
    assert (queried.returncode, queried.stdout) == (0, "0\n"), queried.stderr
    assert _calls(tmp_path) == []


def test_an_app_found_by_scanning_a_module_full_of_traps(run_appshell: Run, tmp_path: Path) -> None:
    """No name given: the module's names `app`/`application` are read from its namespace (its
    __getattr__ is not asked), and every other global is judged by its type alone."""
    env = _write(tmp_path)
    (tmp_path / "scanned.py").write_text(
        dedent(
            """
            from flask import Flask, current_app, request
            from traps import lazy, proxy, settings, trap

            web = Flask(__name__)


            def __getattr__(name):
                from traps import record

                record("scanned __getattr__ " + name)
            """
        )
    )
    done = run_appshell("--app", "scanned", "shell", "-c", "print(app.name)", env=env)
    assert (done.returncode, done.stdout) == (0, "scanned\n"), done.stderr
    assert _calls(tmp_path) == []


SQLMODEL_MODELS = dedent(
    """
    from sqlmodel import Field, SQLModel


    class UserBase(SQLModel):
        email: str


    class User(UserBase, table=True):
        id: int | None = Field(default=None, primary_key=True)


    class UserPublic(UserBase):
        id: int


    class Item(SQLModel, table=True):
        id: int | None = Field(default=None, primary_key=True)
        title: str
    """
)


def test_sqlmodel_table_models_are_names_and_the_other_sqlmodel_classes_are_not(
    run_appshell: Run, tmp_path: Path
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "models.py").write_text(SQLMODEL_MODELS)
    (tmp_path / "app" / "main.py").write_text(
        dedent(
            """
            from fastapi import FastAPI
            from sqlmodel import Session, SQLModel, create_engine

            from app.models import Item, User, UserPublic

            engine = create_engine("sqlite:///sqlmodel.sqlite3")
            SQLModel.metadata.create_all(engine)
            app = FastAPI()
            """
        )
    )
    names = records(run_appshell("--app", "app.main:app", "shell", "--print-context", "--json"))
    assert names["User"]["type"] == "class app.models.User"
    assert names["Item"]["type"] == "class app.models.Item"
    assert names["User"]["source"] == names["Item"]["source"] == "models"
    assert "UserBase" not in names
    assert "UserPublic" not in names
    assert [d["name"] for d in names["sql"]["databases"]] == ["default"]


def test_models_and_engine_in_sibling_modules_the_app_module_reaches_only_indirectly(
    run_appshell: Run, tmp_path: Path
) -> None:
    """``main.py`` imports a router; the router imports ``models`` and the ``db`` package:
    neither the engine nor a model is a global of the app's module."""
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "__init__.py").write_text(
        dedent(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import DeclarativeBase

            engine = create_engine("sqlite:///sibling.sqlite3")


            class Base(DeclarativeBase):
                pass
            """
        )
    )
    (tmp_path / "models.py").write_text(
        dedent(
            """
            from sqlalchemy.orm import Mapped, mapped_column

            from db import Base


            class Order(Base):
                __tablename__ = "orders"
                id: Mapped[int] = mapped_column(primary_key=True)
            """
        )
    )
    (tmp_path / "routes.py").write_text(
        dedent(
            """
            from fastapi import APIRouter

            import models
            from db import engine

            router = APIRouter()
            """
        )
    )
    (tmp_path / "main.py").write_text(
        dedent(
            """
            from fastapi import FastAPI

            from routes import router

            app = FastAPI()
            app.include_router(router)
            """
        )
    )
    names = records(run_appshell("--app", "main:app", "shell", "--print-context", "--json"))
    assert names["Order"]["type"] == "class models.Order"
    databases = names["sql"]["databases"]
    assert [(d["name"], d["url"].rsplit("/", 1)[-1]) for d in databases] == [
        ("default", "sibling.sqlite3")
    ]


def test_engines_an_extension_object_keeps_are_found(run_appshell: Run, tmp_path: Path) -> None:
    """An extension (as Alchemical does) keeps its engines in a dict on its own object, and a
    sessionmaker under a property-free attribute: both read from the instance's __dict__."""
    (tmp_path / "ext.py").write_text(
        dedent(
            """
            from sqlalchemy import create_engine


            class Database:
                def __init__(self, url, audit_url):
                    self.engines = {None: create_engine(url), "audit": create_engine(audit_url)}

                @property
                def engine(self):
                    raise RuntimeError("a property of the extension ran")


            db = Database("sqlite:///main.sqlite3", "sqlite:///audit.sqlite3")
            """
        )
    )
    (tmp_path / "site_app.py").write_text(
        "from flask import Flask\nfrom ext import db\n\napp = Flask(__name__)\n"
    )
    names = records(run_appshell("--app", "site_app:app", "shell", "--print-context", "--json"))
    urls = sorted(d["url"].rsplit("/", 1)[-1] for d in names["sql"]["databases"])
    assert urls == ["audit.sqlite3", "main.sqlite3"]


def test_the_models_of_an_app_found_as_a_file_in_a_package(
    run_appshell: Run, tmp_path: Path
) -> None:
    """No --app: discovery finds app/main.py (as `fastapi run` does) and imports it as
    `app.main`; its package's models and engine are found as with --app app.main:app."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "models.py").write_text(SQLMODEL_MODELS)
    (tmp_path / "app" / "db.py").write_text(
        'from sqlmodel import create_engine\n\nengine = create_engine("sqlite:///pkg.sqlite3")\n'
    )
    (tmp_path / "app" / "main.py").write_text(
        "from fastapi import FastAPI\n\nfrom app import db, models\n\napp = FastAPI()\n"
    )
    names = records(run_appshell("shell", "--print-context", "--json"))
    assert names["User"]["type"] == "class app.models.User"
    assert names["Item"]["source"] == "models"
    assert [d["url"].rsplit("/", 1)[-1] for d in names["sql"]["databases"]] == ["pkg.sqlite3"]
