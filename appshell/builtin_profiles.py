"""The built-in profiles (``profiles/*.toml`` in the wheel), already parsed.

Every shell reads at least the built-in ``default`` profile; parsing its TOML would import
``tomllib`` for three lines that never change. The files stay what ``appshell profiles``
lists and shows, and a test keeps this table equal to them, key for key.
"""

from __future__ import annotations

import typing as t

__all__ = ["parsed"]


def parsed(name: str) -> dict[str, t.Any] | None:
    """What ``profiles/<name>.toml`` parses to, as a new dict; None if it is not one of them."""
    make = _PROFILES.get(name)
    return make() if make is not None else None


def _default() -> dict[str, t.Any]:
    return {
        "description": "The shell as documented: IPython > ptpython > python, banner, history",
        "repl": ["ipython", "ptpython", "python"],
        "banner": True,
        "history": True,
    }


def _minimal() -> dict[str, t.Any]:
    return {
        "description": "The stdlib REPL, no banner, no history",
        "repl": ["python"],
        "banner": False,
        "history": False,
    }


def _data() -> dict[str, t.Any]:
    return {
        "description": (
            "Data tools: pprint, json, datetime, collections, itertools, pathlib;"
            " pd and np if installed"
        ),
        "extends": "default",
        "imports": [
            "pprint:pprint",
            "json",
            "datetime",
            "collections",
            "itertools",
            "pathlib:Path",
        ],
        "optional_imports": ["pandas as pd", "numpy as np"],
    }


def _dev() -> dict[str, t.Any]:
    return {
        "description": "The default shell with IPython's autoreload on",
        "extends": "default",
        "ipython": {
            "extensions": ["autoreload"],
            "config": {"InteractiveShellApp": {"exec_lines": ["%autoreload 2"]}},
        },
    }


_PROFILES: dict[str, t.Callable[[], dict[str, t.Any]]] = {
    "default": _default,
    "minimal": _minimal,
    "data": _data,
    "dev": _dev,
}
