"""The first lines of a shell: versions, the app, and the names it starts with."""

from __future__ import annotations

import platform
import typing as t

import click

if t.TYPE_CHECKING:
    from ..scriptinfo import ScriptInfo
    from .backends import Backend
    from .context import Namespace

__all__ = ["make_banner"]

# Banner lines list at most this many names of one source before folding the rest.
_FOLD_AFTER = 8


def make_banner(info: ScriptInfo, namespace: Namespace, backend: Backend, *, color: bool) -> str:
    """The first lines of a shell: versions, the app and where it came from, and the names
    of ``namespace`` grouped by their source."""
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
    lines = [style(" · ".join(versions), dim=True)]
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
