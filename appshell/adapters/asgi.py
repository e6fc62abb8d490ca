"""The adapter for any ASGI application: an ``async`` callable ``app(scope, receive, send)``.

Like a plain WSGI callable, a plain ASGI callable cannot be told from any other coroutine
function, so it is found only by name (``app``, ``application``, or ``--app module:name``),
never by scanning a module. Frameworks with their own adapter are asked before this one.
"""

from __future__ import annotations

import inspect

from . import BaseAdapter

__all__ = ["ASGIAdapter", "is_asgi_callable"]


def is_asgi_callable(obj: object) -> bool:
    """Whether ``obj`` is a coroutine function, or an instance whose ``__call__`` is one."""
    if inspect.isclass(obj) or inspect.ismodule(obj) or not callable(obj):
        return False
    if inspect.iscoroutinefunction(obj):
        return True
    # callable(obj) holds, so its type has __call__.
    return inspect.iscoroutinefunction(type(obj).__call__)


class ASGIAdapter(BaseAdapter):
    """Any ASGI 3 callable."""

    framework = "asgi"
    scannable = False
    interface = "asgi"

    @classmethod
    def matches(cls, obj: object) -> bool:
        return is_asgi_callable(obj)
