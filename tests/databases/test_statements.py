"""The ORM-agnostic helpers beside the judge of typed SQL (appshell/databases/statements.py):
how a SQLite script splits, and which statements are an ORM's own savepoints."""

from __future__ import annotations

import pytest

from appshell.databases.statements import SAVEPOINT_SQL, judge, sqlite_script


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
    assert [judge(statement) for statement in sqlite_script(script)][2] == [("commit", "COMMIT")]


@pytest.mark.parametrize(
    ("sql", "orms"),
    [
        ('SAVEPOINT "s140_x1"', True),  # Django
        ('RELEASE SAVEPOINT "s140_x1"', True),
        ('ROLLBACK TO SAVEPOINT "s140_x1"', True),
        ("SAVEPOINT sa_savepoint_1", True),  # SQLAlchemy
        ("ROLLBACK", False),
        ("SELECT 'SAVEPOINT '", False),
    ],
)
def test_the_orms_own_savepoints_are_told_by_their_start(sql: str, orms: bool) -> None:
    assert sql.startswith(SAVEPOINT_SQL) is orms
