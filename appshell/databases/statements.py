"""What a SQL string does to the transaction it runs in, judged from its text, for any ORM.

The sandbox and read-only settings of every integration ask :func:`judge` about each
statement the app's code sends. It answers None at once for the common case, one statement
whose first word touches no transaction (a regular expression anchored at the start and a
search for ``;``, both in C), and parses the text only otherwise. What it cannot see (a
function that commits, a driver's own call) is for the database to say: the integrations
ask it after the statement, or forbid it there (SQLite's authorizer).

Each statement of the string is one :data:`Judged` pair: its kind and its first words.
The kinds:

- ``"begin"``: ``BEGIN``, ``START TRANSACTION``
- ``"commit"``: ``COMMIT``, ``END`` (``AND CHAIN`` included: a commit, then a begin)
- ``"rollback"``: ``ROLLBACK``, ``ABORT`` (not ``ROLLBACK TO SAVEPOINT``)
- ``"two-phase"``: ``PREPARE TRANSACTION``, ``COMMIT PREPARED``, ``ROLLBACK PREPARED``, ``XA``
- ``"settings"``: statements that change how this or later transactions run, read-only
  among them: ``SET TRANSACTION``, ``SET SESSION CHARACTERISTICS``, ``SET`` or ``RESET`` of
  ``default_transaction_*``, ``transaction_*``, ``autocommit`` or ``ALL``, ``DISCARD``,
  and SQLite's ``PRAGMA query_only`` given a value
- None: anything else

Two helpers beside it: :data:`SAVEPOINT_SQL`, how an ORM's own savepoint statements start
(an end line counts the user's statements, not those), and :func:`sqlite_script`, the
statements of a SQLite script one by one (a sandbox runs ``executescript`` a statement at a
time, each judged).
"""

from __future__ import annotations

import re

__all__ = [
    "ENDS_TRANSACTION",
    "SAVEPOINT_SQL",
    "Judged",
    "judge",
    "sqlite_script",
    "statement_words",
]

#: A statement's kind (see the module docstring) and its first words, upper-cased.
Judged = tuple["str | None", str]

#: How the savepoint statements SQLAlchemy and Django send start, as they spell them (for
#: ``str.startswith``, the one check made on every statement).
SAVEPOINT_SQL = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")

#: The kinds that end, begin or take over the transaction a statement runs in.
ENDS_TRANSACTION = frozenset({"begin", "commit", "rollback", "two-phase"})

# The first words after which a statement may touch the transaction; any other statement,
# alone in its string, is passed over without parsing.
_WATCHED = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "PREPARE", "XA", "SET", "RESET"}
    | {"DISCARD", "PRAGMA"}
)
_FIRST_WORD = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*([A-Za-z_]+)", re.DOTALL)
_TOKEN = re.compile(
    r"""--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|(\$\w*\$).*?\1|;|[A-Za-z_]+|\S""",
    re.DOTALL,
)
# Settings whose SET or RESET changes a transaction's characteristics (PostgreSQL, MySQL).
_SETTING = re.compile(r"(DEFAULT_)?TRANSACTION(_\w+)?|AUTOCOMMIT|ALL|TX_\w+")


def judge(sql: str) -> list[Judged] | None:
    """What ``sql`` does to its transaction: None when it is one statement whose first word
    touches no transaction (the cheap answer for nearly every statement), else one
    ``(kind, words)`` pair per statement in it."""
    if sql in _PLAIN:  # an ORM's statements are the same few strings again and again
        return None
    if ";" not in sql:
        first = _FIRST_WORD.match(sql)
        if first is None or first.group(1).upper() not in _WATCHED:
            if len(sql) <= 2000:  # a long text (literal values) is seldom seen again
                if len(_PLAIN) >= 4096:
                    _PLAIN.clear()
                _PLAIN.add(sql)
            return None
    found = [(_kind(words), " ".join(words)) for words in statement_words(sql)]
    return found or None


#: Statements :func:`judge` found to touch no transaction (a bounded cache).
_PLAIN: set[str] = set()


def statement_words(sql: str) -> list[list[str]]:
    """The first four words (or symbols) of each statement in ``sql``, upper-cased, with
    quotes, comments and PostgreSQL dollar-quoted bodies skipped."""
    found: list[list[str]] = []
    words: list[str] = []
    for match in _TOKEN.finditer(sql):
        token = match.group(0)
        if token == ";":
            if words:
                found.append(words)
            words = []
        elif len(words) >= 4 or token.startswith(("--", "/*")):
            continue
        elif token[0].isalpha() or token[0] == "_":
            words.append(token.upper())
        else:
            words.append(token)
    if words:
        found.append(words)
    return found


def _kind(words: list[str]) -> str | None:
    first, second = words[0], words[1] if len(words) > 1 else ""
    if first == "XA" or (first, second) == ("PREPARE", "TRANSACTION") or second == "PREPARED":
        return "two-phase"
    if first == "BEGIN" or (first == "START" and second == "TRANSACTION"):
        return "begin"
    if first in ("COMMIT", "END"):
        return "commit"
    if first in ("ROLLBACK", "ABORT"):
        return None if second == "TO" else "rollback"
    if first in ("SET", "RESET"):
        # SET [SESSION | LOCAL | GLOBAL] name ...
        name = words[2] if second in ("SESSION", "LOCAL", "GLOBAL") and len(words) > 2 else second
        if name == "CHARACTERISTICS" or (name and _SETTING.fullmatch(name)):
            return "settings"
        return None
    if first == "DISCARD":
        return "settings"
    if first == "PRAGMA" and second == "QUERY_ONLY" and len(words) > 2:
        return "settings"  # PRAGMA query_only = 0, PRAGMA query_only(0)
    return None


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
    return [s.strip() for s in statements if statement_words(s)]
