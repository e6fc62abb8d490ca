"""Finding the user's application: import strings, files, packages, factories.

The rules and names are those of ``flask.cli`` so that a Flask project can switch without
surprises; what counts as "an app" is asked of the adapters, so any framework with an
adapter is found the same way.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import types
import typing as t

from .exceptions import NoAppException
from .inspection import is_instance

if t.TYPE_CHECKING:
    import ast
    from types import ModuleType

__all__ = [
    "APP_NAMES",
    "FACTORY_NAMES",
    "NoAppException",
    "find_app_by_string",
    "find_best_app",
    "import_and_find",
    "locate_app",
    "prepare_import",
    "split_import_string",
]

#: The names a module's factory is looked for under, in this order (the default discovery
#: of :mod:`appshell.defaultapp` reads a file for them too).
FACTORY_NAMES = ("create_app", "make_app")
#: The names a module's app is looked for under, in this order.
APP_NAMES = ("app", "api", "application")
_KNOWN_APPS = (
    "an app that appshell knows (an app of Flask, FastAPI, Starlette, Quart, Litestar or"
    " Django, a WSGI or ASGI callable, or an app of an installed adapter)"
)
_HOW_TO_NAME = (
    "Use --app 'MODULE:NAME' (or APPSHELL_APP) to name the app or factory; NAME can be"
    " 'factory(args)' with literal arguments."
)


def _is_app(obj: object, *, scanning: bool = False) -> bool:
    from .adapters import find_adapter_class

    return find_adapter_class(obj, scanning=scanning) is not None


def _is_app_named(obj: object, name: str) -> bool:
    """Whether ``obj`` is an app that its framework looks for under ``name`` (FastAPI's
    ``api``, but not a Flask app called so)."""
    from .adapters import find_adapter_class

    cls = find_adapter_class(obj)
    return cls is not None and name in getattr(cls, "app_names", ("app", "application"))


def find_best_app(module: ModuleType) -> t.Any:
    """Find the one application in ``module``, or raise :class:`NoAppException`.

    Tried in order: the names ``app``, ``api`` and ``application``, each for the frameworks
    whose own command line looks for it (an adapter's ``app_names``); the only app instance
    in the module (only frameworks whose adapter can tell an app from any callable take part:
    a plain WSGI callable is never found by scanning); a factory ``create_app`` or
    ``make_app`` called without arguments.
    """
    # Read from the module's namespace: a module's __getattr__ is the user's code.
    namespace: dict[str, t.Any] = vars(module)
    not_apps: list[str] = []
    for attr_name in APP_NAMES:
        app = namespace.get(attr_name)
        if app is None:
            continue
        # FastAPI's own name for its app, only: anything else called `api` is no claim.
        claimed = attr_name != "api"
        if claimed and is_instance(app, types.FunctionType):
            # The same verdict as --app 'module:app' gives: a factory, or an app function.
            return find_app_by_string(module, attr_name)
        if _is_app_named(app, attr_name):
            return app
        if claimed:
            not_apps.append(f"{attr_name!r} is {_describe(app)}")

    found: dict[int, list[str]] = {}
    for name, value in list(namespace.items()):
        if not name.startswith("__") and _is_app(value, scanning=True):
            found.setdefault(id(value), []).append(name)
    if len(found) == 1:
        (only,) = found.values()
        return namespace[only[0]]
    if len(found) > 1:
        names = " and ".join(repr(f"{module.__name__}:{n[0]}") for n in found.values())
        raise NoAppException(
            f"Found more than one app in module {module.__name__!r}: {names}."
            f" Say which one with --app, for example --app"
            f" '{module.__name__}:{next(iter(found.values()))[0]}'."
        )

    for attr_name in FACTORY_NAMES:
        factory: t.Any = namespace.get(attr_name)
        if is_instance(factory, staticmethod):  # a class standing in for a module
            factory = factory.__func__
        if factory is not None and is_instance(factory, types.FunctionType):
            return _call_factory(module, attr_name, factory, [], {})

    if not_apps:
        raise NoAppException(
            f"In module {module.__name__!r}, {' and '.join(not_apps)}, not {_KNOWN_APPS}."
            f" Make it the app, or name the app with --app '{module.__name__}:NAME'."
        )
    raise NoAppException(
        f"Found no app in module {module.__name__!r}: looked for an app named"
        f" {', '.join(map(repr, APP_NAMES[:-1]))} or {APP_NAMES[-1]!r}, for a single app"
        f" instance, and for a factory named {' or '.join(map(repr, FACTORY_NAMES))}."
        f" {_HOW_TO_NAME}"
    )


def _never_ran(factory: t.Callable[..., t.Any], error: BaseException) -> bool:
    """Whether ``error`` was raised by calling ``factory`` with arguments it does not take,
    before any of its code ran (so the mistake is in ``--app``, not in the factory)."""
    import traceback

    code = getattr(factory, "__code__", None)
    return all(frame.f_code is not code for frame, _ in traceback.walk_tb(error.__traceback__))


def _call_factory(
    module: ModuleType,
    name: str,
    factory: t.Callable[..., t.Any],
    args: list[t.Any],
    kwargs: dict[str, t.Any],
) -> t.Any:
    try:
        app = factory(*args, **kwargs)
    except TypeError as e:
        if not _never_ran(factory, e):
            raise
        import inspect

        try:
            signature = f"{name}{inspect.signature(factory)}"
        except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
            signature = name
        given = "no arguments" if not (args or kwargs) else "the arguments given"
        raise NoAppException(
            f"The factory {signature!s} in module {module.__name__!r} could not be called"
            f" with {given} ({e}). Pass its arguments as Python literals, for example"
            f" --app '{module.__name__}:{name}(\"dev\")'."
        ) from None
    if isinstance(app, types.CoroutineType):
        app.close()  # unawaited on purpose: no warning about it
        raise NoAppException(
            f"The factory {name!r} in module {module.__name__!r} is an async function, and"
            " appshell does not await factories: the app has to exist before its event loop"
            " does. Make it a plain 'def' and do the awaited setup in the app's lifespan."
        )
    if not _is_app(app):
        why = (
            ""
            if args or kwargs or name in FACTORY_NAMES
            else " (a function that is not a WSGI or ASGI app is called as a factory)"
        )
        raise NoAppException(
            f"The factory {name!r} in module {module.__name__!r} returned"
            f" {_describe(app)}, not an app{why}."
        )
    return app


def _describe(obj: object) -> str:
    kind = type(obj).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    return f"{obj!r}" if obj is None else f"{article} {kind}"


def _parse_app_name(app_name: str) -> tuple[str, list[t.Any], dict[str, t.Any], bool]:
    """Parse ``name`` or ``name(args)``; returns name, args, kwargs and whether it was a call."""
    import ast  # only a named app needs parsing

    try:
        node: ast.expr | None = ast.parse(app_name.strip(), mode="eval").body
    except SyntaxError:
        node = None
    match node:
        case ast.Name(id=name):
            return name, [], {}, False
        case ast.Call(func=ast.Name(id=name), args=args, keywords=keywords):
            return name, *_literal_arguments(app_name, args, keywords), True
        case ast.Call():
            raise NoAppException(
                f"The factory in {app_name!r} must be a simple name, such as 'create_app'."
            )
    raise NoAppException(
        f"Could not parse {app_name!r} as an attribute name or a call of one. {_HOW_TO_NAME}"
    )


def _literal_arguments(
    app_name: str, args: list[ast.expr], keywords: list[ast.keyword]
) -> tuple[list[t.Any], dict[str, t.Any]]:
    """The values of a factory call's arguments, which must all be Python literals."""
    import ast

    if any(keyword.arg is None for keyword in keywords):
        raise NoAppException(f"The arguments in {app_name!r} cannot be unpacked with '**'.")
    try:
        return [ast.literal_eval(arg) for arg in args], {
            str(keyword.arg): ast.literal_eval(keyword.value) for keyword in keywords
        }
    except ValueError:
        raise NoAppException(
            f"The arguments in {app_name!r} are not Python literals. appshell never"
            " evaluates code given with --app: use strings, numbers, True/False/None,"
            " tuples, lists and dicts of those."
        ) from None


def find_app_by_string(module: ModuleType, app_name: str) -> t.Any:
    """Find the app named by ``app_name`` (``name`` or ``factory(literal args)``) in ``module``."""
    name, args, kwargs, is_call = _parse_app_name(app_name)

    try:
        attr = getattr(module, name)
    except AttributeError:
        raise NoAppException(
            f"Module {module.__name__!r} has no attribute {name!r}."
            f" Check the name after the colon in {module.__name__ + ':' + app_name!r}."
        ) from None

    if is_instance(attr, types.FunctionType):
        # A function is a factory, as in flask.cli, unless it was named bare and is an app
        # itself: a coroutine function (ASGI), or one that takes exactly two arguments (WSGI).
        if is_call or name in FACTORY_NAMES or not _is_app_function(attr):
            if not is_call and name not in FACTORY_NAMES and _takes_asgi_arguments(attr):
                raise NoAppException(
                    f"{module.__name__ + ':' + name!r} takes three arguments as an ASGI app"
                    " does (scope, receive, send), but it is a plain 'def', so it is neither"
                    " an app nor a factory: an ASGI app is an 'async def'."
                )
            return _call_factory(module, name, attr, args, kwargs)
        return attr
    if is_call:
        raise NoAppException(
            f"{module.__name__ + ':' + name!r} is {_describe(attr)}, not a factory function;"
            " only functions can be called with arguments."
        )

    if _is_app(attr):
        return attr
    raise NoAppException(
        f"{module.__name__ + ':' + app_name!r} is {_describe(attr)}, not {_KNOWN_APPS}."
    )


def _is_app_function(func: t.Callable[..., t.Any]) -> bool:
    """An ASGI function is a coroutine function; a WSGI function takes exactly
    ``(environ, start_response)``; a factory takes none."""
    import inspect

    if inspect.iscoroutinefunction(func):
        return True
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # pragma: no cover
        return False
    try:
        sig.bind(None, None)
    except TypeError:
        return False
    try:
        sig.bind()
    except TypeError:
        return True
    return False


def _takes_asgi_arguments(func: t.Callable[..., t.Any]) -> bool:
    """Whether a plain function must be called with exactly three arguments, as an ASGI app
    is: the sign of a forgotten ``async``."""
    import inspect

    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # pragma: no cover
        return False
    try:
        sig.bind(None, None, None)
    except TypeError:
        return False
    try:
        sig.bind(None, None)
    except TypeError:
        return True
    return False


def prepare_import(path: str) -> str:
    """Put the folder that ``path`` is importable from on ``sys.path``; return the module name.

    ``path`` is a dotted module name, a ``.py`` file, or a package folder. A file inside a
    package becomes its dotted name (``src/blog/app.py`` gives ``blog.app`` when ``src/blog``
    has an ``__init__.py``).
    """
    from pathlib import Path  # only a file or folder given as the app needs it

    target = Path(os.path.realpath(path))
    if target.suffix == ".py":
        target = target.with_suffix("")
    if target.name == "__init__":
        target = target.parent
    # The import root is the first folder up that is not itself a package.
    root = next(
        (folder for folder in target.parents if not (folder / "__init__.py").exists()),
        Path(target.anchor),
    )
    if sys.path[0] != str(root):
        sys.path.insert(0, str(root))
    return ".".join(target.relative_to(root).parts)


def _missing_module(exc: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``exc`` says ``module_name`` itself (or a package above it) does not exist."""
    if exc.name is None:
        return False
    parts = module_name.split(".")
    return exc.name in {".".join(parts[: i + 1]) for i in range(len(parts))}


def locate_app(module_name: str, app_name: str | None, raise_if_not_found: bool = True) -> t.Any:
    """Import ``module_name`` and find the app in it (by ``app_name`` when given), as the
    ``flask.cli`` function does.

    A module that does not exist raises :class:`NoAppException` (or returns None with
    ``raise_if_not_found=False``); so does an ``ImportError`` raised *inside* the module,
    with its traceback in the message. Other exceptions of the module propagate unchanged.
    """
    try:
        return import_and_find(module_name, app_name, raise_if_not_found)
    except ImportError as e:
        from .exceptions import format_user_exception

        raise NoAppException(
            f"Importing {module_name!r} raised an ImportError inside the module, so no"
            f" app could be found in it:\n\n{format_user_exception(e).rstrip()}"
        ) from None


def import_and_find(module_name: str, app_name: str | None, raise_if_not_found: bool) -> t.Any:
    """:func:`locate_app` for appshell's own command line: an ``ImportError`` raised inside
    the module propagates, to be shown as the user's traceback."""
    from . import plugins

    # A Django project's settings or wsgi/asgi module, asked only where Django is installed
    # (read from the installed packages' scan, which is kept between runs).
    if "django" in sys.modules or "django" in plugins.distributions():
        from .djangoproject import project_for_module

        project = project_for_module(module_name, app_name)
        if project is not None:
            return project
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if not _missing_module(e, module_name):
            raise
        if not raise_if_not_found:
            return None
        raise NoAppException(
            f"Could not import {module_name!r}: no module of that name was found"
            f" (looked on sys.path, which starts with {sys.path[0]!r}). Check the spelling,"
            " run appshell from the project's folder, or give a file path such as"
            " --app path/to/app.py."
        ) from None
    app = find_best_app(module) if app_name is None else find_app_by_string(module, app_name)
    from .adapters import find_adapter_class

    # Only a plain async callable has its parameters checked (the ASGI adapter's module is
    # not imported for an app of a framework).
    if getattr(find_adapter_class(app), "framework", None) == "asgi":
        from .adapters.asgi import check_arity

        check_arity(app, module_name)
    return app


def split_import_string(import_string: str) -> tuple[str, str | None]:
    """Split ``module:name`` into its parts; a Windows drive letter is not a separator."""
    parts = re.split(r":(?![\\/])", import_string, maxsplit=1)
    return parts[0], (parts[1] if len(parts) > 1 else None)


def load_from_import_string(import_string: str, base_dir: str | None = None) -> t.Any:
    """Load the app that ``import_string`` names, relative to ``base_dir`` (default: cwd)."""
    path, name = split_import_string(import_string)
    if not path:
        raise NoAppException(f"{import_string!r} names no module. {_HOW_TO_NAME}")
    looks_like_path = path.endswith(".py") or os.sep in path or "/" in path
    if base_dir is not None and not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    if looks_like_path and not os.path.exists(path):
        raise NoAppException(
            f"The file {path!r} given as the app does not exist. Check the path, or give a"
            " module name such as --app blog.app."
        )
    module_name = prepare_import(path)
    if looks_like_path:
        _check_not_shadowed(module_name, path)
    return import_and_find(module_name, name, True)


def _check_not_shadowed(module_name: str, path: str) -> None:
    """A file named like a module that is already imported (``site.py``) would not load."""
    loaded = sys.modules.get(module_name)
    loaded_file = getattr(loaded, "__file__", None)
    if loaded is None or loaded_file is None:
        return
    wanted = os.path.realpath(path if os.path.isdir(path) else os.path.splitext(path)[0])
    found = os.path.realpath(os.path.splitext(loaded_file)[0])
    if found not in (wanted, os.path.join(wanted, "__init__")):
        raise NoAppException(
            f"The file {path!r} would be imported as the module {module_name!r}, but a"
            f" different module of that name is already loaded from {loaded_file!r}."
            " Rename the file, or give its package's dotted name."
        )
