"""The apps ``bench.py`` measures, written into its work folder, and the peers' small scripts."""

from __future__ import annotations

import textwrap
from pathlib import Path

# Figures 1-7: a small Flask app (two routes and a shell context processor).
BENCH_APP = """
from flask import Flask

def create_app():
    app = Flask(__name__)

    @app.route("/")
    def index():
        return "hello"

    @app.route("/users/<int:user_id>")
    def user(user_id):
        return str(user_id)

    @app.shell_context_processor
    def names():
        return {"answer": 42}

    return app

app = create_app()
"""

# Figure 8: a one-route FastAPI app with a lifespan, which a shell runs (startup and shutdown).
BENCH_ASGI_APP = """
import contextlib

from fastapi import FastAPI


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"ready": True}


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def index():
    return {"hello": "world"}
"""

# Figure 8's peer: import the app and run its lifespan's startup and shutdown, as the ASGI
# lifespan protocol would, with nothing else.
LIFESPAN_PEER = """
import asyncio

from benchasgi import app


async def main():
    async with app.router.lifespan_context(app):
        pass


asyncio.run(main())
"""

# Figure 9 (issue 14): a Flask-SQLAlchemy app, run with no database option. The database
# integration applies (the app imported SQLAlchemy): its models and `sql` are in the shell.
BENCH_FSA_APP = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Post(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]


app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///bench.db"
db.init_app(app)
"""

# Figure 10: a Django project on SQLite with two apps of one model each. No migrations: a
# shell that only starts opens no connection.
DJANGO_SETTINGS = "benchsite.settings"
DJANGO_PROJECT = {
    "manage.py": """
        import os
        import sys

        if __name__ == "__main__":
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
            from django.core.management import execute_from_command_line

            execute_from_command_line(sys.argv)
    """,
    "benchsite/__init__.py": "",
    "benchsite/settings.py": """
        from pathlib import Path

        BASE_DIR = Path(__file__).resolve().parent.parent
        SECRET_KEY = "bench-only"
        DEBUG = False
        ALLOWED_HOSTS = []
        INSTALLED_APPS = ["blog", "shop"]
        ROOT_URLCONF = "benchsite.urls"
        DATABASES = {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
        }
        DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
        USE_TZ = True
    """,
    "benchsite/urls.py": "urlpatterns = []\n",
    "blog/__init__.py": "",
    "blog/models.py": """
        from django.db import models


        class Post(models.Model):
            title = models.CharField(max_length=200)
            published = models.DateTimeField(null=True)
    """,
    "shop/__init__.py": "",
    "shop/models.py": """
        from django.db import models


        class Product(models.Model):
            name = models.CharField(max_length=100)
            price = models.DecimalField(max_digits=8, decimal_places=2)
    """,
}


def write_apps(work: Path) -> Path:
    """Write every bench app into ``work``; return the Django project's folder."""
    (work / "benchapp.py").write_text(BENCH_APP)
    (work / "benchasgi.py").write_text(BENCH_ASGI_APP)
    (work / "benchfsa.py").write_text(BENCH_FSA_APP)
    project = work / "benchdjango"
    for name, text in DJANGO_PROJECT.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return project


# Figure 12 (issue 23): instructions per statement. Each app copies its template database
# (written once by ``write_statement_apps``) over its working file when imported, so that
# every run, under plain python or appshell, starts from the same 1,000 rows. With
# BENCH_SETUP set it opens the template itself, for the setup script to fill.
STATEMENTS_DB = """
import os
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "{name}.template.sqlite3"
WORK = HERE / "{name}.sqlite3"
if os.environ.get("BENCH_SETUP"):
    DATABASE = TEMPLATE
else:
    shutil.copyfile(TEMPLATE, WORK)
    DATABASE = WORK
"""

BENCH_SA_APP = (
    STATEMENTS_DB.format(name="benchsa")
    + """
from flask import Flask
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

engine = create_engine(f"sqlite:///{DATABASE}")
Session = sessionmaker(engine)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))


items = Item.__table__
app = Flask(__name__)
"""
)

