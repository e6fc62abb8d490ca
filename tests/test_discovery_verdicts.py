"""What discovery says about a name that exists but is not an app: the same verdict whether
the module was searched (``--app mod``) or the name was given (``--app mod:app``)."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from .conftest import Result

Run = t.Callable[..., Result]


@pytest.mark.parametrize(
    ("source", "name", "kind"),
    [("app = 42\n", "app", "an int"), ('application = "x"\n', "application", "a str")],
    ids=["app-int", "application-str"],
)
def test_a_name_that_is_not_an_app_is_named(
    run_appshell: Run, tmp_path: Path, source: str, name: str, kind: str
) -> None:
    (tmp_path / "wrong.py").write_text(source)
    searched = run_appshell("--app", "wrong", "shell", "-c", "print('ran')")
    named = run_appshell("--app", f"wrong:{name}", "shell", "-c", "print('ran')")
    for result in (searched, named):
        assert result.returncode == 2
        assert "ran" not in result.stdout
        assert f"is {kind}, not an app that appshell knows" in result.stderr
        assert "Traceback" not in result.stderr
    assert f"In module 'wrong', {name!r} is {kind}" in searched.stderr
    assert "Found no app" not in searched.stderr


def test_a_factory_still_wins_over_a_name_that_is_not_an_app(
    run_appshell: Run, tmp_path: Path
) -> None:
    (tmp_path / "withfactory.py").write_text(
        "app = 42\n\ndef create_app():\n    def wsgi(environ, start_response):\n"
        "        return []\n    return wsgi\n"
    )
    result = run_appshell("--app", "withfactory", "shell", "-c", "print(app.__name__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "wsgi"


def test_a_function_named_app_gets_one_verdict(run_appshell: Run, tmp_path: Path) -> None:
    (tmp_path / "lam.py").write_text("app = lambda: None\n")
    searched = run_appshell("--app", "lam", "shell", "-c", "print('ran')")
    named = run_appshell("--app", "lam:app", "shell", "-c", "print('ran')")
    assert searched.returncode == named.returncode == 2
    assert searched.stderr == named.stderr
    assert "'app' in module 'lam' returned None, not an app" in searched.stderr
    assert "ran" not in searched.stdout


def test_a_sync_function_with_asgi_parameters_is_told_async(
    run_appshell: Run, tmp_path: Path
) -> None:
    (tmp_path / "notasync.py").write_text("def app(scope, receive, send):\n    pass\n")
    for given in ("notasync", "notasync:app"):
        result = run_appshell("--app", given, "shell", "-c", "print('ran')")
        assert result.returncode == 2
        assert "ran" not in result.stdout
        assert "an ASGI app is an 'async def'" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_wsgi_function_named_app_is_still_found(run_appshell: Run, tmp_path: Path) -> None:
    (tmp_path / "wsgifunc.py").write_text("def app(environ, start_response):\n    return []\n")
    result = run_appshell("--app", "wsgifunc", "shell", "-c", "print(app.__name__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "app"


def test_a_factory_with_three_parameters_is_not_told_async(
    run_appshell: Run, tmp_path: Path
) -> None:
    (tmp_path / "threeargs.py").write_text("def create_app(a, b, c):\n    pass\n")
    result = run_appshell("--app", "threeargs:create_app", "shell", "-c", "print('ran')")
    assert result.returncode == 2
    assert "could not be called with no arguments" in result.stderr
    assert "async" not in result.stderr
