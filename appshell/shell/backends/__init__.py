"""REPL backends: the registry, autodetection and strict explicit choice.

Built in, in autodetection order: ``ipython``, ``ptpython``, ``python``. Third-party
backends register a class (or instance) in the entry-point group ``appshell.repls``; they
can be chosen by name and are listed, but never autodetected.
"""

from __future__ import annotations

import typing as t

from ...exceptions import ReplNotAvailable
from .base import Backend, BaseBackend, ShellSettings
from .ipython import IPythonBackend
from .ptpython import PtpythonBackend
from .python import PythonBackend

if t.TYPE_CHECKING:
    import click
    from click.shell_completion import CompletionItem

__all__ = [
    "AUTODETECT_ORDER",
    "Backend",
    "BaseBackend",
    "ReplNotAvailable",
    "ShellSettings",
    "autodetect",
    "complete_repl_names",
    "known_backends",
    "resolve",
    "show_repls",
]

AUTODETECT_ORDER = ("ipython", "ptpython", "python")


def known_backends() -> dict[str, Backend]:
    """Every backend by name: the built-in ones, then the plugins (loaded now)."""
    from ... import plugins

    found: dict[str, Backend] = {
        b.name: b for b in (IPythonBackend(), PtpythonBackend(), PythonBackend())
    }
    for name in sorted(plugins.entry_points(plugins.REPLS)):
        obj = plugins.load(plugins.REPLS, name)
        if obj is None or name in found:
            continue
        backend = obj() if isinstance(obj, type) else obj
        if not isinstance(backend, Backend):
            plugins.report_broken(
                plugins.REPLS, name, TypeError("not a backend (name, is_available, run)")
            )
            continue
        found[name] = backend
    return found


def autodetect(order: t.Sequence[str] = AUTODETECT_ORDER) -> Backend:
    """The first installed backend of ``order``.

    :raises ReplNotAvailable: none of them is installed.
    """
    backends = known_backends()
    for name in order:
        backend = backends.get(name)
        if backend is not None and backend.is_available():
            return backend
    raise ReplNotAvailable(
        f"None of the REPLs {', '.join(order)} is installed. Install one, for example"
        " pip install 'appshell[ipython]', or use the stdlib one with --repl python."
    )


def resolve(name: str | None, order: t.Sequence[str] = AUTODETECT_ORDER) -> Backend:
    """The backend called ``name`` (strict: never replaced by another), else autodetected.

    :raises ReplNotAvailable: ``name`` is unknown or not installed.
    """
    if name is None:
        return autodetect(order)
    backends = known_backends()
    backend = backends.get(name.strip().lower())
    if backend is None:
        raise ReplNotAvailable(
            f"No REPL called {name!r}. The known ones are: {', '.join(backends)}"
            " (see appshell shell --list-repls)."
        )
    if not backend.is_available():
        raise ReplNotAvailable(
            f"The REPL {backend.name!r} is not installed here. Install it with:"
            f" {backend.install_hint}"
        )
    return backend


def complete_repl_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of ``--repl``: the known REPL names that start with ``incomplete``,
    each with whether it is installed (click's ``shell_complete`` callback)."""
    from click.shell_completion import CompletionItem

    prefix = incomplete.strip().lower()
    return [
        CompletionItem(name, help=None if backend.is_available() else "not installed")
        for name, backend in known_backends().items()
        if name.startswith(prefix)
    ]


def show_repls(order: t.Sequence[str] | None) -> None:
    """``--list-repls``: every known backend, installed or not, with its version, and the
    one autodetection picks in ``order`` (the profile's, else the built-in order)."""
    import click

    from ...term import render_table

    order = order or AUTODETECT_ORDER
    backends = known_backends()
    try:
        chosen: str | None = resolve(None, order).name
    except click.ClickException:
        chosen = None
    rows = []
    for name, backend in backends.items():
        available = backend.is_available()
        note = "autodetected" if name == chosen else ""
        if not available:
            note = backend.install_hint
        elif name not in AUTODETECT_ORDER:
            note = "plugin: chosen with --repl only"
        rows.append((name, "yes" if available else "no", backend.version() or "-", note))
    click.echo(render_table(("REPL", "Installed", "Version", ""), rows, rule=False))
