"""What typed SQL does to the transaction it runs in, judged from its text, for every ORM.

A sandbox runs everything inside one transaction and a read-only session inside read-only
ones; SQL the user types can end, begin or change those (``COMMIT`` in the middle of a
string of statements, ``END``, ``COMMIT AND CHAIN``, ``SET TRANSACTION``, SQLite's
``PRAGMA query_only``). The API is small:

- :func:`needs_judging`: the cheap check made on every statement; False for what an ORM
  sends (one ``SELECT``, ``INSERT``, ``UPDATE`` or ``DELETE``), so that the rest of this
  module runs only for the rare statement that could matter.
- :func:`split`: the words of each statement of a string (comments dropped, quoted text
  and dollar-quoted bodies kept whole), for the two judgements that follow.
- :func:`transaction_kind`: what one statement does to the open transaction.
- :func:`turns_read_only_off`: whether one statement would make a session writable again.
- :func:`sqlite_script`: the statements of a SQLite script, one by one, as SQLite splits
  them (for ``executescript``, which a sandbox runs a statement at a time).

Imported by a sandbox or a read-only setting when it starts, never at start-up.
"""

from __future__ import annotations

import itertools
import re

__all__ = [
    "needs_judging",
    "split",
    "sqlite_script",
    "transaction_kind",
    "turns_read_only_off",
]

# What a statement that can touch the transaction or the session starts with; a comment in
# front hides the first word, so one is judged too. (PostgreSQL refuses a COMMIT inside a
# function, a DO block or a procedure CALLed in a transaction: those cannot end it.)
_OPENING = re.compile(
    r"\s*(?:--|/\*|BEGIN|START|COMMIT|END|ROLLBACK|ABORT|PREPARE|SET|RESET|DISCARD|PRAGMA"
    r"|SAVEPOINT|RELEASE)",
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"""--[^\n]*|/\*.*?\*/|[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`"""
    r"""|(\$\w*\$).*?\1|;|[A-Za-z_][A-Za-z_0-9]*|\S""",
    re.DOTALL,
)
_SET_CONFIG = re.compile(r"set_config", re.IGNORECASE)
_READ_ONLY_SETTINGS = {"DEFAULT_TRANSACTION_READ_ONLY", "TRANSACTION_READ_ONLY"}


def needs_judging(sql: str, *, read_only: bool = False) -> bool:
    """Whether ``sql`` could begin, end or change a transaction (with ``read_only``: or
    switch a session's read-only setting off, which ``set_config()`` anywhere can)."""
    if ";" in sql or _OPENING.match(sql) is not None:
        return True
    return read_only and _SET_CONFIG.search(sql) is not None


def split(sql: str) -> list[list[str]]:
    """The words of each statement in ``sql``: names and keywords upper-cased, quoted text
    and dollar-quoted bodies each one word as written, other signs one word each; comments
    and empty statements left out."""
    statements: list[list[str]] = []
    words: list[str] = []
    for match in _TOKEN.finditer(sql):
        token = match.group(0)
        if token == ";":
            if words:
                statements.append(words)
            words = []
        elif token.startswith(("--", "/*")):
            continue
        elif token[0].isalpha() or token[0] == "_":
            words.append(token if token[1:2] == "'" else token.upper())
        else:
            words.append(token)
    if words:
        statements.append(words)
    return statements


def transaction_kind(words: list[str]) -> str | None:
    """What the statement of ``words`` does to the open transaction: ``"begin"``,
    ``"commit"``, ``"rollback"`` (each with ``" and chain"`` when a new one follows at
    once), ``"savepoint"`` (a savepoint made, released or rolled back to),
    ``"two-phase"`` (``PREPARE TRANSACTION``, ``COMMIT PREPARED``), ``"characteristics"``
    (``SET TRANSACTION``, ``SET SESSION CHARACTERISTICS``), or None (nothing)."""
    if not words:
        return None
    first = words[0]
    second = words[1] if len(words) > 1 else ""
    chain = " and chain" if words[-2:] == ["AND", "CHAIN"] and "NO" not in words[-3:-2] else ""
    if first in ("SAVEPOINT", "RELEASE") or (first == "ROLLBACK" and second == "TO"):
        return "savepoint"
    if (first, second) == ("PREPARE", "TRANSACTION") or second == "PREPARED":
        return "two-phase"
    if first == "BEGIN" or (first == "START" and second == "TRANSACTION"):
        return "begin"
    if first in ("COMMIT", "END"):
        return "commit" + chain
    if first in ("ROLLBACK", "ABORT"):
        return "rollback" + chain
    if first == "SET" and (
        second == "TRANSACTION"
        or (second in ("SESSION", "LOCAL") and words[2:3] == ["CHARACTERISTICS"])
    ):
        return "characteristics"
    return None


def turns_read_only_off(words: list[str]) -> bool:
    """Whether the statement of ``words`` could make a read-only session writable: ``READ
    WRITE`` anywhere (``BEGIN``, ``SET TRANSACTION``, ``SET SESSION CHARACTERISTICS``),
    ``SET`` or ``RESET`` of PostgreSQL's read-only settings, ``RESET ALL``, ``DISCARD ALL``,
    ``set_config()``, SQLite's ``PRAGMA query_only`` given a value."""
    if not words:
        return False
    first = words[0]
    if first == "PRAGMA":
        name = words[1:4] if words[2:3] == ["."] else words[1:2]
        return name[-1:] == ["QUERY_ONLY"] and len(words) > len(name) + 1
    if first in ("SET", "RESET"):
        named = set(words[1:4])
        if named & _READ_ONLY_SETTINGS or (first == "RESET" and "ALL" in named):
            return True
    if first == "DISCARD" and words[1:2] == ["ALL"]:
        return True
    if "SET_CONFIG" in words:
        return True
    return any(a == "READ" and b == "WRITE" for a, b in itertools.pairwise(words))


def sqlite_script(script: str) -> list[str]:
    """The statements of ``script`` as SQLite reads them (a ``;`` inside quotes or a
    trigger's body ends none), each with its ``;``; comments and blank ones left out."""
    import sqlite3

    statements: list[str] = []
    start = 0
    for end in range(len(script)):
        if script[end] == ";" and sqlite3.complete_statement(script[start : end + 1]):
            statements.append(script[start : end + 1])
            start = end + 1
    if script[start:].strip():
        statements.append(script[start:])
    return [s.strip() for s in statements if split(s)]
