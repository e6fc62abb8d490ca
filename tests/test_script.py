"""Scripted sessions, run for real: ``shell -c CODE``, ``shell FILE ARGS...``, a script on
stdin, ``--echo`` transcripts, ``.ipy`` files, ``-i``, exit codes, Ctrl-C and bad input.

Where Python itself can run the same script, its output is the expected output: a script
run by appshell behaves as ``python`` runs it, tracebacks included.
"""

from __future__ import annotations

import errno
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest

APPS = Path(__file__).parent / "apps"
TEARDOWN_APP = str(APPS / "script_teardown.py")
APPSHELL = Path(sys.executable).with_name("appshell")
DEMO = ("--app", "appshell.demo", "shell")

RunAppshell = t.Callable[..., t.Any]
#: Python's output buffered, as it is for users (PYTHONUNBUFFERED may be set for the tests).
BUFFERED = {"PYTHONUNBUFFERED": ""}


class Run(t.NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def script_env(tmp_path: Path) -> dict[str, str]:
    """The demo app's database and IPython's folder in the test's folder."""
    return {
        "APPSHELL_DEMO_DATABASE": str(tmp_path / "demo.sqlite3"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "SCRIPT_TEARDOWN_MARKER": str(tmp_path / "teardown.log"),
    }


@pytest.fixture
def shell(run_appshell: RunAppshell, script_env: dict[str, str]) -> t.Callable[..., Run]:
    """``appshell --app appshell.demo shell ARGS``; stdin is ``input`` (empty by default),
    never a terminal."""

    def run(*args: str, input: str = "", env: dict[str, str] | None = None) -> Run:
        return Run(*run_appshell(*DEMO, *args, input=input, env={**script_env, **(env or {})}))

    return run


def environ(script_env: dict[str, str]) -> dict[str, str]:
    """The environment for a subprocess started here (the autouse fixture cleaned it), its
    output buffered as it is for users."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONUNBUFFERED")}
    env.update(script_env)
    return env


def in_bash(command: str, script_env: dict[str, str], cwd: Path) -> Run:
    """Run a bash command line (for redirections Python's subprocess cannot give)."""
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=environ(script_env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


DEMO_SHELL = f"{shlex.quote(str(APPSHELL))} --app appshell.demo shell"


def write(folder: Path, name: str, source: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return name


def python(tmp_path: Path, *args: str, input: str = "") -> Run:
    """What ``python ARGS`` does with the same script (Python names a script file by its
    absolute path, and so does appshell)."""
    proc = subprocess.run(
        [sys.executable, *args], cwd=tmp_path, input=input, capture_output=True, text=True
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def as_mode(mode: str, tmp_path: Path, source: str) -> tuple[list[str], str]:
    """The arguments and stdin that run ``source`` as -c, a FILE or stdin."""
    source = textwrap.dedent(source)
    if mode == "-c":
        return ["-c", source], ""
    if mode == "FILE":
        return [write(tmp_path, "script.py", source)], ""
    return [], source


MODES = ["-c", "FILE", "stdin"]
FILENAMES = {"-c": "<string>", "FILE": "script.py", "stdin": "<stdin>"}


def shown_name(mode: str, tmp_path: Path) -> str:
    """How a traceback names the script: a file by its absolute path, as Python does."""
    return str(tmp_path / FILENAMES[mode]) if mode == "FILE" else FILENAMES[mode]


# -- -c CODE -------------------------------------------------------------------------------


def test_command_runs_with_shell_names_in_app_context(shell: t.Callable[..., Run]) -> None:
    # Note's queries need the app context: they raise RuntimeError outside of one.
    result = shell("-c", "Note.create('first'); print(Note.count(), type(app).__name__)")
    assert result == (0, "1 DemoApp\n", "")


def test_command_args_are_sys_argv(shell: t.Callable[..., Run]) -> None:
    result = shell("-c", "import sys; print(sys.argv)", "a", "-q", "--dry-run", "b c")
    assert result.stdout == "['-c', 'a', '-q', '--dry-run', 'b c']\n"
    assert result.returncode == 0


def test_command_sees_flask_current_app(
    run_appshell: RunAppshell, script_env: dict[str, str]
) -> None:
    code = "from flask import current_app; print(current_app.name)"
    result = run_appshell("--app", TEARDOWN_APP, "shell", "-c", code, input="", env=script_env)
    assert result.stdout == "script_teardown\n"
    assert result.returncode == 0


# -- FILE [ARGS]... ----------------------------------------------------------------------------

SHOW_SCRIPT = """\
import pickle
import sys

import helper


class Point:
    def __init__(self, x):
        self.x = x


copy = pickle.loads(pickle.dumps(Point(3)))
print("pickled:", type(copy) is Point, copy.x)
print("main:", __name__, sys.modules["__main__"].__dict__ is globals())
print("argv:", sys.argv)
print("path0:", sys.path[0])
print("file:", __file__)
print("helper:", helper.NAME)
print("names:", [n for n in ("app", "db", "Note") if n in globals()], Note.count())
"""


def test_file_runs_as_python_runs_it(shell: t.Callable[..., Run], tmp_path: Path) -> None:
    write(tmp_path, "scripts/show.py", SHOW_SCRIPT)
    write(tmp_path, "scripts/helper.py", "NAME = 'the sibling module'\n")
    result = shell("scripts/show.py", "--dry-run", "x y")
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["pickled"] == "True 3"
    assert lines["main"] == "__main__ True"
    assert lines["argv"] == "['scripts/show.py', '--dry-run', 'x y']"
    assert lines["path0"] == os.path.realpath(tmp_path / "scripts")
    assert os.path.samefile(lines["file"], tmp_path / "scripts" / "show.py")
    assert lines["helper"] == "the sibling module"
    assert lines["names"] == "['app', 'db', 'Note'] 0"


@pytest.mark.parametrize(
    "args",
    [
        ("--dry-run", "-q"),
        ("-i", "--echo", "-c", "print('not run')"),
        ("--help",),
        ("--repl", "nosuch"),
    ],
    ids=["dry-run-q", "appshell-options", "help", "repl"],
)
def test_options_after_file_are_the_scripts(
    shell: t.Callable[..., Run], tmp_path: Path, args: tuple[str, ...]
) -> None:
    script = write(tmp_path, "fix.py", "import sys\nprint(sys.argv)\n")
    result = shell(script, *args)
    assert result == (0, f"{[script, *args]!r}\n", "")


def test_interactive_before_file_is_appshells(shell: t.Callable[..., Run], tmp_path: Path) -> None:
    script = write(tmp_path, "fix.py", "import sys\nanswer = 41\nprint(sys.argv)\n")
    result = shell("-i", "--repl", "python", script, "-q", input="print('repl', answer + 1)\n")
    assert result.stdout.startswith("['fix.py', '-q']\n"), result.stderr
    assert "repl 42" in result.stdout
    assert result.returncode == 0


# -- stdin ---------------------------------------------------------------------------------


def test_stdin_runs_as_script(shell: t.Callable[..., Run]) -> None:
    result = shell(input="import sys\nprint(type(app).__name__, Note.count(), sys.argv)\n")
    assert result == (0, "DemoApp 0 ['-']\n", "")


def test_stdin_traceback_names_stdin(shell: t.Callable[..., Run]) -> None:
    result = shell(input="x = 1\n\nx / 0\n")
    assert result.returncode == 1
    assert result.stderr.startswith('Traceback (most recent call last):\n  File "<stdin>", line 3')
    assert result.stderr.endswith("ZeroDivisionError: division by zero\n")


def test_empty_stdin_does_nothing(shell: t.Callable[..., Run]) -> None:
    assert shell(input="") == (0, "", "")


# -- top-level await -----------------------------------------------------------------------

AWAIT_SOURCE = "import asyncio\nprint('got', await asyncio.sleep(0, result=42))\n"


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["-c", AWAIT_SOURCE], ""),
        (["script.py"], ""),
        ([], AWAIT_SOURCE),
        (["--echo", "script.py"], ""),
        (["--echo"], AWAIT_SOURCE),
    ],
    ids=["-c", "FILE", "stdin", "echo-FILE", "echo-stdin"],
)
def test_top_level_await(
    shell: t.Callable[..., Run], tmp_path: Path, args: list[str], stdin: str
) -> None:
    write(tmp_path, "script.py", AWAIT_SOURCE)
    result = shell(*args, input=stdin)
    assert "got 42" in result.stdout.splitlines(), result.stderr
    assert result.returncode == 0


STATEMENTS_SCRIPT = """\
\"\"\"The script's docstring.\"\"\"
from __future__ import annotations
import asyncio

def running():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None

loop = await asyncio.sleep(0, result=running())
"a string statement, not a docstring"
print("sync statement, loop running:", running() is not None)
print("same loop:", await asyncio.sleep(0, result=running() is loop))
print("event loop:", asyncio.get_event_loop() is loop)

def annotated(x: NotDefined) -> int:
    return 1

print(__doc__, annotated.__annotations__["x"])
if __name__ == "__main__":
    print("main:", await asyncio.sleep(0, result=running() is loop))
"""


@pytest.mark.parametrize("mode", [*MODES, "ipy"], ids=[*MODES, "ipy"])
def test_script_that_awaits_runs_its_synchronous_statements_with_no_loop_running(
    shell: t.Callable[..., Run], tmp_path: Path, mode: str
) -> None:
    # One statement at a time: an awaited one on the session's loop (the same one each
    # time), a synchronous one with no loop running (before, the whole script ran inside
    # the loop as one coroutine); the script's __future__ import and docstring still hold.
    if mode == "ipy":
        args, stdin = [write(tmp_path, "script.ipy", STATEMENTS_SCRIPT)], ""
    else:
        args, stdin = as_mode(mode, tmp_path, STATEMENTS_SCRIPT)
    result = shell(*args, input=stdin)
    assert result == (
        0,
        "sync statement, loop running: False\n"
        "same loop: True\n"
        "event loop: True\n"
        "The script's docstring. NotDefined\n"
        "main: True\n",
        "",
    )


AWAIT_THEN_RAISES = """\
import asyncio

def check(n):
    raise ValueError(f"too big: {n}")

n = await asyncio.sleep(0, result=2)
print("before")
check(n)
print("not reached")
"""


@pytest.mark.parametrize("mode", [*MODES, "interactive"], ids=[*MODES, "interactive"])
def test_synchronous_statement_after_await_raises_from_users_frame(
    shell: t.Callable[..., Run], tmp_path: Path, mode: str
) -> None:
    # The traceback of a statement run on its own names the script and its real lines.
    args, stdin = as_mode("FILE" if mode == "interactive" else mode, tmp_path, AWAIT_THEN_RAISES)
    if mode == "interactive":
        # -i: the REPL comes after, with the names the statements before the error made.
        args, stdin = ["-i", "--repl", "python", *args], "print('n is', n)\n"
    result = shell(*args, input=stdin)
    name = shown_name("FILE" if mode == "interactive" else mode, tmp_path)
    assert result.stderr.startswith(
        f'Traceback (most recent call last):\n  File "{name}", line 8, in <module>\n'
    ), result.stderr
    if mode in ("FILE", "interactive"):  # python shows a file's lines, not -c's or stdin's
        assert f'line 8, in <module>\n    check(n)\n  File "{name}", line 4' in result.stderr
    assert f'  File "{name}", line 4, in check\n' in result.stderr
    assert "ValueError: too big: 2\n" in result.stderr
    assert "not reached" not in result.stdout
    if mode == "interactive":
        assert "n is 2" in result.stdout, result.stdout
        assert result.returncode == 0
    else:
        assert result == (1, "before\n", result.stderr)


@pytest.mark.parametrize(
    ("tail", "returncode"), [("sys.exit(4)", 4), ("sys.exit()", 0)], ids=["4", "none"]
)
def test_exit_code_of_a_script_that_awaits(
    shell: t.Callable[..., Run], tmp_path: Path, tail: str, returncode: int
) -> None:
    source = f"import asyncio, sys\nawait asyncio.sleep(0)\n{tail}\nprint('not reached')\n"
    result = shell(write(tmp_path, "script.py", source))
    assert result == (returncode, "", "")


# -- --echo ----------------------------------------------------------------------------------

TRANSCRIPT = """\
"a"

# a comment, not echoed
None
def twice(x):
    return 2 * x
twice(21)
for i in range(2):
    print(i)
raise ValueError("bad")
x = 5; x
print("after")
"""


def expected_transcript(filename: str) -> str:
    # Python shows no source line for <stdin>: it cannot read the text back.
    source_line = "" if filename == "<stdin>" else '    raise ValueError("bad")\n'
    return (
        '>>> "a"\n'
        "'a'\n"
        ">>> None\n"
        ">>> def twice(x):\n"
        "...     return 2 * x\n"
        "...\n"
        ">>> twice(21)\n"
        "42\n"
        ">>> for i in range(2):\n"
        "...     print(i)\n"
        "...\n"
        "0\n"
        "1\n"
        '>>> raise ValueError("bad")\n'
        "Traceback (most recent call last):\n"
        f'  File "{filename}", line 10, in <module>\n'
        f"{source_line}"
        "ValueError: bad\n"
        ">>> x = 5; x\n"
        "5\n"
        '>>> print("after")\n'
        "after\n"
        ">>>\n"
    )


@pytest.mark.parametrize("mode", ["FILE", "stdin"], ids=["FILE", "stdin"])
def test_echo_transcript_exact_and_stable(
    shell: t.Callable[..., Run], tmp_path: Path, mode: str
) -> None:
    if mode == "FILE":
        args, stdin = ["--echo", write(tmp_path, "t.py", TRANSCRIPT)], ""
    else:
        args, stdin = ["--echo"], TRANSCRIPT
    first = shell(*args, input=stdin)
    second = shell(*args, input=stdin)
    assert first.stdout == expected_transcript("t.py" if mode == "FILE" else "<stdin>")
    assert first.returncode == 1  # a statement raised
    assert first.stderr == ""
    assert second == first


def test_echo_exit_zero_when_nothing_raised(shell: t.Callable[..., Run], tmp_path: Path) -> None:
    script = write(tmp_path, "ok.py", "n = Note.count()\nn + 1\n")
    assert shell("--echo", script) == (0, ">>> n = Note.count()\n>>> n + 1\n1\n>>>\n", "")


# -- -i and the shared session ---------------------------------------------------------------


ECHO_STDERR = """\
import os, subprocess, sys
print("out 1")
print("err 1", file=sys.stderr)
os.write(2, b"fd 2\\n")
subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('child\\\\n')"]).returncode
sys.__stderr__.write("kept stderr\\n")
1 / 0
print("out 2")
"""


def test_echo_interleaves_stderr(shell: t.Callable[..., Run], tmp_path: Path) -> None:
    # What each statement writes to stderr follows it, as on a terminal, however it got
    # there: sys.stderr, file descriptor 2, a child process, a stream kept from before.
    result = shell("--echo", write(tmp_path, "noisy.py", ECHO_STDERR))
    assert result.stdout == (
        ">>> import os, subprocess, sys\n"
        '>>> print("out 1")\n'
        "out 1\n"
        '>>> print("err 1", file=sys.stderr)\n'
        "err 1\n"
        '>>> os.write(2, b"fd 2\\n")\n'
        "fd 2\n"
        "5\n"
        '>>> subprocess.run([sys.executable, "-c", "import sys;'
        " sys.stderr.write('child\\\\n')\"]).returncode\n"
        "child\n"
        "0\n"
        '>>> sys.__stderr__.write("kept stderr\\n")\n'
        "kept stderr\n"
        "12\n"
        ">>> 1 / 0\n"
        "Traceback (most recent call last):\n"
        '  File "noisy.py", line 7, in <module>\n'
        "    1 / 0\n"
        "    ~~^~~\n"
        "ZeroDivisionError: division by zero\n"
        '>>> print("out 2")\n'
        "out 2\n"
        ">>>\n"
    )
    assert (result.returncode, result.stderr) == (1, "")


@pytest.mark.parametrize(
    ("mode", "source"),
    [
        ("FILE", "print('not run')\nx = (1,\n"),
        ("FILE", "print('not run')\nreturn 5\n"),
        ("FILE", "print('not run')\ndef f(:\n    pass\n"),
        ("stdin", "print('not run')\nx = (1,\n"),
        ("stdin", "print('not run')\nreturn 5\n"),
    ],
    ids=["FILE-unclosed", "FILE-return-outside", "FILE-bad-def", "stdin-unclosed", "stdin-return"],
)
def test_echo_syntax_error_shown_like_python(
    shell: t.Callable[..., Run], tmp_path: Path, mode: str, source: str
) -> None:
    script = write(tmp_path, "bad.py", source)
    if mode == "FILE":
        result = shell("--echo", script)
        # Python names the file by its absolute path; a transcript by the name given.
        expected = python(tmp_path, script).stderr.replace(str(tmp_path / script), script)
    else:
        result = shell("--echo", input=source)
        expected = python(tmp_path, input=source).stderr
    assert expected.startswith("  File ")
    assert "^" in expected or mode == "stdin"  # python cannot show a line of stdin again
    assert result == (1, "", expected)


@pytest.mark.parametrize("mode", ["-c", "FILE"], ids=["-c", "FILE"])
def test_interactive_after_script_keeps_its_globals(
    shell: t.Callable[..., Run], tmp_path: Path, mode: str
) -> None:
    args, _ = as_mode(mode, tmp_path, "x = 41\n")
    result = shell("-i", "--repl", "python", *args, input="print('answer', x + 1)\n")
    assert "answer 42" in result.stdout, result.stderr
    assert result.returncode == 0


def test_interactive_alone_forces_repl_on_piped_stdin(shell: t.Callable[..., Run]) -> None:
    result = shell("-i", "--repl", "python", input="print('notes', Note.count())\n")
    # The python REPL's prompt: stdin was read by the REPL, not run as a script.
    assert result.stdout.startswith(">>> notes 0\n"), result.stderr
    assert result.returncode == 0


SESSION_SCRIPT = """\
import asyncio
import contextvars

request_id = contextvars.ContextVar("request_id")
request_id.set("set by the script")

async def running_loop():
    return asyncio.get_running_loop()

loop = await running_loop()
"""

SESSION_REPL_INPUT = """\
async def same_loop():
    return asyncio.get_running_loop() is loop

print("same loop:", await same_loop())
print("context:", request_id.get("lost"))
"""


@pytest.mark.parametrize("mode", ["-c", "FILE"], ids=["-c", "FILE"])
def test_script_and_repl_share_loop_and_context(
    shell: t.Callable[..., Run], tmp_path: Path, mode: str
) -> None:
    args, _ = as_mode(mode, tmp_path, SESSION_SCRIPT)
    result = shell("-i", "--repl", "python", *args, input=SESSION_REPL_INPUT)
    assert "same loop: True" in result.stdout, result.stderr
    assert "context: set by the script" in result.stdout
    assert result.returncode == 0


# -- .ipy files and --ipython --------------------------------------------------------------

IPY_SOURCE = """\
import os
import sys
!echo hi from the shell
here = %pwd
print("pwd:", here == os.getcwd())
%time total = 40 + 2
print("argv:", sys.argv, "total:", total, "notes:", Note.count())
"""


def test_ipy_file_magics_and_shell_lines(shell: t.Callable[..., Run], tmp_path: Path) -> None:
    script = write(tmp_path, "magic.ipy", IPY_SOURCE)
    result = shell(script, "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "hi from the shell"
    assert lines[1] == "pwd: True"
    assert any(line.startswith("Wall time:") for line in lines)  # %time's report
    assert lines[-1] == "argv: ['magic.ipy', '--dry-run'] total: 42 notes: 0"


def test_ipython_flag_runs_stdin_through_ipython(shell: t.Callable[..., Run]) -> None:
    result = shell("--ipython", input="!echo hi\nx = %pwd\nprint(type(x).__name__)\n")
    assert result == (0, "hi\nstr\n", "")


def test_ipy_traceback_names_file_and_lines(shell: t.Callable[..., Run], tmp_path: Path) -> None:
    script = write(
        tmp_path,
        "fail.ipy",
        """\
        %pwd
        def check(n):
            raise ValueError(f"too big: {n}")

        check(2)
        """,
    )
    result = shell(script)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Traceback (most recent call last):\n"
        '  File "fail.ipy", line 5, in <module>\n'
        "    check(2)\n"
        '  File "fail.ipy", line 3, in check\n'
        '    raise ValueError(f"too big: {n}")\n'
        "ValueError: too big: 2\n"
    )


def test_ipy_unknown_magic_is_one_line(shell: t.Callable[..., Run], tmp_path: Path) -> None:
    script = write(tmp_path, "typo.ipy", "print('before')\n%nosuchmagic x\nprint('after')\n")
    result = shell(script)
    # As `ipython typo.ipy`: IPython's one line, nothing after it runs, exit code 1.
    assert result == (
        1,
        "before\n",
        "UsageError: Line magic function `%nosuchmagic` not found.\n",
    )


@pytest.mark.parametrize(
    ("code", "returncode", "stderr"),
    [("sys.exit(3)", 3, ""), ("sys.exit('message')", 1, "message\n"), ("sys.exit()", 0, "")],
    ids=["3", "message", "none"],
)
def test_ipy_sys_exit_is_the_exit_code(
    shell: t.Callable[..., Run], tmp_path: Path, code: str, returncode: int, stderr: str
) -> None:
    script = write(tmp_path, "quit.ipy", f"import sys\n%pwd\n{code}\nprint('not reached')\n")
    assert shell(script) == (returncode, "", stderr)


def test_ipy_then_interactive_repl(shell: t.Callable[..., Run], tmp_path: Path) -> None:
    # Reusing the same IPython shell for the REPL needs a terminal (tests/e2e); here the
    # python REPL after a .ipy file gets the file's globals.
    script = write(tmp_path, "setup.ipy", "here = %pwd\nx = 41\n")
    result = shell("-i", "--repl", "python", script, input="print('answer', x + 1)\n")
    assert "answer 42" in result.stdout, result.stderr
    assert result.returncode == 0


@pytest.mark.parametrize(
    ("args", "stdin"),
    [(["magic.ipy"], ""), (["--ipython"], "print(1)\n")],
    ids=["ipy-file", "ipython-stdin"],
)
def test_ipython_syntax_without_ipython(
    shell: t.Callable[..., Run], tmp_path: Path, args: list[str], stdin: str
) -> None:
    write(tmp_path, "magic.ipy", IPY_SOURCE)
    blocked = tmp_path / "no-ipython"
    blocked.mkdir()
    (blocked / "sitecustomize.py").write_text("import sys\nsys.modules['IPython'] = None\n")
    result = shell(*args, input=stdin, env={"PYTHONPATH": str(blocked)})
    assert result.returncode == 2
    assert result.stdout == ""
    assert "appshell[ipython]" in result.stderr
    assert "Traceback" not in result.stderr


# -- exit codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES, ids=MODES)
@pytest.mark.parametrize(
    ("code", "returncode", "stderr"),
    [
        ("pass", 0, ""),
        ("sys.exit(0)", 0, ""),
        ("sys.exit(3)", 3, ""),
        ("sys.exit('message')", 1, "message\n"),
        ("sys.exit(None)", 0, ""),
    ],
    ids=["no-exit", "0", "3", "message", "None"],
)
def test_script_exit_code(
    shell: t.Callable[..., Run],
    tmp_path: Path,
    mode: str,
    code: str,
    returncode: int,
    stderr: str,
) -> None:
    args, stdin = as_mode(mode, tmp_path, f"import sys\nprint('ran')\n{code}\n")
    assert shell(*args, input=stdin) == (returncode, "ran\n", stderr)


RAISES = """\
def check(n):
    if n > 1:
        raise ValueError(f"too big: {n}")

check(2)
"""


@pytest.mark.parametrize("mode", MODES, ids=MODES)
def test_traceback_is_pythons(shell: t.Callable[..., Run], tmp_path: Path, mode: str) -> None:
    """The call line and the raising line, and nothing of appshell's, as Python shows it."""
    args, stdin = as_mode(mode, tmp_path, RAISES)
    result = shell(*args, input=stdin)
    expected = python(tmp_path, *args, input=stdin)
    assert expected.returncode == 1
    assert result == (1, "", expected.stderr)
    assert result.stderr.startswith(
        f'Traceback (most recent call last):\n  File "{shown_name(mode, tmp_path)}", line 5,'
        " in <module>\n"
    )
    assert f'  File "{shown_name(mode, tmp_path)}", line 3, in check\n' in result.stderr


ASYNC_RAISES = """\
import asyncio

async def check(n):
    await asyncio.sleep(0)
    raise ValueError(f"too big: {n}")

await check(2)
"""


@pytest.mark.parametrize("mode", MODES, ids=MODES)
def test_awaited_traceback_starts_at_users_frame(
    shell: t.Callable[..., Run], tmp_path: Path, mode: str
) -> None:
    args, stdin = as_mode(mode, tmp_path, ASYNC_RAISES)
    result = shell(*args, input=stdin)
    name = shown_name(mode, tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f'Traceback (most recent call last):\n  File "{name}", line 7, in <module>\n'
    ), result.stderr
    assert f'  File "{name}", line 5, in check\n' in result.stderr
    assert result.stderr.endswith("ValueError: too big: 2\n")


@pytest.mark.parametrize(
    ("tail", "returncode"),
    [("sys.exit(3)", 3), ("raise RuntimeError('boom')", 1)],
    ids=["exit", "raise"],
)
def test_output_flushed_before_exit(
    shell: t.Callable[..., Run], tmp_path: Path, tail: str, returncode: int
) -> None:
    script = write(tmp_path, "partial.py", f"import sys\nsys.stdout.write('no newline')\n{tail}\n")
    result = shell(script, env=BUFFERED)
    assert result.returncode == returncode
    assert result.stdout == "no newline"


# -- Ctrl-C ----------------------------------------------------------------------------------


def interrupt(args: list[str], env: dict[str, str], cwd: Path, *, ready_on: str = "stderr") -> Run:
    """Start appshell, wait for a 'ready' line on its ``ready_on`` stream, send SIGINT, wait
    for it to end (killed after 15 s: its return code is then -9)."""
    with subprocess.Popen(
        [str(APPSHELL), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        stream = proc.stdout if ready_on == "stdout" else proc.stderr
        assert stream is not None
        before = ""
        while not before.endswith("ready\n"):
            line = stream.readline()
            if not line:
                break
            before += line
        if before.endswith("ready\n"):
            proc.send_signal(signal.SIGINT)
        try:
            stdout, stderr = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
    assert before.endswith("ready\n"), before + stderr
    if ready_on == "stdout":
        return Run(proc.returncode, before + stdout, stderr)
    return Run(proc.returncode, stdout, before + stderr)


READY = "print('ready', file=sys.stderr, flush=True)\n"
WAITERS = {
    "sleep": f"{READY}time.sleep(30)\n",
    # Ctrl-C while the loop waits for the sleep to end.
    "await": f"{READY}await asyncio.sleep(30)\n",
    # Ctrl-C inside a running coroutine: its task ends with KeyboardInterrupt.
    "coroutine": f"async def work():\n    {READY}    time.sleep(30)\n\nawait work()\n",
}


@pytest.mark.parametrize(
    ("mode", "waiter"),
    [
        ("FILE", "sleep"),
        ("FILE", "await"),
        ("FILE", "coroutine"),
        ("-c", "sleep"),
        ("echo", "sleep"),
    ],
    ids=["FILE", "FILE-await", "FILE-coroutine", "-c", "echo"],
)
def test_ctrl_c_exits_130_after_teardown(
    script_env: dict[str, str], tmp_path: Path, mode: str, waiter: str
) -> None:
    source = (
        "import asyncio\nimport sys\nimport time\n"
        "sys.stdout.write('written before Ctrl-C')\n" + WAITERS[waiter]
    )
    if mode == "-c":
        args = ["-c", source]
    else:
        args = [write(tmp_path, "wait.py", source)]
        if mode == "echo":
            args.insert(0, "--echo")
    # A transcript holds what the script writes to stderr, 'ready' included.
    ready_on = "stdout" if mode == "echo" else "stderr"
    command = ["--app", TEARDOWN_APP, "shell", *args]
    result = interrupt(command, environ(script_env), tmp_path, ready_on=ready_on)
    assert result.returncode == 130, result.stderr  # exited, not killed by the signal (-2)
    assert "written before Ctrl-C" in result.stdout
    assert Path(script_env["SCRIPT_TEARDOWN_MARKER"]).read_text() == "teardown\n"


# -- teardown --------------------------------------------------------------------------------

TEARDOWN_SCRIPT = """\
import os
import sys
from flask import current_app

with open(os.environ["SCRIPT_TEARDOWN_MARKER"], "a") as f:
    f.write(f"script in {current_app.name}\\n")
"""


@pytest.mark.parametrize("mode", ["-c", "FILE"], ids=["-c", "FILE"])
@pytest.mark.parametrize(
    ("tail", "returncode"),
    [("", 0), ("1 / 0", 1), ("sys.exit(3)", 3)],
    ids=["ok", "raise", "sys.exit"],
)
def test_app_context_torn_down(
    run_appshell: RunAppshell,
    script_env: dict[str, str],
    tmp_path: Path,
    mode: str,
    tail: str,
    returncode: int,
) -> None:
    args, _ = as_mode(mode, tmp_path, TEARDOWN_SCRIPT + tail + "\n")
    result = run_appshell("--app", TEARDOWN_APP, "shell", *args, input="", env=script_env)
    assert result.returncode == returncode, result.stderr
    marker = Path(script_env["SCRIPT_TEARDOWN_MARKER"]).read_text()
    assert marker == "script in script_teardown\nteardown\n"


RAISING_TEARDOWN_APP = """\
from flask import Flask

app = Flask("brokenteardown")


@app.teardown_appcontext
def close_db(exc):
    raise RuntimeError("teardown broke")
"""
TEARDOWN_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "{app}", line 8, in close_db\n'
    '    raise RuntimeError("teardown broke")\n'
    "RuntimeError: teardown broke\n"
)


@pytest.mark.parametrize(
    ("args", "returncode", "stdout", "before"),
    [
        (["-c", "import sys; print('ran'); sys.exit(3)"], 3, "ran\n", ""),
        (["exits.py"], 3, "ran\n", ""),
        (["--echo", "exits.py"], 3, ">>> import sys\n>>> print('ran')\nran\n>>> sys.exit(3)\n", ""),
        (["-c", "print('ran')"], 1, "ran\n", ""),
        (["-c", "1 / 0"], 1, "", "ZeroDivisionError: division by zero\n"),
        (["missing.py"], 2, "", ""),
    ],
    ids=["-c-exit-3", "FILE-exit-3", "echo-exit-3", "-c-ok", "-c-raise", "no-such-file"],
)
def test_teardown_that_raises_keeps_the_scripts_code(
    run_appshell: RunAppshell,
    tmp_path: Path,
    args: list[str],
    returncode: int,
    stdout: str,
    before: str,
) -> None:
    write(tmp_path, "brokenteardown.py", RAISING_TEARDOWN_APP)
    write(tmp_path, "exits.py", "import sys\nprint('ran')\nsys.exit(3)\n")
    result = run_appshell("--app", "brokenteardown", "shell", *args, input="")
    assert (result.returncode, result.stdout) == (returncode, stdout), result.stderr
    # The teardown's own traceback, from the app's frame (not contextlib's or Flask's), once,
    # after what the script itself printed; not chained to how the script ended.
    shown = TEARDOWN_TRACEBACK.format(app=tmp_path / "brokenteardown.py")
    if returncode == 2:  # a missing script is said before the app loads: no teardown runs
        assert result.stderr == "Error: Cannot run 'missing.py': there is no such file.\n"
        return
    assert result.stderr.count("Traceback") == (2 if before else 1)
    assert "During handling" not in result.stderr
    # The script's own traceback, if it raised, then the teardown's.
    assert result.stderr.endswith(shown)
    assert result.stderr.removesuffix(shown).endswith(before)


def test_teardown_that_raises_after_the_repl(run_appshell: RunAppshell, tmp_path: Path) -> None:
    write(tmp_path, "brokenteardown.py", RAISING_TEARDOWN_APP)
    args = ("--app", "brokenteardown", "shell", "--repl", "python", "-i", "-c", "print('ran')")
    result = run_appshell(*args, input="")
    assert result.returncode == 1
    assert result.stdout.startswith("ran\n")
    assert result.stderr.endswith(TEARDOWN_TRACEBACK.format(app=tmp_path / "brokenteardown.py"))
    assert result.stderr.count("Traceback") == 1


# -- bad input -------------------------------------------------------------------------------


def test_script_not_found(shell: t.Callable[..., Run]) -> None:
    result = shell("missing/nope.py", "arg")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'missing/nope.py'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("echo", [[], ["--echo"]], ids=["run", "echo"])
def test_folder_as_script(shell: t.Callable[..., Run], tmp_path: Path, echo: list[str]) -> None:
    (tmp_path / "tools").mkdir()
    result = shell(*echo, "tools")
    assert result.returncode == 2
    assert "'tools'" in result.stderr
    assert "folder" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "source",
    ["x = (1,\nprint(x)\n", "print('fine')\nx = 1 +\n", "def f(:\n    pass\n"],
    ids=["unclosed", "dangling-operator", "bad-def"],
)
def test_syntax_error_shown_like_python(
    shell: t.Callable[..., Run], tmp_path: Path, source: str
) -> None:
    script = write(tmp_path, "x.py", source)
    result = shell(script)
    expected = python(tmp_path, script)
    assert result == (1, "", expected.stderr)
    assert result.stderr.startswith(f'  File "{tmp_path / "x.py"}", line ')
    assert "^" in result.stderr


PRINTS_MANY = "for i in range(100_000):\n    print(i)\n"


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        ("many.py", "0"),
        ("--echo many.py", ">>> for i in range(100_000):"),
        ("< many.py", "0"),
        ("-c " + shlex.quote(PRINTS_MANY), "0"),
    ],
    ids=["FILE", "echo", "stdin", "-c"],
)
def test_output_piped_to_head(
    script_env: dict[str, str], tmp_path: Path, args: str, first_line: str
) -> None:
    write(tmp_path, "many.py", PRINTS_MANY)
    result = in_bash(f"{DEMO_SHELL} {args} | head -1", script_env, tmp_path)
    assert result.stdout == first_line + "\n"
    assert "BrokenPipeError" not in result.stderr
    assert "Traceback" not in result.stderr


SOURCE_BYTES = {
    "latin-1": b"x = 1\nprint('caf\xe9')\n",
    "binary": b"print('caf\xe9')\n\xff\xfe\x00\x81\n",
    "declared-latin-1": b"#!/usr/bin/env python\n# -*- coding: latin-1 -*-\nprint('caf\xe9')\n",
    "declared-utf-8-bad-string": b"# coding: utf-8\nx = 1\ny = '\xe9'\n",
    "declared-utf-8-bad-comment": b"# coding: utf-8\n# caf\xe9\nprint('ran')\n",
    "bom-bad-comment": b"\xef\xbb\xbf# caf\xe9\nprint('ran')\n",
    "unknown-encoding": b"# coding: nosuch\nprint('ran')\n",
    "not-the-declared": b"# coding: ascii\nprint('caf\xe9')\n",
    "bom-and-latin-1": b"\xef\xbb\xbf# coding: latin-1\nprint('ran')\n",
    "declaration-after-code": b"print('caf\xe9')\n# coding: latin-1\n",
    "null-byte": b"y = 2\nx = 1\x00z\n",
}
# Python refuses a declaration other than UTF-8 on stdin: appshell honours it there too.
STDIN_SOURCES = [name for name in SOURCE_BYTES if name not in ("declared-latin-1",)]


@pytest.mark.parametrize(
    ("mode", "name"),
    [("FILE", name) for name in SOURCE_BYTES] + [("stdin", name) for name in STDIN_SOURCES],
    ids=[f"FILE-{name}" for name in SOURCE_BYTES] + [f"stdin-{name}" for name in STDIN_SOURCES],
)
def test_script_bytes_read_as_python_reads_them(
    script_env: dict[str, str], tmp_path: Path, mode: str, name: str
) -> None:
    (tmp_path / "enc.py").write_bytes(SOURCE_BYTES[name])
    args = ["enc.py"] if mode == "FILE" else []
    stdin = b"" if mode == "FILE" else SOURCE_BYTES[name]
    ran = [
        subprocess.run(
            command, cwd=tmp_path, env=environ(script_env), input=stdin, capture_output=True
        )
        for command in ([str(APPSHELL), *DEMO, *args], [sys.executable, *args])
    ]
    appshell, python = ((r.returncode, r.stdout, r.stderr.decode()) for r in ran)
    assert appshell == python
    assert "Traceback" not in appshell[2]


def test_declared_encoding_on_stdin_is_honoured(script_env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(APPSHELL), *DEMO],
        cwd=tmp_path,
        input=SOURCE_BYTES["declared-latin-1"],
        capture_output=True,
        env=environ(script_env),
    )
    assert (proc.returncode, proc.stdout.decode(), proc.stderr) == (0, "café\n", b"")


