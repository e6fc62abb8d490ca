"""A custom script, as a Flask project's manage.py: ``python cli_manage.py routes``."""

import click
from flask import Flask, current_app

from appshell.cli import AppShellGroup, with_appcontext


def create_app():
    app = Flask("manage_app", static_folder=None)
    app.add_url_rule("/from-manage", endpoint="from_manage")
    return app


cli = AppShellGroup(create_app=create_app, help="Management script for manage_app.")


@cli.command()
def mycommand():
    """A command of the script itself."""
    click.echo(f"mycommand in {current_app.name}")


@cli.command(with_appcontext=False)
def nocontext():
    """A command that asked for no app context."""
    click.echo(f"app context pushed: {bool(current_app)}")


@cli.group()
def db():
    """A subgroup: an AppGroup too."""


@db.command()
def init():
    click.echo(f"db init in {current_app.name}")


@click.group()
def plain():
    """A plain click group, whose commands ask for the app context themselves."""


@plain.command()
@with_appcontext
def show():
    click.echo(f"plain show in {current_app.name}")


cli.add_command(plain)


if __name__ == "__main__":
    cli()
