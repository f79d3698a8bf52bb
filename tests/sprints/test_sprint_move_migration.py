"""A database made before sprints had an app of their own migrates with every row kept.

The fixture is the demo (seed scenarios 1-3) as `load_demo` left it on the layout where Sprint
lived in the planning app, dumped as SQL. Migrating it must keep every row of every table and
the sprint relations must resolve through the new model."""

import gzip
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "tests" / "fixtures" / "demo-before-layers.sql.gz"

# Run in a separate process: the suite's own database is not this file.
CHECK = """
import json, django
django.setup()
from sprints.models import Sprint
from tickets.models import Ticket
from programs.models import Iteration
rows = {
    "sprints": sorted(Sprint.objects.values_list("name", flat=True)),
    "tickets_per_sprint": {s.name: s.tickets.count() for s in Sprint.objects.all()},
    "iterations": sorted(Iteration.objects.values_list("sprint__name", flat=True)),
    "ticket_sprints": sorted({t.sprint.name for t in Ticket.objects.select_related("sprint")
                               if t.sprint_id}),
}
print(json.dumps(rows))
"""


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        tables = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith("sqlite_") and name != "django_migrations"
        ]
        return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def _manage(var_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["SPRINTPLAN_VAR_DIR"] = str(var_dir)
    env.setdefault("DJANGO_SETTINGS_MODULE", "sprintplan.settings")
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def old_demo_database(tmp_path: Path) -> Path:
    db_path = tmp_path / "sprintplan.sqlite3"
    with sqlite3.connect(db_path) as db:
        db.executescript(gzip.decompress(DUMP.read_bytes()).decode())
    return db_path


def test_migrating_the_old_layout_keeps_every_row_and_relation(old_demo_database, tmp_path):
    before = _counts(old_demo_database)
    with sqlite3.connect(old_demo_database) as db:
        sprint_names = sorted(n for (n,) in db.execute("SELECT name FROM planning_sprint"))
        tickets_in_sprints = dict(
            db.execute(
                "SELECT s.name, COUNT(t.id) FROM planning_sprint s "
                "LEFT JOIN tickets_ticket t ON t.sprint_id = s.id GROUP BY s.name"
            ).fetchall()
        )
    assert sprint_names, "the fixture holds the demo's sprints"

    migrated = _manage(tmp_path, "manage.py", "migrate", "--no-input")
    assert migrated.returncode == 0, migrated.stderr

    after = _counts(old_demo_database)
    lost = {t: (n, after.get(t)) for t, n in before.items() if after.get(t, 0) < n}
    assert not lost, f"rows lost by the migration: {lost}"

    checked = _manage(tmp_path, "-c", CHECK)
    assert checked.returncode == 0, checked.stderr
    rows = json.loads(checked.stdout.strip().splitlines()[-1])
    assert rows["sprints"] == sprint_names
    assert rows["tickets_per_sprint"] == tickets_in_sprints
    assert rows["iterations"], "the PI iterations still point at their sprints"
    assert set(rows["ticket_sprints"]) <= set(sprint_names)
