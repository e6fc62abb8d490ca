"""A Quart app for the Quart tests: its serving hooks and app-context teardown record what
ran in ``quart.log`` beside this file (tests copy it into their folder and read the lines),
and its ``app.cli`` has a command of each kind Quart allows."""

import asyncio
import os

import click
from quart import Quart, current_app, g, request
from quart.cli import with_appcontext

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quart.log")


def record(what):
    with open(LOG, "a") as f:
        f.write(what + "\n")


app = Quart("quart_recorded")


@app.before_serving
async def startup():
    app.config["POOL"] = "pool"
    record("startup")


@app.after_serving
async def shutdown():
    record("shutdown")


@app.teardown_appcontext
def torn_down(exc):
    # A sync teardown: Quart runs it in a thread, so the context exit truly awaits.
    record(f"teardown {getattr(g, 'mark', None)}")


@app.shell_context_processor
def names():
    return {"answer": 42}


@app.route("/")
async def index():
    return f"index of {current_app.name}"


@app.route("/where")
async def where():
    return request.path


@app.cli.command()
def plain():
    """No with_appcontext argument: appshell enters the app context for it."""
    g.mark = "plain"
    click.echo(f"plain {current_app.name}")


@app.cli.command(with_appcontext=True)
def wrapped():
    """Quart's AppGroup wraps it in quart.cli.with_appcontext."""
    click.echo(f"wrapped {current_app.name}")


@app.cli.command()
@with_appcontext
def explicit():
    """quart.cli.with_appcontext by hand."""
    click.echo(f"explicit {current_app.name}")


@app.cli.command(with_appcontext=False)
def own_loop():
    """Runs an event loop of its own, as Quart's with_appcontext would not allow."""

    async def name():
        await asyncio.sleep(0)
        return current_app.name

    click.echo(f"own loop {asyncio.run(name())}")


@app.cli.command()
def fails():
    raise LookupError("the command failed")
