"""``appshell profiles``: the profiles found and where they came from; ``show NAME`` merged."""

from __future__ import annotations

import json
import os
import typing as t

import click

from ..exceptions import AppShellUsageError, ProfileError
from ..profiles import complete_profile_names, find_layers, load_profile


def _where(origin: str, path: str) -> str:
    home = os.path.expanduser("~")
    shown = "~" + path[len(home) :] if path.startswith(home + os.sep) else path
    return f"{origin} ({shown})"


@click.group(
    "profiles",
    invoke_without_command=True,
    short_help="List the shell profiles, or show one merged.",
)
@click.pass_context
def profiles_command(ctx: click.Context) -> None:
    """List every shell profile found, with the layers it comes from (built-in, the
    project's pyproject.toml, the user's config folder), lowest first.

    A profile file that cannot be read is named after the list, which has the others;
    the exit code is then 2.
    """
    if ctx.invoked_subcommand is not None:
        return
    broken: list[AppShellUsageError] = []
    layers = find_layers(broken=broken)
    width = max((len(name) for name in layers), default=0)
    for name in sorted(layers):
        description = next(
            (
                layer.data["description"]
                for layer in reversed(layers[name])
                if "description" in layer.data
            ),
            "",
        )
        click.echo(f"{name.ljust(width)}  {description}".rstrip())
        for layer in layers[name]:
            click.echo(f"{' ' * width}    {_where(layer.origin, layer.path)}")
    if broken:
        # Listed first, so that the listing is whole; the exit code says something was wrong.
        raise ProfileError(
            "\n".join(e.format_message() for e in broken)
            + (
                "\nIt was left out of the list above: fix it, or remove it."
                if len(broken) == 1
                else "\nThey were left out of the list above: fix them, or remove them."
            )
        )


def _toml_value(value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _toml(data: dict[str, t.Any], prefix: str = "") -> list[str]:
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for key, value in data.items():
        if isinstance(value, dict):
            table = f"{prefix}{key}"
            scalars = {k: v for k, v in value.items() if not isinstance(v, dict)}
            if scalars or not value:
                lines += ["", f"[{table}]", *_toml(scalars)]
            nested = {k: v for k, v in value.items() if isinstance(v, dict)}
            lines += _toml_nested(nested, f"{table}.")
    return lines


def _toml_nested(data: dict[str, dict[str, t.Any]], prefix: str) -> list[str]:
    lines: list[str] = []
    for key, value in data.items():
        lines += _toml({key: value}, prefix)
    return lines


@profiles_command.command("show")
@click.argument("name", shell_complete=complete_profile_names)
def show_command(name: str) -> None:
    """Show profile NAME with its layers and 'extends' merged, as TOML."""
    profile = load_profile(name)
    click.echo(f"# profile {profile.name!r}, from (lowest first):")
    for layer in profile.sources:
        click.echo(f"#   {layer.name}: {_where(layer.origin, layer.path)}")
    click.echo("\n".join(_toml(profile.data)))
