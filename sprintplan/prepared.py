"""Server-side prepared statements (PostgreSQL) for the few large statements that run on
every recompute. Planning a recursive CTE over the dependency graph costs about 1 ms, as
much as running it after a one-ticket change (EXPLAIN ANALYZE at 100k tickets); a prepared
statement is planned once per database session.

Statements keep Django's `%(name)s` placeholders; each name gets a declared type. Prepared
statements belong to the session and survive a rolled-back transaction, so the names
prepared are remembered per raw connection; a new connection prepares again.
"""

import re
import weakref
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_prepared_on: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()


def positional(sql: str) -> tuple[str, list[str]]:
    """`%(name)s` placeholders -> `$1, $2, ...` (a name used twice keeps its number), and the
    names in parameter order."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(number, sql), names


def execute(cursor, name: str, sql: str, params: Mapping, types: Mapping[str, str]) -> None:
    """Run `sql` with `params` as the prepared statement `name` on the cursor's session,
    preparing it first if this session has not. `types`: a PostgreSQL type per name."""
    body, names = positional(sql)
    missing = sorted(set(names) - set(types))
    if missing:
        raise ValueError(f"no declared type for {', '.join(missing)} in {name}")
    # A pooled connection comes wrapped, a new wrapper per checkout: the session is the
    # driver's connection underneath.
    raw_connection = getattr(cursor.db.connection, "driver_connection", cursor.db.connection)
    prepared = _prepared_on.setdefault(raw_connection, set())
    if name not in prepared:
        declared = ", ".join(types[n] for n in names)
        cursor.execute(f"PREPARE {name} ({declared}) AS {body}")
        prepared.add(name)
    placeholders = ", ".join(["%s"] * len(names))
    cursor.execute(f"EXECUTE {name}({placeholders})", [params[n] for n in names])
