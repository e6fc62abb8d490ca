"""What a shell says of itself: its first lines (versions, the app, the databases, the names
it starts with) and ``--print-context``'s listing."""

from __future__ import annotations

import platform
import typing as t

import click

if t.TYPE_CHECKING:
    from ..scriptinfo import ScriptInfo
    from .backends import Backend
    from .context import Namespace

__all__ = ["make_banner", "show_context"]

# Banner lines list at most this many names of one source before folding the rest.
_FOLD_AFTER = 8


def make_banner(
    info: ScriptInfo,
    namespace: Namespace,
    backend: Backend,
    *,
    color: bool,
    first_lines: t.Sequence[str] = (),
) -> str:
    """The first lines of a shell: ``first_lines`` (the databases and a sandbox or
    read-only, when a database option is on), versions, the app and where it came from,
    and the names of ``namespace`` grouped by their source."""
    from .. import __version__
    from .runner import CommandRunner

    def style(text: str, **styles: t.Any) -> str:
        return click.style(text, **styles) if color else text

    adapter = info.adapter
    versions = [f"Python {platform.python_version()}", f"appshell {__version__}"]
    framework = type(adapter).framework_version()
    if framework is not None:
        versions.append(" ".join(framework))
    if backend.name != "python":
        versions.append(f"{backend.name} {backend.version() or ''}".strip())
    lines = [style(line, fg="yellow", bold=not line.startswith(" ")) for line in first_lines]
    lines.append(style(" · ".join(versions), dim=True))
    lines.append(f"App: {style(adapter.name, bold=True)} ({info.app_origin})")
    groups = namespace.by_source()
    width = max(map(len, groups), default=0)
    for source, names in groups.items():
        lines.append(f"  {style(source.ljust(width), fg='cyan')}  {_fold(names)}")
    if isinstance(namespace.get("cli"), CommandRunner):
        lines.append(
            style(
                "Commands run in the shell: cli('routes --sort rule'), cli.routes(sort='rule');"
                " cli lists them.",
                dim=True,
            )
        )
    return "\n".join(lines) + "\n"


def _fold(names: list[str]) -> str:
    if len(names) <= _FOLD_AFTER:
        return ", ".join(names)
    return ", ".join(names[:_FOLD_AFTER]) + f", … (+{len(names) - _FOLD_AFTER} more)"


def show_context(namespace: Namespace, as_json: bool) -> None:
    """``--print-context``: every name, its source, its type, what it overrode; then the
    databases found and the models aliased (in JSON: on the records of ``sql`` and of
    the aliases)."""
    from ..term import render_table

    records = namespace.describe()
    if as_json:
        import json

        click.echo(json.dumps(records, indent=2))
        return
    rows = ((r["name"], r["source"], r["type"], ", ".join(r["overrides"])) for r in records)
    click.echo(render_table(("Name", "Source", "Type", "Overrides"), rows))
    if namespace.databases:
        click.echo("")
        found = (
            (db["name"], db["dialect"] + (" (async)" if db["async"] else ""), db["url"])
            for db in namespace.databases
        )
        click.echo(render_table(("Database", "Dialect", "URL"), found))
    collisions = namespace.collisions()
    if collisions:
        click.echo("\nModel name collisions:")
        for line in collisions:
            click.echo(f"  {line}")
