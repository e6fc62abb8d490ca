"""SQLAlchemy's engines and declarative bases, found among the objects an app keeps.

Every object is looked at as :mod:`appshell.inspection` says (its type first, no code of the
user's run). Only public SQLAlchemy API is used: an ``Engine`` (or an ``AsyncEngine``'s
``sync_engine``), a ``sessionmaker``'s configured ``bind`` and ``binds`` (its ``kw``), a
``scoped_session``'s ``session_factory``, Flask-SQLAlchemy's ``db.engines`` (every bind
key) and ``db.Model``, a declarative base's ``registry`` and a mapped class's
``sqlalchemy.inspect(cls).registry``, and each registry's ``mappers``. SQLAlchemy's list of
every registry is private, so the models are those of the registries found.
"""

from __future__ import annotations

import sys
import typing as t

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapper, scoped_session, sessionmaker
from sqlalchemy.orm import registry as Registry

from ...inspection import is_class, is_instance, static_attribute
from ..database import Database

if t.TYPE_CHECKING:
    from ..scope import Scope

__all__ = ["find_engines", "find_registries", "model_classes", "to_database"]


def _async_types() -> tuple[type, ...]:
    """SQLAlchemy's asyncio classes, if the app imported them (else none can exist)."""
    if "sqlalchemy.ext.asyncio" not in sys.modules:
        return ()
    from sqlalchemy.ext.asyncio import AsyncEngine, async_scoped_session, async_sessionmaker

    return (AsyncEngine, async_sessionmaker, async_scoped_session)


def _flask_sqlalchemy_type() -> type | None:
    """Flask-SQLAlchemy's extension class, if the app imported it."""
    kind = static_attribute(sys.modules.get("flask_sqlalchemy"), "SQLAlchemy", None)
    return kind if is_class(kind) else None


def _engines_of(value: t.Any, async_types: tuple[type, ...]) -> list[tuple[t.Any, bool]]:
    """(sync engine, is_async) for each engine ``value`` is or is configured with.

    ``value`` is any object of the app's: its type is checked before anything of it is
    read, and what is read then is SQLAlchemy's own attributes.
    """
    if is_instance(value, Engine):
        return [(value, False)]
    if async_types and is_instance(value, async_types[0]):
        return [(value.sync_engine, True)]
    if is_instance(value, scoped_session) or (async_types and is_instance(value, async_types[2])):
        value = value.session_factory
    if is_instance(value, sessionmaker) or (async_types and is_instance(value, async_types[1])):
        kw = value.kw
        bound = [kw.get("bind"), *dict(kw.get("binds") or {}).values()]
        found: list[tuple[t.Any, bool]] = []
        for bind in bound:
            if bind is not None:
                found.extend(_engines_of(bind, async_types))
        return found
    return []


def find_engines(scope: Scope) -> list[tuple[str, t.Any, bool]]:
    """(name, sync engine, is_async) for every engine of the app, each once.

    Flask-SQLAlchemy's binds are named by their key (``default`` for the default bind);
    the others by the variable or key they were found under, or ``default`` when there is
    only one engine.
    """
    async_types = _async_types()
    flask_sqlalchemy = _flask_sqlalchemy_type()
    named: list[tuple[str, t.Any, bool]] = []
    others: list[tuple[str, t.Any, bool]] = []
    seen: set[int] = set()
    for where, value in scope.objects:
        if flask_sqlalchemy and is_instance(value, flask_sqlalchemy):
            try:
                engines = dict(value.engines)  # needs the app context: the session pushed it
            except RuntimeError:
                continue  # another app's extension
            for key, engine in engines.items():
                if id(engine) not in seen:
                    seen.add(id(engine))
                    named.append(("default" if key is None else str(key), engine, False))
            continue
        for engine, is_async in _engines_of(value, async_types):
            if id(engine) not in seen:
                seen.add(id(engine))
                others.append((_short_name(where), engine, is_async))
    if len(others) == 1 and not any(name == "default" for name, _, _ in named):
        others = [("default", others[0][1], others[0][2])]
    taken = {name for name, _, _ in named}
    unique = []
    for name, engine, is_async in others:
        base, n = name, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        unique.append((name, engine, is_async))
    found = named + unique
    # The default bind first, the others in the order found.
    return sorted(found, key=lambda item: item[0] != "default")


def _short_name(where: str) -> str:
    """``blog.engine`` -> ``engine``; ``app.extensions['db']`` -> ``db``."""
    tail = where.rsplit(".", 1)[-1]
    if "[" in tail:
        tail = tail.split("[", 1)[1].strip("]'\"")
    return tail or "engine"


def to_database(name: str, engine: t.Any, is_async: bool) -> Database:
    """The :class:`Database` record of one engine, its password hidden."""
    return Database(
        name=name,
        url=engine.url.render_as_string(hide_password=True),
        dialect=engine.dialect.name,
        engine=engine,
        is_async=is_async,
        orm="sqlalchemy",
    )


def find_registries(scope: Scope) -> list[t.Any]:
    """The registries of the declarative bases and mapped classes found (Flask-SQLAlchemy's
    ``db.Model``, a ``DeclarativeBase``, SQLModel's table models), each once."""
    flask_sqlalchemy = _flask_sqlalchemy_type()
    registries: dict[int, t.Any] = {}
    for _, value in scope.objects:
        if flask_sqlalchemy and is_instance(value, flask_sqlalchemy):
            value = value.Model
        if is_instance(value, Registry):
            registries.setdefault(id(value), value)
        elif is_class(value):
            found = _registry_of(value)
            if found is not None:
                registries.setdefault(id(found), found)
    return list(registries.values())


def _registry_of(cls: type) -> t.Any | None:
    """The registry of a declarative base or of a mapped class, read without running the
    class's code: a base keeps it as its ``registry`` attribute; a mapped class (SQLModel's
    table models, whose base is not mapped) is asked through SQLAlchemy's inspection."""
    found = static_attribute(cls, "registry", None)
    if is_instance(found, Registry):
        return found
    try:
        mapper: t.Any = sa_inspect(cls, raiseerr=False)
    except Exception:  # a class SQLAlchemy's inspection cannot read
        return None
    if is_instance(mapper, Mapper):
        return mapper.registry
    return None


def model_classes(registries: t.Iterable[t.Any]) -> list[type]:
    """Every class mapped by ``registries``, in the order they were defined.

    A registry keeps its mappers in a set; a ``MetaData`` keeps its tables in the order
    they were made, so a class's place is its table's (a subclass sharing its parent's
    table comes after it; a class without a table comes last).
    """
    mappers: dict[int, t.Any] = {}
    for registry in registries:
        for mapper in registry.mappers:
            mappers.setdefault(id(mapper.class_), mapper)
    places: dict[int, dict[str, int]] = {}

    def key(mapper: t.Any) -> tuple[int, int, str]:
        table = mapper.local_table
        metadata = getattr(table, "metadata", None)
        cls = mapper.class_
        if metadata is None:
            return (sys.maxsize, 0, cls.__qualname__)
        if id(metadata) not in places:
            places[id(metadata)] = {name: index for index, name in enumerate(metadata.tables)}
        place = places[id(metadata)].get(table.key, sys.maxsize)
        return (place, len(cls.__mro__), cls.__qualname__)

    return [mapper.class_ for mapper in sorted(mappers.values(), key=key)]
