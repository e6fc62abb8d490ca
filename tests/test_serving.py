"""The serving checks shared by ``appshell run`` and ``cli.run(background=True)``: the port,
the host, the debugger rule and the TLS options. The real servers are tested in
tests/test_run.py and tests/test_runner.py; here the command's parsing (as flask.cli's own
tests drive ``run_command.make_context``) and what no test may do for real: serve the
debugger on a host other machines can reach.
"""

from __future__ import annotations

import ssl
import sys
import types
import typing as t
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import appshell.cli
from appshell import serving
from appshell.cli import run_command
from appshell.exceptions import AppShellUsageError

from .conftest import APPS


@pytest.mark.parametrize(
    ("value", "port"),
    [(0, 0), (5000, 5000), ("8080", 8080), (" 65535 ", 65535)],
    ids=["zero", "int", "text", "spaces"],
)
def test_a_port_is_a_whole_number_from_0_to_65535(value: object, port: int) -> None:
    assert serving.parse_port(value) == port


@pytest.mark.parametrize(
    "value",
    ["abc", "", "80.0", 8.0, 65536, 70000, -1, "-1", True, None],
    ids=[
        "word",
        "empty",
        "decimal-text",
        "float",
        "65536",
        "70000",
        "-1",
        "-1-text",
        "bool",
        "none",
    ],
)
def test_anything_else_is_a_usage_error(value: object) -> None:
    with pytest.raises(AppShellUsageError, match="is not a port") as caught:
        serving.parse_port(value)
    assert caught.value.exit_code == 2


# -- --cert and --key, as flask.cli's tests parse them ----------------------------------------


def test_a_certificate_file_needs_a_key_in_either_order() -> None:
    with pytest.raises(click.BadParameter, match="needs its private key"):
        run_command.make_context("run", ["--cert", __file__])
    with pytest.raises(click.BadParameter, match="needs its certificate"):
        run_command.make_context("run", ["--key", __file__])
    for args in (["--cert", __file__, "--key", __file__], ["--key", __file__, "--cert", __file__]):
        ctx = run_command.make_context("run", args)
        assert ctx.params["cert"] == (__file__, __file__)
        assert "key" not in ctx.params


def test_adhoc_needs_cryptography_and_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(click.BadParameter, match="pip install cryptography"):
        run_command.make_context("run", ["--cert", "adhoc"])

    monkeypatch.setitem(sys.modules, "cryptography", types.ModuleType("cryptography"))
    assert run_command.make_context("run", ["--cert", "ADHOC"]).params["cert"] == "adhoc"
    with pytest.raises(click.BadParameter, match="leave --key out"):
        run_command.make_context("run", ["--cert", "adhoc", "--key", __file__])


@pytest.mark.parametrize(
    "spec", ["tls_settings:context", "tls_settings.context"], ids=["colon", "dot"]
)
def test_cert_can_name_an_ssl_context(monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    module = types.ModuleType("tls_settings")
    module.context = context  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tls_settings", module)

    # Importable when the option is parsed: imported then, as flask run does.
    assert run_command.make_context("run", ["--cert", spec]).params["cert"] is context
    with pytest.raises(click.BadParameter, match="holds its own key"):
        run_command.make_context("run", ["--cert", spec, "--key", __file__])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("not_here", "no module 'not_here' was found"),
        ("click", "'click' is a module, not an ssl.SSLContext"),
        ("click:nothing_of_that_name", "'click' has no attribute 'nothing_of_that_name'"),
    ],
    ids=["missing", "module", "attr"],
)
def test_cert_naming_nothing_usable_is_bad_parameter(
    monkeypatch: pytest.MonkeyPatch, spec: str, message: str
) -> None:
    monkeypatch.setitem(sys.modules, "not_here", None)
    with pytest.raises(click.BadParameter, match=message):
        run_command.make_context("run", ["--cert", spec])


def test_cert_without_the_ssl_module_is_bad_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ssl", None)
    with pytest.raises(click.BadParameter, match="no ssl module"):
        run_command.make_context("run", ["--cert", "not_here"])


def test_a_folder_is_not_a_certificate(tmp_path: Path) -> None:
    with pytest.raises(click.BadParameter, match="is a folder"):
        run_command.make_context("run", ["--cert", str(tmp_path), "--key", __file__])


def test_run_help_keeps_the_option_names(runner: CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["run", "--help"])
    assert result.exit_code == 0
    for option in (
        "-h, --host",
        "-p, --port",
        "--cert",
        "--key",
        "--reload / --no-reload",
        "--debugger / --no-debugger",
        "--with-threads / --without-threads",
        "--extra-files",
        "--exclude-patterns",
        "--allow-remote-debugger",
        "--debug / --no-debug",
    ):
        assert option in result.stdout, option


# -- the remote debugger, without serving it ---------------------------------------------------


@pytest.fixture
def fake_run_simple(monkeypatch: pytest.MonkeyPatch) -> dict[str, t.Any]:
    """werkzeug's run_simple replaced: nothing is served, the call is recorded."""
    calls: dict[str, t.Any] = {}

    def run_simple(host: str, port: int, app: t.Any, **kwargs: t.Any) -> None:
        calls.update(host=host, port=port, **kwargs)

    monkeypatch.setattr("werkzeug.serving.run_simple", run_simple)
    return calls


def test_allow_remote_debugger_warns_in_one_line_and_serves(
    runner: CliRunner, fake_run_simple: dict[str, t.Any]
) -> None:
    args = ["--app", str(APPS / "cli_flaskapp.py"), "run", "--host", "0.0.0.0", "--port", "0"]

    refused = runner.invoke(appshell.cli.cli, [*args, "--debugger"])
    assert refused.exit_code == 2
    assert fake_run_simple == {}

    result = runner.invoke(appshell.cli.cli, [*args, "--debugger", "--allow-remote-debugger"])
    assert result.exit_code == 0, result.stderr
    assert (fake_run_simple["host"], fake_run_simple["use_debugger"]) == ("0.0.0.0", True)
    warning = [line for line in result.stderr.splitlines() if "debugger" in line]
    assert warning == [
        "appshell: the debugger is on and '0.0.0.0' is not loopback: anyone who can reach"
        " this server can run code on this machine."
    ]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"], ids=str)
def test_the_debugger_on_loopback_is_served_without_a_warning(
    runner: CliRunner, fake_run_simple: dict[str, t.Any], host: str
) -> None:
    args = ["--app", str(APPS / "cli_flaskapp.py"), "run", "--host", host, "--port", "0"]
    result = runner.invoke(appshell.cli.cli, [*args, "--debugger"])
    assert result.exit_code == 0, result.stderr
    assert fake_run_simple["use_debugger"] is True
    assert "debugger" not in result.stderr
