"""Stand-ins for the database tools other modules provide (sandbox, read-only, echo), put
on PYTHONPATH by tests/databases/test_discovery.py and test_options.py only.

These tests check how the session finds databases and wires the tools (when each starts
and ends, what the banner, prompts and listings say), not what the tools do to a database:
each stand-in writes what is called to the file $APPSHELL_STANDIN_LOG. The finder goes
first, so that the tests mean the same before and after the real modules exist.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

SOURCES = {
    "appshell.databases.echo": """
class SQLEcho:
    def __init__(self, threshold=10):
        self.threshold = threshold
        self.echo = False
        self.count = 0
        self.last = None
        log(f"SQLEcho threshold={threshold}")

    def record(self, *args, **kwargs):
        self.count += 1

    def reset(self):
        self.count = 0

    def after_statement(self):
        log(f"after_statement echo={self.echo}")
        return f"stand-in line after a statement (threshold {self.threshold})"
""",
    "appshell.databases.sqlalchemy.echo": """
def attach(databases, sql):
    log("attach " + ",".join(db.name for db in databases) + f" echo={sql.echo}")
    return lambda: log("detach")
""",
    "appshell.databases.sqlalchemy.sandbox": """
class Sandbox:
    def __init__(self, databases):
        self.names = ",".join(db.name for db in databases)

    def start(self):
        log("sandbox start " + self.names)
        if os.environ.get("STANDIN_SANDBOX_FAILS"):
            from appshell.exceptions import AppShellUsageError
            raise AppShellUsageError("stand-in: the sandbox cannot wrap this engine.")

    def end(self):
        log("sandbox end " + self.names)
        return f"sandbox rolled back ({self.names})"
""",
    "appshell.databases.sqlalchemy.readonly": """
class ReadOnly:
    def __init__(self, databases):
        self.names = ",".join(db.name for db in databases)

    def start(self):
        log("read-only start " + self.names)

    def end(self):
        log("read-only end " + self.names)
""",
}

PRELUDE = """
import os

def log(line):
    path = os.environ.get("APPSHELL_STANDIN_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\\n")
"""


class StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name in SOURCES:
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.__file__ = f"<stand-in {module.__name__}>"
        exec(PRELUDE + SOURCES[module.__name__], vars(module))


sys.meta_path.insert(0, StandIns())
