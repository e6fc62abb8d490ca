"""The adapter for any WSGI application: what appshell can use of a plain callable.

Every function is callable, so a WSGI app is never found by scanning a module: only under
the names ``app`` or ``application``, or when named explicitly (``--app module:name``).
What the object offers by convention is used (see :class:`~appshell.adapters.BaseAdapter`):
a werkzeug ``Map`` as ``url_map`` for routes, a click group as ``cli`` for commands,
``make_shell_context()``, ``app_context()``.
"""

from __future__ import annotations

from ..inspection import is_class, is_module
from . import BaseAdapter

__all__ = ["WSGIAdapter"]


class WSGIAdapter(BaseAdapter):
    """Any WSGI callable: ``app(environ, start_response)``."""

    framework = "wsgi"
    scannable = False
    distribution = ("werkzeug", "Werkzeug")

    @classmethod
    def matches(cls, obj: object) -> bool:
        # Classes and modules are not apps; instances with __call__ and functions are.
        return callable(obj) and not is_class(obj) and not is_module(obj)

    def __repr__(self) -> str:
        return f"<WSGIAdapter {self.name!r}>"
