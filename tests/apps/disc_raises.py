"""An app module that raises while it is imported."""

from flask import Flask

app = Flask(__name__, static_folder=None)
raise RuntimeError("the database is not reachable")  # raise at import
