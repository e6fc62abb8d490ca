"""appshell names the framework the user has, whichever it is: ``--version`` in a project's
folder, ``flask shell --help`` speaking of ``flask shell``, a FastAPI app's ``title``."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from .conftest import Result, _clean_environ

Run = t.Callable[..., Result]


@pytest.mark.parametrize(
    ("files", "framework", "dist"),
    [
        ({"manage.py": "", "mysite/__init__.py": ""}, "Django", "django"),
        ({"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}, "FastAPI", "fastapi"),
        ({"app.py": "from quart import Quart\napp = Quart(__name__)\n"}, "Quart", "quart"),
        ({"app.py": "from litestar import Litestar\napp = Litestar()\n"}, "Litestar", "litestar"),
    ],
    ids=["django", "fastapi", "quart", "litestar"],
)
def test_version_names_the_projects_framework(
    run_appshell: Run, tmp_path: Path, files: dict[str, str], framework: str, dist: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    result = run_appshell("--version")
    assert result.returncode == 0, result.stderr
    assert f"{framework} {importlib.metadata.version(dist)}" in result.stdout.splitlines()


def test_flask_shell_help_speaks_of_flask_shell(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "hello", "shell", "--help"],
        cwd=tmp_path,
        env=_clean_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: flask shell [OPTIONS] [FILE] [ARGS]...")
    assert "appshell shell" not in result.stdout


FASTAPI_APP = 'from fastapi import FastAPI\napp = FastAPI(title="Shop API")\n'


def test_a_fastapi_apps_banner_names_its_title(run_appshell: Run, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(FASTAPI_APP)
    result = run_appshell("--app", "main:app", "shell", "--repl", "python", "-i", input="")
    assert result.returncode == 0, result.stderr
    assert "App: Shop API (main:app)" in result.stdout + result.stderr


def _install_kernel(run_appshell: Run, project: Path, data: Path, *app: str) -> str:
    result = run_appshell(
        *app, "kernel", "install", cwd=project, env={"JUPYTER_DATA_DIR": str(data)}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_fastapi_kernels_display_name_is_its_title(run_appshell: Run, tmp_path: Path) -> None:
    pytest.importorskip("jupyter_client")
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "main.py").write_text(FASTAPI_APP)
    out = _install_kernel(run_appshell, shop, tmp_path / "jupyter", "--app", "main:app")
    assert out.startswith("Installed the kernel 'appshell-shop-shop-api' (appshell: Shop API)")


def test_each_project_gets_its_own_kernel_name(run_appshell: Run, tmp_path: Path) -> None:
    pytest.importorskip("jupyter_client")
    data = tmp_path / "jupyter"
    projects = [tmp_path / "shop", tmp_path / "blog", tmp_path / "elsewhere" / "shop"]
    for project in projects:
        # Laid out as many projects are: the app is `app`, in the package `app`.
        (project / "app").mkdir(parents=True)
        (project / "app" / "__init__.py").write_text(
            "from flask import Flask\napp = Flask(__name__)\n"
        )
    outputs = [_install_kernel(run_appshell, project, data, "--app", "app") for project in projects]
    names = [out.split("'")[1] for out in outputs]
    assert names[:2] == ["appshell-shop-app", "appshell-blog-app"]
    # Another project in a folder of the same name gets a name of its own too.
    assert names[2].startswith("appshell-shop-app-")
    assert names[2] != names[0]
    kernels = {
        name: json.loads((data / "kernels" / name / "kernel.json").read_text()) for name in names
    }
    assert [k["env"]["APPSHELL_KERNEL_PROJECT_DIR"] for k in kernels.values()] == [
        str(project) for project in projects
    ]
    # Installing again in the first project updates its kernel, under the same name.
    again = _install_kernel(run_appshell, projects[0], data, "--app", "app")
    assert again.split("'")[1] == names[0]
