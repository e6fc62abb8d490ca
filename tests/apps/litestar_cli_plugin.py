"""A Litestar app whose CLI plugin adds commands, in the forms Litestar's documentation shows:
commands asking for ``app``, ``env`` and ``ctx``, a group, a group Litestar made itself, and
one whose callback reads the ``LitestarEnv`` from ``ctx.obj`` (advanced-alchemy's way)."""

import click
from litestar import Litestar, get
from litestar.cli._utils import LitestarEnv, LitestarGroup
from litestar.datastructures import State
from litestar.plugins import CLIPluginProtocol


@click.group(cls=LitestarGroup)
def cache() -> None:
    """Cache tools, made as a LitestarGroup outside the plugin."""


@cache.command()
def size(app: Litestar) -> None:
    print("cache of", app.state.greeting)


@click.group(cls=LitestarGroup, name="migrations")
def migrations(ctx: click.Context) -> None:
    """Migrations, as advanced-alchemy's database group: it reads the app from ctx.obj."""
    ctx.obj = {"app": ctx.obj, "greeting": ctx.obj.app.state.greeting}


@migrations.command()
@click.pass_obj
def current(obj: dict) -> None:
    print("current of", type(obj["app"]).__name__, obj["greeting"])


class Tools(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        @cli.command()
        @click.option("--loud", is_flag=True)
        def hello(app: Litestar, loud: bool) -> None:
            """Greet from the app."""
            text = f"hello from {type(app).__name__}: {app.state.greeting}"
            print(text.upper() if loud else text)

        @cli.command()
        def where(env: LitestarEnv, ctx: click.Context) -> None:
            print(type(env).__name__, env.app_path, type(env.app).__name__, ctx.info_name)

        @cli.group()
        def db() -> None:
            """Database tools."""

        @db.command()
        @click.argument("table")
        def count(app: Litestar, table: str) -> None:
            print(f"{table}: index at {app.route_reverse('index')}")

        cli.add_command(cache)
        cli.add_command(migrations)


@get("/", name="index")
async def index() -> str:
    return "index"


app = Litestar([index], plugins=[Tools()], state=State({"greeting": "hi"}), logging_config=None)
