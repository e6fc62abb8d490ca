"""A Flask app whose commands show what a command sees: env vars, debug, the app context."""

import os

import click
from flask import Flask, current_app

app = Flask("cli_flaskapp")


@app.route("/")
def index():
    return "index"


@app.cli.command("env")
@click.argument("names", nargs=-1)
def env_command(names):
    """Print NAME=value for each environment variable named."""
    for name in names:
        click.echo(f"{name}={os.environ.get(name)}")


@app.cli.command("debug")
def debug_command():
    """Print the app's debug flag."""
    click.echo(f"debug={current_app.debug}")


@app.cli.command("whoami")
def whoami_command():
    """Print the name of the current app."""
    click.echo(f"current_app={current_app.name}")


@app.cli.command("greet")
@click.option("--name", default="nobody")
def greet_command(name):
    """Greet someone."""
    click.echo(f"hello {name}")
