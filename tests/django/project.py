"""A real Django project, written by the tests into a folder of their own.

``write_project(folder)`` writes ``manage.py``, the ``mysite`` package (settings, URLs with an
``include()`` under a namespace, WSGI and ASGI modules) and two apps: ``blog`` (``Post``,
``Comment`` with a foreign key to it, a ``publish`` management command, and a ``shell``
command that adds ``blog.utils.greet`` to Django's automatic imports) and ``shop``
(``Item``). Migrations are written out, as a project keeps them, never generated.

``DATABASES`` comes from ``APPSHELL_TEST_DATABASE_URL`` when it is set when the settings are
read (``postgresql[+driver]://...`` or ``sqlite:///path``), else from ``database`` given
here, else a SQLite file ``db.sqlite3`` in the folder.
"""

from __future__ import annotations

from pathlib import Path

MANAGE = """\
#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
"""

SETTINGS = """\
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "appshell-tests-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "blog",
    "shop",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "mysite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "mysite.wsgi.application"
ASGI_APPLICATION = "mysite.asgi.application"


def _database(url):
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path[1:])}
    if scheme in ("postgres", "postgresql"):
        # A server on a Unix socket (pgserver's) names its folder in the query: ?host=/path
        socket = parse_qs(parts.query).get("host", [""])[0]
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path[1:]),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or socket,
            "PORT": str(parts.port or ""),
        }
    raise ValueError(f"APPSHELL_TEST_DATABASE_URL: no Django backend for {url!r}")


_url = os.environ.get("APPSHELL_TEST_DATABASE_URL") or DEFAULT_DATABASE_URL
if _url:
    DATABASES = {"default": _database(_url)}
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
"""

URLS = """\
from django.contrib import admin
from django.urls import include, path

from blog import views

urlpatterns = [
    path("", views.index, name="index"),
    path("blog/", include("blog.urls", namespace="blog")),
    path("admin/", admin.site.urls),
]
"""

WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_wsgi_application()
"""

ASGI = """\
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_asgi_application()
"""

BLOG_APPS = """\
from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "blog"
"""

BLOG_MODELS = """\
from django.db import models


class Post(models.Model):
    title = models.CharField(max_length=200)
    published = models.BooleanField(default=False)

    def __str__(self):
        return self.title


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    text = models.TextField()
"""

BLOG_MIGRATION = """\
import django.db.models.deletion
from django.db import migrations, models


def auto_id():
    return models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Post",
            fields=[
                ("id", auto_id()),
                ("title", models.CharField(max_length=200)),
                ("published", models.BooleanField(default=False)),
            ],
        ),
        migrations.CreateModel(
            name="Comment",
            fields=[
                ("id", auto_id()),
                ("text", models.TextField()),
                (
                    "post",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="comments",
                        to="blog.post",
                    ),
                ),
            ],
        ),
    ]
"""

BLOG_VIEWS = """\
from django.http import HttpResponse, JsonResponse

from .models import Post


def index(request):
    return HttpResponse("hello from mysite")


def post_list(request):
    return JsonResponse({"posts": [p.title for p in Post.objects.order_by("id")]})


def post_detail(request, pk):
    return JsonResponse({"title": Post.objects.get(pk=pk).title})
"""

BLOG_URLS = """\
from django.urls import path

from . import views

app_name = "blog"
urlpatterns = [
    path("", views.post_list, name="list"),
    path("<int:pk>/", views.post_detail, name="detail"),
]
"""

BLOG_UTILS = """\
def greet(name="world"):
    return f"hello, {name}"
"""

PUBLISH = """\
from django.core.management.base import BaseCommand, CommandError

from blog.models import Post


class Command(BaseCommand):
    help = "Publish the post with the given title."

    def add_arguments(self, parser):
        parser.add_argument("title")
        parser.add_argument("--fail-code", type=int, default=None)

    def handle(self, title, fail_code=None, **options):
        if fail_code is not None:
            raise CommandError(f"refused to publish {title!r}", returncode=fail_code)
        post, _ = Post.objects.get_or_create(title=title)
        if post.published:
            raise CommandError(f"{title!r} is already published")
        post.published = True
        post.save()
        self.stdout.write(f"published {title!r}")
"""

SHELL = """\
from django.core.management.commands import shell


class Command(shell.Command):
    def get_auto_imports(self):
        return [*super().get_auto_imports(), "blog.utils.greet"]
"""

SHOP_APPS = """\
from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
"""

SHOP_MODELS = """\
from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
"""

SHOP_MIGRATION = """\
from django.db import migrations, models


def auto_id():
    return models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", auto_id()),
                ("name", models.CharField(max_length=100)),
                ("price", models.DecimalField(decimal_places=2, default=0, max_digits=8)),
            ],
        ),
    ]
"""

FILES = {
    "manage.py": MANAGE,
    "mysite/__init__.py": "",
    "mysite/urls.py": URLS,
    "mysite/wsgi.py": WSGI,
    "mysite/asgi.py": ASGI,
    "blog/__init__.py": "",
    "blog/apps.py": BLOG_APPS,
    "blog/models.py": BLOG_MODELS,
    "blog/views.py": BLOG_VIEWS,
    "blog/urls.py": BLOG_URLS,
    "blog/utils.py": BLOG_UTILS,
    "blog/migrations/__init__.py": "",
    "blog/migrations/0001_initial.py": BLOG_MIGRATION,
    "blog/management/__init__.py": "",
    "blog/management/commands/__init__.py": "",
    "blog/management/commands/publish.py": PUBLISH,
    "blog/management/commands/shell.py": SHELL,
    "shop/__init__.py": "",
    "shop/apps.py": SHOP_APPS,
    "shop/models.py": SHOP_MODELS,
    "shop/migrations/__init__.py": "",
    "shop/migrations/0001_initial.py": SHOP_MIGRATION,
}


def write_project(folder: Path, database: str = "sqlite") -> Path:
    """Write the project into ``folder`` (made if missing) and return ``folder``.

    ``database`` is ``"sqlite"`` (a file ``db.sqlite3`` in the folder) or a database URL
    (``postgresql+psycopg://user@host:port/name``, as the ``postgres_db`` fixture gives);
    ``APPSHELL_TEST_DATABASE_URL`` in the environment still wins when the settings are read.
    """
    folder.mkdir(parents=True, exist_ok=True)
    default = "" if database == "sqlite" else database
    files = {**FILES, "mysite/settings.py": f"DEFAULT_DATABASE_URL = {default!r}\n" + SETTINGS}
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return folder
