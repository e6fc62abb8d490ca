"""The context builder: merge order, override reporting, failing providers, provenance."""

from __future__ import annotations

import collections
import subprocess
import sys
import typing as t

import pytest

from appshell.exceptions import UserCodeError
from appshell.shell.context import ContextBuilder, Namespace, ProviderError


class Model:
    pass


def provenance(namespace: Namespace) -> dict[str, tuple[str, list[str]]]:
    """name -> (source, overrides), as --print-context reports them."""
    return {n: (b.source, b.overrides) for n, b in namespace.provenance.items()}


# -- merge order and overrides ----------------------------------------------------------------


def test_sources_merge_in_order_later_wins() -> None:
    builder = ContextBuilder()
    builder.add("default", {"app": "the app", "x": 1})
    builder.add("adapter", {"x": 2, "db": "adapter db"})
    builder.add_provider("provider:models", lambda: {"x": 3, "User": Model})
    builder.add("startup", {"y": 4})
    namespace = builder.build()

    assert dict(namespace) == {"app": "the app", "x": 3, "db": "adapter db", "User": Model, "y": 4}
    assert provenance(namespace) == {
        "app": ("default", []),
        "x": ("provider:models", ["default", "adapter"]),
        "db": ("adapter", []),
        "User": ("provider:models", []),
        "y": ("startup", []),
    }


shared = Model()


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (shared, shared, ("default", [])),
        ("text", "text", ("default", [])),
        ([1], [1], ("adapter", ["default"])),
        (Model(), Model(), ("adapter", ["default"])),
        (None, 0, ("adapter", ["default"])),
    ],
    ids=["same-object", "same-interned-str", "equal-list", "another-instance", "falsy"],
)
def test_only_a_different_object_is_an_override(
    first: object, second: object, expected: tuple[str, list[str]]
) -> None:
    # Flask's make_shell_context() returns app and g again: that is no override.
    builder = ContextBuilder()
    builder.add("default", {"name": first})
    builder.add("adapter", {"name": second})
    namespace = builder.build()
    assert namespace["name"] is second
    assert provenance(namespace)["name"] == expected


def test_identical_rebinding_keeps_earlier_overrides() -> None:
    db = object()
    builder = ContextBuilder()
    builder.add("default", {"db": object()})
    builder.add("adapter", {"db": db})
    builder.add("provider:models", {"db": db})
    assert provenance(builder.build())["db"] == ("adapter", ["default"])


# -- providers ----------------------------------------------------------------------------------


def test_raising_provider_is_reported_by_name_and_skipped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = RuntimeError("database is down")

    def broken() -> dict[str, t.Any]:
        raise error

    builder = ContextBuilder()
    builder.add("default", {"app": "the app"})
    builder.add_provider("provider:models", broken)
    builder.add_provider("provider:helpers", lambda: {"now": "later"})
    namespace = builder.build()

    assert dict(namespace) == {"app": "the app", "now": "later"}
    assert builder.failures == [("provider:models", error)]
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert "provider:models" in lines[0]
    assert "RuntimeError: database is down" in lines[0]
    assert "--strict" in lines[0]


def test_raising_provider_with_strict_is_a_user_code_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = KeyError("SECRET_KEY")

    def broken() -> dict[str, t.Any]:
        raise error

    builder = ContextBuilder(strict=True)
    with pytest.raises(UserCodeError) as info:
        builder.add_provider("provider:models", broken)
    assert info.value.exit_code == 1
    assert info.value.original is error
    assert builder.failures == []
    # Still reported by name before the traceback, so the user knows which provider it was.
    assert capsys.readouterr().err.splitlines() == [
        "appshell: shell context provider:models raised KeyError: 'SECRET_KEY'"
    ]


@pytest.mark.parametrize(
    ("returned", "type_name"),
    [
        (["a", "b"], "list"),
        ("names", "str"),
        ((("a", 1),), "tuple"),
        (42, "int"),
    ],
    ids=["list", "str", "pairs", "int"],
)
@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_provider_returning_a_non_mapping_is_an_error_naming_it(
    returned: object, type_name: str, strict: bool
) -> None:
    builder = ContextBuilder(strict=strict)
    with pytest.raises(ProviderError) as info:
        builder.add_provider("provider:models", lambda: returned)
    message = info.value.format_message()
    assert "provider:models" in message
    assert repr(type_name) in message
    assert "mapping" in message
    assert info.value.exit_code == 1
    assert dict(builder.build()) == {}


def test_provider_may_return_any_mapping() -> None:
    builder = ContextBuilder()
    builder.add_provider("provider:counts", lambda: collections.Counter(a=1))
    namespace = builder.build()
    assert dict(namespace) == {"a": 1}
    assert namespace.by_source() == {"provider:counts": ["a"]}


def test_provider_returning_none_is_an_error_naming_it() -> None:
    builder = ContextBuilder()
    with pytest.raises(ProviderError, match=r"provider:nothing returned None"):
        builder.add_provider("provider:nothing", lambda: None)


def test_non_string_keys_are_reported_and_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    class User:
        pass

    builder = ContextBuilder()
    builder.add_provider("provider:models", lambda: {User: User, "db": 1, 3: "three"})
    assert dict(builder.build()) == {"db": 1}
    err = capsys.readouterr().err
    assert "provider:models gave the key" in err
    assert "'User'" in err
    assert "3 (an 'int')" in err


# -- what --print-context and the banner read ----------------------------------------------------


def test_by_source_groups_names_in_merge_order_sorted() -> None:
    builder = ContextBuilder()
    builder.add("default", {"app": 1, "g": 2})
    builder.add("adapter", {"zeta": 3, "Alpha": 4, "beta": 5})
    builder.add("provider:models", {"User": 6, "g": 7})
    builder.add("startup", {"Zed": 8})
    # The order is the merge order even though provider:models overrode a default name
    # before the adapter's names came.
    assert list(builder.build().by_source().items()) == [
        ("default", ["app"]),
        ("adapter", ["Alpha", "beta", "zeta"]),
        ("provider:models", ["g", "User"]),
        ("startup", ["Zed"]),
    ]


def test_describe_gives_name_source_type_overrides_sorted_by_name() -> None:
    builder = ContextBuilder()
    builder.add("default", {"app": Model(), "json": "not the module"})
    builder.add("profile:dev", {"json": collections, "count": 3, "Model": Model})
    assert builder.build().describe() == [
        {"name": "app", "source": "default", "type": f"{__name__}.Model", "overrides": []},
        {"name": "count", "source": "profile:dev", "type": "int", "overrides": []},
        {"name": "json", "source": "profile:dev", "type": "module", "overrides": ["default"]},
        {
            "name": "Model",
            "source": "profile:dev",
            "type": f"class {__name__}.Model",
            "overrides": [],
        },
    ]


def test_namespace_is_a_plain_dict_for_the_repl() -> None:
    builder = ContextBuilder()
    builder.add("default", {"app": 1})
    namespace = builder.build()
    assert isinstance(namespace, dict)
    assert eval("app + 1", namespace) == 2


def test_importing_the_context_builder_imports_no_repl() -> None:
    code = (
        "import sys, appshell.shell.context\n"
        "print(sorted(m for m in ('IPython', 'ptpython', 'prompt_toolkit') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[]\n"
