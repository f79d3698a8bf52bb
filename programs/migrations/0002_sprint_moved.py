import django.db.models.deletion
from django.db import migrations, models

# Sprint moved to the sprints app with its table unchanged: only Django's state follows the
# foreign keys; the database keeps its columns and constraints.


class Migration(migrations.Migration):
    dependencies = [
        ("programs", "0001_initial"),
        ("sprints", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="feature",
                    name="planned_sprint",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="sprints.sprint"),
                ),
                migrations.AlterField(
                    model_name="iteration",
                    name="sprint",
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="iteration", to="sprints.sprint"),
                ),
                migrations.AlterField(
                    model_name="decision",
                    name="sprints",
                    field=models.ManyToManyField(blank=True, related_name="decisions", to="sprints.sprint"),
                ),
            ],
            database_operations=[],
        ),
    ]
