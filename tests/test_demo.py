"""The demo app that ships in the package: its model, its pages and its commands."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.test import Client

from appshell.cli import cli
from appshell.demo import DemoApp, Note, create_app, default_database, get_db


@pytest.fixture
def demo(tmp_path: Path) -> DemoApp:
    return create_app(str(tmp_path / "demo.sqlite3"))


def test_notes_live_in_the_database_of_the_active_context(demo: DemoApp) -> None:
    with demo.app_context():
        assert Note.count() == 0
        note = Note.create("first", "body")
        assert Note.get(note.id) == note
        assert Note.all() == [note]
        note.delete()
        assert Note.count() == 0


def test_the_model_needs_an_app_context(demo: DemoApp) -> None:
    with pytest.raises(RuntimeError, match="app_context"):
        Note.count()


def test_the_shell_context_is_the_database_and_the_model(demo: DemoApp) -> None:
    with demo.app_context():
        names = demo.make_shell_context()
        assert names["Note"] is Note
        assert names["db"] is get_db()


def test_pages_and_the_json_api(demo: DemoApp) -> None:
    client = Client(demo)
    created = client.post("/notes", json={"title": "hello", "body": "world"})
    assert created.status_code == 201
    note_id = created.get_json()["id"]
    assert client.get(f"/notes/{note_id}").get_json() == {
        "id": note_id,
        "title": "hello",
        "body": "world",
    }
    assert client.get("/").get_data(as_text=True).splitlines() == [
        "appshell-demo: 1 notes",
        f"{note_id}. hello",
    ]
    assert client.get("/notes/999").status_code == 404
    assert client.post("/notes", json={}).status_code == 400
    assert client.get("/health").get_data() == b"ok\n"


def test_the_request_context_carries_the_request(demo: DemoApp) -> None:
    with demo.test_request_context("/notes?x=1") as request:
        assert request.path == "/notes"
        assert request.args["x"] == "1"
        assert Note.count() == 0


def test_the_database_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("APPSHELL_DEMO_DATABASE", str(tmp_path / "x.db"))
    assert default_database() == str(tmp_path / "x.db")
    monkeypatch.delenv("APPSHELL_DEMO_DATABASE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_database() == str(tmp_path / "data" / "appshell" / "demo.sqlite3")


@pytest.mark.parametrize(
    "app_option",
    ["appshell.demo", "appshell.demo:app", "appshell.demo:create_app('{db}')"],
    ids=["module", "attribute", "factory-with-argument"],
)
def test_the_demo_commands(runner: CliRunner, tmp_path: Path, app_option: str) -> None:
    db = tmp_path / "cmd.sqlite3"
    env = {"APPSHELL_DEMO_DATABASE": str(db)}
    app = app_option.format(db=db)

    result = runner.invoke(cli, ["--app", app, "init-db"], env=env)
    assert result.exit_code == 0, result.output
    assert f"Initialized the database at {db}" in result.stdout

    result = runner.invoke(cli, ["--app", app, "seed", "--count", "5"], env=env)
    assert result.exit_code == 0, result.output
    assert "Added 5 notes; there are 5 now." in result.stdout

    demo = create_app(str(db))
    with demo.app_context():
        titles = [note.title for note in Note.all()]
    assert titles[:3] == ["Welcome", "Try the shell", "Run a command"]
    assert titles[3] == "Welcome (4)"


def test_the_demo_routes(run_appshell: t.Callable[..., t.Any], tmp_path: Path) -> None:
    env = {"APPSHELL_DEMO_DATABASE": str(tmp_path / "r.sqlite3")}
    result = run_appshell("--app", "appshell.demo", "routes", "--sort", "rule", env=env)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[2:]]
    assert [row[-1] for row in rows] == ["/", "/health", "/notes", "/notes", "/notes/<int:note_id>"]
    assert ["notes.create", "POST", "/notes"] in rows


def test_the_demo_help_lists_its_commands(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("--app", "appshell.demo", "--help")
    assert result.returncode == 0
    commands = result.stdout.split("Commands:")[1]
    for name in ("init-db", "seed", "routes", "run"):
        assert f"  {name} " in commands


def test_the_json_helper_is_json(demo: DemoApp) -> None:
    response = Client(demo).get("/notes")
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data()) == []