def test_stdin_not_readable(script_env: dict[str, str], tmp_path: Path) -> None:
    # stdin is the write end of the pipe stdout goes to.
    result = in_bash(f"{DEMO_SHELL} 0<&1", script_env, tmp_path)
    assert result.returncode == 2
    assert "stdin" in result.stderr
    assert f"[Errno {errno.EBADF}]" in result.stderr
    assert "Traceback" not in result.stderr


def test_symlink_loop_as_script(shell: t.Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "loop.py").symlink_to("loop.py")
    result = shell("loop.py")
    python_said = f"[Errno {errno.ELOOP}] {os.strerror(errno.ELOOP)}"
    assert python_said in python(tmp_path, "loop.py").stderr
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'loop.py'" in result.stderr
    assert python_said in result.stderr
    assert "no such file" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    ["", "-", "-c 'import sys; print(sys.stdin)'", "--echo", "-i"],
    ids=["nothing", "dash", "-c", "echo", "-i"],
)
def test_stdin_closed(script_env: dict[str, str], tmp_path: Path, args: str) -> None:
    def run(command: str) -> Run:
        return in_bash(f"{command} {args} <&-", script_env, tmp_path)

    result = run(DEMO_SHELL)
    assert "Traceback" not in result.stderr
    if args == "-i":  # python shows its banner and ends at once: so does the REPL here
        assert result.returncode == 0, result.stderr
        return
    expected = run(shlex.quote(sys.executable)) if args != "--echo" else Run(0, ">>>\n", "")
    assert result == expected


def test_echo_with_command_is_usage_error(shell: t.Callable[..., Run]) -> None:
    result = shell("--echo", "-c", "print('ran')")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--echo" in result.stderr


def test_unknown_repl_with_command(shell: t.Callable[..., Run]) -> None:
    result = shell("--repl", "nosuch", "-c", "print('ran')")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'nosuch'" in result.stderr
