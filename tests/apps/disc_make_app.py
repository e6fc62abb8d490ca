"""A factory named ``make_app``."""

from flask import Flask


def make_app():
    app = Flask(__name__, static_folder=None)
    app.add_url_rule("/made", "made", lambda: "made")
    return app
