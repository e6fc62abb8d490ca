"""A Quart app with a before_serving hook, a shell context processor and a command."""

import click
from quart import Quart, websocket

app = Quart("asgi_quart")


@app.before_serving
async def open_things() -> None:
    app.config["SERVED"] = True


@app.shell_context_processor
def shell_names() -> dict[str, object]:
    return {"answer": 42}


@app.route("/")
async def index() -> str:
    return "index"


@app.route("/notes", methods=["GET", "POST"])
async def notes() -> str:
    return "notes"


@app.websocket("/ws")
async def feed() -> None:
    await websocket.send("hi")


@app.cli.command("greet")
@click.argument("who")
def greet(who: str) -> None:
    """Greet someone."""
    click.echo(f"hello {who} from {app.name}")
