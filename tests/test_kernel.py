"""``appshell kernel``: install, list, remove and complete Jupyter kernels, through the real
command. Kernels are kept in the test's folder (``JUPYTER_DATA_DIR`` for the user's,
``JUPYTER_PATH`` for others on Jupyter's path); starting one is in tests/e2e/test_notebook.py."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

pytest.importorskip("jupyter_client")

RunAppshell = t.Callable[..., t.Any]
Complete = t.Callable[..., list[str]]

APP = "from flask import Flask\napp = Flask('kapp')\n"
FOREIGN = {"argv": ["R", "--slave"], "display_name": "R 4.3", "language": "R"}


class Jupyter(t.NamedTuple):
    data: Path  # the user's kernels are in data / "kernels"
    path: Path  # another folder on Jupyter's path
    env: dict[str, str]


@pytest.fixture
def jupyter(tmp_path: Path) -> Jupyter:
    data, path = tmp_path / "jupyter-data", tmp_path / "jupyter-path"
    (tmp_path / "kapp.py").write_text(APP)
    env = {"JUPYTER_DATA_DIR": str(data), "JUPYTER_PATH": str(path)}
    return Jupyter(data, path, env)


@pytest.fixture
def kernel(run_appshell: RunAppshell, jupyter: Jupyter) -> t.Callable[..., t.Any]:
    """``appshell --app kapp kernel ARGS`` with the kernels in the test's folder."""

    def run(*args: str, env: dict[str, str] | None = None) -> t.Any:
        return run_appshell("--app", "kapp", "kernel", *args, env={**jupyter.env, **(env or {})})

    return run


def write_kernel(folder: Path, spec: dict[str, t.Any] | str) -> Path:
    folder.mkdir(parents=True)
    text = spec if isinstance(spec, str) else json.dumps(spec)
    (folder / "kernel.json").write_text(text)
    return folder


