"""The adapter for any ASGI application: an ``async`` callable ``app(scope, receive, send)``.

Like a plain WSGI callable, a plain ASGI callable cannot be told from any other coroutine
function, so it is found only by name (``app``, ``application``, or ``--app module:name``),
never by scanning a module. Frameworks with their own adapter are asked before this one.
"""

from __future__ import annotations

import functools
import inspect
import types

from ..exceptions import NoAppException
from ..inspection import is_class, is_instance, is_module, static_attribute
from . import BaseAdapter

__all__ = ["ASGIAdapter", "check_arity", "is_asgi_callable"]


def is_asgi_callable(obj: object) -> bool:
    """Whether ``obj`` is a coroutine function, or an instance whose ``__call__`` is one."""
    if is_class(obj) or is_module(obj) or not callable(obj):
        return False
    if is_instance(obj, _FUNCTIONS):
        return inspect.iscoroutinefunction(obj)
    # An instance: its class's __call__, read without asking the instance (a proxy's
    # __class__ and __getattr__ run the user's code).
    call = static_attribute(type(obj), "__call__", None)
    return is_instance(call, types.FunctionType) and inspect.iscoroutinefunction(call)


_FUNCTIONS = (types.FunctionType, types.MethodType, functools.partial)


def check_arity(app: object, module_name: str) -> None:
    """Check that ``app``, when it is a plain async callable (not a framework's app), can be
    called as ``app(scope, receive, send)``; its signature is not read when it has none.

    :raises NoAppException: it cannot: an async callable found by name looks like an ASGI
        app, so a wrong number of parameters is a mistake in the app, said in one line.
    """
    from . import find_adapter_class

    if find_adapter_class(app) is not ASGIAdapter:
        return
    try:
        signature = inspect.signature(app)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a signature Python cannot read: the first call tells
        return
    try:
        signature.bind(None, None, None)
    except TypeError:
        qualname = getattr(app, "__qualname__", None)
        what = (
            f"{qualname}{signature}"
            if qualname
            else f"a {type(app).__name__} called as {signature}"
        )
        raise NoAppException(
            f"The app found in module {module_name!r}, {what}, is async like an ASGI app, but"
            " an ASGI app takes three arguments (scope, receive, send): fix its parameters, or"
            " name the app you meant with --app 'MODULE:NAME'."
        ) from None


class ASGIAdapter(BaseAdapter):
    """Any ASGI 3 callable."""

    framework = "asgi"
    scannable = False
    interface = "asgi"

    @classmethod
    def matches(cls, obj: object) -> bool:
        return is_asgi_callable(obj)
