from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    # The table was created by the planning app; this only tells Django's state it is ours.
    dependencies = [
        ("planning", "0004_risks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Sprint",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=100, unique=True)),
                        ("start_date", models.DateField()),
                        ("end_date", models.DateField()),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("planning", "Planning"),
                                    ("active", "Active"),
                                    ("closed", "Closed"),
                                ],
                                default="planning",
                                max_length=10,
                            ),
                        ),
                        ("goal", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "planning_sprint",
                        "ordering": ["start_date", "id"],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("start_date__lte", models.F("end_date"))),
                                name="sprint_start_not_after_end",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(("state__in", ["planning", "active", "closed"])),
                                name="sprint_state_valid",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
