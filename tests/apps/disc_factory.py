"""Factories: create_app with defaults, others named explicitly."""

from flask import Flask


def create_app(config="default", debug=False):
    app = Flask(__name__, static_folder=None)
    mode = "debug" if debug else "nodebug"
    app.add_url_rule(f"/factory/{config}/{mode}", "factory", lambda: "factory")
    return app


def build_admin():
    app = Flask("admin", static_folder=None)
    app.add_url_rule("/built-admin", "built_admin", lambda: "admin")
    return app


def returns_nothing():
    return None


title = "A string, not an app"
