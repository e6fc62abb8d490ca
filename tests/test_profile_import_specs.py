"""A profile's ``imports`` entry of the wrong shape gets the message that shows the shapes,
whatever the shape's mistake, through the real command."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from .conftest import Result

Run = t.Callable[..., Result]


@pytest.mark.parametrize(
    "spec",
    ["json as", "..relative", ".json", "json:", "json as x y", "pathlib:*:Path"],
    ids=[
        "as-without-alias",
        "relative",
        "one-dot",
        "colon-without-name",
        "two-aliases",
        "two-colons",
    ],
)
def test_a_malformed_import_spec_gets_the_format_message(
    run_appshell: Run, tmp_path: Path, spec: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.appshell.profiles.team]\nimports = ["{spec}", "json as j"]\n'
    )
    result = run_appshell(
        "--app", "appshell.demo", "shell", "--profile", "team", "-c", "print(j.dumps([1]))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[1]\n"
    assert f"{spec!r} is not an import spec: use 'module', 'module as alias'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "TypeError" not in result.stderr
    assert "No module named" not in result.stderr


def test_well_formed_specs_still_import(run_appshell: Run, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.appshell.profiles.team]\n"
        'imports = [" json ", "os.path as osp", "pathlib:Path", "datetime:date as d",'
        ' "string:*"]\n'
    )
    code = "print(json.dumps(1), osp.join('a', 'b'), Path.__name__, d.__name__, ascii_letters[:3])"
    result = run_appshell(
        "--app", "appshell.demo", "shell", "--profile", "team", "--strict", "-c", code
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "a/b", "Path", "date", "abc"]
