"""``appshell profiles`` with a broken profile file: the good profiles are still listed, the
broken file is named, and the exit code is 2 (an invalid profile, as DESIGN.md says)."""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

from .conftest import Result

Run = t.Callable[..., Result]


def test_profiles_lists_the_good_ones_and_names_the_broken_ones(
    run_appshell: Run, tmp_path: Path
) -> None:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "appshell" / "profiles"
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text('description = "my own taste"\n')
    wrong_type = folder / "wrongtype.toml"
    wrong_type.write_text("banner = 'sometimes'\n")
    not_toml = folder / "nottoml.toml"
    not_toml.write_text("banner = \n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.appshell.profiles.team]\ndescription = "the team\'s"\n'
        "[tool.appshell.profiles.typo]\nbaner = true\n"
    )

    result = run_appshell("profiles")

    assert result.returncode == 2
    listed = [line.split()[0] for line in result.stdout.splitlines() if not line[:1].isspace()]
    assert listed == ["data", "default", "dev", "mine", "minimal", "team"]
    assert "my own taste" in result.stdout
    assert "the team's" in result.stdout
    assert f"In {wrong_type}: 'banner' must be true or false" in result.stderr
    assert f"{str(not_toml)!r} is not valid TOML" in result.stderr
    assert "[tool.appshell.profiles.typo]: unknown key 'baner'" in result.stderr
    assert "left out of the list" in result.stderr
    assert "Traceback" not in result.stderr


def test_profiles_with_nothing_broken_is_exit_0(run_appshell: Run) -> None:
    result = run_appshell("profiles")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "default" in result.stdout
