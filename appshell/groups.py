"""Command groups that know the app: :class:`AppGroup`, the decorators commands use to
reach it, and the walk that gathers the shell-context providers a command runs under.

Nothing here imports a command module, so both the root group (``cli.py``) and the
``shell`` command can import this module without importing each other.
"""

from __future__ import annotations

import importlib
import typing as t
from functools import update_wrapper

import click

from . import plugins
from .scriptinfo import ScriptInfo

__all__ = [
    "AppGroup",
    "collect_providers",
    "enclosing_groups",
    "import_group",
    "pass_script_info",
    "with_appcontext",
]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
Provider = tuple[str, t.Callable[[], t.Any]]

#: Passes the command's :class:`ScriptInfo` as its first argument (made when missing).
pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


def with_appcontext(f: F) -> F:
    """Make the command callback ``f`` run inside the app context, loading the app first.

    For commands of plain click groups; an :class:`AppGroup`'s commands get this already.
    """

    @click.pass_context
    def run_in_app_context(ctx: click.Context, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        ctx.ensure_object(ScriptInfo).push_app_context(ctx)
        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(run_in_app_context, f)  # type: ignore[return-value]


class AppGroup(click.Group):
    """A click group whose commands run in the app context (``with_appcontext=False`` opts out).

    Its subgroups are AppGroups too. ``@group.shell_context`` registers a function whose
    returned mapping of names is added to every shell run under this group.
    """

    @property
    def shell_context_providers(self) -> list[Provider]:
        """(name, function) of the shell-context providers registered on this group."""
        # Made on first use: no __init__ of our own, so the signature stays click.Group's.
        providers: list[Provider] = self.__dict__.setdefault("_shell_context_providers", [])
        return providers

    def shell_context(self, f: t.Any = None, /, *, name: str | None = None) -> t.Any:
        """Register ``f`` (no arguments, returns a dict of names) as a shell-context provider.

        Use as ``@group.shell_context`` or ``@group.shell_context(name="models")``; the
        name (default: the function's) is how ``--print-context`` reports its names.
        """

        def register(func: t.Callable[[], t.Any]) -> t.Callable[[], t.Any]:
            self.shell_context_providers.append((name or func.__name__, func))
            return func

        return register(f) if f is not None else register

    def command(  # type: ignore[override]
        self, *args: t.Any, **kwargs: t.Any
    ) -> t.Callable[[t.Callable[..., t.Any]], click.Command]:
        in_app_context = kwargs.pop("with_appcontext", True)
        make_command = super().command(*args, **kwargs)

        def decorator(f: t.Callable[..., t.Any]) -> click.Command:
            return t.cast(click.Command, make_command(with_appcontext(f) if in_app_context else f))

        return decorator

    def group(  # type: ignore[override]
        self, *args: t.Any, **kwargs: t.Any
    ) -> t.Callable[[t.Callable[..., t.Any]], click.Group]:
        kwargs.setdefault("cls", AppGroup)
        return t.cast(
            "t.Callable[[t.Callable[..., t.Any]], click.Group]", super().group(*args, **kwargs)
        )


def enclosing_groups(ctx: click.Context) -> list[AppGroup]:
    """The AppGroups the command of ``ctx`` runs under, outermost first."""
    groups: list[AppGroup] = []
    current: click.Context | None = ctx
    while current is not None:
        if isinstance(current.command, AppGroup):
            groups.insert(0, current.command)
        current = current.parent
    return groups


def collect_providers(groups: t.Iterable[AppGroup]) -> list[Provider]:
    """Shell-context providers, as ``(source, function)``: the ``@group.shell_context``
    functions of ``groups`` in their order, then the ``appshell.shell_context`` entry
    points, by name."""
    found = [(f"provider:{n}", f) for group in groups for n, f in group.shell_context_providers]
    for name in sorted(plugins.entry_points(plugins.SHELL_CONTEXT)):
        provider = plugins.load(plugins.SHELL_CONTEXT, name)
        if provider is not None:
            found.append((f"provider:{name}", provider))
    return found


def import_group(spec: str) -> AppGroup:
    """The AppGroup ``spec`` names, ``MODULE:NAME`` (a custom script's ``cli``), imported.

    :raises click.BadParameter: ``spec`` names no AppGroup.
    """
    module_name, _, name = spec.partition(":")
    group = getattr(importlib.import_module(module_name), name or "cli", None)
    if not isinstance(group, AppGroup):
        raise click.BadParameter(
            f"{spec!r} is not an AppGroup: give a custom script's group as MODULE:NAME"
            " (a manage.py's `cli = AppShellGroup(...)` is manage:cli).",
            param_hint="--cli",
        )
    return group
