"""The context builder: one namespace from ordered sources, remembering where each name came from.

Sources are merged in the order of DESIGN.md (later wins): ``default`` (``app``, ``cli``
and the adapter's defaults), ``adapter`` (the framework's shell context), ``models`` (the
ORM's model classes, same-named ones aliased, never over a name the app gave), ``provider:<name>``
(``@group.shell_context`` functions and ``appshell.shell_context`` entry points),
``profile:<name>`` (a profile's imports), ``startup`` (names a startup file or script
defines). Every override is recorded; rebinding a name to the identical object is not one.

The builder knows nothing of REPLs or apps: it is given mappings and callables.
"""

from __future__ import annotations

import contextlib
import gc
import os
import typing as t

import click

from ..exceptions import (
    ProfileImportError,
    ProviderError,
    UserCodeError,
    format_user_exception,
)
from ..inspection import is_class, is_module
from ..profiles import is_startup_file
from ..term import warn

if t.TYPE_CHECKING:
    from types import CodeType

    from ..adapters import AppAdapter
    from ..profiles import Profile

__all__ = [
    "Binding",
    "ContextBuilder",
    "Namespace",
    "ProfileImportError",
    "ProviderError",
    "compile_startup",
    "namespace_builder",
]


class Binding(t.NamedTuple):
    """Where one name of the namespace came from."""

    name: str
    source: str
    #: The sources whose value for this name this one replaced, earliest first.
    overrides: list[str]

    def type_name(self, value: object) -> str:
        """What ``value`` is, for listings: its type's dotted name, or, for a class,
        ``class`` and the class's own dotted name (not its metaclass's)."""
        # By the value's type alone: a proxy in the namespace (Flask's g) is not evaluated.
        if is_class(value):
            return f"class {_dotted(t.cast(type, value))}"
        if is_module(value):
            from ..lazymodule import is_pending

            return "module (imported on first use)" if is_pending(value) else "module"
        return _dotted(type(value))


def _dotted(kind: type) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


_MISSING = object()


def _describe(value: object) -> str:
    if value is None:
        return "None"
    kind = type(value).__name__
    return f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind!r}"


