"""The PostgreSQL commit guard of a sandbox: whatever sends a ``COMMIT`` of the sandbox's
transaction, the database refuses it.

A ``COMMIT`` can reach the server where no judge of typed SQL sees it: the driver's own
``commit()``, SQL sent on the driver's connection round the sandbox's stand-ins, a function
that commits. PostgreSQL has no hook on a commit, but it checks a deferred constraint trigger
at commit time: the guard is a temporary table with a row in it and a deferred constraint
trigger on it that raises, so any commit fails and PostgreSQL rolls the transaction back
instead. All of it is made inside the sandbox's transaction, in the session's temporary
schema, so the sandbox's own rollback removes it. ``SET CONSTRAINTS ... IMMEDIATE`` runs the
trigger early; an ORM that needs that statement (Django's ``check_constraints()``) lets the
guard pass meanwhile with :func:`checking_constraints` and arms it again after.

Shared by the sandboxes of every ORM; it knows only a DB-API connection.
"""

from __future__ import annotations

import typing as t

from .dbapi import execute

__all__ = ["GUARD", "arm_commit_guard", "checking_constraints"]

#: The name of the guard's table, trigger function, trigger and setting.
GUARD = "appshell_sandbox_guard"


def arm_commit_guard(dbapi_connection: t.Any, refusal: str, *, again: bool = False) -> None:
    """Make any ``COMMIT`` of the transaction open on ``dbapi_connection`` fail, with the
    error ``refusal``. A role that may not make temporary tables goes without it (the
    connection is left as it was).

    :param again: the guard exists in this transaction and its row was checked by a
        ``SET CONSTRAINTS ... IMMEDIATE``: defer it and give it a row to check again.
    """
    if again:
        execute(
            dbapi_connection,
            f"SET CONSTRAINTS {GUARD} DEFERRED",
            f"INSERT INTO pg_temp.{GUARD} VALUES (1)",
        )
        return
    quoted = refusal.replace("'", "''")
    execute(dbapi_connection, "SAVEPOINT appshell_guard")
    try:
        execute(
            dbapi_connection,
            f"CREATE TEMPORARY TABLE {GUARD} (armed integer)",
            f"CREATE FUNCTION pg_temp.{GUARD}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN IF current_setting('{GUARD}.checking', true) = 'on' THEN RETURN NULL;"
            f" END IF; RAISE EXCEPTION '{quoted}'; END $$",
            f"CREATE CONSTRAINT TRIGGER {GUARD} AFTER INSERT ON pg_temp.{GUARD}"
            f" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE PROCEDURE pg_temp.{GUARD}()",
            f"INSERT INTO pg_temp.{GUARD} VALUES (1)",
            "RELEASE SAVEPOINT appshell_guard",
        )
    except Exception:
        execute(
            dbapi_connection,
            "ROLLBACK TO SAVEPOINT appshell_guard",
            "RELEASE SAVEPOINT appshell_guard",
        )


def checking_constraints(dbapi_connection: t.Any, on: bool) -> None:
    """Let the guard pass (``on``) while a ``SET CONSTRAINTS ... IMMEDIATE`` checks the
    deferred constraints, or stop letting it pass."""
    setting = "on" if on else "off"
    execute(dbapi_connection, f"SELECT set_config('{GUARD}.checking', '{setting}', false)")
