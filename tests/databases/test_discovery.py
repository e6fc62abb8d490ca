"""Finding an app's databases and models, through the real command, on apps the tests write:
Flask-SQLAlchemy 3 with two binds, a plain SQLAlchemy app with its own sessionmaker and two
same-named models, FastAPI with an asyncio engine in app.state or at module level."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from ..test_imports import modules_after
from .dbapps import records, standin_env, tool_log, write_apps

if t.TYPE_CHECKING:
    from ..conftest import Result

Run = t.Callable[..., "Result"]


def _context(run_appshell: Run, tmp_path: Path, app: str, *args: str) -> dict[str, t.Any]:
    write_apps(tmp_path)
    return records(
        run_appshell(
            "--app", app, "shell", *args, "--print-context", "--json", env=standin_env(tmp_path)
        )
    )


def test_flask_sqlalchemy_binds_are_found_and_its_models_not_repeated(
    run_appshell: Run, tmp_path: Path
) -> None:
    names = _context(run_appshell, tmp_path, "fsa:create_app")
    databases = names["sql"]["databases"]
    assert [(db["name"], db["dialect"], db["async"]) for db in databases] == [
        ("default", "sqlite", False),
        ("audit", "sqlite", False),
    ]
    assert databases[0]["url"].endswith("main.sqlite3")
    assert databases[1]["url"].endswith("audit.sqlite3")
    # Flask-SQLAlchemy's shell context gave db and the models: not added twice, no alias.
    assert names["User"]["source"] == names["Event"]["source"] == "adapter"
    assert names["User"]["overrides"] == []
    assert not [r for r in names.values() if r["source"] == "models" or "collision" in r]
    assert names["sql"]["source"] == "default"


def test_same_named_models_are_both_reachable_and_the_collision_reported(
    run_appshell: Run, tmp_path: Path
) -> None:
    names = _context(run_appshell, tmp_path, "plain:app")
    assert names["User"]["type"] == "class plain.User"  # the first registered
    assert names["shop_models_User"]["type"] == "class shop.models.User"
    assert "shop.models.User" in names["shop_models_User"]["collision"]
    assert names["Order"]["source"] == "models"
    assert names["sql"]["databases"][0]["name"] == "default"

    listing = run_appshell(
        "--app", "plain:app", "shell", "--print-context", env=standin_env(tmp_path)
    )
    assert "Model name collisions:" in listing.stdout
    assert "shop_models_User: shop.models.User" in listing.stdout
    assert "plain.sqlite3" in listing.stdout

    used = run_appshell(
        "--app",
        "plain:app",
        "shell",
        "-c",
        "print(User.__module__, shop_models_User.__module__, Order.__tablename__)",
        env=standin_env(tmp_path),
    )
    assert used.stdout.split() == ["plain", "shop.models", "orders"], used.stderr


def test_a_name_the_app_gives_keeps_it_and_the_model_is_aliased(
    run_appshell: Run, tmp_path: Path
) -> None:
    write_apps(tmp_path)
    with (tmp_path / "plain.py").open("a") as f:
        f.write("\n@app.shell_context_processor\ndef names():\n    return {'Order': 'mine'}\n")
    names = records(
        run_appshell(
            "--app", "plain:app", "shell", "--print-context", "--json", env=standin_env(tmp_path)
        )
    )
    assert names["Order"]["source"] == "adapter"
    assert names["shop_models_Order"]["type"] == "class shop.models.Order"
    assert "adapter" in names["shop_models_Order"]["collision"]


@pytest.mark.parametrize(
    ("app", "url"),
    [
        ("astate:app", "sqlite+aiosqlite:///state.sqlite3"),
        ("aglobal:app", "sqlite+aiosqlite:///global.sqlite3"),
    ],
    ids=["lifespan-app-state", "module-global"],
)
def test_an_async_engine_is_found(run_appshell: Run, tmp_path: Path, app: str, url: str) -> None:
    names = _context(run_appshell, tmp_path, app)
    assert names["sql"]["databases"] == [
        {"name": "default", "orm": "sqlalchemy", "dialect": "sqlite", "url": url, "async": True}
    ]
    if app == "aglobal:app":
        assert names["Item"]["source"] == "models"


@pytest.mark.parametrize(
    ("args", "profile"),
    [(("--no-models",), ""), ((), "models = false")],
    ids=["option", "profile"],
)
def test_models_can_be_left_out(
    run_appshell: Run, tmp_path: Path, args: tuple[str, ...], profile: str
) -> None:
    write_apps(tmp_path)
    if profile:
        (tmp_path / "pyproject.toml").write_text(
            f"[tool.appshell]\nprofile = 'team'\n[tool.appshell.profiles.team]\n{profile}\n"
        )
    names = _context(run_appshell, tmp_path, "plain:app", *args)
    assert not [r for r in names.values() if r["source"] == "models"]
    assert "sql" in names  # the databases are still found


def test_a_name_the_app_defines_wins_over_sql(run_appshell: Run, tmp_path: Path) -> None:
    write_apps(tmp_path)
    with (tmp_path / "plain.py").open("a") as f:
        f.write("\n@app.shell_context_processor\ndef names():\n    return {'sql': 'mine'}\n")
    names = records(
        run_appshell(
            "--app", "plain:app", "shell", "--print-context", "--json", env=standin_env(tmp_path)
        )
    )
    assert names["sql"]["source"] == "adapter"
    assert names["sql"]["overrides"] == ["default"]


def test_an_app_without_sqlalchemy_imports_no_database_module(tmp_path: Path) -> None:
    write_apps(tmp_path)
    loaded = modules_after(["--app", "nodb:app", "shell", "-c", "pass"], tmp_path)
    assert "appshell.shell.command" in loaded
    assert not {m for m in loaded if m.startswith("appshell.databases") or m == "sqlalchemy"}


def test_a_flask_sqlalchemy_app_without_options_imports_no_sandbox_or_read_only(
    tmp_path: Path,
) -> None:
    write_apps(tmp_path)
    loaded = modules_after(
        ["--app", "fsa:create_app", "shell", "-c", "pass"], tmp_path, standin_env(tmp_path)
    )
    assert "appshell.databases.sqlalchemy.discovery" in loaded
    assert (
        not {"appshell.databases.sqlalchemy.sandbox", "appshell.databases.sqlalchemy.readonly"}
        & loaded
    )
    # Nor another ORM's integration or another framework.
    assert not {m for m in loaded if m.startswith("appshell.databases.django")}
    others = {"django", "starlette", "fastapi", "litestar", "quart"}
    assert not {m.split(".")[0] for m in loaded} & others
    # `sql` counts every statement: its hooks are attached, and detached at the end.
    assert tool_log(tmp_path)[-3:] == [
        "attach default,audit echo=False",
        "after_statement echo=False",  # the script's N+1 line
        "detach",
    ]


def test_print_context_json_without_a_database_has_no_databases(
    run_appshell: Run, tmp_path: Path
) -> None:
    write_apps(tmp_path)
    result = run_appshell("--app", "nodb:app", "shell", "--print-context", "--json")
    assert result.returncode == 0, result.stderr
    assert "databases" not in json.dumps(json.loads(result.stdout))
