"""A Flask app whose app-context teardown appends a line to ``$SCRIPT_TEARDOWN_MARKER``."""

import os

from flask import Flask

app = Flask("script_teardown")


@app.teardown_appcontext
def record_teardown(exc):
    with open(os.environ["SCRIPT_TEARDOWN_MARKER"], "a") as f:
        f.write("teardown\n")
