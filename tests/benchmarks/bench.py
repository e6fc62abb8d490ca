"""appshell's benchmarks, each figure against its peer measured in the same run.

Run with ``nox -s bench`` (which makes the peer virtualenv, with Flask but without appshell,
since with appshell installed ``flask shell`` is appshell's). Prints one table of medians and
ratios; ``--json FILE`` writes the same table as JSON. Nothing here asserts anything: the
targets are in the table, and in the README's "Performance" section.

A figure that is a whole command (figures 1-3) is judged on the instructions it executes, as
valgrind's callgrind counts them (median of ``--callgrind-repeat`` runs), with its wall medians
printed beside: on a shared machine wall times of one command vary by half from run to run,
instruction counts by well under 1%. Without valgrind those figures are judged on wall medians.
``--only commands`` measures figures 1-3 alone.

    python tests/benchmarks/bench.py --peer-venv PATH [--repeat N] [--callgrind-repeat N]
        [--only commands] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

BENCH_APP = """
from flask import Flask

def create_app():
    app = Flask(__name__)

    @app.route("/")
    def index():
        return "hello"

    @app.route("/users/<int:user_id>")
    def user(user_id):
        return str(user_id)

    @app.shell_context_processor
    def names():
        return {"answer": 42}

    return app

app = create_app()
"""


BENCH_ASGI_APP = """
import contextlib

from fastapi import FastAPI


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"ready": True}


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def index():
    return {"hello": "world"}
"""

# Figure 9 (issue 14): a Flask-SQLAlchemy app, run with no database option. The database
# integration applies (the app imported SQLAlchemy): its models and `sql` are in the shell.
BENCH_FSA_APP = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Post(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]


app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///bench.db"
db.init_app(app)
"""


class Figure(t.NamedTuple):
    """One row of the table: appshell's value against its peer's, and the verdict.

    ``instructions`` (appshell's, the peer's) is set for a whole command counted under
    callgrind; the verdict is then on those counts, and ``appshell``/``peer`` are the wall
    medians printed beside them.
    """

    name: str
    unit: str
    appshell: float
    peer_name: str
    peer: float
    target: str
    met: bool | None
    instructions: tuple[int, int] | None = None

    @property
    def wall_ratio(self) -> float:
        return self.appshell / self.peer if self.peer else float("nan")

    @property
    def ratio(self) -> float:
        if self.instructions is None:
            return self.wall_ratio
        ours, peer = self.instructions
        return ours / peer if peer else float("nan")


