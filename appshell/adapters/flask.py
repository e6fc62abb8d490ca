"""The Flask adapter. The only module, with integrations/flask.py, that imports flask.

Flask is imported only once an object has been recognised as a Flask app, and recognised
without importing it: an app exists only if its module already imported flask.
"""

from __future__ import annotations

import typing as t

from . import BaseAdapter, Route, routes_from_map

if t.TYPE_CHECKING:
    import click

__all__ = ["FlaskAdapter"]


class FlaskAdapter(BaseAdapter):
    """A :class:`flask.Flask` application (or a subclass)."""

    framework = "flask"
    scannable = True
    app_class = ("flask", "Flask")
    distribution = ("flask", "Flask")

    @property
    def name(self) -> str:
        return str(self.app.name)

    def set_debug(self, debug: bool) -> None:
        # Through the descriptor, so that the values that depend on it follow.
        self.app.debug = debug

    def app_context(self) -> t.ContextManager[t.Any]:
        return t.cast("t.ContextManager[t.Any]", self.app.app_context())

    def context_is_active(self) -> bool:
        from flask import current_app

        return bool(current_app) and current_app._get_current_object() is self.app  # type: ignore[attr-defined]

    def request_context(self, path: str = "/") -> t.ContextManager[t.Any]:
        return t.cast("t.ContextManager[t.Any]", self.app.test_request_context(path))

    def default_names(self) -> dict[str, t.Any]:
        from flask import g

        return {"app": self.app, "g": g}

    def shell_context(self) -> dict[str, t.Any]:
        return dict(self.app.make_shell_context())

    def routes(self) -> list[Route]:
        rules = routes_from_map(self.app.url_map)
        if self.app.url_map.host_matching:
            return rules
        # Without host matching a rule's host is unused; keep only its subdomain.
        return [Route(r.rule, r.endpoint, r.methods, None, r.subdomain) for r in rules]

    def command_group(self) -> click.Group:
        return t.cast("click.Group", self.app.cli)
