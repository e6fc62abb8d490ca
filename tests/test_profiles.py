"""Profiles: the three layers and how they merge, ``extends``, validation, import specs,
startup code, choosing a profile, the REPL order, what the shell is given, ``appshell
profiles``, and the built-in profiles inside the wheel.

Layers are written where a user writes them: ``pyproject.toml`` in the test's folder (or a
parent of the folder appshell runs in) and ``$XDG_CONFIG_HOME/appshell/profiles`` (the
conftest points it into the test's folder).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import typing as t
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import appshell.cli
from appshell.importspec import import_names
from appshell.profiles import (
    KEYS,
    ProfileError,
    builtin_dir,
    find_layers,
    load_profile,
    user_dir,
)

APPS = Path(__file__).parent / "apps"
ROOT = Path(__file__).parent.parent
BUILTINS = ("data", "default", "dev", "minimal")
DEFAULT_ORDER = ["ipython", "ptpython", "python"]

RunAppshell = t.Callable[..., t.Any]
Shell = t.Callable[..., t.Any]

#: Typed at a REPL, prints which REPL it is; the echo of the line (ptpython echoes what it
#: reads) cannot match ``REPL:<name>``.
WHICH_REPL = (
    "print('REPL:%s' % ('ipython' if 'get_ipython' in dir()"
    " else 'ptpython' if 'get_ptpython' in dir() else 'python'))\n"
)

#: A REPL plugin that prints what the shell command gave it instead of reading input.
RECORDER = """\
import dataclasses
import json


class Recorder:
    name = "recorder"
    install_hint = "pip install recorder"

    def is_available(self):
        return True

    def version(self):
        return "1.0"

    def run(self, namespace, banner, settings):
        record = {
            f.name: getattr(settings, f.name)
            for f in dataclasses.fields(settings)
            if f.name not in ("session", "profile")
        }
        record["banner_text"] = banner
        print("SETTINGS " + json.dumps(record))
