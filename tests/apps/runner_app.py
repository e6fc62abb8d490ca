"""A Flask factory app for ``cli`` in the shell: counts how often it is created, and has
commands that show what a command receives, how it ends, and a subgroup ``db``."""

import sys

import click
from flask import Flask, current_app, g

from appshell.cli import AppGroup

#: One entry per call of create_app(): a second load of the app shows here.
CREATED = []


def create_app():
    app = Flask("runner_app")
    app.config["GREETING"] = "hello from the factory"
    CREATED.append(app)

    @app.route("/greeting")
    def greeting():
        return current_app.config["GREETING"]

    @app.cli.command("show-args")
    @click.option("--name", default="nobody")
    @click.option("--shout/--no-shout", default=None)
    @click.option("--verbose", is_flag=True)
    @click.option("--tag", "tags", multiple=True)
    @click.argument("words", nargs=-1)
    def show_args(name, shout, verbose, tags, words):
        """Print what the command was given."""
        click.echo(f"name={name} shout={shout} verbose={verbose} tags={list(tags)}")
        click.echo(f"words={list(words)}")

    @app.cli.command("add")
    @click.argument("a", type=int)
    @click.argument("b", type=int)
    def add(a, b):
        """Print A + B."""
        click.echo(a + b)

    @app.cli.command("created")
    def created():
        """Print how often create_app() ran."""
        click.echo(f"created={len(CREATED)}")

    @app.cli.command("marker")
    def marker():
        """Print g.marker of the current app context."""
        click.echo(f"app={current_app.name} marker={g.get('marker')}")

    @app.cli.command("exit-three")
    @click.pass_context
    def exit_three(ctx):
        """End with ctx.exit(3)."""
        click.echo("before exit")
        ctx.exit(3)

    @app.cli.command("sys-exit")
    def sys_exit():
        """End with sys.exit(4)."""
        sys.exit(4)

    @app.cli.command("boom")
    def boom():
        """Raise an exception."""
        raise ValueError("boom from the command")

    db = AppGroup("db", help="Database migrations.")

    @db.command("upgrade")
    @click.option("--revision", default="head", help="The revision to upgrade to.")
    def upgrade(revision):
        """Upgrade the database to a revision."""
        click.echo(f"upgraded to {revision}")

    app.cli.add_command(db)
    return app
