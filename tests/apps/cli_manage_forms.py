"""manage.py scripts on FlaskGroup, one per form of create_app callback.

``python cli_manage_forms.py FORM COMMAND...`` runs the group whose callback has that form:
``info`` (takes the ScriptInfo, as flask.cli passed it until 2.2), ``none``, ``defaults``
(``config=None``), ``raises`` (an ImportError inside the factory), ``two`` (two required).
"""

import sys

import click
from flask import Flask, current_app

from appshell.cli import FlaskGroup, ScriptInfo


def create_wiki_app(info):
    app = Flask("wiki", static_folder=None)
    app.config["GIVEN"] = type(info).__name__ if isinstance(info, ScriptInfo) else repr(info)
    return app


def create_plain_app():
    app = Flask("plain", static_folder=None)
    app.config["GIVEN"] = "nothing"
    return app


def create_configured_app(config=None):
    app = Flask("configured", static_folder=None)
    app.config["GIVEN"] = repr(config)
    return app


def create_broken_app():
    import nosuchdependency_manage  # the user's own mistake

    return Flask("broken")


def create_greedy_app(first, second):
    return Flask("greedy")


FACTORIES = {
    "info": create_wiki_app,
    "none": create_plain_app,
    "defaults": create_configured_app,
    "raises": create_broken_app,
    "two": create_greedy_app,
}


def make_cli(factory):
    @click.group(cls=FlaskGroup, create_app=factory)
    def cli():
        """Management script for the wiki."""

    @cli.command()
    def given():
        """What create_app was called with."""
        click.echo(f"{current_app.name}: {current_app.config['GIVEN']}")

    return cli


if __name__ == "__main__":
    form = sys.argv.pop(1)
    make_cli(FACTORIES[form])(prog_name="manage.py")
