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
