"""A Flask app without a single route."""

from flask import Flask

app = Flask("cli_noroutes", static_folder=None)
