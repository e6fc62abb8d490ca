"""A toy web framework that appshell knows only through the adapter in cli_toyadapter.py.

Routes are kept in its own format, ``(path, handler name, "GET|POST")``, and commands in a
plain dict of functions; ``current_app()`` works only inside ``app.app_context()``.
"""

import contextlib

_stack = []


def current_app():
    if not _stack:
        raise RuntimeError("working outside of the toy app context")
    return _stack[-1]


class ToyApp:
    def __init__(self, name):
        self.name = name
        self.routes = []
        self.commands = {}

    def route(self, path, methods="GET"):
        def decorator(handler):
            self.routes.append((path, handler.__name__, methods))
            return handler

        return decorator

    def command(self, func):
        self.commands[func.__name__.replace("_", "-")] = func
        return func

    @contextlib.contextmanager
    def app_context(self):
        _stack.append(self)
        try:
            yield self
        finally:
            _stack.pop()

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [self.name.encode()]
