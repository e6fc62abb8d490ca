"""What the ORM integrations share beneath their ORMs: statements run straight on a DB-API
connection, the refusals of a sandbox or a read-only session (each shown as its one line)
with the two ways a sandbox can be over, and how a sandbox's end line names the side effects
it held back.

Imported by a sandbox or a read-only setting when it starts, never at start-up.
"""

from __future__ import annotations

import typing as t

from ..exceptions import OneLineError

__all__ = [
    "ReadOnlyError",
    "SandboxEnded",
    "SandboxError",
    "check_not_over",
    "execute",
    "held_summary",
]


class SandboxError(OneLineError):
    """Something was refused because it would reach the database outside the sandbox."""


class ReadOnlyError(SandboxError):
    """Something was refused because it would switch a read-only session's guard off or go
    round it (a subclass of :class:`SandboxError`, so that every front end shows both the
    same way: one line)."""


class SandboxEnded(SandboxError):
    """The sandbox is over (the session ended) or the database ended its transaction."""


def execute(dbapi_connection: t.Any, *statements: str) -> t.Any:
    """Run ``statements`` on a DB-API connection, one cursor for all; the last one's rows,
    or None when it returns none."""
    cursor = dbapi_connection.cursor()
    try:
        for statement in statements:
            cursor.execute(statement)
        return cursor.fetchall() if statements and cursor.description else None
    finally:
        cursor.close()


def check_not_over(label: str, *, finished: bool, ended: str | None) -> None:
    """Refuse a statement on the sandbox of database ``label`` once it is over: ``finished``
    (the session ended) or ``ended`` (why the database ended its transaction)."""
    if finished:
        raise SandboxEnded(
            f"the sandbox on database {label} is over: the session ended and everything it"
            " did was rolled back."
        )
    if ended is not None:
        raise SandboxEnded(
            f"the sandbox on database {label} has ended: {ended}. Nothing the session did"
            " was committed, and appshell will not go on outside the sandbox: end this"
            " session and start a new one."
        )


def held_summary(names: t.Sequence[str], what: str) -> str:
    """The end line's part for side effects a sandbox held back: ``names`` (one per effect
    held, repeats counted) of ``what`` (``"session after_commit hook"``), or "" for none."""
    if not names:
        return ""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    listed = ", ".join(
        f"{name} x{count}" if count > 1 else name for name, count in list(counts.items())[:3]
    )
    more = f" and {len(counts) - 3} more" if len(counts) > 3 else ""
    n = len(names)
    plural = "" if n == 1 else "s"
    return f"{n} {what}{plural} not run, since nothing was committed ({listed}{more})"
