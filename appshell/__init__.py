"""appshell: a command line for web applications, built around the best interactive shell.

The public API is listed in ``__all__`` and imported lazily, so that ``import appshell``
(which ``%load_ext appshell`` does) costs almost nothing.
"""

from __future__ import annotations

import importlib
import typing as t

__version__ = "0.1.0"

_LAZY = {
    "AppAdapter": "appshell.adapters",
    "AppGroup": "appshell.cli",
    "AppShellGroup": "appshell.cli",
    "BaseAdapter": "appshell.adapters",
    "FlaskGroup": "appshell.cli",
    "NoAppException": "appshell.exceptions",
    "Route": "appshell.adapters",
    "ScriptInfo": "appshell.cli",
    "attach": "appshell.jupyter_await",
    "detach": "appshell.jupyter_await",
    "pass_script_info": "appshell.cli",
    "with_appcontext": "appshell.cli",
}

__all__ = [
    "AppAdapter",
    "AppGroup",
    "AppShellGroup",
    "BaseAdapter",
    "FlaskGroup",
    "NoAppException",
    "Route",
    "ScriptInfo",
    "__version__",
    "attach",
    "detach",
    "load_ipython_extension",
    "pass_script_info",
    "unload_ipython_extension",
    "with_appcontext",
]

if t.TYPE_CHECKING:
    from .adapters import AppAdapter, BaseAdapter, Route
    from .cli import (
        AppGroup,
        AppShellGroup,
        FlaskGroup,
        ScriptInfo,
        pass_script_info,
        with_appcontext,
    )
    from .exceptions import NoAppException
    from .jupyter_await import attach, detach


def load_ipython_extension(shell: t.Any) -> None:
    """``%load_ext appshell``: see :mod:`appshell.jupyter`."""
    from .jupyter import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell: t.Any) -> None:
    """``%unload_ext appshell``: see :mod:`appshell.jupyter`."""
    from .jupyter import unload_ipython_extension as unload

    unload(shell)


def __getattr__(name: str) -> t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'appshell' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
