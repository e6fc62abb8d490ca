"""Looking at the user's objects without running their code.

Discovery reads the globals of the app's modules, ``app.extensions`` and the like to find
apps, engines and models. Those values are the user's: a werkzeug ``LocalProxy`` (Flask's
``request``, ``session``, ``g``), Django's lazy ``settings``, an object whose attributes are
properties. Ordinary Python runs their code when they are looked at: ``isinstance`` reads
``obj.__class__`` (which a proxy forwards), ``getattr`` and ``hasattr`` call properties,
``__getattr__`` and a module's ``__getattr__``. The functions here never do:

- an object's kind is ``type(obj)``, compared with ``issubclass`` against classes of a
  library already imported, never ``obj.__class__``;
- an attribute is read from the instance's or the classes' ``__dict__`` (as
  ``inspect.getattr_static`` does): a plain value or a slot is returned, a property or
  any other descriptor is not evaluated and counts as absent.

Anything that still raises while being looked at counts as "not what we look for".
"""

from __future__ import annotations

import inspect
import types
import typing as t

__all__ = [
    "MISSING",
    "instance_dict",
    "is_class",
    "is_instance",
    "is_module",
    "static_attribute",
]

#: What :func:`static_attribute` returns for an attribute it cannot read without code.
MISSING: t.Final = object()

# Descriptors implemented in C by the interpreter for ``__slots__`` and built-in types:
# reading them runs no Python code of the user's.
_SLOT_DESCRIPTORS = (types.MemberDescriptorType, types.GetSetDescriptorType)


def is_instance(obj: object, classes: type | tuple[type, ...]) -> bool:
    """``isinstance(obj, classes)`` decided by ``type(obj)`` alone.

    A proxy whose ``__class__`` is a property (werkzeug's ``LocalProxy``, Django's
    ``LazyObject``) is not asked what it stands for.
    """
    try:
        return issubclass(type(obj), classes)
    except Exception:  # a metaclass's __subclasscheck__ that raises
        return False


def is_class(obj: object) -> bool:
    """Whether ``obj`` is a class, by its type."""
    return is_instance(obj, type)


def is_module(obj: object) -> bool:
    """Whether ``obj`` is a module, by its type."""
    return is_instance(obj, types.ModuleType)


def static_attribute(obj: object, name: str, default: t.Any = MISSING) -> t.Any:
    """The attribute ``name`` of ``obj`` as stored, or ``default``.

    Found in the instance's ``__dict__``, a slot, or the ``__dict__`` of a class on the MRO
    (for a class: of the class and its bases, then its metaclass). A property, a method or
    any other descriptor written in Python is not called: it gives ``default`` (a plain
    function read from a class is the function, as Python gives it). A module's
    ``__getattr__`` and a class's ``__getattr__`` are never called.
    """
    if not is_class(obj):
        own = instance_dict(obj)
        if own is not None and name in own:
            return own[name]  # as Python returns it: an instance's values are not bound
    try:
        found = inspect.getattr_static(obj, name)
    except Exception:  # absent, or an odd object whose __dict__ or __mro__ misbehaves
        return default
    kind = type(found)
    if kind in _SLOT_DESCRIPTORS:
        if is_class(obj):
            return default  # the slot itself, not a value
        try:
            return found.__get__(obj, type(obj))
        except Exception:  # an empty slot
            return default
    if kind is types.FunctionType and is_class(obj):
        return found  # what Python gives for a function read from a class: the function
    if _is_descriptor(kind):
        return default
    return found


def instance_dict(obj: object) -> dict[str, t.Any] | None:
    """The instance's own ``__dict__``, or None when it has none or a class of its makes
    ``__dict__`` something other than the interpreter's (a property is never called)."""
    try:
        mro = _MRO.__get__(type(obj))
    except Exception:
        return None
    for klass in mro:
        entry = _CLASS_DICT.__get__(klass).get("__dict__", MISSING)
        if entry is MISSING:
            continue
        if type(entry) is not types.GetSetDescriptorType:
            return None
        try:
            own = entry.__get__(obj, type(obj))
        except Exception:
            return None
        return own if type(own) is dict else None
    return None


# The interpreter's own readers of a class's MRO and namespace, which no metaclass overrides.
_MRO = type.__dict__["__mro__"]
_CLASS_DICT = type.__dict__["__dict__"]


def _is_descriptor(kind: type) -> bool:
    """Whether instances of ``kind`` compute a value when read as an attribute."""
    try:
        inspect.getattr_static(kind, "__get__")
    except AttributeError:
        return False
    return True
