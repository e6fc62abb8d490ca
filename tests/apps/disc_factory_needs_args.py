"""A factory that cannot be called without an argument."""

from flask import Flask


def create_app(config_name):
    app = Flask(__name__, static_folder=None)
    app.add_url_rule(f"/needs/{config_name}", "needs", lambda: "needs")
    return app