def assert_one_line_error(result: t.Any, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr


# -- install -----------------------------------------------------------------------------------


def test_install_refuses_to_replace_a_kernel_that_is_not_appshells(
    kernel: t.Callable[..., t.Any], jupyter: Jupyter
) -> None:
    folder = write_kernel(jupyter.data / "kernels" / "ir", FOREIGN)
    (folder / "logo-64x64.png").write_bytes(b"png")
    result = kernel("install", "--name", "ir")
    assert_one_line_error(result, "'ir'", str(folder), "--replace")
    assert json.loads((folder / "kernel.json").read_text()) == FOREIGN
    assert (folder / "logo-64x64.png").exists()


def test_install_refuses_a_name_taken_elsewhere_on_jupyters_path(
    kernel: t.Callable[..., t.Any], jupyter: Jupyter
) -> None:
    folder = write_kernel(jupyter.path / "kernels" / "ir", FOREIGN)
    assert_one_line_error(kernel("install", "--name", "ir"), "'ir'", str(folder))
    assert not (jupyter.data / "kernels" / "ir").exists()


def test_install_with_replace_replaces_a_kernel_that_is_not_appshells(
    kernel: t.Callable[..., t.Any], jupyter: Jupyter
) -> None:
    folder = write_kernel(jupyter.data / "kernels" / "ir", FOREIGN)
    (folder / "logo-64x64.png").write_bytes(b"png")
    result = kernel("install", "--name", "ir", "--replace")
    assert result.returncode == 0, result.stderr
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["env"]["APPSHELL_KERNEL_APP"] == "kapp"
    assert not (folder / "logo-64x64.png").exists()  # the R kernel's logo is not ours


def test_installing_again_updates_the_kernel_and_keeps_the_users_files(
    kernel: t.Callable[..., t.Any], jupyter: Jupyter
) -> None:
    assert kernel("install", "--name", "mine").returncode == 0
    folder = jupyter.data / "kernels" / "mine"
    (folder / "logo-64x64.png").write_bytes(b"my logo")
    result = kernel("install", "--name", "mine", "--display-name", "Mine, again")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Installed the kernel 'mine' (Mine, again) in {folder}\n"
    assert (folder / "logo-64x64.png").read_bytes() == b"my logo"
    assert json.loads((folder / "kernel.json").read_text())["display_name"] == "Mine, again"


def test_install_into_a_folder_that_cannot_be_written_is_one_line(
    kernel: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    # A file where the kernels folder would be: refused even to root, unlike a chmod.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    result = kernel("install", "--name", "mine", env={"JUPYTER_DATA_DIR": str(blocker)})
    assert_one_line_error(result, "Cannot write the kernel", str(blocker))


def test_install_refuses_user_and_sys_prefix_together(
    kernel: t.Callable[..., t.Any], jupyter: Jupyter
) -> None:
    result = kernel("install", "--name", "mine", "--user", "--sys-prefix")
    assert result.returncode == 2, result.stderr
    assert "--user and --sys-prefix" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (jupyter.data / "kernels" / "mine").exists()


# -- list and remove, with a broken kernel on the path ---------------------------------------


@pytest.fixture
def broken(jupyter: Jupyter) -> Path:
    """Another program's kernel whose kernel.json is not JSON, on Jupyter's path."""
    return write_kernel(jupyter.path / "kernels" / "half-written", '{"argv": ["x"')


def test_list_reports_a_broken_kernel_and_lists_the_rest(
    kernel: t.Callable[..., t.Any], jupyter: Jupyter, broken: Path
) -> None:
    assert kernel("install", "--name", "mine").returncode == 0
    result = kernel("list")
    assert result.returncode == 0, result.stderr
    folder = jupyter.data / "kernels" / "mine"
    assert result.stdout.split() == ["mine", "appshell:", "kapp", "app=kapp", str(folder)]
    (warning,) = result.stderr.splitlines()
    assert "'half-written'" in warning
    assert str(broken / "kernel.json") in warning


def test_remove_works_beside_a_broken_kernel(
    kernel: t.Callable[..., t.Any], jupyter: Jupyter, broken: Path
) -> None:
    assert kernel("install", "--name", "mine").returncode == 0
    result = kernel("remove", "mine")
    assert result.returncode == 0, result.stderr
    assert "Removed the kernel 'mine'" in result.stdout
    assert not (jupyter.data / "kernels" / "mine").exists()
    assert broken.exists()
    assert "'half-written'" in result.stderr

    missing = kernel("remove", "mine")
    assert missing.returncode == 2
    assert "No appshell kernel called 'mine'" in missing.stderr


def test_remove_refuses_a_kernel_that_is_not_appshells(
    kernel: t.Callable[..., t.Any], jupyter: Jupyter
) -> None:
    folder = write_kernel(jupyter.data / "kernels" / "ir", FOREIGN)
    assert_one_line_error(kernel("remove", "ir"), "No appshell kernel called 'ir'")
    assert folder.exists()


# -- completion --------------------------------------------------------------------------------


def test_kernel_remove_completes_the_appshell_kernels(
    complete: Complete, kernel: t.Callable[..., t.Any], jupyter: Jupyter, broken: Path
) -> None:
    for name in ("kapp-one", "kapp-two", "other"):
        assert kernel("install", "--name", name).returncode == 0
    write_kernel(jupyter.data / "kernels" / "kapp-r", FOREIGN)
    words = "appshell kernel remove kapp"
    assert complete(words, env=jupyter.env) == ["plain,kapp-one", "plain,kapp-two"]
    everything = complete("appshell kernel remove ", env=jupyter.env)
    assert everything == ["plain,kapp-one", "plain,kapp-two", "plain,other"]


def test_kernel_install_profile_completes_the_profiles(
    complete: Complete, tmp_path: Path, jupyter: Jupyter
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.appshell.profiles.deploy]\n")
    words = "appshell kernel install --profile d"
    assert complete(words, env=jupyter.env) == [
        "plain,data", "plain,default", "plain,deploy", "plain,dev"
    ]  # fmt: skip
