"""Where this machine's other Pythons are: ``pythonX.Y`` on PATH, else pyenv's.

Used by the noxfile (sessions that need another Python than the one nox runs on) and by the
corpus tests (a project that needs Python 3.12), so both find the same interpreter, from any
clone, with nothing but the standard library.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
from pathlib import Path


def find_python(version: str) -> tuple[Path | None, list[str]]:
    """The real executable of Python ``version`` ("3.12"), or None, with the candidates
    tried (for the message that says none was found)."""
    candidates: list[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        roots.insert(
            0,
            subprocess.run(
                ["pyenv", "root"], capture_output=True, text=True, check=True
            ).stdout.strip(),
        )
    for pyenv_root in dict.fromkeys(filter(None, roots)):
        candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
    for candidate in candidates:
        # A pyenv shim exists for every version pyenv has, and fails when that version is not
        # selected; the first on PATH may be a virtualenv's (nox's own): ask the interpreter
        # where its real executable lives, so that a cache key is the same from any clone.
        proc = subprocess.run(
            [candidate, "-c", "import os, sys; print(os.path.realpath(sys.executable));"
             " print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
        )  # fmt: skip
        if proc.returncode == 0:
            executable, full = proc.stdout.split()
            if full.startswith(version + "."):
                return Path(executable), candidates
    return None, candidates
