"""``appshell routes``: the app's URL rules, in the table ``flask routes`` prints.

The column names, the methods written as ``GET, POST`` and the line ``No routes were
registered.`` are kept exactly: scripts and tests written against ``flask routes`` read them.
"""

from __future__ import annotations

import json
import typing as t

import click

from ..scriptinfo import ScriptInfo
from ..term import render_table

if t.TYPE_CHECKING:
    from ..adapters import Route

_SORTS = ("endpoint", "methods", "domain", "rule", "match")


class _Listing:
    """The routes as the options asked: which methods are shown, in which order."""

    def __init__(self, routes: list[Route], sort: str, all_methods: bool) -> None:
        self.hidden = frozenset() if all_methods else frozenset({"HEAD", "OPTIONS"})
        by: dict[str, t.Callable[[Route], str]] = {
            "endpoint": lambda route: route.endpoint,
            "methods": lambda route: ", ".join(self.methods(route)),
            "domain": lambda route: route.host or route.subdomain or "",
            "rule": lambda route: route.rule,
        }
        # "match" (or a sort with nothing to sort on) keeps the order the app matches in.
        self.routes = sorted(routes, key=by[sort]) if sort in by else list(routes)

    def methods(self, route: Route) -> list[str]:
        return sorted(route.methods - self.hidden)

    def table(self) -> str:
        # A domain column only when some rule has one: Host for an app that matches on
        # hosts, else Subdomain.
        domain = [
            field for field in ("host", "subdomain") if any(getattr(r, field) for r in self.routes)
        ][:1]
        # A view column only for apps whose endpoints are names, not views (Django's).
        view = ["view"] if any(r.view for r in self.routes) else []
        headers = ["Endpoint", "Methods", *(f.capitalize() for f in domain + view), "Rule"]
        rows = [
            [
                route.endpoint,
                ", ".join(self.methods(route)),
                *(getattr(route, field) or "" for field in domain + view),
                route.rule,
            ]
            for route in self.routes
        ]
        return render_table(headers, rows)

    def records(self) -> list[dict[str, t.Any]]:
        return [
            {
                "rule": route.rule,
                "endpoint": route.endpoint,
                "methods": self.methods(route),
                "host": route.host,
                "subdomain": route.subdomain,
                **({"view": route.view} if route.view else {}),
            }
            for route in self.routes
        ]


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(_SORTS),
    default="endpoint",
    help="The column to order by; 'match' keeps the order in which the app tries its rules.",
)
@click.option("--all-methods", is_flag=True, help="Include HEAD and OPTIONS in the methods.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="APPSHELL_ROUTES_JSON",
    help='Print a JSON list of {"rule", "endpoint", "methods", "host", "subdomain"}.',
)
@click.pass_context
def routes_command(ctx: click.Context, sort: str, all_methods: bool, as_json: bool) -> None:
    """List the app's URL rules: endpoint, HTTP methods, host or subdomain, and rule."""
    info = ctx.ensure_object(ScriptInfo)
    info.push_app_context(ctx)
    routes = info.adapter.routes()
    if as_json:
        click.echo(json.dumps(_Listing(routes or [], sort, all_methods).records(), indent=2))
    elif routes is None:
        click.echo(
            f"The app {info.adapter.name!r} has no routing table that appshell can read"
            " (it lists the routes of Flask, Quart, Starlette, FastAPI and Litestar apps, and"
            " of an app that offers a werkzeug Map as 'url_map')."
        )
    elif not routes:
        click.echo("No routes were registered.")
    else:
        click.echo(_Listing(routes, sort, all_methods).table())
