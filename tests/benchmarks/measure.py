"""How the bench runs a command: wall time and peak memory, instructions under valgrind's
callgrind, and the time to a REPL's first prompt in a pseudo-terminal. Each returns medians of
runs interleaved between the commands measured together."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import time
import typing as t
from pathlib import Path


class Command(t.NamedTuple):
    """One whole command: what it reads on stdin, and where and how it runs when not in the
    bench's work folder with its environment (the Django project's)."""

    argv: list[str]
    stdin: str | None = None
    cwd: Path | None = None
    env: dict[str, str] | None = None


Commands = dict[str, Command]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPSHELL_", "FLASK_"))}
    # Real users have bytecode: measure with it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def run_once(command: Command, cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall time of one run and its peak RSS in KiB (from wait4, so per process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command.argv,
        cwd=command.cwd or cwd,
        env=command.env or env,
        stdin=subprocess.PIPE if command.stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if command.stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(command.stdin.encode())
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(command.argv)}")
    return elapsed, usage.ru_maxrss


def median_times(
    commands: Commands, cwd: Path, env: dict[str, str], repeat: int
) -> dict[str, tuple[float, int]]:
    """Median wall time (s) and median peak RSS (KiB) per command, runs interleaved."""
    times: dict[str, list[float]] = {k: [] for k in commands}
    rss: dict[str, list[int]] = {k: [] for k in commands}
    for command in commands.values():  # warm the caches once
        run_once(command, cwd, env)
    for _ in range(repeat):
        for name, command in commands.items():
            elapsed, peak = run_once(command, cwd, env)
            times[name].append(elapsed)
            rss[name].append(peak)
    return {k: (statistics.median(times[k]), int(statistics.median(rss[k]))) for k in commands}


COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.MULTILINE)


def count_instructions(valgrind: str, command: Command, cwd: Path, env: dict[str, str]) -> int:
    """Instructions one run of a command executes in user space (callgrind's "Collected")."""
    argv, stdin = command.argv, command.stdin
    proc = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        cwd=command.cwd or cwd,
        env=command.env or env,
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
        for name, command in commands.items():
            counts[name].append(count_instructions(valgrind, command, cwd, env))
    return counts


class Prompted(t.NamedTuple):
    """A command run in a pseudo-terminal until its first prompt (a regex) shows."""

    argv: list[str]
    prompt: str


def time_to_prompt(command: Prompted, cwd: Path, env: dict[str, str]) -> float:
    """Seconds from start to the first prompt of one run, in a pseudo-terminal.

    Read straight from the pty (pexpect adds tens of milliseconds of its own), answering
    a cursor-position request as a terminal would.
    """
    import select

    pattern = re.compile(command.prompt.encode())
    master, slave = os.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen(
        command.argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    try:
        while not pattern.search(seen):
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                raise SystemExit(f"no prompt from {' '.join(command.argv)}: {seen[-300:]!r}")
            chunk = os.read(master, 65536)
            seen += chunk
            if b"\x1b[6n" in chunk:
                os.write(master, b"\x1b[1;1R")
        return time.perf_counter() - start
    finally:
        proc.kill()
        proc.wait()
        os.close(master)


def median_prompts(
    commands: dict[str, Prompted], cwd: Path, env: dict[str, str], repeat: int
) -> dict[str, float]:
    """Median seconds to the first prompt per command, runs interleaved (after one warm-up
    run each), so that the machine's load weighs on a command and its peer alike."""
    samples: dict[str, list[float]] = {k: [] for k in commands}
    for command in commands.values():
        time_to_prompt(command, cwd, env)
    for _ in range(repeat):
        for name, command in commands.items():
            samples[name].append(time_to_prompt(command, cwd, env))
    return {k: statistics.median(v) for k, v in samples.items()}
