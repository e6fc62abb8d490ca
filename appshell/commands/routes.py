"""``appshell routes``: the app's URL rules, as ``flask routes`` shows them."""

from __future__ import annotations

import json
import typing as t

import click

from ..scriptinfo import ScriptInfo

if t.TYPE_CHECKING:
    from ..adapters import Route

_SORTS = ("endpoint", "methods", "domain", "rule", "match")


def _table(routes: list[Route], sort: str, all_methods: bool) -> list[list[str]]:
    ignored = set() if all_methods else {"HEAD", "OPTIONS"}
    hosts = any(r.host for r in routes)
    has_domain = hosts or any(r.subdomain for r in routes)

    headers = ["Endpoint", "Methods"]
    sorts = ["endpoint", "methods"]
    if has_domain:
        headers.append("Host" if hosts else "Subdomain")
        sorts.append("domain")
    headers.append("Rule")
    sorts.append("rule")

    rows = []
    for route in routes:
        row = [route.endpoint, ", ".join(sorted(route.methods - ignored))]
        if has_domain:
            row.append((route.host if hosts else route.subdomain) or "")
        row.append(route.rule)
        rows.append(row)

    if sort in sorts:  # "match" keeps the order the app matches rules in
        column = sorts.index(sort)
        rows.sort(key=lambda row: row[column])
    return [headers, *rows]


def _records(routes: list[Route], sort: str, all_methods: bool) -> list[dict[str, t.Any]]:
    ignored = set() if all_methods else {"HEAD", "OPTIONS"}
    records = [
        {
            "rule": r.rule,
            "endpoint": r.endpoint,
            "methods": sorted(r.methods - ignored),
            "host": r.host,
            "subdomain": r.subdomain,
        }
        for r in routes
    ]
    keys: dict[str, t.Callable[[dict[str, t.Any]], t.Any]] = {
        "endpoint": lambda r: r["endpoint"],
        "methods": lambda r: ", ".join(r["methods"]),
        "domain": lambda r: r["host"] or r["subdomain"] or "",
        "rule": lambda r: r["rule"],
    }
    if sort in keys:
        records.sort(key=keys[sort])
    return records


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(_SORTS),
    default="endpoint",
    help="Sort by this column; 'match' is the order the app matches rules in.",
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS methods.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="APPSHELL_ROUTES_JSON",
    help='Print a JSON list of {"rule", "endpoint", "methods", "host", "subdomain"}.',
)
@click.pass_context
def routes_command(ctx: click.Context, sort: str, all_methods: bool, as_json: bool) -> None:
    """Show all registered routes with their endpoints and methods."""
    info = ctx.ensure_object(ScriptInfo)
    info.push_app_context(ctx)
    routes = info.adapter.routes()
    if as_json:
        click.echo(json.dumps(_records(routes or [], sort, all_methods), indent=2))
        return
    if routes is None:
        click.echo(
            f"The app {info.adapter.name!r} has no routing table that appshell can read"
            " (it lists a Flask app's routes, or a werkzeug Map offered as 'url_map')."
        )
        return
    if not routes:
        click.echo("No routes were registered.")
        return

    table = _table(routes, sort, all_methods)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    table.insert(1, ["-" * w for w in widths])
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
