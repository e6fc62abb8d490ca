"""Factories that raise TypeError themselves: the user's error, not a wrong call."""

from flask import Flask


def create_app():
    app = Flask(__name__, static_folder=None)
    raise TypeError("SECRET_KEY must be a str")  # raise in create_app


def _read_port(value):
    return int(value)


def configured(name):
    app = Flask(__name__, static_folder=None)
    app.config["PORT"] = _read_port(None)  # call of the helper
    return app
