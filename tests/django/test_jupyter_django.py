"""A Django project in a real Jupyter kernel (nbclient): every cell runs inside the kernel's
running event loop, so appshell allows Django's async-unsafe calls around each cell only,
while the project is attached, and ``appshell kernel install`` records the project."""

from __future__ import annotations

import json
import sqlite3
import typing as t
from pathlib import Path

import pytest

from tests.conftest import Result
from tests.django.test_async import migrated_database, project  # noqa: F401

pytestmark = pytest.mark.slow

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

from tests.e2e.test_notebook import assert_no_errors, run_cells  # noqa: E402

UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


@pytest.fixture(autouse=True)
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Kernels start with this process's environment: their files in the test's folder."""
    jupyter = tmp_path / "jupyter"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(jupyter))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(jupyter / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv(UNSAFE, raising=False)
    return jupyter


#: A callback run after each cell, registered after appshell's: what it sees is what the
#: next cell starts with.
WATCH_AFTER_CELLS = f"""\
import os
after_cells = []
get_ipython().events.register(
    "post_run_cell", lambda result: after_cells.append(os.environ.get({UNSAFE!r}))
)
"""


def test_a_notebook_on_a_django_project(project: Path) -> None:  # noqa: F811
    outputs = run_cells(
        WATCH_AFTER_CELLS,
        "%load_ext appshell",
        "%appshell --app mysite.settings",
        "from blog.models import Post as P\nPost.objects.create(title='in a cell')\n"
        "Post.objects.count()",
        "await Post.objects.acreate(title='awaited')\nawait Post.objects.acount()",
        "greet('notebook'), os.environ.get('DJANGO_ALLOW_ASYNC_UNSAFE')",
        # A value the user sets stays theirs, and comes back after each cell.
        f"os.environ[{UNSAFE!r}] = 'mine'",
        f"os.environ[{UNSAFE!r}]",
        f"del os.environ[{UNSAFE!r}]",
        "%appshell --detach",
        "P.objects.count()",
        "after_cells",
        folder=project,
    )
    (
        watch,
        _load,
        attach,
        sync,
        awaited,
        inside,
        mine,
        during,
        unset,
        detach,
        detached,
        seen,
    ) = outputs
    assert_no_errors([watch, _load, attach, sync, awaited, inside, mine, during, unset, detach])
    assert "attached mysite" in attach.text
    assert sync.text == "1"
    assert awaited.text == "2"
    assert inside.text == "('hello, notebook', 'true')"
    assert during.text == "'true'"
    assert "detached mysite" in detach.stdout
    # Detached: Django refuses a synchronous call in the kernel's loop, as it does anywhere.
    assert [e.ename for e in detached.errors] == ["SynchronousOnlyOperation"]
    # After every cell the variable is as it was before, attached or not.
    assert seen.text == str([None] * 6 + ["mine", "mine"] + [None] * 3)


def test_kernel_install_records_the_django_project(
    project: Path,  # noqa: F811
    tmp_path: Path,
    kernel_env: Path,
    run_appshell: t.Callable[..., Result],
) -> None:
    installed = run_appshell(
        "--app", "mysite.settings", "kernel", "install", "--name", "appshell-django", cwd=project
    )
    assert installed.returncode == 0, installed.stderr
    where = kernel_env / "kernels" / "appshell-django"
    assert installed.stdout == (
        f"Installed the kernel 'appshell-django' (appshell: mysite) in {where}\n"
    )
    spec = json.loads((where / "kernel.json").read_text())
    assert spec["env"]["APPSHELL_KERNEL_APP"] == "mysite.settings"
    assert spec["env"]["APPSHELL_KERNEL_PROJECT_DIR"] == str(project)

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    first, second = run_cells(
        "Post.objects.create(title='from the kernel')\nPost.objects.count(), greet('kernel')",
        "await Post.objects.acount()",
        folder=notebooks,
        kernel_name="appshell-django",
    )
    assert_no_errors([first, second])
    assert first.text == "(1, 'hello, kernel')"
    assert second.text == "1"


ASYNC_VIEW = """

async def post_count(request):
    return JsonResponse({"posts": await Post.objects.acount()})
"""


def test_the_client_requests_an_async_view_in_a_notebook(project: Path) -> None:  # noqa: F811
    with (project / "blog" / "views.py").open("a") as views:
        views.write(ASYNC_VIEW)
    urls = project / "blog" / "urls.py"
    urls.write_text(
        urls.read_text().replace(
            "urlpatterns = [\n", 'urlpatterns = [\n    path("count/", views.post_count),\n'
        )
    )
    outputs = run_cells(
        "%load_ext appshell",
        "%appshell --app mysite.settings --sandbox",
        "Post.objects.create(title='in the sandbox')\n"
        "r = client.get('/blog/count/')\nr.status_code, r.json()",
        "r = client.get('/blog/')\nr.status_code",
        "%appshell --detach",
        folder=project,
    )
    assert_no_errors(outputs)
    _load, _attach, counted, listed, detach = outputs
    # As in the shell: the async view runs, and sees the session's (sandboxed) database.
    assert counted.text == "(200, {'posts': 1})"
    assert listed.text == "200"
    assert detach.stderr.startswith("appshell: Sandbox: rolled back")
    with sqlite3.connect(project / "db.sqlite3") as db:
        assert db.execute("select count(*) from blog_post").fetchone() == (0,)