class Namespace(dict[str, t.Any]):
    """The names a shell starts with, and ``provenance``: a :class:`Binding` for each.

    Provenance is kept as two plain dicts (the source of each name, in merge order, and the
    overridden sources of the few names that have any): a shell with a hundred thousand
    names is built in time linear in their number. ``provenance`` makes Bindings from them.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sources: dict[str, str] = {}
        self._overrides: dict[str, list[str]] = {}
        #: More to say of some names (a model's alias: what it is an alias for, why).
        self.notes: dict[str, dict[str, t.Any]] = {}
        #: The databases the session found (``Database.describe()`` records).
        self.databases: list[dict[str, t.Any]] = []

    @property
    def provenance(self) -> dict[str, Binding]:
        """A :class:`Binding` for every name, in the order of the sources that gave them."""
        overrides = self._overrides
        return {
            name: Binding(name, source, list(overrides.get(name, ())))
            for name, source in self._sources.items()
        }

    def by_source(self) -> dict[str, list[str]]:
        """Names grouped by the source that gave them, in merge order, names sorted."""
        groups: dict[str, list[str]] = {}
        for name, source in self._sources.items():
            groups.setdefault(source, []).append(name)
        return {source: sorted(names, key=str.lower) for source, names in groups.items()}

    def describe(self) -> list[dict[str, t.Any]]:
        """One record per name: ``{"name", "source", "type", "overrides"}`` (for --json),
        with the notes of the names that have some (a model alias's ``"collision"``) and,
        on ``sql``, the session's ``"databases"``."""
        records = []
        for b in sorted(self.provenance.values(), key=lambda b: b.name.lower()):
            record = {
                "name": b.name,
                "source": b.source,
                "type": b.type_name(self[b.name]),
                "overrides": list(b.overrides),
                **self.notes.get(b.name, {}),
            }
            if b.name == "sql" and self.databases:
                record["databases"] = list(self.databases)
            records.append(record)
        return records

    def collisions(self) -> list[str]:
        """One line per model that got an alias because its class name was taken."""
        return [
            f"{name}: {note['collision']}"
            for name, note in self.notes.items()
            if "collision" in note
        ]


class ContextBuilder:
    """Merge name sources, in the order they are added, into a :class:`Namespace`.

    :param strict: a provider that raises ends the session instead of being skipped.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.namespace = Namespace()
        #: (source, exception) for each provider that raised and was skipped.
        self.failures: list[tuple[str, BaseException]] = []

    def add(self, source: str, names: t.Mapping[str, t.Any]) -> None:
        """Merge ``names`` from ``source``; they win over what is there already."""
        namespace = self.namespace
        sources = namespace._sources
        if sources.keys().isdisjoint(names):
            # The common case, done in C: no name of this source is there yet.
            namespace.update(names)
            sources.update(dict.fromkeys(names, source))
            return
        for name, value in names.items():
            previous = sources.get(name)
            if previous is not None and namespace[name] is not value:
                namespace._overrides.setdefault(name, []).append(previous)
                # Re-inserted, so that names stay in the order of the sources that gave them.
                del sources[name]
                sources[name] = source
            elif previous is None:
                sources[name] = source
            namespace[name] = value

    def add_models(self, models: t.Sequence[type]) -> None:
        """Merge the ORM's ``models`` as the ``models`` source.

        A model already in the namespace under its name (Flask-SQLAlchemy's shell context
        adds them) is not added again. Same-named models all stay reachable: the first
        keeps the bare name, the others are named from their module path
        (``shop_models_User``), as is a model whose name the app gave to something else.
        Each alias is noted as a collision.
        """
        namespace = self.namespace
        ours = {id(model) for model in models}
        names: dict[str, type] = {}
        # The model each bare name belongs to: the first one registered under it.
        owner: dict[str, type] = {}
        for model in models:
            name = model.__name__
            present = namespace.get(name, _MISSING)
            if present is model:
                owner.setdefault(name, model)
                continue
            if name in owner:
                held = f"{_dotted(owner[name])}'s"
            elif present is not _MISSING and id(present) not in ours:
                held = f"taken by the {namespace._sources[name]} source"
            else:
                names[name] = owner[name] = model
                continue
            alias = f"{model.__module__}.{model.__qualname__}".replace(".", "_")
            names[alias] = model
            namespace.notes[alias] = {
                "collision": f"{_dotted(model)}, aliased: the name {name!r} is {held}"
            }
        self.add("models", names)

    def add_provider(self, source: str, provider: t.Callable[[], t.Any]) -> None:
        """Call ``provider`` and merge what it returns.

        A provider that raises is reported on stderr by name and skipped (with ``strict``,
        :class:`UserCodeError` ends the session). One that returns something other than a
        mapping is a :class:`ProviderError` naming it.
        """
        try:
            names = provider()
        except Exception as e:
            # appshell's own errors (a profile import of a module that is not there) are a
            # message; anything else is the user's code and gets its traceback.
            what = (
                f": {e.format_message()}"
                if isinstance(e, click.ClickException)
                else f" raised {type(e).__name__}: {e}"
                + "".join(f", {note}" for note in getattr(e, "__notes__", ()))
            )
            if self.strict:
                if isinstance(e, click.ClickException):
                    raise
                warn(f"shell context {source}{what}")
                raise UserCodeError(e) from None
            self.failures.append((source, e))
            warn(f"shell context {source}{what} (left out; --strict makes this an error)")
            return
        if not isinstance(names, dict) and not isinstance(names, t.Mapping):
            raise ProviderError(
                f"The shell context {source} returned {_describe(names)}; a shell context"
                " provider must return a mapping of names to values (a dict), even an"
                " empty one."
            )
        if set(map(type, names)) - {str}:
            names = self._string_keys_only(source, names)
        self.add(source, names)

    def _string_keys_only(self, source: str, names: t.Mapping[t.Any, t.Any]) -> dict[str, t.Any]:
        """``names`` without the keys that are not strings, each reported: a name in a
        namespace is a string (``{User: User}`` was meant as ``{"User": User}``)."""
        kept: dict[str, t.Any] = {}
        for key, value in names.items():
            if isinstance(key, str):
                kept[key] = value
            else:
                warn(
                    f"shell context {source} gave the key {key!r} ({_describe(key)}), which is"
                    " not a name: it is left out. Use a string key, such as"
                    f" {getattr(key, '__name__', 'name')!r}."
                )
        return kept

    def add_providers(self, providers: t.Iterable[tuple[str, t.Callable[[], t.Any]]]) -> None:
        """:meth:`add_provider` for each (source, provider), in order.

        The garbage collector is paused meanwhile: providers make many small objects, and
        its full collections would make a large namespace take more than linear time.
        """
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for source, provider in providers:
                self.add_provider(source, provider)
        finally:
            if was_enabled:
                gc.enable()

    @contextlib.contextmanager
    def run_in_copy(self, source: str) -> t.Iterator[dict[str, t.Any]]:
        """Within the block, code runs in the copy of the namespace given; the names it
        bound are merged after it.

        For startup code: what it defines is reported as coming from ``source``. Code that
        raises is reported with its traceback (what it bound before is kept); with
        ``strict`` it ends the session.
        """
        scratch = dict(self.namespace)
        try:
            yield scratch
        except click.ClickException as e:
            if self.strict:
                raise
            self.failures.append((source, e))
            warn(f"{source}: {e.format_message()} (skipped; --strict makes this an error)")
        except Exception as e:
            if self.strict:
                raise UserCodeError(e) from None
            self.failures.append((source, e))
            warn(f"{source} raised {type(e).__name__}: {e} (the rest of it is skipped)")
            click.echo(format_user_exception(e), err=True, nl=False)
        from ..lazymodule import resolved  # `import pandas as pd` over a lazy pd rebinds nothing

        current = self.namespace
        self.add(
            source,
            {
                name: value
                for name, value in scratch.items()
                if not name.startswith("__")
                and (name not in current or resolved(current[name]) is not value)
            },
        )

    def build(self) -> Namespace:
        """The merged namespace."""
        return self.namespace


def namespace_builder(
    adapter: AppAdapter,
    providers: t.Sequence[tuple[str, t.Callable[[], t.Any]]],
    *,
    runner: t.Any = None,
    defaults: t.Mapping[str, t.Any] | None = None,
    profile: Profile | None = None,
    strict: bool = False,
    models: t.Sequence[type] = (),
) -> ContextBuilder:
    """A builder holding the sources of DESIGN.md's order merged, up to the profile's
    imports: the profile's startup code, run by the session on its loop, comes last
    (:meth:`ContextBuilder.run_in_copy`, :func:`compile_startup`).

    :param adapter: the app's adapter; the app context must be active, since its shell
        context is read inside it.
    :param providers: (source, provider) pairs, ``@group.shell_context`` functions and the
        ``appshell.shell_context`` entry points, in order.
    :param runner: the in-shell command runner, added among the defaults as ``cli``.
    :param defaults: more names of the ``default`` source (the session's ``client``).
    :param profile: whose ``imports`` come next.
    :param strict: a provider, import or startup code that raises ends the session.
    :param models: the ORM's model classes, merged after the adapter's shell context.
    """
    builder = ContextBuilder(strict=strict)
    names = adapter.default_names()
    if runner is not None:
        names["cli"] = runner
    names.update(defaults or {})
    builder.add("default", names)
    builder.add_provider("adapter", adapter.shell_context)
    if models:
        builder.add_models(models)
    builder.add_providers(providers)
    if profile is not None:
        source = f"profile:{profile.name}"
        # A whole module is imported on first use, unless --strict or eager_imports.
        lazy = None if strict else builder.namespace
        entries = [(spec, False, lazy) for spec in profile.imports]
        entries += [(spec, False, None) for spec in profile.eager_imports]
        entries += [(spec, True, lazy) for spec in profile.optional_imports]
        if entries:  # a profile without imports never needs importspec
            from ..importspec import profile_importer

        for spec, optional, home in entries:
            builder.add_provider(
                source, profile_importer(spec, optional=optional, source=source, home=home)
            )
    return builder


def compile_startup(entry: str, profile: str) -> CodeType:
    """One entry of a profile's ``startup`` (a file, or code), compiled; it may await.

    :raises ProfileImportError: the startup file does not exist.
    """
    import ast

    if is_startup_file(entry):
        if not os.path.isfile(entry):
            raise ProfileImportError(
                f"the startup file {entry!r} of profile {profile!r} does not exist"
            )
        with open(entry, "rb") as f:
            source, filename = f.read().decode("utf-8"), entry
    else:
        source, filename = entry, f"<profile {profile} startup>"
    code: CodeType = compile(
        source, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    return code
