from django.db import migrations, models

# Every statement that writes dependency links moves RecomputeState.links_version (see the
# model): a worker's mirror of the graph compares it with the value it was built at.
POSTGRESQL_TRIGGER = """
CREATE FUNCTION dependencies_links_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dependencies_recomputestate SET links_version = links_version + 1 WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER dependencies_links_moved
AFTER INSERT OR UPDATE OR DELETE ON dependencies_dependencylink
FOR EACH STATEMENT EXECUTE FUNCTION dependencies_links_moved();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS dependencies_links_moved ON dependencies_dependencylink;
DROP FUNCTION IF EXISTS dependencies_links_moved();
"""
# SQLite has row triggers only, one event each.
SQLITE_EVENTS = ("insert", "update", "delete")
SQLITE_TRIGGER = """
CREATE TRIGGER dependencies_links_moved_{event}
AFTER {event} ON dependencies_dependencylink
BEGIN
    UPDATE dependencies_recomputestate SET links_version = links_version + 1 WHERE id = 1;
END
"""


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_TRIGGER)
    elif vendor == "sqlite":
        for event in SQLITE_EVENTS:
            schema_editor.execute(SQLITE_TRIGGER.format(event=event))


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)
    elif vendor == "sqlite":
        for event in SQLITE_EVENTS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS dependencies_links_moved_{event}")


class Migration(migrations.Migration):
    dependencies = [
        ("dependencies", "0002_insight_done_change_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="recomputestate",
            name="links_version",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="recomputestate",
            name="token",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