Commands = dict[str, tuple[list[str], str | None]]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPSHELL_", "FLASK_"))}
    # Real users have bytecode: measure with it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def run_once(
    argv: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None
) -> tuple[float, int]:
    """Wall time of one run and its peak RSS in KiB (from wait4, so per process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(argv)}")
    return elapsed, usage.ru_maxrss


def median_times(
    commands: Commands, cwd: Path, env: dict[str, str], repeat: int
) -> dict[str, tuple[float, int]]:
    """Median wall time (s) and median peak RSS (KiB) per command, runs interleaved."""
    times: dict[str, list[float]] = {k: [] for k in commands}
    rss: dict[str, list[int]] = {k: [] for k in commands}
    for argv, stdin in commands.values():  # warm the caches once
        run_once(argv, cwd, env, stdin)
    for _ in range(repeat):
        for name, (argv, stdin) in commands.items():
            elapsed, peak = run_once(argv, cwd, env, stdin)
            times[name].append(elapsed)
            rss[name].append(peak)
    return {k: (statistics.median(times[k]), int(statistics.median(rss[k]))) for k in commands}


COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.MULTILINE)


def count_instructions(
    valgrind: str, argv: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None
) -> int:
    """Instructions one run of ``argv`` executes in user space (callgrind's "Collected")."""
    proc = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        cwd=cwd,
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    found = COLLECTED.search(proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(
            f"benchmark command failed under valgrind ({proc.returncode}): {' '.join(argv)}\n"
            + proc.stderr[-2000:]
        )
    return int(found.group(1))


def instruction_counts(
    valgrind: str, commands: Commands, cwd: Path, env: dict[str, str], repeat: int
) -> dict[str, list[int]]:
    """Each command's instruction count in each of ``repeat`` runs.

    The count barely moves between runs (hash randomisation and address layout only), so a
    few runs suffice; each run is some 50 times slower than the command alone.
    """
    counts: dict[str, list[int]] = {k: [] for k in commands}
    for _ in range(repeat):
        for name, (argv, stdin) in commands.items():
            counts[name].append(count_instructions(valgrind, argv, cwd, env, stdin))
    return counts


def command_figure(
    name: str,
    ours: str,
    peer_name: str,
    peer: str,
    limit: float | None,
    wall: dict[str, float],
    instructions: dict[str, int] | None,
) -> Figure:
    """A whole command against its peer: judged on instructions if counted, else on wall."""
    counts = (instructions[ours], instructions[peer]) if instructions else None
    judged: tuple[float, float] = counts or (wall[ours], wall[peer])
    return Figure(
        name,
        "ms",
        wall[ours] * 1e3,
        peer_name,
        wall[peer] * 1e3,
        "-" if limit is None else f"<= {limit}x",
        None if limit is None else judged[0] <= limit * judged[1],
        counts,
    )


# Figures 1-3: (figure, appshell's command, peer's name, peer's command, target ratio).
# 1.05x for shell -c pass is the old "+10 ms" over a 220 ms import, as a ratio instructions
# can judge.
COMMAND_FIGURES: list[tuple[str, str, str, str, float | None]] = [
    ("1. appshell --help", "appshell --help", 'python -c "import click"', "import click", 1.5),
    ("1. appshell --help", "appshell --help", "flask --help", "flask --help", None),
    (
        "2. appshell --app APP --help",
        "appshell --app --help",
        "flask --app APP --help",
        "flask --app --help",
        1.05,
    ),
    (
        "3. appshell --app APP shell -c pass",
        "shell -c pass",
        "python -c 'import APP'",
        "import app",
        1.05,
    ),
    (
        "3. appshell --app APP shell -c pass",
        "shell -c pass",
        "echo pass | flask shell",
        "flask shell < pass",
        1.05,
    ),
    # The lifespan runs too (startup and shutdown); the target of issue 13 is "+10 ms",
    # about 1.03x of importing a FastAPI app here.
    (
        "8. appshell --app FASTAPI shell -c pass",
        "asgi shell -c pass",
        "python -c 'import APP'",
        "import asgi app",
        1.03,
    ),
    # Issue 14's target is "no slower than before the database tools" (measured old code
    # against new in one environment, see the README); beside its peer, figure 3's target.
    (
        "9. appshell --app FLASK-SQLALCHEMY shell -c pass",
        "fsa shell -c pass",
        "python -c 'import APP'",
        "import fsa app",
        1.05,
    ),
]


def command_figures(wall: dict[str, float], instructions: dict[str, int] | None) -> list[Figure]:
    """Figures 1-3: what a command costs against the command it stands beside."""
    return [
        command_figure(name, ours, peer_name, peer, limit, wall, instructions)
        for name, ours, peer_name, peer, limit in COMMAND_FIGURES
    ]


def time_to_prompt(
    argv: list[str], cwd: Path, env: dict[str, str], prompt: str, repeat: int
) -> float:
    """Median seconds from start to the first prompt, in a pseudo-terminal.

    Read straight from the pty (pexpect adds tens of milliseconds of its own), answering
    a cursor-position request as a terminal would.
    """
    import re
    import select

    pattern = re.compile(prompt.encode())
    samples = []
    for i in range(repeat + 1):
        master, slave = os.openpty()
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, start_new_session=True
        )
        os.close(slave)
        seen = b""
        try:
            while not pattern.search(seen):
                ready, _, _ = select.select([master], [], [], 60)
                if not ready:
                    raise SystemExit(f"no prompt from {' '.join(argv)}: {seen[-300:]!r}")
                chunk = os.read(master, 65536)
                seen += chunk
                if b"\x1b[6n" in chunk:
                    os.write(master, b"\x1b[1;1R")
            elapsed = time.perf_counter() - start
        finally:
            proc.kill()
            proc.wait()
            os.close(master)
        if i:  # the first run warms the caches
            samples.append(elapsed)
    return statistics.median(samples)


def namespace_build(providers: int, names: int = 10) -> float:
    """Seconds to build a namespace from ``providers`` providers of ``names`` names each."""
    from appshell.shell.context import ContextBuilder

    funcs = [
        (f"provider:p{i}", (lambda i=i: {f"n{i}_{j}": j for j in range(names)}))
        for i in range(providers)
    ]
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        builder = ContextBuilder()
        builder.add_providers(funcs)
        builder.build()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def echo_vs_console(workdir: Path, env: dict[str, str], repeat: int) -> tuple[float, float]:
    """A 20,000-statement transcript: appshell --echo vs code.InteractiveConsole."""
    lines = []
    for i in range(5_000):
        lines += [f"x{i % 50} = {i}", f"x{i % 50} + 1", f"if x{i % 50} > 3:", "    y = 2", ""]
    script = workdir / "transcript.py"
    script.write_text("\n".join(lines) + "\n")
    console = workdir / "console_peer.py"
    console.write_text(
        textwrap.dedent(
            """
            import code, sys
            console = code.InteractiveConsole()
            for line in open(sys.argv[1]).read().splitlines():
                console.push(line)
            """
        )
    )
    result = median_times(
        {
            "echo": (
                [str(BIN / "appshell"), "--app", "benchapp", "shell", "--echo", str(script)],
                None,
            ),
            "console": ([sys.executable, str(console), str(script)], None),
        },
        workdir,
        env,
        max(3, repeat // 3),
    )
    return result["echo"][0], result["console"][0]


def whole_commands(appshell: str, flask: str) -> Commands:
    """The commands of figures 1-3 (and 7), each with the text it reads on stdin."""
    return {
        "appshell --help": ([appshell, "--help"], None),
        "import click": ([sys.executable, "-c", "import click"], None),
        "flask --help": ([flask, "--help"], None),
        "appshell --app --help": ([appshell, "--app", "benchapp", "--help"], None),
        "flask --app --help": ([flask, "--app", "benchapp", "--help"], None),
        "shell -c pass": ([appshell, "--app", "benchapp", "shell", "-c", "pass"], None),
        "import app": ([sys.executable, "-c", "import benchapp"], None),
        "flask shell < pass": ([flask, "--app", "benchapp", "shell"], "pass\n"),
        "asgi shell -c pass": ([appshell, "--app", "benchasgi", "shell", "-c", "pass"], None),
        "import asgi app": ([sys.executable, "-c", "import benchasgi"], None),
        "fsa shell -c pass": ([appshell, "--app", "benchfsa", "shell", "-c", "pass"], None),
        "import fsa app": ([sys.executable, "-c", "import benchfsa"], None),
    }


def prompt_figures(appshell: str, work: Path, env: dict[str, str], repeat: int) -> list[Figure]:
    """Figure 4: time to each REPL's first prompt, less the app's import, against the bare REPL."""
    # The app's own import time, measured the same way as the prompts (in a pty, until
    # python's prompt): python -i with the app imported, less bare python -i.
    pty_repeat = max(3, repeat // 3)
    bare_python = time_to_prompt([sys.executable, "-i"], work, env, r">>> ", pty_repeat)
    app_import = max(
        time_to_prompt(
            [sys.executable, "-i", "-c", "import benchapp"], work, env, r">>> ", pty_repeat
        )
        - bare_python,
        0.0,
    )
    prompts = {
        "ipython": (r"In \[\S*?\d+\S*?\]: ", [str(BIN / "ipython")]),
        "ptpython": (r">>>", [str(BIN / "ptpython")]),
        "python": (r">>> ", [sys.executable, "-i"]),
    }
    figures = []
    for repl, (prompt, bare) in prompts.items():
        ours = time_to_prompt(
            [appshell, "--app", "benchapp", "shell", "--repl", repl],
            work,
            env,
            prompt,
            pty_repeat,
        )
        peer = (
            bare_python if repl == "python" else time_to_prompt(bare, work, env, prompt, pty_repeat)
        )
        figures.append(
            Figure(
                f"4. first prompt, --repl {repl} (less app import)",
                "ms",
                (ours - app_import) * 1e3,
                f"bare {repl}",
                peer * 1e3,
                "<= 1.10x",
                ours - app_import <= 1.10 * peer,
            )
        )
    return figures


def namespace_figures() -> list[Figure]:
    """Figure 5: building the namespace, and how it grows with the providers."""
    sys.path.insert(0, str(HERE.parent.parent))
    small, large = namespace_build(1_000), namespace_build(10_000)
    return [
        Figure(
            "5. namespace, 10,000 providers x 10 names",
            "ms",
            large * 1e3,
            "1,000 providers x 10 names",
            small * 1e3,
            "<= 12x",
            large <= 12 * small,
        ),
        Figure(
            "5. namespace, 1,000 providers x 10 names",
            "ms",
            small * 1e3,
            "20 ms",
            20.0,
            "< 20 ms",
            small < 0.020,
        ),
    ]


def echo_figure(work: Path, env: dict[str, str], repeat: int) -> Figure:
    """Figure 6: replaying a long transcript."""
    echo, console = echo_vs_console(work, env, repeat)
    return Figure(
        "6. --echo, 20,000 statements",
        "ms",
        echo * 1e3,
        "code.InteractiveConsole",
        console * 1e3,
        "<= 1.0x",
        echo <= console,
    )


def rss_figure(rss: dict[str, int]) -> Figure:
    """Figure 7: the memory a shell adds to the app's."""
    return Figure(
        "7. peak RSS, shell -c pass",
        "MiB",
        rss["shell -c pass"] / 1024,
        "python -c 'import APP'",
        rss["import app"] / 1024,
        "<= 1.10x",
        rss["shell -c pass"] <= 1.10 * rss["import app"],
    )


def find_valgrind() -> str | None:
    """valgrind's path, or None after saying in one line what that changes."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print(
            "valgrind not found: figures 1-3 are judged on wall medians"
            " (install valgrind to count their instructions)",
            file=sys.stderr,
        )
    return valgrind


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--peer-venv",
        type=Path,
        required=True,
        help="a virtualenv with Flask, IPython and ptpython but not appshell",
    )
    parser.add_argument("--repeat", type=int, default=15, help="runs per command (median)")
    parser.add_argument(
        "--callgrind-repeat",
        type=int,
        default=3,
        help="runs per whole command under callgrind (median)",
    )
    parser.add_argument(
        "--only",
        choices=["commands"],
        help="measure only the whole-command figures (1-3)",
    )
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    repeat = args.repeat
    valgrind = find_valgrind()
    started = time.perf_counter()

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "benchapp.py").write_text(BENCH_APP)
        (work / "benchasgi.py").write_text(BENCH_ASGI_APP)
        (work / "benchfsa.py").write_text(BENCH_FSA_APP)
        env = clean_env(
            HOME=str(work / "home"),
            XDG_STATE_HOME=str(work / "state"),
            IPYTHONDIR=str(work / "ipython"),
            PTPYTHON_CONFIG_HOME=str(work / "ptpython"),
            TERM="xterm",
            PROMPT_TOOLKIT_NO_CPR="1",
        )
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(work)], check=True)
        appshell = str(BIN / "appshell")
        commands = whole_commands(appshell, str(args.peer_venv.resolve() / "bin" / "flask"))
        # Wall times first: their warm-up runs write any bytecode still missing, which
        # callgrind would otherwise count as compiling.
        m = median_times(commands, work, env, repeat)
        runs = (
            instruction_counts(valgrind, commands, work, env, args.callgrind_repeat)
            if valgrind
            else {}
        )
        instructions = {k: int(statistics.median(v)) for k, v in runs.items()} or None
        figures = command_figures({k: v[0] for k, v in m.items()}, instructions)
        if args.only is None:
            figures += prompt_figures(appshell, work, env, repeat)
            figures += namespace_figures()
            figures.append(echo_figure(work, env, repeat))
            figures.append(rss_figure({k: v[1] for k, v in m.items()}))

    callgrind_repeat = args.callgrind_repeat if instructions else None
    print_table(figures, repeat, callgrind_repeat)
    print(f"\nmeasured in {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "repeat": repeat,
                    "callgrind_repeat": callgrind_repeat,
                    "instruction_runs": runs,
                    "figures": [
                        {**f._asdict(), "ratio": f.ratio, "wall_ratio": f.wall_ratio}
                        for f in figures
                    ],
                },
                indent=2,
            )
        )
        print(f"written to {args.json}")


def machine() -> dict[str, t.Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d"),
    }


def table_cells(f: Figure) -> tuple[str, ...]:
    """One figure as table cells; a counted command shows instructions, then wall."""
    ours, peer = f"{f.appshell:.1f} {f.unit}", f"{f.peer:.1f} {f.unit}"
    ratio = f"{f.ratio:.2f}x"
    if f.instructions is not None:
        ours = f"{f.instructions[0] / 1e6:.1f} M instr, {ours}"
        peer = f"{f.instructions[1] / 1e6:.1f} M instr, {peer}"
        ratio = f"{f.ratio:.3f}x (wall {f.wall_ratio:.2f}x)"
    met = "" if f.met is None else ("yes" if f.met else "NO")
    return (f.name, ours, f.peer_name, peer, ratio, f.target, met)


def print_table(figures: list[Figure], repeat: int, callgrind_repeat: int | None) -> None:
    headers = ("figure", "appshell", "peer", "peer value", "ratio", "target", "met")
    rows = [table_cells(f) for f in figures]
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    info = machine()
    print(
        f"appshell benchmarks: medians of {repeat} runs; Python {info['python']},"
        f" {info['cpus']} CPUs, {info['platform']}"
    )
    if callgrind_repeat:
        print(
            "Whole commands (M instr) are judged on the instructions executed under valgrind's"
            f" callgrind, medians of {callgrind_repeat} runs; their wall medians beside."
        )
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
