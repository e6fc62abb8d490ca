"""``appshell run`` and ``cli.run(background=True)`` serving a Django project."""

from __future__ import annotations

import typing as t
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import Result
from tests.test_run import _start, _stop_and_read

pytestmark = pytest.mark.slow

RunAppshell = t.Callable[..., Result]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_run_serves_the_project_and_its_static_files(django_project: Path) -> None:
    proc, url = _start(["run", "--port", "0"], django_project, {})
    try:
        assert _get(url + "/") == (200, b"hello from mysite")
        # DEBUG is on: django.contrib.staticfiles' files are served, as runserver does.
        status, body = _get(url + "/static/admin/css/base.css")
        assert status == 200
        assert b"{" in body
    finally:
        log = _stop_and_read(proc)
    assert '"GET / HTTP/1.1" 200' in log


def test_without_debug_no_static_files(django_project: Path) -> None:
    settings = django_project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "DEBUG = False\n")
    proc, url = _start(["run", "--port", "0"], django_project, {})
    try:
        assert _get(url + "/")[0] == 200
        with pytest.raises(urllib.error.HTTPError) as failed:
            _get(url + "/static/admin/css/base.css")
        assert failed.value.code == 404
        failed.value.close()
    finally:
        _stop_and_read(proc)


def test_a_background_server_from_the_prompt(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    code = "\n".join(
        [
            "import urllib.request",
            "server = cli.run(background=True, port=0)",
            "print(urllib.request.urlopen(server.url + '/blog/').read().decode())",
            "server.stop()",
        ]
    )
    assert run_appshell("migrate", "--noinput").returncode == 0
    result = run_appshell("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == '{"posts": []}'


BOOM_URLS = """
from django.urls import path


def boom(request):
    return 1 / 0


urlpatterns += [path("boom/", boom)]
"""


def test_the_debugger_shows_a_failing_view_on_loopback(django_project: Path) -> None:
    urls = django_project / "mysite" / "urls.py"
    urls.write_text(urls.read_text() + BOOM_URLS)
    proc, url = _start(["run", "--port", "0", "--debugger"], django_project, {})
    try:
        with pytest.raises(urllib.error.HTTPError) as failed:
            _get(url + "/boom/")
        page = failed.value.read().decode()
        failed.value.close()
        # werkzeug's debugger page, not Django's own 500 page.
        assert failed.value.code == 500
        assert "Werkzeug Debugger" in page
        assert "ZeroDivisionError" in page
    finally:
        _stop_and_read(proc)


def test_the_debugger_is_refused_on_a_reachable_host(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    result = run_appshell("run", "--host", "0.0.0.0", "--debugger", cwd=django_project)
    assert result.returncode == 2
    assert "--allow-remote-debugger" in result.stderr
    assert "Traceback" not in result.stderr


def test_reload_serves_a_changed_view(django_project: Path) -> None:
    from tests.test_run_asgi import _answers_eventually

    proc, url = _start(["run", "--port", "0", "--reload"], django_project, {})
    try:
        assert _answers_eventually(url + "/", b"hello from mysite")
        views = django_project / "blog" / "views.py"
        views.write_text(views.read_text().replace("hello from mysite", "hello again"))
        assert _answers_eventually(url + "/", b"hello again")
    finally:
        _stop_and_read(proc)
