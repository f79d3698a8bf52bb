import django.db.models.deletion
from django.db import migrations, models

# Sprint moved to the sprints app with its table unchanged (see sprints/0001): the planning
# models' foreign keys follow it in Django's state, then the planning app lets go of it.


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0004_risks"),
        ("sprints", "0001_initial"),
        ("tickets", "0002_sprint_moved"),
        ("quality", "0002_sprint_moved"),
        ("programs", "0002_sprint_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="teamcapacity",
                    name="sprint",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="capacities", to="sprints.sprint"),
                ),
                migrations.AlterField(
                    model_name="capacityadjustment",
                    name="sprint",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="adjustments", to="sprints.sprint"),
                ),
                migrations.AlterField(
                    model_name="sprintgoal",
                    name="sprint",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="goals", to="sprints.sprint"),
                ),
                migrations.AlterField(
                    model_name="forecastchange",
                    name="sprint",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="sprints.sprint"),
                ),
                migrations.AlterField(
                    model_name="forecastrun",
                    name="sprint",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="forecast_runs", to="sprints.sprint"),
                ),
                migrations.AlterField(
                    model_name="sprintcommitment",
                    name="sprint",
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="commitment", to="sprints.sprint"),
                ),
                migrations.AlterField(
                    model_name="risk",
                    name="sprint",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="risks", to="sprints.sprint"),
                ),
                migrations.DeleteModel(name="Sprint"),
            ],
            database_operations=[],
        ),
    ]
