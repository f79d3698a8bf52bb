import django.db.models.deletion
from django.db import migrations, models

# Sprint moved to the sprints app with its table unchanged: only Django's state follows the
# foreign keys; the database keeps its columns and constraints.


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0001_initial"),
        ("sprints", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="evidence",
                    name="sprint",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="evidence", to="sprints.sprint"),
                ),
            ],
            database_operations=[],
        ),
    ]
