from django.db import migrations

# The stale markers of the insights move to the one marker table of sprintplan.derived. Pending
# markers are copied with their ids (an insight's graph_version is a marker id), so nothing
# waiting is lost and versions keep growing.


def copy_markers(apps, schema_editor):
    Old = apps.get_model("dependencies", "GraphChange")
    DerivedChange = apps.get_model("sprintplan", "DerivedChange")
    DerivedChange.objects.bulk_create(
        DerivedChange(
            id=old.id,
            kind="insights",
            object_id=old.ticket_id,
            detail=old.kind,
            links_version=old.links_version,
            created_at=old.created_at,
        )
        for old in Old.objects.all()
    )


def continue_versions(apps, schema_editor):
    """New markers get ids above every version written so far."""
    RecomputeState = apps.get_model("dependencies", "RecomputeState")
    DerivedChange = apps.get_model("sprintplan", "DerivedChange")
    version = RecomputeState.objects.filter(pk=1).values_list("graph_version", flat=True).first()
    highest = max(version or 0, *DerivedChange.objects.values_list("id", flat=True), 0)
    if not highest:
        return
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('sprintplan_derivedchange', 'id'), %s)",
                [highest],
            )
        elif not DerivedChange.objects.filter(id=highest).exists():
            # SQLite's AUTOINCREMENT continues after the highest id ever inserted.
            DerivedChange.objects.create(id=highest, kind="placeholder")
            DerivedChange.objects.filter(id=highest).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dependencies", "0004_change_links_version"),
        ("sprintplan", "0001_derived_change"),
    ]

    operations = [
        migrations.RunPython(copy_markers, migrations.RunPython.noop),
        migrations.RunPython(continue_versions, migrations.RunPython.noop),
        migrations.DeleteModel(name="GraphChange"),
    ]
