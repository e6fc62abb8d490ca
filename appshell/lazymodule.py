"""A profile's whole-module imports, made when the module is first used.

``"pandas as pd"`` in a profile binds ``pd`` to a :class:`LazyModule`: a stand-in that
imports pandas the first time anything is asked of it (an attribute, ``dir()`` for tab
completion, ``repr``), then hands every request to the real module. Its design, and why it
is not :class:`importlib.util.LazyLoader`:

- The stand-in is never put in ``sys.modules``. The import it makes is an ordinary one, so
  another module's ``import pandas`` gets the real module, loaded once; a library that looks
  in ``sys.modules`` to see whether pandas is in use is not misled into importing it, and one
  that guards ``import pandas`` with ``except ImportError`` still sees a broken install. (A
  LazyLoader module sits in ``sys.modules`` half-made, and fails in whoever touches it next.)
- One lock per stand-in: a completion thread and the prompt asking at the same moment make
  one import, and see the same module.
- Once loaded, the name is rebound to the real module in the namespace it was built into and
  in the globals of the code that used it (the prompt's, a script's, a notebook's), so later
  lookups are plain and ``pd is sys.modules["pandas"]``.
- An import that fails raises :class:`LazyImportError` (an ``ImportError``, and appshell's
  one-line error naming the profile) at that use and every later one; it is not retried.
"""

from __future__ import annotations

import sys
import threading
import types
import typing as t

from .exceptions import ProfileImportError

__all__ = ["LazyImportError", "LazyModule", "is_pending", "resolved"]

_STATE = ("_lazy_spec", "_lazy_name", "_lazy_lock", "_lazy_module", "_lazy_error", "_lazy_home")
# Asked of every object by isinstance() and by the stand-in itself: answered without loading.
_OWN = frozenset((*_STATE, "__class__"))
_get = object.__getattribute__


class LazyImportError(ProfileImportError, ImportError):
    """A profile's import, made on first use, failed (exit code 1 in a script)."""


class LazyModule(types.ModuleType):
    # Stands for the module a profile's import spec names until it is first used.
    #   spec: the profile's entry ("pandas as pd"), for messages; target: the module to
    #   import ("os.path"); name: the namespace name it is bound to ("pd", or "os" for
    #   "os.path"); top: bind the top-level package of target (an entry without "as");
    #   source: the namespace source, "profile:NAME", for messages; home: the namespace
    #   the name is bound in, rebound there once loaded.
    # Its docstring is the module type's: IPython's `pd?` shows the class docstring.
    __doc__ = types.ModuleType.__doc__

    __slots__ = _STATE

    def __init__(
        self,
        spec: str,
        target: str,
        name: str,
        *,
        top: bool,
        source: str,
        home: dict[str, t.Any] | None = None,
    ) -> None:
        super().__init__(target.split(".")[0] if top else target)
        setter = object.__setattr__
        setter(self, "_lazy_spec", (spec, target, top, source))
        setter(self, "_lazy_name", name)
        setter(self, "_lazy_lock", threading.RLock())
        setter(self, "_lazy_module", None)
        setter(self, "_lazy_error", None)
        setter(self, "_lazy_home", home)

    def __getattribute__(self, name: str) -> t.Any:
        if name in _OWN:
            return _get(self, name)
        return getattr(_load(self, sys._getframe(1)), name)

    def __setattr__(self, name: str, value: t.Any) -> None:
        setattr(_load(self, sys._getframe(1)), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(_load(self, sys._getframe(1)), name)

    def __dir__(self) -> list[str]:
        return dir(_load(self, sys._getframe(1)))

    def __repr__(self) -> str:
        return repr(_load(self, sys._getframe(1)))


# IPython's `pd?` and `%whos` show type(obj).__name__: "module", as for the module itself.
LazyModule.__name__ = LazyModule.__qualname__ = "module"


def is_pending(value: object) -> bool:
    """True for a :class:`LazyModule` whose module has not been imported yet."""
    return isinstance(value, LazyModule) and resolved(value) is value


def resolved(value: object) -> object:
    """``value``, or for a :class:`LazyModule` the module it stands for if that is loaded
    (by it or by anyone's import), without importing anything."""
    if not isinstance(value, LazyModule):
        return value
    module = _get(value, "_lazy_module")
    if module is None:
        _, target, top, _ = _get(value, "_lazy_spec")
        module = sys.modules.get(target.split(".")[0] if top else target)
        if target not in sys.modules:
            module = None
    return value if module is None else module


def _load(lazy: LazyModule, frame: types.FrameType | None) -> types.ModuleType:
    """The real module of ``lazy``, imported by the first caller (the others wait for it);
    the name rebound to it in its home and in ``frame``'s globals."""
    module: types.ModuleType | None = _get(lazy, "_lazy_module")
    if module is None:
        with _get(lazy, "_lazy_lock"):
            module = _get(lazy, "_lazy_module")
            if module is None and _get(lazy, "_lazy_error") is None:
                module = _import(lazy)
    if module is None:
        spec, _, _, source = _get(lazy, "_lazy_spec")
        raise LazyImportError(
            f"{source}: the import {spec!r} failed on first use: {_get(lazy, '_lazy_error')}"
        ) from None
    name = _get(lazy, "_lazy_name")
    for home in (_get(lazy, "_lazy_home"), frame.f_globals if frame is not None else None):
        if home is not None and home.get(name) is lazy:
            home[name] = module
    return module


def _import(lazy: LazyModule) -> types.ModuleType | None:
    """Import the module (the lock held); on failure remember why and return None."""
    import importlib

    _, target, top, _ = _get(lazy, "_lazy_spec")
    try:
        module = importlib.import_module(target)
        if top:
            module = sys.modules[target.split(".")[0]]
    except Exception as e:
        object.__setattr__(lazy, "_lazy_error", f"{type(e).__name__}: {e}")
        return None
    # What static inspection (inspect.getattr_static, jedi) reads: the module's names then.
    _get(lazy, "__dict__").update(vars(module))
    object.__setattr__(lazy, "_lazy_module", module)
    return module