# The script both plain python and appshell run: ``KIND N``, N statements of one kind, all
# in one transaction (inserts commit it), each select by primary key.
BENCH_SA_SCRIPT = """
import sys

from sqlalchemy import insert, select

from benchsa import Item, Session, engine, items

kind, n = sys.argv[1], int(sys.argv[2])
if kind == "core-insert":
    with engine.begin() as conn:
        for i in range(n):
            conn.execute(insert(items).values(title=f"t{i}"))
elif kind == "core-select":
    with engine.connect() as conn:
        for i in range(n):
            conn.execute(select(items).where(items.c.id == i % 1000 + 1)).all()
elif kind == "orm-insert":
    with Session() as session:
        for i in range(n):
            session.add(Item(title=f"t{i}"))
            session.flush()
        session.commit()
elif kind == "orm-select":
    with Session() as session:
        for i in range(n):
            session.scalars(select(Item).where(Item.id == i % 1000 + 1)).all()
else:
    raise SystemExit(f"unknown kind {kind}")
"""

BENCH_SA_SETUP = """
from benchsa import Base, Item, Session, engine

Base.metadata.create_all(engine)
with Session() as session:
    session.add_all(Item(title=f"t{i}") for i in range(1000))
    session.commit()
"""

# Django's: its own project (figure 10's opens no connection), one app of one model.
BENCH_DJANGO_STATEMENTS = {
    "stmtsite/__init__.py": "",
    "stmtsite/settings.py": STATEMENTS_DB.format(name="benchdj")
    + """
SECRET_KEY = "bench-only"
DEBUG = False
INSTALLED_APPS = ["items"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATABASE}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
""",
    "items/__init__.py": "",
    "items/models.py": """
from django.db import models


class Item(models.Model):
    title = models.CharField(max_length=100)
""",
    "statements.py": """
import sys

import django
from django.apps import apps

if not apps.ready:  # plain python; appshell has set Django up
    django.setup()

from django.db import transaction

from items.models import Item

kind, n = sys.argv[1], int(sys.argv[2])
if kind == "django-insert":
    with transaction.atomic():
        for i in range(n):
            Item.objects.create(title=f"t{i}")
elif kind == "django-select":
    for i in range(n):
        list(Item.objects.filter(id=i % 1000 + 1))
else:
    raise SystemExit(f"unknown kind {kind}")
""",
    "setup_db.py": """
import django

django.setup()
from django.db import connection

from items.models import Item

with connection.schema_editor() as editor:
    editor.create_model(Item)
Item.objects.bulk_create(Item(title=f"t{i}") for i in range(1000))
""",
}
STATEMENTS_SETTINGS = "stmtsite.settings"


def write_statement_apps(work: Path, python: str, env: dict[str, str]) -> tuple[Path, Path]:
    """Write figure 12's SQLAlchemy app and script into ``work / "benchsa"`` and its Django
    project into ``work / "benchdj"``, each with its template database of 1,000 rows; return
    the two folders."""
    import subprocess

    sa = work / "benchsa"
    sa.mkdir()
    (sa / "benchsa.py").write_text(BENCH_SA_APP)
    (sa / "statements.py").write_text(BENCH_SA_SCRIPT)
    (sa / "setup_db.py").write_text(BENCH_SA_SETUP)
    dj = work / "benchdj"
    for name, text in BENCH_DJANGO_STATEMENTS.items():
        path = dj / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())
    setup = {**env, "BENCH_SETUP": "1"}
    subprocess.run([python, "setup_db.py"], cwd=sa, env=setup, check=True)
    django = {**setup, "DJANGO_SETTINGS_MODULE": STATEMENTS_SETTINGS}
    subprocess.run([python, "setup_db.py"], cwd=dj, env=django, check=True)
    return sa, dj
