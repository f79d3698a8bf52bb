"""Recompute statements run as server-side prepared statements on PostgreSQL (planned once
per session): sprintplan/prepared.py."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sprintplan import prepared


def test_named_placeholders_become_numbered_ones_and_a_repeated_name_keeps_its_number():
    body, names = prepared.positional(
        "SELECT %(a)s::int + %(b)s::int WHERE %(a)s::int > 0 AND x LIKE 'y%%'"
    )
    assert body == "SELECT $1::int + $2::int WHERE $1::int > 0 AND x LIKE 'y%%'"
    assert names == ["a", "b"]


def test_a_placeholder_without_a_declared_type_is_refused_before_anything_runs(db):
    with connection.cursor() as cursor, pytest.raises(ValueError, match="no declared type"):
        prepared.execute(cursor, "t_untyped", "SELECT %(a)s", {"a": 1}, {})


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL prepared statements")
def test_a_statement_is_prepared_once_per_session_and_again_on_a_new_connection(
    transactional_db,
):
    sql = "SELECT %(a)s + %(b)s * 2"
    types = {"a": "integer", "b": "integer"}

    def run(a, b):
        with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
            prepared.execute(cursor, "t_sum", sql, {"a": a, "b": b}, types)
            value = cursor.fetchone()[0]
        return value, [q["sql"].split()[0] for q in captured.captured_queries]

    assert run(1, 2) == (5, ["PREPARE", "EXECUTE"])
    assert run(3, 4) == (11, ["EXECUTE"])
    connection.close()  # a new session has none of the old one's statements
    assert run(0, 1) == (2, ["PREPARE", "EXECUTE"])
