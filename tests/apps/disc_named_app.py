"""A Flask app named ``app``, beside another app and a factory that must not be chosen."""

import click
from flask import Flask

app = Flask(__name__, static_folder=None)
app.add_url_rule("/named-app", "named_app", lambda: "named")

admin = Flask("admin", static_folder=None)
admin.add_url_rule("/admin", "admin", lambda: "admin")


@app.cli.command("hello")
def hello():
    click.echo("hello from disc_named_app")


def create_app():
    raise AssertionError("create_app must not be called: the module has an app named 'app'")
