"""A Flask app with shell-context processors, for ``appshell shell --print-context``."""

from flask import Flask

app = Flask("shell_flaskapp")


class User:
    pass


@app.shell_context_processor
def models():
    # app again, the identical object: not an override of the default name.
    return {"User": User, "app": app}


@app.shell_context_processor
def settings():
    return {"SETTINGS": dict(app.config)}
