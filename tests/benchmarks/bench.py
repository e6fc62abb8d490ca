"""appshell's benchmarks, each figure against its peer measured in the same run.

Run with ``nox -s bench`` (which makes the peer virtualenv, with Flask but without appshell,
since with appshell installed ``flask shell`` is appshell's). Prints one table of medians and
ratios; ``--json FILE`` writes the same table as JSON. Nothing here asserts anything: the
targets are in the table, and in the README's "Performance" section.

    python tests/benchmarks/bench.py --peer-venv PATH [--repeat N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


class Figure(t.NamedTuple):
    name: str
    unit: str
    appshell: float
    peer_name: str
    peer: float
    target: str
    met: bool | None

    @property
    def ratio(self) -> float:
        return self.appshell / self.peer if self.peer else float("nan")


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
    commands: dict[str, tuple[list[str], str | None]], cwd: Path, env: dict[str, str], repeat: int
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--peer-venv",
        type=Path,
        required=True,
        help="a virtualenv with Flask, IPython and ptpython but not appshell",
    )
    parser.add_argument("--repeat", type=int, default=15, help="runs per command (median)")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = parser.parse_args()
    peer_bin = args.peer_venv / "bin"
    repeat = args.repeat

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "benchapp.py").write_text(BENCH_APP)
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
        flask = str(peer_bin / "flask")
        figures: list[Figure] = []

        m = median_times(
            {
                "appshell --help": ([appshell, "--help"], None),
                "import click": ([sys.executable, "-c", "import click"], None),
                "flask --help": ([flask, "--help"], None),
                "appshell --app --help": ([appshell, "--app", "benchapp", "--help"], None),
                "flask --app --help": ([flask, "--app", "benchapp", "--help"], None),
                "shell -c pass": ([appshell, "--app", "benchapp", "shell", "-c", "pass"], None),
                "import app": ([sys.executable, "-c", "import benchapp"], None),
                "flask shell < pass": ([flask, "--app", "benchapp", "shell"], "pass\n"),
                "python -c pass": ([sys.executable, "-c", "pass"], None),
            },
            work,
            env,
            repeat,
        )
        sec = {k: v[0] for k, v in m.items()}
        figures.append(
            Figure(
                "1. appshell --help",
                "ms",
                sec["appshell --help"] * 1e3,
                'python -c "import click"',
                sec["import click"] * 1e3,
                "<= 1.5x",
                sec["appshell --help"] <= 1.5 * sec["import click"],
            )
        )
        figures.append(
            Figure(
                "1. appshell --help",
                "ms",
                sec["appshell --help"] * 1e3,
                "flask --help",
                sec["flask --help"] * 1e3,
                "-",
                None,
            )
        )
        figures.append(
            Figure(
                "2. appshell --app APP --help",
                "ms",
                sec["appshell --app --help"] * 1e3,
                "flask --app APP --help",
                sec["flask --app --help"] * 1e3,
                "<= 1.05x",
                sec["appshell --app --help"] <= 1.05 * sec["flask --app --help"],
            )
        )
        figures.append(
            Figure(
                "3. appshell --app APP shell -c pass",
                "ms",
                sec["shell -c pass"] * 1e3,
                "python -c 'import APP'",
                sec["import app"] * 1e3,
                "<= +10 ms",
                sec["shell -c pass"] - sec["import app"] <= 0.010,
            )
        )
        figures.append(
            Figure(
                "3. appshell --app APP shell -c pass",
                "ms",
                sec["shell -c pass"] * 1e3,
                "echo pass | flask shell",
                sec["flask shell < pass"] * 1e3,
                "<= 1.05x",
                sec["shell -c pass"] <= 1.05 * sec["flask shell < pass"],
            )
        )

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
        for repl, (prompt, bare) in prompts.items():
            ours = time_to_prompt(
                [appshell, "--app", "benchapp", "shell", "--repl", repl],
                work,
                env,
                prompt,
                pty_repeat,
            )
            peer = (
                bare_python
                if repl == "python"
                else time_to_prompt(bare, work, env, prompt, pty_repeat)
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

        sys.path.insert(0, str(HERE.parent.parent))
        small, large = namespace_build(1_000), namespace_build(10_000)
        figures.append(
            Figure(
                "5. namespace, 10,000 providers x 10 names",
                "ms",
                large * 1e3,
                "1,000 providers x 10 names",
                small * 1e3,
                "<= 12x",
                large <= 12 * small,
            )
        )
        figures.append(
            Figure(
                "5. namespace, 1,000 providers x 10 names",
                "ms",
                small * 1e3,
                "20 ms",
                20.0,
                "< 20 ms",
                small < 0.020,
            )
        )

        echo, console = echo_vs_console(work, env, repeat)
        figures.append(
            Figure(
                "6. --echo, 20,000 statements",
                "ms",
                echo * 1e3,
                "code.InteractiveConsole",
                console * 1e3,
                "<= 1.0x",
                echo <= console,
            )
        )

        rss = {k: v[1] for k, v in m.items()}
        figures.append(
            Figure(
                "7. peak RSS, shell -c pass",
                "MiB",
                rss["shell -c pass"] / 1024,
                "python -c 'import APP'",
                rss["import app"] / 1024,
                "<= 1.10x",
                rss["shell -c pass"] <= 1.10 * rss["import app"],
            )
        )

    print_table(figures, repeat)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "repeat": repeat,
                    "figures": [{**f._asdict(), "ratio": f.ratio} for f in figures],
                },
                indent=2,
            )
        )
        print(f"\nwritten to {args.json}")


def machine() -> dict[str, t.Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d"),
    }


def print_table(figures: list[Figure], repeat: int) -> None:
    headers = ("figure", "appshell", "peer", "peer value", "ratio", "target", "met")
    rows = [
        (
            f.name,
            f"{f.appshell:.1f} {f.unit}",
            f.peer_name,
            f"{f.peer:.1f} {f.unit}",
            f"{f.ratio:.2f}x",
            f.target,
            "" if f.met is None else ("yes" if f.met else "NO"),
        )
        for f in figures
    ]
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    info = machine()
    print(
        f"appshell benchmarks: medians of {repeat} runs; Python {info['python']},"
        f" {info['cpus']} CPUs, {info['platform']}"
    )
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
