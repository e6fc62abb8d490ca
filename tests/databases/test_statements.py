"""The ORM-agnostic judge of typed SQL (appshell/databases/statements.py): what each
statement of a string does to the transaction and to a read-only session."""

from __future__ import annotations

import pytest

from appshell.databases.statements import (
    needs_judging,
    split,
    sqlite_script,
    transaction_kind,
    turns_read_only_off,
)


@pytest.mark.parametrize(
    ("sql", "judged"),
    [
        ('SELECT "blog_post"."id" FROM "blog_post" WHERE "blog_post"."title" = %s', False),
        ("INSERT INTO t (a) VALUES (%s) RETURNING id", False),
        ("UPDATE t SET a = CASE WHEN b THEN 1 ELSE 2 END", False),
        ("UPDATE t SET a = 1; COMMIT", True),
        ("  commit", True),
        ("/* why */ COMMIT", True),
        ("-- why\nEND", True),
        ("SAVEPOINT s1", True),
    ],
)
def test_only_what_could_touch_the_transaction_is_judged(sql: str, judged: bool) -> None:
    assert needs_judging(sql) is judged


def test_set_config_anywhere_is_judged_for_read_only() -> None:
    sql = "SELECT 1, SET_CONFIG('default_transaction_read_only', 'off', false)"
    assert not needs_judging(sql)
    assert needs_judging(sql, read_only=True)


@pytest.mark.parametrize(
    ("sql", "kinds"),
    [
        ("UPDATE t SET a = 'x; COMMIT'; COMMIT;", [None, "commit"]),
        ("END TRANSACTION", ["commit"]),
        ("COMMIT AND CHAIN", ["commit and chain"]),
        ("COMMIT AND NO CHAIN", ["commit"]),
        ("abort", ["rollback"]),
        ("ROLLBACK TO SAVEPOINT s", ["savepoint"]),
        ("RELEASE s", ["savepoint"]),
        ("BEGIN IMMEDIATE", ["begin"]),
        ("START TRANSACTION READ WRITE", ["begin"]),
        ("PREPARE TRANSACTION 'x'", ["two-phase"]),
        ("COMMIT PREPARED 'x'", ["two-phase"]),
        ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", ["characteristics"]),
        ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", ["characteristics"]),
        ("DO $$ BEGIN PERFORM 1; END $$; SELECT 'END;'", [None, None]),
        ("/* COMMIT; */ SELECT 1 -- ; COMMIT\n", [None]),
    ],
)
def test_what_each_statement_does_to_the_transaction(sql: str, kinds: list[str | None]) -> None:
    assert [transaction_kind(words) for words in split(sql)] == kinds


@pytest.mark.parametrize(
    ("sql", "off"),
    [
        ("SET default_transaction_read_only = off", True),
        ("SET SESSION default_transaction_read_only TO false", True),
        ("RESET ALL", True),
        ("RESET default_transaction_read_only", True),
        ("DISCARD ALL", True),
        ("DISCARD PLANS", False),
        ("BEGIN READ WRITE", True),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE, READ WRITE", True),
        ("SET TRANSACTION READ ONLY", False),
        ("SELECT set_config('default_transaction_read_only', 'off', false)", True),
        ("PRAGMA query_only = 0", True),
        ("PRAGMA main.query_only(0)", True),
        ("PRAGMA query_only", False),
        ("SET search_path = public", False),
    ],
)
def test_what_would_switch_read_only_off(sql: str, off: bool) -> None:
    assert any(turns_read_only_off(words) for words in split(sql)) is off


def test_a_sqlite_script_is_split_as_sqlite_reads_it() -> None:
    script = (
        "INSERT INTO t VALUES ('a;b');\n-- a comment;\n"
        "CREATE TRIGGER g AFTER INSERT ON t BEGIN DELETE FROM u; END;\n  ;\nCOMMIT"
    )
    assert sqlite_script(script) == [
        "INSERT INTO t VALUES ('a;b');",
        "-- a comment;\nCREATE TRIGGER g AFTER INSERT ON t BEGIN DELETE FROM u; END;",
        "COMMIT",
    ]
