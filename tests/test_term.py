"""What appshell writes to the terminal besides a REPL: the one table renderer."""

from __future__ import annotations

import pytest

from appshell.term import render_table


def test_render_table_pads_columns_and_rules_the_header() -> None:
    table = render_table(["Name", "Type", ""], [["app", "Flask", "the app"], ["g", "", ""]])
    assert table.splitlines() == [
        "Name  Type",
        "----  -----  -------",
        "app   Flask  the app",
        "g",
    ]


def test_render_table_without_rule_and_non_string_cells() -> None:
    assert render_table(["REPL", "Installed"], [("python", True)], rule=False).splitlines() == [
        "REPL    Installed",
        "python  True",
    ]


def test_render_table_with_no_rows_is_the_header() -> None:
    assert render_table(["Endpoint", "Rule"], []) == "Endpoint  Rule\n--------  ----"


def test_render_table_refuses_rows_of_another_length() -> None:
    with pytest.raises(ValueError, match="zip"):
        render_table(["a", "b"], [["1"]])