"""


# -- helpers -----------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def user_profile(name: str, text: str = "") -> Path:
    """``$XDG_CONFIG_HOME/appshell/profiles/NAME.toml``."""
    return write(user_dir() / f"{name}.toml", text)


def pyproject(text: str, folder: Path | None = None) -> Path:
    return write((folder or Path.cwd()) / "pyproject.toml", text)


def builtin_data(name: str) -> dict[str, t.Any]:
    with (builtin_dir() / f"{name}.toml").open("rb") as f:
        return tomllib.load(f)


def context(result: t.Any) -> dict[str, dict[str, t.Any]]:
    """``--print-context --json`` output by name."""
    assert result.returncode == 0, result.stderr
    return {record["name"]: record for record in json.loads(result.stdout)}


def repls_run(stdout: str) -> list[str]:
    return re.findall(r"REPL:(\w+)", stdout)


#: What --print-context adds to the type of a whole module a profile imports on first use.
ON_FIRST_USE = " (imported on first use)"


def block(tmp_path: Path, *modules: str) -> Path:
    """A folder for PYTHONPATH whose sitecustomize.py makes ``modules`` look not installed."""
    folder = tmp_path / ("block-" + "-".join(modules))
    lines = ["import sys", *(f"sys.modules[{m!r}] = None" for m in modules)]
    return write(folder / "sitecustomize.py", "\n".join(lines) + "\n").parent


@pytest.fixture
def shell(run_appshell: RunAppshell) -> Shell:
    """``appshell --app profile_app shell ARGS`` in a subprocess, tests/apps importable."""

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        input: str | None = None,
        cwd: Path | None = None,
        pythonpath: t.Sequence[Path] = (),
    ) -> t.Any:
        path = os.pathsep.join(str(p) for p in (*pythonpath, APPS))
        return run_appshell(
            "--app",
            "profile_app",
            "shell",
            *args,
            env={"PYTHONPATH": path, **(env or {})},
            input=input,
            cwd=cwd,
        )

    return run


@pytest.fixture
def apps_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(APPS))


def invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> t.Any:
    return runner.invoke(appshell.cli.cli, list(args), env=env, catch_exceptions=False)


# -- the built-in profiles ---------------------------------------------------------------------


def test_the_builtin_profiles_are_found_in_the_builtin_folder() -> None:
    layers = find_layers()
    for name in BUILTINS:
        assert [(layer.origin, layer.path) for layer in layers[name]] == [
            ("builtin", str(builtin_dir() / f"{name}.toml"))
        ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("default", {"repl": DEFAULT_ORDER, "banner": True, "history": True, "imports": []}),
        ("minimal", {"repl": ["python"], "banner": False, "history": False, "startup": []}),
        ("data", {"repl": DEFAULT_ORDER, "banner": True, "history": True}),
        (
            "dev",
            {
                "repl": DEFAULT_ORDER,
                "banner": True,
                "ipython_extensions": ["autoreload"],
                "ipython_config": {"InteractiveShellApp": {"exec_lines": ["%autoreload 2"]}},
            },
        ),
    ],
    ids=["default", "minimal", "data", "dev"],
)
def test_builtin_profile_settings(name: str, expected: dict[str, t.Any]) -> None:
    profile = load_profile(name)
    assert {key: getattr(profile, key) for key in expected} == expected
    assert profile.data.get("description")


def test_dev_extends_default() -> None:
    dev = load_profile("dev")
    assert [(layer.name, layer.origin) for layer in dev.sources] == [
        ("default", "builtin"),
        ("dev", "builtin"),
    ]


def test_the_data_profile_imports_the_data_tools(shell: Shell, tmp_path: Path) -> None:
    blocked = block(tmp_path, "pandas", "numpy")
    records = context(shell("--profile", "data", "--print-context", "--json", pythonpath=[blocked]))
    expected = {
        "pprint": "function",
        "json": "module",
        "datetime": "module",
        "collections": "module",
        "itertools": "module",
        "Path": "class pathlib.Path",
    }
    profile_names = {
        n: r["type"].removesuffix(ON_FIRST_USE)
        for n, r in records.items()
        if r["source"] == "profile:data"
    }
    assert profile_names == expected


def test_the_data_profile_has_pandas_and_numpy_when_installed(shell: Shell, tmp_path: Path) -> None:
    fakes = tmp_path / "fakes"
    write(fakes / "pandas.py", "NAME = 'fake pandas'\n")
    write(fakes / "numpy.py", "NAME = 'fake numpy'\n")
    with_them = shell("--profile", "data", "-c", "print(pd.NAME, '+', np.NAME)", pythonpath=[fakes])
    assert with_them.returncode == 0, with_them.stderr
    assert with_them.stdout == "fake pandas + fake numpy\n"
    # Not installed: silently left out.
    without = shell(
        "--profile",
        "data",
        "-c",
        "print(sorted({'pd', 'np'} & set(dir())), json.dumps([6 * 7]))",
        pythonpath=[block(tmp_path, "pandas", "numpy")],
    )
    assert without.returncode == 0, without.stderr
    assert without.stdout == "[] [42]\n"
    assert without.stderr == ""


# -- layers: where they come from and how they merge ------------------------------------------


def test_layers_of_one_name_come_builtin_project_user(tmp_path: Path) -> None:
    project = pyproject(
        """
        [tool.appshell.profiles.default]
        banner = false
        """
    )
    user = user_profile("default", "history = false\n")
    assert [(layer.origin, layer.path) for layer in find_layers()["default"]] == [
        ("builtin", str(builtin_dir() / "default.toml")),
        ("project", str(project)),
        ("user", str(user)),
    ]


def test_a_higher_layer_wins_key_by_key() -> None:
    pyproject(
        """
        [tool.appshell.profiles.default]
        description = "the team's"
        repl = ["ptpython", "python"]
        banner = false
        history = false
        """
    )
    user_profile(
        "default",
        """
        description = "mine"
        history = true
        """,
    )
    profile = load_profile("default")
    assert profile.data["description"] == "mine"
    assert profile.repl == ["ptpython", "python"]  # project over built-in
    assert profile.banner is False  # project over built-in, the user says nothing
    assert profile.history is True  # user over project


def test_imports_optional_imports_and_startup_are_concatenated_lowest_first(
    tmp_path: Path,
) -> None:
    pyproject(
        """
        [tool.appshell.profiles.data]
        imports = ["team_module"]
        optional_imports = ["team_optional"]
        startup = ["team = 1"]
        """
    )
    user_profile(
        "data",
        """
        imports = ["my_module"]
        optional_imports = ["my_optional"]
        startup = ["mine = 1"]
        """,
    )
    profile = load_profile("data")
    builtin = builtin_data("data")
    assert profile.imports == [*builtin["imports"], "team_module", "my_module"]
    assert profile.optional_imports == [
        *builtin["optional_imports"],
        "team_optional",
        "my_optional",
    ]
    assert profile.startup == ["team = 1", "mine = 1"]


def test_other_lists_are_replaced_and_tables_merge_key_by_key() -> None:
    pyproject(
        """
        [tool.appshell.profiles.dev]
        repl = ["ptpython"]

        [tool.appshell.profiles.dev.ipython]
        extensions = ["storemagic"]

        [tool.appshell.profiles.dev.ipython.config]
        TerminalInteractiveShell.confirm_exit = false
        TerminalInteractiveShell.autoindent = false

        [tool.appshell.profiles.dev.ptpython.options]
        vi_mode = true
        prompt_style = "ipython"
        """
    )
    user_profile(
        "dev",
        """
        repl = ["python"]

        [ipython.config]
        TerminalInteractiveShell.confirm_exit = true
        InteractiveShell.separate_in = ""

        [ptpython.options]
        vi_mode = false
        """,
    )
    profile = load_profile("dev")
    assert profile.repl == ["python"]
    assert profile.ipython_extensions == ["storemagic"]
    assert profile.ipython_config == {
        "InteractiveShellApp": {"exec_lines": ["%autoreload 2"]},
        "TerminalInteractiveShell": {"confirm_exit": True, "autoindent": False},
        "InteractiveShell": {"separate_in": ""},
    }
    assert profile.ptpython_options == {"vi_mode": False, "prompt_style": "ipython"}


def test_the_nearest_pyproject_is_searched_upward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject("[tool.appshell.profiles.far]\n", tmp_path)
    near = pyproject("[tool.appshell.profiles.near]\n", tmp_path / "a")
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    layers = find_layers()
    assert "far" not in layers
    assert [(layer.origin, layer.path) for layer in layers["near"]] == [("project", str(near))]


def test_a_pyproject_without_profiles_adds_none() -> None:
    pyproject(
        """
        [project]
        name = "x"
        """
    )
    assert sorted(find_layers()) == sorted(BUILTINS)


def test_user_profiles_are_in_the_xdg_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert user_dir() == Path(os.environ["XDG_CONFIG_HOME"]) / "appshell" / "profiles"
    user_profile("mine")
    assert [layer.origin for layer in find_layers()["mine"]] == ["user"]
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "somebody"))
    assert user_dir() == tmp_path / "somebody" / ".config" / "appshell" / "profiles"


# -- extends -----------------------------------------------------------------------------------


def test_extends_merges_the_other_profile_under_this_one() -> None:
    pyproject(
        """
        [tool.appshell.profiles.team]
        extends = "data"
        banner = false
        imports = ["profile_models:*"]
        startup = ["team = 1"]
        """
    )
    user_profile(
        "mine",
        """
        extends = "team"
        repl = ["python"]
        imports = ["json as j"]
        startup = ["mine = 1"]
        """,
    )
    profile = load_profile("mine")
    data = builtin_data("data")
    assert profile.imports == [*data["imports"], "profile_models:*", "json as j"]
    assert profile.optional_imports == data["optional_imports"]
    assert profile.startup == ["team = 1", "mine = 1"]
    assert profile.banner is False  # from team
    assert profile.history is True  # from default, under data
    assert profile.repl == ["python"]
    assert profile.data["description"] == data["description"]
    assert "extends" not in profile.data
    assert [(layer.name, layer.origin) for layer in profile.sources] == [
        ("default", "builtin"),
        ("data", "builtin"),
        ("team", "project"),
        ("mine", "user"),
    ]


def test_a_higher_layer_can_change_what_a_profile_extends() -> None:
    user_profile("dev", 'extends = "minimal"\n')
    profile = load_profile("dev")
    assert profile.repl == ["python"]
    assert profile.banner is False
    assert profile.ipython_extensions == ["autoreload"]


@pytest.mark.parametrize(
    ("profiles", "start"),
    [
        ({"loop": "loop"}, "loop"),
        ({"a": "b", "b": "a"}, "a"),
        ({"a": "b", "b": "c", "c": "a"}, "b"),
    ],
    ids=["itself", "two", "three"],
)
def test_an_extends_cycle_is_an_error_naming_the_file_and_extends(
    shell: Shell, profiles: dict[str, str], start: str
) -> None:
    files = [user_profile(name, f'extends = "{parent}"\n') for name, parent in profiles.items()]
    with pytest.raises(ProfileError) as caught:
        load_profile(start)
    message = caught.value.format_message()
    assert "'extends'" in message
    assert "cycle" in message
    assert any(str(path) in message for path in files), message
    for name in profiles:
        assert name in message

    result = shell("--profile", start, "-c", "print('ran')")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'extends'" in result.stderr
    assert any(str(path) in result.stderr for path in files), result.stderr
    assert "Traceback" not in result.stderr


def test_extends_of_a_missing_profile_is_exit_2_listing_the_ones_found(shell: Shell) -> None:
    user_profile("orphan", 'extends = "nosuch"\n')
    with pytest.raises(ProfileError) as caught:
        load_profile("orphan")
    message = caught.value.format_message()
    for word in ("'orphan'", "extends", "'nosuch'", *BUILTINS):
        assert word in message

    result = shell("--profile", "orphan", "-c", "print('ran')")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'nosuch'" in result.stderr
    assert "Traceback" not in result.stderr


# -- validation --------------------------------------------------------------------------------


INVALID = [
    ("colour = 'red'", "colour", "unknown key"),
    ("description = 3", "description", KEYS["description"]),
    ("extends = ['default']", "extends", KEYS["extends"]),
    ("repl = 'python'", "repl", KEYS["repl"]),
    ("repl = ['python', 3]", "repl", KEYS["repl"]),
    ("imports = 'json'", "imports", KEYS["imports"]),
    ("optional_imports = [['numpy']]", "optional_imports", KEYS["optional_imports"]),
    ("eager_imports = 'json'", "eager_imports", KEYS["eager_imports"]),
    ("startup = [1]", "startup", KEYS["startup"]),
    ("banner = 'no'", "banner", KEYS["banner"]),
    ("history = 0", "history", KEYS["history"]),
    ("ipython = ['autoreload']", "ipython", KEYS["ipython"]),
    ("[ipython]\nextensions = 'autoreload'", "ipython.extensions", "a list"),
    ("[ipython]\nconfig = 1", "ipython.config", "a table of tables"),
    ("[ipython.config]\nTerminalInteractiveShell = false", "ipython.config", "a table of tables"),
    ("[ipython]\ncolors = 'linux'", "ipython.colors", "unknown key"),
    ("ptpython = true", "ptpython", KEYS["ptpython"]),
    ("[ptpython]\noptions = ['vi_mode']", "ptpython.options", "a table"),
    ("[ptpython]\nvi_mode = true", "ptpython.vi_mode", "unknown key"),
]
INVALID_IDS = [
    "unknown",
    "description",
    "extends",
    "repl-not-list",
    "repl-item",
    "imports",
    "optional_imports",
    "eager_imports",
    "startup",
    "banner",
    "history",
    "ipython",
    "ipython.extensions",
    "ipython.config",
    "ipython.config-section",
    "ipython-unknown",
    "ptpython",
    "ptpython.options",
    "ptpython-unknown",
]


@pytest.mark.parametrize(("body", "key", "expected"), INVALID, ids=INVALID_IDS)
def test_an_invalid_user_profile_names_the_file_the_key_and_what_was_expected(
    body: str, key: str, expected: str
) -> None:
    path = user_profile("broken", body + "\n")
    with pytest.raises(ProfileError) as caught:
        load_profile("broken")
    message = caught.value.format_message()
    assert str(path) in message
    assert repr(key) in message
    assert expected in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("body", "key", "expected"),
    [INVALID[INVALID_IDS.index(case)] for case in ("unknown", "banner", "ipython.config")],
    ids=["unknown", "banner", "ipython.config"],
)
def test_an_invalid_project_profile_names_pyproject_and_the_table(
    body: str, key: str, expected: str
) -> None:
    # The sub-tables of the profile's table, under the profile's own table.
    body = body.replace("[ipython", "[tool.appshell.profiles.team.ipython")
    text = body if body.startswith("[") else "[tool.appshell.profiles.team]\n" + body
    path = pyproject(text + "\n")
    with pytest.raises(ProfileError) as caught:
        load_profile("team")
    message = caught.value.format_message()
    assert str(path) in message
    assert "[tool.appshell.profiles.team]" in message
    assert repr(key) in message
    assert expected in message


@pytest.mark.parametrize(
    "args",
    [
        ["shell", "--profile", "broken", "-c", "print('ran')"],
        ["profiles", "show", "broken"],
    ],
    ids=["shell", "show"],
)
def test_an_invalid_profile_is_exit_2_without_a_traceback(
    run_appshell: RunAppshell, args: list[str]
) -> None:
    path = user_profile("broken", "banner = 'sometimes'\n")
    result = run_appshell("--app", "profile_app", *args, env={"PYTHONPATH": str(APPS)})
    assert result.returncode == 2
    assert result.stdout == ""
    assert str(path) in result.stderr
    assert "'banner'" in result.stderr
    assert "true or false" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_profile_that_is_not_toml_names_the_file() -> None:
    path = user_profile("broken", "banner = \n")
    with pytest.raises(ProfileError, match="not valid TOML") as caught:
        load_profile("broken")
    assert str(path) in caught.value.format_message()
    # Listing reads every profile, so it reports the broken one too.
    with pytest.raises(ProfileError, match="not valid TOML"):
        find_layers()
    # A shell reads only the profiles it uses: another profile still loads.
    assert load_profile("default").name == "default"


# -- import specs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("json", {"json": ("json", None)}),
        ("os.path", {"os": ("os", None)}),
        ("os.path as osp", {"osp": ("os.path", None)}),
        ("json as j", {"j": ("json", None)}),
        ("pathlib:Path", {"Path": ("pathlib", "Path")}),
        ("datetime:datetime as dt", {"dt": ("datetime", "datetime")}),
        ("  datetime : timedelta  as  td ", {"td": ("datetime", "timedelta")}),
        (
            "profile_models:*",
            {"Author": ("profile_models", "Author"), "Book": ("profile_models", "Book")},
        ),
        (
            "profile_helpers:*",
            {"ANSWER": ("profile_helpers", "ANSWER"), "greet": ("profile_helpers", "greet")},
        ),
    ],
    ids=[
        "module",
        "dotted-module",
        "dotted-module-as",
        "module-as",
        "name",
        "name-as",
        "spaces",
        "star-all",
        "star-public",
    ],
)
def test_import_specs(
    apps_on_path: None, spec: str, expected: dict[str, tuple[str, str | None]]
) -> None:
    def value(module: str, name: str | None) -> t.Any:
        imported = importlib.import_module(module)
        return imported if name is None else getattr(imported, name)

    assert import_names(spec) == {alias: value(*where) for alias, where in expected.items()}


@pytest.mark.parametrize(
    "spec",
    ["", ":Path", "json:* as j", "json as 2x", "json as two words"],
    ids=["empty", "no-module", "star-as", "alias-not-a-name", "alias-two-words"],
)
def test_a_bad_import_spec_is_a_value_error_quoting_it(spec: str) -> None:
    with pytest.raises(ValueError, match="is not an import spec") as caught:
        import_names(spec)
    assert repr(spec) in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "error", "named"),
    [
        ("profile_not_installed", ModuleNotFoundError, "profile_not_installed"),
        ("profile_not_installed.sub:thing", ModuleNotFoundError, "profile_not_installed"),
        ("json:no_such_name", ImportError, "no_such_name"),
        ("profile_broken_dep", ModuleNotFoundError, "profile_dependency_that_is_not_installed"),
    ],
    ids=["module", "package", "name", "broken-module"],
)
def test_an_import_that_fails_raises(
    apps_on_path: None, spec: str, error: type[Exception], named: str
) -> None:
    with pytest.raises(error, match=named):
        import_names(spec)


@pytest.mark.parametrize(
    "spec",
    ["profile_not_installed", "profile_not_installed as maybe", "profile_not_installed.sub:thing"],
    ids=["module", "module-as", "package"],
)
def test_an_optional_import_of_a_module_not_installed_gives_nothing(spec: str) -> None:
    assert import_names(spec, optional=True) == {}


@pytest.mark.parametrize(
    ("spec", "error", "named"),
    [
        ("json:no_such_name", ImportError, "no_such_name"),
        ("profile_broken_dep", ModuleNotFoundError, "profile_dependency_that_is_not_installed"),
    ],
    ids=["wrong-name", "broken-module"],
)
def test_an_optional_import_of_an_installed_module_that_fails_raises(
    apps_on_path: None, spec: str, error: type[Exception], named: str
) -> None:
    with pytest.raises(error, match=named):
        import_names(spec, optional=True)


# -- imports in the shell ----------------------------------------------------------------------


def test_profile_imports_show_in_print_context_with_their_source(shell: Shell) -> None:
    user_profile(
        "team",
        """
        imports = ["json", "pathlib:Path", "datetime:datetime as dt", "profile_models:*"]
        optional_imports = ["profile_helpers:greet", "profile_not_installed as nope"]
        """,
    )
    result = shell("--profile", "team", "--print-context", "--json")
    records = context(result)
    assert result.stderr == ""
    expected = {
        "json": "module",
        "Path": "class pathlib.Path",
        "dt": "class datetime.datetime",
        "Author": "class profile_models.Author",
        "Book": "class profile_models.Book",
        "greet": "function",
    }
    got = {
        n: r["type"].removesuffix(ON_FIRST_USE)
        for n, r in records.items()
        if r["source"] == "profile:team"
    }
    assert got == expected
    assert records["app"]["source"] == "default"

    table = shell("--profile", "team", "--print-context")
    assert table.returncode == 0, table.stderr
    rows = [re.split(r"\s{2,}", line.strip()) for line in table.stdout.splitlines()]
    rows = [[*row[:2], *(cell.removesuffix(ON_FIRST_USE) for cell in row[2:])] for row in rows]
    assert ["dt", "profile:team", "class datetime.datetime"] in rows
    assert ["json", "profile:team", "module"] in rows


def test_a_profile_import_overrides_a_default_name_and_says_so(shell: Shell) -> None:
    user_profile("team", 'imports = ["profile_helpers:greet as app"]\n')
    records = context(shell("--profile", "team", "--print-context", "--json"))
    assert records["app"] == {
        "name": "app",
        "source": "profile:team",
        "type": "function",
        "overrides": ["default"],
    }


@pytest.mark.parametrize(
    "spec",
    [
        "profile_not_installed",
        "json:no_such_name",
        "json as 2x",
        "profile_not_installed as maybe",
    ],
    # A module that is there but fails (profile_broken_dep) says so on first use:
    # tests/test_lazy_imports.py.
    ids=["no-module", "no-name", "bad-spec", "no-module-as"],
)
def test_a_failing_import_is_reported_by_name_and_skipped(shell: Shell, spec: str) -> None:
    user_profile("team", f'imports = ["json as before", "{spec}", "pathlib:Path"]\n')
    result = shell("--profile", "team", "-c", "print(before.dumps([Path('ok').name]))")
    assert result.returncode == 0, result.stderr
    assert result.stdout == '["ok"]\n'
    assert repr(spec) in result.stderr


@pytest.mark.parametrize(
    "spec",
    ["profile_not_installed", "json:no_such_name", "json as 2x", "profile_broken_dep"],
    ids=["no-module", "no-name", "bad-spec", "broken-module"],
)
def test_a_failing_import_with_strict_is_exit_1(shell: Shell, spec: str) -> None:
    user_profile("team", f'imports = ["json", "{spec}"]\n')
    result = shell("--profile", "team", "--strict", "-c", "print('the script ran')")
    assert result.returncode == 1
    assert "the script ran" not in result.stdout
    # Named by the import, or (a module that raised) by its own traceback.
    assert repr(spec) in result.stderr or "profile_broken_dep.py" in result.stderr


def test_optional_imports_are_silently_skipped_when_not_installed(shell: Shell) -> None:
    user_profile(
        "team",
        """
        optional_imports = [
            "profile_not_installed",
            "profile_not_installed as maybe",
            "profile_not_installed.sub:thing",
            "profile_helpers:ANSWER",
        ]
        """,
    )
    result = shell("--profile", "team", "--strict", "-c", "print(ANSWER, 'maybe' in dir())")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "42 False\n"
    assert result.stderr == ""


# -- startup -----------------------------------------------------------------------------------


def test_startup_files_and_code_run_after_the_namespace_is_built(shell: Shell) -> None:
    write(
        user_dir() / "setup" / "names.py",
        """
        from_file = "file-ok"
        app_seen_by_file = app.__name__
        """,
    )
    user_profile(
        "team",
        """
        imports = ["json"]
        startup = ["setup/names.py", "from_code = json.dumps([app_seen_by_file])"]
        """,
    )
    records = context(shell("--profile", "team", "--print-context", "--json"))
    for name in ("from_file", "app_seen_by_file", "from_code"):
        assert records[name]["source"] == "startup"
    assert records["from_code"]["type"] == "str"
    assert records["json"]["source"] == "profile:team"

    result = shell("--profile", "team", "-c", "print(from_file, from_code)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'file-ok ["application"]\n'


def test_project_startup_files_are_relative_to_pyproject(shell: Shell, tmp_path: Path) -> None:
    pyproject(
        """
        [tool.appshell.profiles.team]
        startup = ["tools/setup.py"]
        """
    )
    write(tmp_path / "tools" / "setup.py", "where = 'beside pyproject.toml'\n")
    below = tmp_path / "src" / "pkg"
    # A file of the same name below it, where appshell runs, is not the one.
    write(below / "tools" / "setup.py", "where = 'the current folder'\n")
    result = shell("--profile", "team", "-c", "print(where)", cwd=below)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "beside pyproject.toml\n"


def test_startup_runs_lowest_layer_and_extended_profile_first(shell: Shell) -> None:
    pyproject(
        """
        [tool.appshell.profiles.base]
        startup = ["order = ['base']"]

        [tool.appshell.profiles.team]
        extends = "base"
        startup = ["order.append('team (project)')"]
        """
    )
    user_profile("team", """startup = ["order.append('team (user)')"]\n""")
    result = shell("--profile", "team", "-c", "print(order)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['base', 'team (project)', 'team (user)']\n"


def test_startup_code_can_await(shell: Shell) -> None:
    user_profile(
        "team",
        """
        startup = ["import asyncio\\nawaited = await asyncio.sleep(0, result=6 * 7)"]
        """,
    )
    result = shell("--profile", "team", "-c", "print(awaited + 1)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "43\n"


@pytest.mark.parametrize("how", ["command", "file", "stdin"], ids=["-c", "file", "stdin"])
def test_startup_runs_in_scripted_sessions_unless_no_startup(
    shell: Shell, tmp_path: Path, how: str
) -> None:
    write(user_dir() / "ran.py", "import pathlib\npathlib.Path('startup-file-ran').touch()\n")
    user_profile("team", """startup = ["ran.py", "from_code = 'code-ran'"]\n""")
    code = "print(globals().get('from_code', 'no startup'))"
    write(tmp_path / "script.py", code + "\n")
    args = {"command": ["-c", code], "file": ["script.py"], "stdin": []}[how]
    stdin = code + "\n" if how == "stdin" else None

    result = shell("--profile", "team", *args, input=stdin)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "code-ran\n"
    assert (tmp_path / "startup-file-ran").exists()
    (tmp_path / "startup-file-ran").unlink()

    skipped = shell("--profile", "team", "--no-startup", *args, input=stdin)
    assert skipped.returncode == 0, skipped.stderr
    assert skipped.stdout == "no startup\n"
    assert not (tmp_path / "startup-file-ran").exists()


def test_no_startup_leaves_startup_names_out_of_print_context(shell: Shell) -> None:
    user_profile("team", """imports = ["json"]\nstartup = ["from_code = 1"]\n""")
    with_startup = context(shell("--profile", "team", "--print-context", "--json"))
    assert with_startup["from_code"]["source"] == "startup"
    without = context(shell("--profile", "team", "--no-startup", "--print-context", "--json"))
    assert "from_code" not in without
    assert without["json"]["source"] == "profile:team"


@pytest.mark.parametrize("repl", ["ipython", "ptpython", "python"])
def test_startup_runs_in_every_repl(shell: Shell, tmp_path: Path, repl: str) -> None:
    write(user_dir() / "names.py", "started = 'startup-ok'\n")
    user_profile("team", """startup = ["names.py", "code_ran = 'code'"]\n""")
    result = shell(
        "--profile",
        "team",
        "-i",
        "-q",
        "--no-history",
        "--repl",
        repl,
        input="print('got:' + started.upper() + '+' + code_ran.upper())\n",
        env={"IPYTHONDIR": str(tmp_path / "ipython")},
    )
    assert result.returncode == 0, result.stderr
    assert "got:STARTUP-OK+CODE" in result.stdout


def test_startup_that_raises_is_reported_and_the_shell_still_runs(shell: Shell) -> None:
    user_profile(
        "team",
        """
        startup = [
            "before = 1\\nraise RuntimeError('startup went wrong')\\nafter = 1",
            "later = 2",
        ]
        """,
    )
    result = shell(
        "--profile",
        "team",
        "-i",
        "-q",
        "--no-history",
        "--repl",
        "python",
        input="print('seen:%s' % [n for n in ('before', 'after', 'later') if n in globals()])\n",
    )
    assert result.returncode == 0, result.stderr
    assert "seen:['before', 'later']" in result.stdout
    assert "RuntimeError: startup went wrong" in result.stderr
    assert "Traceback" in result.stderr

    strict = shell("--profile", "team", "--strict", "-c", "print('the script ran')")
    assert strict.returncode == 1
    assert "the script ran" not in strict.stdout
    assert "RuntimeError: startup went wrong" in strict.stderr


def test_a_startup_file_that_raises_shows_its_own_traceback(shell: Shell) -> None:
    path = write(user_dir() / "setup.py", "ok = 1\n\n\nraise KeyError('in the file')\n")
    user_profile("team", 'startup = ["setup.py"]\n')
    result = shell("--profile", "team", "-c", "print('ran', ok)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ran 1\n"
    assert f'File "{path}", line 4' in result.stderr
    assert "KeyError: 'in the file'" in result.stderr


def test_a_missing_startup_file_is_reported_and_the_shell_still_runs(shell: Shell) -> None:
    user_profile("team", 'startup = ["not_there.py"]\n')
    result = shell("--profile", "team", "-c", "print('ran')")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ran\n"
    assert str(user_dir() / "not_there.py") in result.stderr
    # What is wrong is the user's file: appshell's own frames are noise.
    assert f"appshell{os.sep}shell{os.sep}" not in result.stderr


# -- choosing a profile ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "project", "expected"),
    [
        ([], {}, None, "default"),
        ([], {}, "from_project", "from_project"),
        ([], {"APPSHELL_PROFILE": "from_env"}, "from_project", "from_env"),
        (
            ["--profile", "from_option"],
            {"APPSHELL_PROFILE": "from_env"},
            "from_project",
            "from_option",
        ),
    ],
    ids=["default", "pyproject", "env-over-pyproject", "option-over-env"],
)
def test_which_profile_is_used(
    shell: Shell, args: list[str], env: dict[str, str], project: str | None, expected: str
) -> None:
    for name in ("default", "from_project", "from_env", "from_option"):
        user_profile(name, f'imports = ["json as chosen_{name}"]\n')
    if project is not None:
        pyproject(f'[tool.appshell]\nprofile = "{project}"\n')
    records = context(shell(*args, "--print-context", "--json", env=env))
    chosen = {n: r["source"] for n, r in records.items() if n.startswith("chosen_")}
    assert chosen == {f"chosen_{expected}": f"profile:{expected}"}


@pytest.mark.parametrize(
    ("args", "env", "project"),
    [
        (["--profile", "nosuch"], {}, None),
        ([], {"APPSHELL_PROFILE": "nosuch"}, None),
        ([], {}, "nosuch"),
    ],
    ids=["option", "env", "pyproject"],
)
def test_a_missing_profile_is_exit_2_listing_the_ones_found(
    shell: Shell, args: list[str], env: dict[str, str], project: str | None
) -> None:
    user_profile("mine")
    pyproject('[tool.appshell.profiles.team]\ndescription = "x"\n')
    if project is not None:
        with (Path.cwd() / "pyproject.toml").open("a") as f:
            f.write(f'[tool.appshell]\nprofile = "{project}"\n')
    result = shell(*args, "-c", "print('ran')", env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'nosuch'" in result.stderr
    listed = result.stderr.split("'nosuch'", 1)[1]
    for name in (*BUILTINS, "mine", "team"):
        assert name in listed
    assert "Traceback" not in result.stderr


# -- the REPL order ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repl", "blocked", "expected"),
    [
        (None, (), "ipython"),
        (["python", "ipython"], (), "python"),
        (["ptpython", "ipython", "python"], (), "ptpython"),
        (["ptpython", "python"], ("ptpython",), "python"),
        (["nosuch", "ipython"], (), "ipython"),
    ],
    ids=["no-repl-key", "python-first", "ptpython-first", "first-not-installed", "unknown-skipped"],
)
def test_the_profiles_repl_order_drives_autodetection(
    shell: Shell, tmp_path: Path, repl: list[str] | None, blocked: tuple[str, ...], expected: str
) -> None:
    user_profile("team", "" if repl is None else f"repl = {json.dumps(repl)}\n")
    result = shell(
        "--profile",
        "team",
        "-i",
        "-q",
        "--no-history",
        input=WHICH_REPL,
        pythonpath=[block(tmp_path, *blocked)] if blocked else [],
        env={"IPYTHONDIR": str(tmp_path / "ipython")},
    )
    assert result.returncode == 0, result.stderr
    assert repls_run(result.stdout) == [expected]


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--repl", "ptpython"], {}), ([], {"APPSHELL_REPL": "ptpython"})],
    ids=["option", "env"],
)
def test_repl_option_and_env_win_over_the_profile(
    shell: Shell, args: list[str], env: dict[str, str]
) -> None:
    user_profile("team", 'repl = ["python"]\n')
    result = shell(
        "--profile", "team", "-i", "-q", "--no-history", *args, input=WHICH_REPL, env=env
    )
    assert result.returncode == 0, result.stderr
    assert repls_run(result.stdout) == ["ptpython"]


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--repl", "ipython"], {}), ([], {"APPSHELL_REPL": "ipython"})],
    ids=["option", "env"],
)
def test_an_explicit_repl_stays_strict_under_a_profile(
    shell: Shell, tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    user_profile("team", 'repl = ["python"]\n')
    result = shell(
        "--profile",
        "team",
        "-i",
        *args,
        input=WHICH_REPL,
        env=env,
        pythonpath=[block(tmp_path, "IPython")],
    )
    assert result.returncode == 2
    assert repls_run(result.stdout) == []
    assert "pip install 'appshell[ipython]'" in result.stderr


@pytest.mark.parametrize(
    ("repl", "blocked"),
    [
        (["ptpython"], ("ptpython",)),
        (["nosuch"], ()),
        (["ipython", "ptpython"], ("IPython", "ptpython")),
    ],
    ids=["not-installed", "unknown", "none-installed"],
)
def test_a_repl_order_with_nothing_installed_is_exit_2(
    shell: Shell, tmp_path: Path, repl: list[str], blocked: tuple[str, ...]
) -> None:
    user_profile("team", f"repl = {json.dumps(repl)}\n")
    result = shell(
        "--profile",
        "team",
        "-i",
        input=WHICH_REPL,
        pythonpath=[block(tmp_path, *blocked)] if blocked else [],
    )
    assert result.returncode == 2
    assert repls_run(result.stdout) == []
    for name in repl:
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_list_repls_marks_the_repl_the_profile_would_start(run_appshell: RunAppshell) -> None:
    result = run_appshell("shell", "--profile", "minimal", "--list-repls")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "autodetected" in rows["python"]
    assert "autodetected" not in rows["ipython"]


# -- what the REPL is given --------------------------------------------------------------------


@pytest.fixture
def recorder(make_dist: t.Callable[..., Path]) -> Path:
    return make_dist(
        "profile-recorder",
        {"appshell.repls": {"recorder": "profile_recorder:Recorder"}},
        modules={"profile_recorder.py": RECORDER},
    )


@pytest.mark.parametrize(
    ("profile", "options", "expected"),
    [
        ("", [], {"banner": True, "history": True}),
        ("banner = false\nhistory = false\n", [], {"banner": False, "history": False}),
        (
            "banner = true\nhistory = true\n",
            ["-q", "--no-history"],
            {"banner": False, "history": False},
        ),
        (
            """
            [ipython]
            extensions = ["autoreload", "storemagic"]

            [ipython.config]
            TerminalInteractiveShell.confirm_exit = false
            InteractiveShellApp.exec_lines = ["x = 1"]
            """,
            [],
            {
                "ipython_extensions": ["autoreload", "storemagic"],
                "ipython_config": {
                    "TerminalInteractiveShell": {"confirm_exit": False},
                    "InteractiveShellApp": {"exec_lines": ["x = 1"]},
                },
                "ptpython_options": {},
            },
        ),
        (
            """
            [ptpython.options]
            vi_mode = true
            prompt_style = "ipython"
            """,
            [],
            {
                "ptpython_options": {"vi_mode": True, "prompt_style": "ipython"},
                "ipython_config": {},
            },
        ),
    ],
    ids=["nothing-set", "profile-off", "options-off", "ipython", "ptpython"],
)
def test_the_repl_is_given_the_profiles_settings(
    shell: Shell,
    recorder: Path,
    profile: str,
    options: list[str],
    expected: dict[str, t.Any],
) -> None:
    user_profile("team", profile)
    result = shell("--profile", "team", "-i", "--repl", "recorder", *options, pythonpath=[recorder])
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("SETTINGS ")]
    record = json.loads(line.removeprefix("SETTINGS "))
    assert {key: record[key] for key in expected} == expected
    if "banner" in expected:
        assert ("App: " in record["banner_text"]) is expected["banner"]


# -- appshell profiles -------------------------------------------------------------------------


def listing(output: str) -> dict[str, tuple[str, list[str]]]:
    """``appshell profiles`` output: name -> (description, [where each layer came from])."""
    found: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in output.splitlines():
        if not line.strip():
            continue
        if line[0].isspace():
            assert current is not None, output
            found[current][1].append(line.strip())
        else:
            current, _, description = line.partition(" ")
            found[current] = (description.strip(), [])
    return found


def test_profiles_lists_every_profile_and_where_it_came_from(
    runner: CliRunner, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    project = pyproject(
        """
        [tool.appshell.profiles.default]
        description = "the team's default"

        [tool.appshell.profiles.team]
        description = "the team's own"
        """
    )
    user_profile("default", 'description = "my default"\n')
    user_profile("mine")
    result = invoke(runner, "profiles", env={"HOME": str(home)})
    assert result.exit_code == 0, result.output
    found = listing(result.stdout)
    assert list(found) == ["data", "default", "dev", "mine", "minimal", "team"]
    user_folder = "~/" + str(user_dir().relative_to(home))
    assert found["default"] == (
        "my default",
        [
            f"builtin ({builtin_dir() / 'default.toml'})",
            f"project ({project})",
            f"user ({user_folder}/default.toml)",
        ],
    )
    assert found["team"] == ("the team's own", [f"project ({project})"])
    assert found["mine"] == ("", [f"user ({user_folder}/mine.toml)"])
    for name in ("data", "dev", "minimal"):
        assert found[name] == (
            builtin_data(name)["description"],
            [f"builtin ({builtin_dir() / name}.toml)"],
        )


def test_profiles_needs_no_app(run_appshell: RunAppshell) -> None:
    result = run_appshell("profiles")
    assert result.returncode == 0, result.stderr
    assert sorted(listing(result.stdout)) == sorted(BUILTINS)


@pytest.mark.parametrize(
    "description",
    ["plain words", 'quotes "like this" and a \\ backslash', "naïve café 🐍"],
    ids=["plain", "escapes", "unicode"],
)
def test_profiles_show_prints_the_merged_profile_as_toml(
    runner: CliRunner, description: str
) -> None:
    project = pyproject(
        """
        [tool.appshell.profiles.team]
        extends = "data"
        imports = ["profile_models:*"]
        startup = ["team = 1"]

        [tool.appshell.profiles.team.ipython.config]
        TerminalInteractiveShell.confirm_exit = false
        InteractiveShellApp.exec_lines = ["x = 1", "y = 2"]
        """
    )
    user = user_profile(
        "team",
        f"""
        description = {json.dumps(description, ensure_ascii=False)}
        banner = false

        [ptpython.options]
        vi_mode = true
        prompt_style = "ipython"
        """,
    )
    result = invoke(runner, "profiles", "show", "team")
    assert result.exit_code == 0, result.output
    header = [line for line in result.stdout.splitlines() if line.startswith("#")]
    assert header == [
        "# profile 'team', from (lowest first):",
        f"#   default: builtin ({builtin_dir() / 'default.toml'})",
        f"#   data: builtin ({builtin_dir() / 'data.toml'})",
        f"#   team: project ({project})",
        f"#   team: user ({user})",
    ]
    shown = tomllib.loads(result.stdout)
    assert shown == load_profile("team").data
    assert shown["description"] == description
    assert shown["imports"] == [*builtin_data("data")["imports"], "profile_models:*"]
    assert shown["banner"] is False
    assert shown["ipython"]["config"]["TerminalInteractiveShell"] == {"confirm_exit": False}
    assert shown["ptpython"]["options"] == {"vi_mode": True, "prompt_style": "ipython"}
    assert "extends" not in shown


def test_profiles_show_a_missing_profile_is_exit_2_listing_the_ones_found(
    runner: CliRunner,
) -> None:
    result = invoke(runner, "profiles", "show", "nosuch")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "'nosuch'" in result.stderr
    for name in BUILTINS:
        assert name in result.stderr


# -- the wheel ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_wheel_ships_the_builtin_profiles(tmp_path: Path) -> None:
    dist, site = tmp_path / "dist", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # No build isolation: hatchling is installed, and the test needs no network.
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("appshell-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for name in BUILTINS:
        assert f"appshell/profiles/{name}.toml" in names

    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = (
        "import json, appshell.profiles as p;"
        "print(json.dumps({'dir': str(p.builtin_dir()),"
        " 'files': sorted(f.name for f in p.builtin_dir().glob('*.toml')),"
        " 'dev': p.load_profile('dev').ipython_extensions}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert Path(found["dir"]).is_relative_to(site)
    assert found["files"] == [f"{name}.toml" for name in BUILTINS]
    assert found["dev"] == ["autoreload"]

    listed = subprocess.run(
        [sys.executable, "-m", "appshell", "profiles"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    for name, (_, layers) in listing(listed.stdout).items():
        assert layers == [f"builtin ({site / 'appshell' / 'profiles' / name}.toml)"]


# -- bad profile files and values (issue 12) ---------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("banner = false\nimports = ['café']\n".encode("latin-1"), id="latin-1"),
        pytest.param("banner = false\n".encode("utf-16"), id="utf-16"),
    ],
)
@pytest.mark.parametrize(
    "args",
    [["shell", "--profile", "broken", "-c", "print('ran')"], ["profiles", "show", "broken"]],
    ids=["shell", "show"],
)
def test_a_profile_file_that_is_not_utf8_is_exit_2_naming_it(
    run_appshell: RunAppshell, content: bytes, args: list[str]
) -> None:
    path = user_profile("broken")
    path.write_bytes(content)
    result = run_appshell("--app", "profile_app", *args, env={"PYTHONPATH": str(APPS)})
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert str(path) in result.stderr
    assert "not UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_repl_order_of_unknown_repls_is_exit_2_naming_the_profile_and_file(
    shell: Shell,
) -> None:
    path = user_profile("odd", 'repl = ["bpyhton", "ipyhton"]\n')
    for args in (["--list-repls"], ["-i", "-c", "print('ran')"]):
        result = shell("--profile", "odd", *args)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert "unknown REPLs 'bpyhton', 'ipyhton'" in result.stderr
        assert "'odd'" in result.stderr
        assert str(path) in result.stderr
        assert "not installed" not in result.stderr


def test_an_unknown_repl_in_the_order_is_said_and_left_out(shell: Shell) -> None:
    path = user_profile("odd", 'repl = ["bpyhton", "python"]\n')
    result = shell("--profile", "odd", "-i", "-c", "x = 1", input=WHICH_REPL)
    assert result.returncode == 0, result.stderr
    assert repls_run(result.stdout) == ["python"]
    (warning,) = [line for line in result.stderr.splitlines() if "bpyhton" in line]
    assert "'odd'" in warning
    assert str(path) in warning
    assert "unknown REPL" in warning


def test_a_profile_import_that_raises_names_the_profile_and_the_import(
    shell: Shell, tmp_path: Path
) -> None:
    write(tmp_path / "mods" / "explodes.py", "raise RuntimeError('boom at import')\n")
    # Eager: imported before the script, as a module imported for its side effects is.
    user_profile("team", 'eager_imports = ["explodes"]\nimports = ["json"]\n')
    mods = [tmp_path / "mods"]
    result = shell("--profile", "team", "-c", "print(json.__name__)", pythonpath=mods)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "json\n"
    (warning,) = result.stderr.splitlines()
    assert "profile:team" in warning
    assert "'explodes'" in warning
    assert "RuntimeError: boom at import" in warning

    strict = shell("--strict", "--profile", "team", "-c", "1", pythonpath=mods)
    assert strict.returncode == 1
    assert 'explodes.py", line 1, in <module>' in strict.stderr
    assert "in the import 'explodes'" in strict.stderr
    assert "appshell" + os.sep not in strict.stderr.split("Traceback", 1)[1]


def test_a_broken_profile_does_not_stop_another_one_nor_take_its_error(shell: Shell) -> None:
    user_profile("broken", "colour = 'red'\n")
    pyproject(
        "[tool.appshell.profiles.team]\nimports = ['json']\n[tool.appshell.profiles.bad]\nx = 1\n"
    )
    used = shell("--profile", "team", "-c", "print(json.__name__)")
    assert used.returncode == 0, used.stderr
    assert used.stdout == "json\n"

    missing = shell("--profile", "nosuch", "-c", "print('ran')")
    assert missing.returncode == 2
    assert "No profile called 'nosuch'" in missing.stderr
    for name in ("bad", "broken", "team", *BUILTINS):
        assert name in missing.stderr
    assert "colour" not in missing.stderr
    assert "Traceback" not in missing.stderr


def test_extends_of_a_missing_profile_names_the_file(shell: Shell) -> None:
    path = user_profile("orphan", 'extends = "nosuch"\n')
    result = shell("--profile", "orphan", "-c", "print('ran')")
    assert result.returncode == 2
    assert str(path) in result.stderr


# -- shell completion of profile names ---------------------------------------------------------


def test_profile_names_complete_builtin_project_and_user_profiles(
    complete: t.Callable[..., list[str]],
) -> None:
    pyproject("[tool.appshell.profiles.deploy]\n")
    user_profile("dbtools", "banner = 'not a bool'\n")  # broken, still a name to complete
    assert complete("appshell profiles show d") == [
        "plain,data", "plain,dbtools", "plain,default", "plain,deploy", "plain,dev"
    ]  # fmt: skip


def test_the_parsed_built_in_profiles_are_their_files() -> None:
    import tomllib

    from appshell.builtin_profiles import parsed
    from appshell.profiles import builtin_dir

    files = sorted(builtin_dir().glob("*.toml"))
    assert [f.stem for f in files] == sorted(["data", "default", "dev", "minimal"])
    for file in files:
        assert parsed(file.stem) == tomllib.loads(file.read_text(encoding="utf-8")), file.name
    assert parsed("nosuchprofile") is None
