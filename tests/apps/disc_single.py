"""The only app of the module, under a name of its own; the factory must not be chosen."""

from flask import Flask, current_app, request

site = Flask(__name__, static_folder=None)
site.add_url_rule("/single-instance", "single_instance", lambda: "single")


def create_app():
    raise AssertionError("create_app must not be called: the module has an app instance")
