from django.db import migrations

# The stale markers of PI forecasts move to the one marker table of sprintplan.derived. Pending
# markers are copied with their ids (an insight's graph_version is a marker id), so nothing
# waiting is lost and versions keep growing.


def copy_markers(apps, schema_editor):
    Old = apps.get_model("programs", "ProgramForecastChange")
    DerivedChange = apps.get_model("sprintplan", "DerivedChange")
    DerivedChange.objects.bulk_create(
        DerivedChange(id=old.id, kind="pi_forecast", object_id=old.pi_id, created_at=old.created_at)
        for old in Old.objects.all()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("programs", "0002_sprint_moved"),
        ("sprintplan", "0001_derived_change"),
    ]

    operations = [
        migrations.RunPython(copy_markers, migrations.RunPython.noop),
        migrations.DeleteModel(name="ProgramForecastChange"),
    ]
