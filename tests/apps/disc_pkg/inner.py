"""A module inside a package, with a relative import."""

from flask import Flask

from .helpers import add_inner_route

app = Flask(__name__, static_folder=None)
add_inner_route(app)
