"""RACI rows: who is Responsible, Accountable, Consulted or Informed for an activity.

Columns are the program's teams and the product roles (Scrum master, Product Owner), each
named by a stable key (e.g. "team:3", "role:product_owner"). A row is valid when every
cell is R, A, C, I or empty, every column is known, and exactly one column is Accountable.

Pure: plain data in, plain data out; no Django.
"""

from collections.abc import Mapping
from dataclasses import dataclass

LETTERS = ("R", "A", "C", "I")
LETTER_NAMES = {"R": "Responsible", "A": "Accountable", "C": "Consulted", "I": "Informed"}


@dataclass(frozen=True)
class Column:
    key: str  # "team:<id>" or "role:<product role>"
    label: str  # what people read, e.g. "ML Engineering" or "Product Owner"


class RaciRowError(ValueError):
    """A refused row; `field` names what to fix, the message names the activity."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def validate_row(
    activity: str, cells: Mapping[str, str | None], columns: list[Column]
) -> dict[str, str]:
    """The row's non-empty cells {column key: letter}, or RaciRowError naming the activity.

    Letters are case-insensitive; empty or None cells are dropped."""
    known = {column.key: column.label for column in columns}
    unknown = sorted(key for key in cells if key not in known)
    if unknown:
        raise RaciRowError(f"“{activity}”: unknown column(s) {', '.join(unknown)}.", field="row")
    row: dict[str, str] = {}
    for key, raw in cells.items():
        letter = (raw or "").strip().upper()
        if not letter:
            continue
        if letter not in LETTERS:
            raise RaciRowError(
                f"“{activity}”: {known[key]} must be R, A, C, I or empty, not {raw!r}.",
                field="row",
            )
        row[key] = letter
    accountable = [known[key] for key in known if row.get(key) == "A"]
    if not accountable:
        raise RaciRowError(
            f"“{activity}” needs exactly one Accountable (A); it has none.", field="row"
        )
    if len(accountable) > 1:
        raise RaciRowError(
            f"“{activity}” needs exactly one Accountable (A); it has {len(accountable)}: "
            f"{' and '.join(accountable)}.",
            field="row",
        )
    return row
