"""The demo app that ships with appshell: ``appshell --app appshell.demo shell``.

A notes app on werkzeug alone (no Flask): routes on a werkzeug Map, a SQLite database,
a model-like class ``Note``, the commands ``init-db`` and ``seed``, and the shell names
``app``, ``db`` and ``Note``. The database is ``$APPSHELL_DEMO_DATABASE``, else
``$XDG_DATA_HOME/appshell/demo.sqlite3``; ``create_app(database)`` picks another.
"""

from .app import DemoApp, Note, create_app, current_app, default_database, get_db

__all__ = ["DemoApp", "Note", "app", "create_app", "current_app", "default_database", "get_db"]

app = create_app()
