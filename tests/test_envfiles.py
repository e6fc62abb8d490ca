"""Env files that are not text: a default ``.env``/``.flaskenv`` (here or in a folder above)
that is not UTF-8 is one warning naming it, and the command runs; the file given with
``--env-file`` is exit code 2 naming it. The rest of the env-file behaviour (precedence,
python-dotenv missing, malformed lines) is in test_cli.py."""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

import pytest

from appshell.envfiles import EnvFileError, load_dotenv

RunAppshell = t.Callable[..., t.Any]

APP = "from flask import Flask\napp = Flask('envapp')\n"
PRINT_VARS = "import os; print(os.environ.get('FROM_ENV'), os.environ.get('FROM_FLASKENV'))"

NOT_UTF8 = [
    pytest.param("FROM_ENV=utf16\n".encode("utf-16"), "UTF-16", id="utf-16-powershell"),
    pytest.param("FROM_ENV=café\n".encode("utf-16-le"), "NUL", id="utf-16-without-bom"),
    pytest.param("FROM_ENV=café\n".encode("latin-1"), "not UTF-8", id="latin-1"),
]


@pytest.fixture
def app_folder(tmp_path: Path) -> Path:
    """A folder two below the project root, with the app in it."""
    folder = tmp_path / "project" / "sub"
    folder.mkdir(parents=True)
    (folder / "envapp.py").write_text(APP)
    return folder


@pytest.mark.parametrize(("content", "why"), NOT_UTF8)
@pytest.mark.parametrize("where", ["here", "above"])
def test_a_default_env_file_that_is_not_utf8_is_a_warning_and_the_command_runs(
    run_appshell: RunAppshell, app_folder: Path, content: bytes, why: str, where: str
) -> None:
    env_file = (app_folder if where == "here" else app_folder.parent) / ".env"
    env_file.write_bytes(content)
    (app_folder.parent / ".flaskenv").write_text("FROM_FLASKENV=flaskenv\n")

    result = run_appshell("--app", "envapp", "shell", "-c", PRINT_VARS, cwd=app_folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "None flaskenv\n"
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("appshell: ignoring ")
    assert ".env" in warning
    assert why in warning

    helped = run_appshell("--help", cwd=app_folder)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: ")
    assert "Traceback" not in helped.stderr
    assert len(helped.stderr.splitlines()) == 1, helped.stderr


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe", id="binary"),
        pytest.param("A=café\n".encode("latin-1"), id="latin-1"),
        pytest.param("A=1\n".encode("utf-16"), id="utf-16"),
    ],
)
@pytest.mark.parametrize("args", [["--help"], ["--app", "envapp", "shell", "-c", "print(1)"]])
def test_an_env_file_option_that_is_not_text_is_exit_2_naming_it(
    run_appshell: RunAppshell, app_folder: Path, content: bytes, args: list[str]
) -> None:
    (app_folder / "settings.env").write_bytes(content)
    result = run_appshell("--env-file", "settings.env", *args, cwd=app_folder)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "'settings.env'" in result.stderr
    assert "--env-file" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_utf8_env_file_with_a_bom_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOM_VAR", raising=False)
    (tmp_path / ".env").write_bytes("BOM_VAR=é\n".encode("utf-8-sig"))
    assert load_dotenv() is True
    assert os.environ.pop("BOM_VAR") == "é"


def test_load_dotenv_raises_env_file_error_for_the_file_given(tmp_path: Path) -> None:
    (tmp_path / "given.env").write_bytes(b"\xff\xfeA\x00")
    with pytest.raises(EnvFileError, match=r"given\.env") as caught:
        load_dotenv(tmp_path / "given.env", load_defaults=False)
    assert caught.value.exit_code == 2
